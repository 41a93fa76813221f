"""Movement specs, movement and view recognition, per-rep metrics."""

from __future__ import annotations

import numpy as np
import pytest

from angle_fixtures import make_angles
from kneeback.assess.rules import RULES
from kneeback.movements import (
    ALL_METRICS,
    MOVEMENTS,
    detect_reps,
    driving_signal,
    get_spec,
    recognise_movement,
    recognise_view,
    rep_metrics,
    rep_side,
    strategy_index,
)
from kneeback.schema import make_pose_dataset
from kneeback.settings import AnalysisSettings
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS

S = AnalysisSettings()


def _reps(angles, kind="knee_mean"):
    return detect_reps(
        driving_signal(angles, kind=kind),
        time_s=angles["time"].values,
        upper_fraction=S.rep_upper_fraction,
        lower_fraction=S.rep_lower_fraction,
        min_excursion=25.0,
        min_duration_s=S.rep_min_duration_s,
        partial_fraction=S.rep_partial_fraction,
        bottom_fraction=S.rep_bottom_fraction,
    )


def test_specs_are_consistent() -> None:
    for name, spec in MOVEMENTS.items():
        assert spec.name == name
        assert set(spec.metrics) <= set(ALL_METRICS), name
        assert set(spec.rules) <= set(RULES), name
        assert spec.min_excursion_deg > 0
    assert get_spec("squat").per_side is False
    assert get_spec("lunge").per_side and get_spec("side_lunge").per_side
    with pytest.raises(ValueError, match="Unknown movement"):
        get_spec("jumping_jack")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("squat", "squat"),
        ("sit_to_stand", "sit_to_stand"),
        ("lunge", "lunge"),
        ("side_lunge", "side_lunge"),
        ("hinge", "hip_hinge"),
    ],
)
def test_recognise_movement(kind: str, expected: str) -> None:
    est = recognise_movement(make_angles(kind, trunk_deg=22.0 if kind == "hinge" else 30.0))
    assert est.recognised == expected
    assert est.used == expected
    assert est.agreement is None
    assert est.confidence == 1.0
    assert est.reasons


def test_stated_movement_used_and_disagreement_reported() -> None:
    est = recognise_movement(make_angles("squat"), stated="lunge")
    assert est.used == "lunge"
    assert est.recognised == "squat"
    assert est.agreement is False
    assert est.message and "lunge" in est.message
    same = recognise_movement(make_angles("squat"), stated="squat")
    assert same.agreement is True and same.message is None
    with pytest.raises(ValueError):
        recognise_movement(make_angles("squat"), stated="burpee")


def test_standing_still_is_other() -> None:
    angles = make_angles("squat", knee_deg=8.0, trunk_deg=1.0)
    assert recognise_movement(angles).recognised == "other"


def test_rep_metrics_closed_form() -> None:
    angles = make_angles("squat", knee_deg=110, trunk_deg=30, tibia_deg=32)
    reps = _reps(angles)
    assert len(reps) == 3
    m = rep_metrics(angles, reps[0])
    assert m["knee_flexion_peak_deg"] == pytest.approx(110, abs=0.5)
    assert m["trunk_inclination_peak_deg"] == pytest.approx(33, abs=0.5)
    assert m["tibia_inclination_bottom_deg"] == pytest.approx(32, abs=1.0)
    assert m["trunk_minus_tibia_bottom_deg"] == pytest.approx(1, abs=1.5)
    assert m["hip_below_knee"] is True  # 0.5 - 0.55 < 0
    assert -6.0 < m["thigh_angle_bottom_deg"] < -3.0  # hip 0.05 leg lengths below the knee
    assert m["knee_width_ratio_bottom"] == pytest.approx(1.2, abs=0.01)
    assert m["knee_inside_ankle_bottom"] == pytest.approx(-0.04, abs=0.002)
    assert m["knee_flexion_asymmetry_deg"] == pytest.approx(0, abs=1e-6)
    assert m["descent_s"] == pytest.approx(m["ascent_s"], abs=0.1)
    assert m["duration_s"] == pytest.approx(2.0, abs=0.35)  # ends where motion is < 5 % of range
    assert 0 <= m["strategy_index"] <= 30  # knee-led
    assert set(m) == set(ALL_METRICS)


def test_lunge_sides() -> None:
    angles = make_angles("lunge")
    reps = _reps(angles, "knee_max")
    assert [rep_side(angles, r) for r in reps] == ["left"] * 3
    side = make_angles("side_lunge")
    reps = _reps(side, "knee_max")
    assert [rep_side(side, r, lateral=True) for r in reps] == ["left"] * 3


def test_strategy_index_extremes() -> None:
    n = 50
    squat_hip = np.linspace(1.0, 0.5, n)
    upright = np.zeros(n)
    assert strategy_index(squat_hip, upright) == pytest.approx(0.0)
    stoop_hip = np.full(n, 1.0)
    bend = np.linspace(0, 90, n)
    assert strategy_index(stoop_hip, bend) == pytest.approx(100.0)
    mixed = strategy_index(np.linspace(1.0, 0.8, n), np.linspace(0, 60, n), trunk_to_leg=0.6)
    expected = 100 * 0.6 * 0.5 / (0.6 * 0.5 + 0.2)
    assert mixed == pytest.approx(expected)
    assert strategy_index(np.full(n, 1.0), np.zeros(n)) is None


