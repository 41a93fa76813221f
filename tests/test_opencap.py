"""Five real squats from OpenCap, rebuilt as a stick figure and analysed end to end.

``../shared/data/opencap/squats-5reps.mot`` holds the joint angles of 5 bodyweight squats
(OpenSim coordinates at 100 Hz, from OpenCap's example trial; knee flexion 0-88 deg). Forward
kinematics in the sagittal plane turns them into landmarks, with round adult segment lengths;
the landmarks go through the virtual camera and the whole analysis. The figure's angles are
known exactly, so kneeback must count 5 repetitions and read back the knee flexion and trunk
lean that went in. The arms follow the trial's shoulder and elbow angles: the hands stay out in
front at about knee height, so this deep forward lean is a squat, not a floor lift.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from kneeback.analysis import analyse, analyse_detailed
from kneeback.io.adapters.virtual_camera import project
from kneeback.schema import make_pose_dataset
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS

MOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "opencap" / "squats-5reps.mot"
pytestmark = pytest.mark.skipif(not MOT.exists(), reason="shared OpenCap data not present")

THIGH, SHANK, TRUNK, HIP_HALF = 0.42, 0.42, 0.50, 0.08
UPPER_ARM, FOREARM = 0.30, 0.27


def _read_mot(path: Path) -> dict[str, np.ndarray]:
    lines = path.read_text().splitlines()
    end = lines.index("endheader")
    columns = lines[end + 1].split("\t")
    rows = np.array([[float(v) for v in line.split("\t")] for line in lines[end + 2 :] if line])
    return {name.strip(): rows[:, i] for i, name in enumerate(columns)}


def _down(angle_deg: np.ndarray) -> np.ndarray:
    """Unit vectors pointing down, turned forward by ``angle_deg``: world (x fwd, y down)."""
    a = np.radians(angle_deg)
    return np.stack([np.sin(a), np.cos(a)], axis=1)


def _figure(
    mot: dict[str, np.ndarray], *, reach_floor: bool = False
) -> tuple[xr.Dataset, dict[str, np.ndarray]]:
    """World landmarks of the sagittal stick figure, and the angles that went in.

    With ``reach_floor`` the arms hang straight down instead, so that the hands go below the
    knees as the trunk bends: the same legs and trunk lifting something from the floor.
    """
    tilt = mot["pelvis_tilt"]  # OpenSim: rotation about the right-pointing axis, + = posterior
    hip_c = np.stack([mot["pelvis_tx"], -mot["pelvis_ty"]], axis=1)
    trunk_up = -_down(tilt + mot["lumbar_extension"])  # up, turned forward by the flexion (< 0)
    shoulder_c = hip_c + TRUNK * trunk_up
    n = tilt.size
    world = np.full((n, 3, len(BLAZEPOSE_KEYPOINTS), 1), np.nan)

    def put(name: str, xy: np.ndarray, z: float) -> None:
        k = BLAZEPOSE_KEYPOINTS.index(name)
        world[:, 0, k, 0], world[:, 1, k, 0], world[:, 2, k, 0] = xy[:, 0], xy[:, 1], z

    truth: dict[str, np.ndarray] = {"trunk_inclination": -(tilt + mot["lumbar_extension"])}
    for side, r, z in (("left", "l", HIP_HALF), ("right", "r", -HIP_HALF)):
        thigh = tilt + mot[f"hip_flexion_{r}"]  # + = knee forward of the hip
        shank = thigh - mot[f"knee_angle_{r}"]  # + = ankle forward of the knee
        knee = hip_c + THIGH * _down(thigh)
        ankle = knee + SHANK * _down(shank)
        foot = np.radians(shank + mot[f"ankle_angle_{r}"])  # foot pitch, + = toes up
        along = np.stack([np.cos(foot), -np.sin(foot)], axis=1)
        sole = ankle + np.array([0.0, 0.06])
        put(f"{side}_hip", hip_c, z)
        put(f"{side}_knee", knee, z)
        put(f"{side}_ankle", ankle, z)
        put(f"{side}_heel", sole - 0.05 * along, z)
        put(f"{side}_foot_index", sole + 0.15 * along, z)
        put(f"{side}_shoulder", shoulder_c, 1.8 * z)
        put(f"{side}_ear", shoulder_c + 0.22 * trunk_up, 0.9 * z)
        # OpenSim: arm flexion turns the upper arm forward from along the trunk, elbow flexion
        # the forearm further forward.
        arm = tilt + mot["lumbar_extension"] + mot[f"arm_flex_{r}"]
        forearm = arm + mot[f"elbow_flex_{r}"]
        if reach_floor:
            arm = forearm = np.zeros(n)
        elbow = shoulder_c + UPPER_ARM * _down(arm)
        put(f"{side}_elbow", elbow, 1.8 * z)
        put(f"{side}_wrist", elbow + FOREARM * _down(forearm), 1.8 * z)
        truth[f"knee_flexion_{side}"] = mot[f"knee_angle_{r}"]
    put("nose", shoulder_c + 0.2 * trunk_up + np.array([0.1, 0.0]), 0.0)
    ds = make_pose_dataset(
        np.full((n, 2, len(BLAZEPOSE_KEYPOINTS), 1), np.nan),
        time_s=mot["time"],
        confidence=np.where(np.isfinite(world).all(axis=1), 1.0, np.nan),
        position_world=world,
        source_software="OpenCap coordinates, sagittal forward kinematics",
    )
    return project(ds, view="side"), truth


@pytest.fixture(scope="module")
def figure() -> tuple[xr.Dataset, dict[str, np.ndarray]]:
    return _figure(_read_mot(MOT))


@pytest.mark.parametrize("source", ["3d", "side 2d"])
def test_five_squats_counted_and_measured(figure, source: str) -> None:
    ds, truth = figure
    data = ds if source == "3d" else ds.drop_vars("position_world")
    out = analyse_detailed(data, movement="squat")
    res = out.result
    assert res.view.recognised == "side"
    assert len(res.reps) == 5 and not any(r.partial for r in res.reps)
    t = ds["time"].values
    for rep in res.reps:
        span = (t >= rep.start_s) & (t <= rep.end_s)
        knee = 0.5 * (truth["knee_flexion_left"] + truth["knee_flexion_right"])[span]
        # the filtered peak of the mean of both knees, within the 6 Hz low-pass's rounding
        assert rep.metrics["knee_flexion_peak_deg"] == pytest.approx(knee.max(), abs=1.5)
        trunk = truth["trunk_inclination"][span]
        assert rep.metrics["trunk_inclination_peak_deg"] == pytest.approx(trunk.max(), abs=1.5)
    for name in ("knee_flexion_left", "knee_flexion_right", "trunk_inclination"):
        got = out.angles[name].values
        assert np.nanmedian(np.abs(got - truth[name])) < 0.5, name


def test_a_squat_with_the_trunk_this_far_forward_is_said_to_be_trunk_led(figure) -> None:
    ds, _ = figure
    res = analyse(ds, movement="squat")
    assert all(r.metrics["strategy_index"] > 50 for r in res.reps)
    assert any(f.id == "trunk_vs_tibia" and f.severity == "major" for f in res.findings)


def test_the_hands_tell_a_deep_forward_lean_from_a_floor_lift(figure) -> None:
    ds, _ = figure
    squat = analyse(ds)
    assert squat.movement.recognised == "squat"
    assert "the hands stayed above the knees" in squat.movement.reasons[0]
    assert squat.movement.features["trunk_excursion_deg"] > 70  # as far as a floor lift
    assert squat.movement.features["hands_below_knees"] < 0.0  # hands above the knees
    assert squat.verdict == "needs_work"  # the trunk led: judged as the squat it was
    lift, _ = _figure(_read_mot(MOT), reach_floor=True)
    for data in (lift, lift.drop_vars("position_world")):
        res = analyse(data)
        assert res.movement.recognised == "floor_lift"
        assert "hands reached below the knees" in res.movement.reasons[0]
    no_hands = ds.drop_sel(keypoints=["left_wrist", "right_wrist"])
    assert analyse(no_hands).movement.recognised == "floor_lift"  # the trunk alone decides
    # Hands hidden at the bottom (behind the box, say) and seen high on the way: still a lift.
    hidden = lift.copy(deep=True)
    bent = _read_mot(MOT)["pelvis_tilt"] < -25
    for var in ("position", "position_world"):
        hidden[var].loc[{"keypoints": ["left_wrist", "right_wrist"]}] = np.where(
            bent[:, None, None, None],
            np.nan,
            hidden[var].sel(keypoints=["left_wrist", "right_wrist"]),
        )
    res = analyse(hidden)
    assert res.movement.recognised == "floor_lift"
    assert res.movement.features["hands_below_knees"] is None  # not seen where it counts