def _pose(
    yaw_deg: float,
    *,
    mirrored: bool = False,
    torso_scale: float = 1.0,
    world_software: str | None = None,
):
    """A standing skeleton seen from a camera at ``yaw_deg`` to the frontal plane (0 = front).

    ``torso_scale`` stretches the image vertically (a camera below or above the hips);
    ``world_software`` adds camera-aligned world landmarks from that software.
    """
    k = len(BLAZEPOSE_KEYPOINTS)
    pts3 = {  # x = person's left, y = down, z = anterior; metres
        "left_shoulder": (0.2, -1.4, 0.0),
        "right_shoulder": (-0.2, -1.4, 0.0),
        "left_hip": (0.1, -0.9, 0.0),
        "right_hip": (-0.1, -0.9, 0.0),
        "left_knee": (0.1, -0.5, 0.02),
        "right_knee": (-0.1, -0.5, 0.02),
        "left_ankle": (0.1, -0.1, 0.0),
        "right_ankle": (-0.1, -0.1, 0.0),
        "nose": (0.0, -1.6, 0.1),
    }
    a = np.radians(yaw_deg)
    pos = np.full((5, 2, k, 1), np.nan)
    world = np.full((5, 3, k, 1), np.nan)
    for name, (x, y, z) in pts3.items():
        # camera in front of the person looking back at them: the person's left is image right
        u = x * np.cos(a) + z * np.sin(a)
        depth = -x * np.sin(a) + z * np.cos(a)
        if mirrored:
            u = -u
        i = BLAZEPOSE_KEYPOINTS.index(name)
        pos[:, 0, i, 0] = 500 + 400 * u
        pos[:, 1, i, 0] = 1000 + 400 * y * torso_scale
        world[:, :, i, 0] = (u, y + 0.9, -depth)  # camera axes, origin near the hips
    if world_software is None:
        return make_pose_dataset(pos, time_s=np.arange(5) / 30.0)
    return make_pose_dataset(
        pos, time_s=np.arange(5) / 30.0, position_world=world, source_software=world_software
    )


@pytest.mark.parametrize(
    ("yaw", "expected"), [(0, "front"), (15, "front"), (45, "oblique"), (85, "side")]
)
def test_recognise_view(yaw: float, expected: str) -> None:
    est = recognise_view(_pose(yaw))
    assert est.name == expected
    assert 0 < est.confidence <= 1


@pytest.mark.parametrize(("yaw", "expected"), [(0, "front"), (45, "oblique"), (85, "side")])
def test_recognise_view_from_camera_aligned_world(yaw: float, expected: str) -> None:
    # A camera below the hips stretches the torso in the image: the breadth ratio alone would
    # call a front view oblique; MediaPipe world landmarks give the angle directly.
    software = "kneeback (MediaPipe PoseLandmarker)"
    est = recognise_view(_pose(yaw, torso_scale=1.5, world_software=software))
    assert est.name == expected
    assert est.angle_deg == pytest.approx(yaw, abs=1.0)
    assert recognise_view(_pose(0, torso_scale=1.5)).name == "oblique"


def test_back_view_from_shoulder_order() -> None:
    assert recognise_view(_pose(0, mirrored=True)).name == "back"


def test_recognise_from_the_front_without_bending_angles() -> None:
    angles = make_angles("squat", source="2d")
    for name in ("knee_flexion_left", "knee_flexion_right"):  # 2D knee angles seen from the front
        angles[name] = angles[name] * 0.25
    est = recognise_movement(angles, sagittal=False)
    assert est.recognised == "squat" and "front" in est.reasons[0]
    assert np.isnan(est.features["knee_excursion_deg"])
    assert est.features["hip_drop"] > 0.4
    lunge = angles.copy()
    lunge["hip_height_rel_knee_right"] = angles["hip_height_rel_knee_right"] * 0 + 0.5
    assert recognise_movement(lunge, sagittal=False).recognised == "lunge"
    still = angles.copy()
    still["hip_height_rel_leg"] = angles["hip_height_rel_leg"] * 0 + 0.98
    assert recognise_movement(still, sagittal=False).recognised == "other"


def test_sitting_needs_chair_depth_knee_flexion() -> None:
    # Rowe et al. 2000: chairs need about 90 deg of knee flexion; a 60 deg "seated" hold is not.
    assert recognise_movement(make_angles("sit_to_stand")).recognised == "sit_to_stand"
    shallow = recognise_movement(make_angles("sit_to_stand", knee_deg=60.0))
    assert shallow.recognised != "sit_to_stand"
    assert shallow.features["knee_peak_deg"] < 80


def test_trunk_dip_needs_a_lean_on_both_sides() -> None:
    angles = make_angles("squat", trunk_deg=40.0)
    feats = recognise_movement(angles).features
    assert feats["trunk_dip_deg"] < 10  # the trunk straightens only on the way up
    sts = recognise_movement(make_angles("sit_to_stand", trunk_deg=40.0)).features
    assert sts["trunk_dip_deg"] > 20
