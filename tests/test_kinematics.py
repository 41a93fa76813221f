"""Kinematics: closed-form stick figures, invariances (hypothesis) and the output contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kneeback.io.adapters.virtual_camera import project
from kneeback.kinematics import (
    ANGLE_SPECS,
    IMAGE_UP,
    WORLD_UP,
    angle_between,
    body_frame,
    choose_source,
    compute_angles,
    flexion_angle,
    image_facing,
    joint_angle,
    segment_inclination,
)
from kneeback.schema import make_pose_dataset
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS, mirror_name

K = len(BLAZEPOSE_KEYPOINTS)
SHANK, THIGH, TRUNK = 0.42, 0.45, 0.55
HIP_HALF, SHOULDER_HALF, FOOT = 0.10, 0.18, 0.20

BILATERAL = sorted(s.name for s in ANGLE_SPECS if s.name.endswith("_left"))


def world(fwd: float, up: float, left: float) -> np.ndarray:
    """Body axes (anterior, up, left) -> kneeback world coordinates (x fwd, y down, z left)."""
    return np.array([fwd, -up, left])


def sagittal_figure(
    *, knee: float, tibia: float, trunk: float, heel_rise: float = 0.0
) -> dict[str, np.ndarray]:
    """A symmetric stick figure facing +x, legs in sagittal planes, feet flat unless heel_rise.

    ``heel_rise`` is the angle (deg) the foot rotates about the toe.
    """
    t, k, tr = math.radians(tibia), math.radians(knee), math.radians(trunk)
    phi = t - k  # thigh (knee -> hip) inclination, forward positive
    pts: dict[str, np.ndarray] = {}
    toe_f, floor = 0.15, 0.02
    g = math.radians(heel_rise)
    for side, lat in (("left", HIP_HALF), ("right", -HIP_HALF)):
        ankle = np.array([0.0, 0.08])
        knee_p = ankle + SHANK * np.array([math.sin(t), math.cos(t)])
        hip = knee_p + THIGH * np.array([math.sin(phi), math.cos(phi)])
        toe = np.array([toe_f, floor])
        heel = toe + FOOT * np.array([-math.cos(g), math.sin(g)])
        for name, p in (
            ("ankle", ankle),
            ("knee", knee_p),
            ("hip", hip),
            ("foot_index", toe),
            ("heel", heel),
        ):
            pts[f"{side}_{name}"] = world(p[0], p[1], lat)
    hip_c = pts["left_hip"] + pts["right_hip"]
    hip_c = hip_c / 2
    sh = np.array([hip_c[0], -hip_c[1]]) + TRUNK * np.array([math.sin(tr), math.cos(tr)])
    pts["left_shoulder"] = world(sh[0], sh[1], SHOULDER_HALF)
    pts["right_shoulder"] = world(sh[0], sh[1], -SHOULDER_HALF)
    head = sh + 0.22 * np.array([math.sin(tr), math.cos(tr)])
    pts["nose"] = world(head[0] + 0.09, head[1], 0.0)
    pts["left_ear"] = world(head[0], head[1], 0.07)
    pts["right_ear"] = world(head[0], head[1], -0.07)
    return pts


def frontal_figure(*, valgus_offset: float, drop: float) -> dict[str, np.ndarray]:
    """Straight legs in the frontal plane, knees moved medially, the left hip lowered."""
    a = HIP_HALF * math.tan(math.radians(drop))
    pts: dict[str, np.ndarray] = {}
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        hip_up = 0.95 - sgn * a
        pts[f"{side}_hip"] = world(0.0, hip_up, sgn * HIP_HALF)
        pts[f"{side}_knee"] = world(0.0, 0.5, sgn * (HIP_HALF - valgus_offset))
        pts[f"{side}_ankle"] = world(0.0, 0.08, sgn * HIP_HALF)
        pts[f"{side}_heel"] = world(-0.05, 0.02, sgn * HIP_HALF)
        pts[f"{side}_foot_index"] = world(0.15, 0.02, sgn * HIP_HALF)
        pts[f"{side}_shoulder"] = world(0.0, 1.5, sgn * SHOULDER_HALF)
        pts[f"{side}_ear"] = world(0.0, 1.7, sgn * 0.07)
    pts["nose"] = world(0.09, 1.7, 0.0)
    return pts


def to_dataset(frames: list[dict[str, np.ndarray]], *, fps: float = 30.0) -> xr.Dataset:
    """World-only pose dataset from per-frame dictionaries of world points."""
    n = len(frames)
    w = np.full((n, 3, K, 1), np.nan)
    for i, pts in enumerate(frames):
        for name, p in pts.items():
            w[i, :, BLAZEPOSE_KEYPOINTS.index(name), 0] = p
    return make_pose_dataset(
        np.full((n, 2, K, 1), np.nan),
        time_s=np.arange(n) / fps,
        confidence=np.where(np.isfinite(w).all(axis=1), 1.0, np.nan),
        position_world=w,
        fps=fps,
        source_software="synthetic",
    )


KNEE, TIBIA, TRUNK_INC, HEEL = 60.0, 30.0, 30.0, 20.0


@pytest.fixture(scope="module")
def squat() -> xr.Dataset:
    """Frame 0 standing straight; frame 1 knee 60, tibia 30, trunk 30, heels 20 deg up."""
    return to_dataset(
        [
            sagittal_figure(knee=0.0, tibia=0.0, trunk=0.0),
            sagittal_figure(knee=KNEE, tibia=TIBIA, trunk=TRUNK_INC, heel_rise=HEEL),
        ]
    )


def expected_squat() -> dict[str, float]:
    phi = TIBIA - KNEE
    leg = SHANK + THIGH
    return {
        "knee_flexion": KNEE,
        "hip_flexion": TRUNK_INC - phi,
        "trunk_inclination": TRUNK_INC,
        "tibia_inclination": TIBIA,
        "trunk_minus_tibia": TRUNK_INC - TIBIA,
        "hip_height_rel_knee": THIGH * math.cos(math.radians(phi)) / leg,
        "hip_height_rel_leg": (
            SHANK * math.cos(math.radians(TIBIA)) + THIGH * math.cos(math.radians(phi))
        )
        / leg,
        "heel_lift": math.sin(math.radians(HEEL)),
    }


def check_squat(angles: xr.Dataset, *, ratio_tol: float) -> None:
    exp = expected_squat()
    for stem, value in exp.items():
        names = [stem] if stem in angles else [f"{stem}_left", f"{stem}_right"]
        for name in names:
            got = float(angles[name].isel(time=1))
            tol = 0.5 if angles[name].attrs["units"] == "deg" else ratio_tol
            assert got == pytest.approx(value, abs=tol), name
    standing = angles.isel(time=0)
    for name in ("knee_flexion_left", "hip_flexion_right", "trunk_inclination"):
        assert float(standing[name]) == pytest.approx(0.0, abs=0.5)


def test_closed_form_world(squat: xr.Dataset) -> None:
    angles = compute_angles(squat, source="world")
    check_squat(angles, ratio_tol=1e-6)
    assert float(angles["leg_length"]) == pytest.approx(SHANK + THIGH)
    assert angles["leg_length"].attrs["units"] == "m"
    assert float(angles["knee_fppa_left"].isel(time=1)) == pytest.approx(0.0, abs=1e-6)
    assert float(angles["knee_width_ratio"].isel(time=1)) == pytest.approx(1.0)
    for side in ("left", "right"):  # legs in sagittal planes: knees straight above the ankles
        assert float(angles[f"knee_inside_ankle_{side}"].isel(time=1)) == pytest.approx(0.0)
    assert angles.attrs["source"] == "world"


@pytest.mark.parametrize("side", ["left", "right"])
def test_closed_form_2d_side_view(squat: xr.Dataset, side: str) -> None:
    ds2d = project(squat, view="side", side=side)  # type: ignore[arg-type]
    angles = compute_angles(ds2d, source="2d")
    assert angles.attrs["facing"] == ("image -x" if side == "left" else "image +x")
    check_squat(angles, ratio_tol=0.02)
    assert angles["leg_length"].attrs["units"] == "px"
    assert angles["knee_flexion_left"].attrs["source"] == "2d"


def test_closed_form_2d_orthographic_ratios_exact(squat: xr.Dataset) -> None:
    far = project(squat, view="side", distance_m=300.0, focal_px=100_000.0)
    check_squat(compute_angles(far, source="2d"), ratio_tol=2e-3)


def test_frontal_closed_form_world_and_2d() -> None:
    offset, drop = 0.05, 5.0
    ds = to_dataset(
        [frontal_figure(valgus_offset=0.0, drop=0.0)] * 2
        + [frontal_figure(valgus_offset=offset, drop=drop)]
    )
    fppa = math.degrees(math.atan(offset / (0.95 - 0.5)) + math.atan(offset / (0.5 - 0.08)))
    # the lowered left hip changes the left thigh slightly: compute exactly from the points
    pts = frontal_figure(valgus_offset=offset, drop=drop)
    thigh = (pts["left_knee"] - pts["left_hip"])[[2, 1]]
    shank = (pts["left_ankle"] - pts["left_knee"])[[2, 1]]
    fppa_left = float(angle_between(thigh, shank))
    assert fppa_left == pytest.approx(fppa, abs=0.5)
    leg = float(compute_angles(ds, source="world")["leg_length"])
    for angles in (
        compute_angles(ds, source="world"),
        compute_angles(project(ds, view="front"), source="2d"),
        compute_angles(project(ds, view="back"), source="2d"),
    ):
        last = angles.isel(time=-1)
        for side in ("left", "right"):  # each knee moved inside its ankle by ``offset``
            inside = float(last[f"knee_inside_ankle_{side}"])
            assert inside == pytest.approx(offset / leg, abs=0.002), side
            assert float(angles[f"knee_inside_ankle_{side}"].isel(time=0)) == pytest.approx(
                0.0, abs=0.002
            )
        assert float(last["knee_fppa_left"]) == pytest.approx(fppa_left, abs=0.5)
        assert float(last["knee_fppa_right"]) > 0
        assert float(last["pelvis_drop"]) == pytest.approx(drop, abs=0.5)
        assert float(last["knee_width_ratio"]) == pytest.approx(
            (HIP_HALF - offset) / HIP_HALF, abs=0.01
        )
        first = angles.isel(time=0)
        assert float(first["knee_fppa_left"]) == pytest.approx(0.0, abs=0.5)
        assert float(first["pelvis_drop"]) == pytest.approx(0.0, abs=0.5)


def test_knee_inside_ankle_reads_the_side_to_side_axis_in_a_staggered_stance() -> None:
    """One foot in front of the other (a lunge): the knees' forward travel does not count."""
    offset = 0.04
    frames = []
    for valgus in (0.0, offset):
        pts = frontal_figure(valgus_offset=valgus, drop=0.0)
        for joint in ("knee", "ankle", "heel", "foot_index"):  # the right leg steps forward
            pts[f"right_{joint}"] = pts[f"right_{joint}"] + world(0.6, 0.0, 0.0)
        pts["left_knee"] = pts["left_knee"] + world(0.25, 0.0, 0.0)  # knee over the toes
        frames.append(pts)
    angles = compute_angles(to_dataset(frames), source="world")
    leg = float(angles["leg_length"])
    for side in ("left", "right"):
        values = angles[f"knee_inside_ankle_{side}"].values
        assert values[0] == pytest.approx(0.0, abs=1e-6), side
        assert values[1] == pytest.approx(offset / leg, abs=1e-6), side


def test_varus_is_negative() -> None:
    ds = to_dataset([frontal_figure(valgus_offset=-0.04, drop=0.0)])
    angles = compute_angles(ds, source="world")
    assert float(angles["knee_fppa_left"][0]) < -5
    assert float(angles["knee_fppa_right"][0]) < -5


def test_front_view_2d_has_unknown_facing_and_unsigned_inclination(squat: xr.Dataset) -> None:
    angles = compute_angles(project(squat, view="front"), source="2d")
    assert angles.attrs["facing"] == "unknown"
    assert float(angles["trunk_inclination"].isel(time=1)) >= 0


def test_backward_lean_is_negative() -> None:
    ds = to_dataset([sagittal_figure(knee=0.0, tibia=-10.0, trunk=-15.0)])
    for angles in (compute_angles(ds, source="world"), compute_angles(project(ds), source="2d")):
        assert float(angles["trunk_inclination"][0]) == pytest.approx(-15.0, abs=0.5)
        assert float(angles["tibia_inclination_left"][0]) == pytest.approx(-10.0, abs=0.5)


def test_output_contract(squat: xr.Dataset) -> None:
    angles = compute_angles(squat, source="world")
    expected = {s.name for s in ANGLE_SPECS} | {"leg_length"}
    assert set(angles.data_vars) == expected
    for spec in ANGLE_SPECS:
        da = angles[spec.name]
        assert da.dims == ("time",)
        for key in ("units", "source", "uncertainty", "long_name", "definition"):
            assert key in da.attrs, (spec.name, key)
        if da.attrs["units"] == "deg":
            assert da.attrs["uncertainty_deg"] > 0
    assert angles["hip_height_rel_knee_left"].attrs["units"] == "leg_length"
    assert angles["heel_lift_left"].attrs["units"] == "foot_length"
    assert angles["hip_height_rel_leg"].attrs["units"] == "fraction"
    assert angles["leg_length"].dims == ()


def test_specs_are_symmetric() -> None:
    names = {s.name for s in ANGLE_SPECS}
    for name in names:
        assert mirror_name(name) in names
        assert name.startswith(("knee", "hip", "trunk", "tibia", "heel", "pelvis"))


def test_source_choice(squat: xr.Dataset) -> None:
    assert choose_source(squat) == "world"  # no 2D at all
    projected = project(squat)
    assert choose_source(projected) == "world"  # a virtual camera's view
    real = projected.copy()
    real.attrs["position_from"] = ""
    assert choose_source(real) == "2d"
    assert compute_angles(real).attrs["source"] == "2d"
    two_d_only = real.drop_vars(["position_world", "space3"])
    assert choose_source(two_d_only) == "2d"
    with pytest.raises(ValueError, match="position_world"):
        compute_angles(two_d_only, source="world")


def test_individual_selection(squat: xr.Dataset) -> None:
    assert compute_angles(squat, individual="person_0").attrs["individual"] == "person_0"
    with pytest.raises(ValueError, match="nobody"):
        compute_angles(squat, individual="nobody")
    assert choose_source(squat, source="world") == "world"
    with pytest.raises(ValueError):
        choose_source(squat, source="3d")  # type: ignore[arg-type]


def test_missing_landmarks_give_nan_not_zero(squat: xr.Dataset) -> None:
    ds = squat.copy(deep=True)
    ds["position_world"].loc[{"keypoints": "left_knee"}] = np.nan
    angles = compute_angles(ds, source="world")
    assert np.isnan(angles["knee_flexion_left"]).all()
    assert np.isnan(angles["hip_height_rel_knee_left"]).all()
    assert np.isfinite(angles["knee_flexion_right"]).all()


def test_one_hip_stands_in_for_the_centre(squat: xr.Dataset) -> None:
    ds = squat.copy(deep=True)
    ds["position_world"].loc[{"keypoints": ["right_hip", "right_shoulder"]}] = np.nan
    angles = compute_angles(ds, source="world")
    assert float(angles["trunk_inclination"][1]) == pytest.approx(TRUNK_INC, abs=0.5)


# ---- primitives ------------------------------------------------------------------------------


def _pt(*xy: float, dim: str = "space") -> xr.DataArray:
    return xr.DataArray(np.array(xy, dtype=float), dims=(dim,))


def test_joint_angle_primitives() -> None:
    a, b, c = _pt(0, 0), _pt(1, 0), _pt(1, 1)
    assert float(joint_angle(a, b, c)) == pytest.approx(90.0)
    assert float(flexion_angle(a, b, _pt(2, 0))) == pytest.approx(0.0, abs=1e-9)
    assert float(flexion_angle(a, b, _pt(2, 1))) == pytest.approx(45.0)
    assert np.isnan(float(joint_angle(a, a, c)))
    a3, b3, c3 = (_pt(*p, dim="space3") for p in ((0, 0, 0), (0, 0, 1), (0, 1, 1)))
    assert float(joint_angle(a3, b3, c3)) == pytest.approx(90.0)
    assert joint_angle(a, b, c).attrs["units"] == "deg"


def test_segment_inclination_primitive() -> None:
    ankle, knee = _pt(0, 0), _pt(1, -1)  # image: knee up and to the right
    assert float(segment_inclination(ankle, knee, up=IMAGE_UP)) == pytest.approx(45.0)
    assert float(segment_inclination(ankle, knee, up=IMAGE_UP, forward=(1, 0))) == pytest.approx(
        45.0
    )
    assert float(segment_inclination(ankle, knee, up=IMAGE_UP, forward=(-1, 0))) == pytest.approx(
        -45.0
    )
    a3, k3 = _pt(0, 0, 0, dim="space3"), _pt(0, -1, 1, dim="space3")
    assert float(segment_inclination(a3, k3, up=WORLD_UP)) == pytest.approx(45.0)


def test_body_frame_and_image_facing(squat: xr.Dataset) -> None:
    anterior, left, up = body_frame(squat["position_world"].isel(individuals=0))
    np.testing.assert_allclose(anterior, [1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(left, [0, 0, 1], atol=1e-9)
    np.testing.assert_allclose(up, WORLD_UP)
    side = project(squat, view="side", side="right")["position"].isel(individuals=0)
    assert image_facing(side) == 1
    mirrored = side.copy(data=side.values * np.array([-1.0, 1.0])[None, :, None])
    assert image_facing(mirrored) == -1


# ---- invariance properties (hypothesis) ------------------------------------------------------

JOINT_ANGLES = [
    f"{stem}_{side}"
    for stem in ("knee_flexion", "hip_flexion", "knee_fppa")
    for side in ("left", "right")
]


def _base_2d() -> np.ndarray:
    """A side-ish 2D view of a squatting figure, 5 frames, shape (T, 2, K) in pixels."""
    frames = [
        sagittal_figure(knee=k, tibia=k / 3, trunk=k / 2.5, heel_rise=k / 10)
        for k in (0.0, 30.0, 60.0, 90.0, 20.0)
    ]
    proj = project(to_dataset(frames), view=60.0)
    return np.asarray(proj["position"].isel(individuals=0).values)


BASE_2D = _base_2d()


def _ds2d(pos: np.ndarray) -> xr.Dataset:
    return make_pose_dataset(pos[..., None], time_s=np.arange(pos.shape[0]) / 30.0, fps=30.0)


noise = hnp.arrays(
    np.float64,
    BASE_2D.shape,
    elements=st.floats(-25, 25, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=40, deadline=None)
@given(
    noise=noise,
    angle=st.floats(-180, 180),
    scale=st.floats(0.2, 5.0),
    shift=st.tuples(st.floats(-2000, 2000), st.floats(-2000, 2000)),
)
def test_joint_angles_invariant_to_rotation_translation_scale(
    noise: np.ndarray, angle: float, scale: float, shift: tuple[float, float]
) -> None:
    pos = BASE_2D + noise
    th = math.radians(angle)
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    moved = scale * np.einsum("ij,tjk->tik", rot, pos) + np.array(shift)[None, :, None]
    a = compute_angles(_ds2d(pos), source="2d")
    b = compute_angles(_ds2d(moved), source="2d")
    for name in JOINT_ANGLES:
        np.testing.assert_allclose(b[name].values, a[name].values, atol=1e-6, err_msg=name)


@settings(max_examples=40, deadline=None)
@given(
    noise=noise,
    scale=st.floats(0.2, 5.0),
    shift=st.tuples(st.floats(-2000, 2000), st.floats(-2000, 2000)),
)
def test_everything_invariant_to_translation_and_scale(
    noise: np.ndarray, scale: float, shift: tuple[float, float]
) -> None:
    pos = BASE_2D + noise
    moved = scale * pos + np.array(shift)[None, :, None]
    a = compute_angles(_ds2d(pos), source="2d")
    b = compute_angles(_ds2d(moved), source="2d")
    for spec in ANGLE_SPECS:
        np.testing.assert_allclose(b[spec.name].values, a[spec.name].values, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(noise=noise, width=st.floats(100, 4000))
def test_mirroring_swaps_left_and_right(noise: np.ndarray, width: float) -> None:
    """Mirror the image and relabel as a detector would: left and right values swap."""
    pos = BASE_2D + noise
    swap = [BLAZEPOSE_KEYPOINTS.index(mirror_name(k)) for k in BLAZEPOSE_KEYPOINTS]
    mirrored = pos.copy()
    mirrored[:, 0] = width - mirrored[:, 0]
    mirrored = mirrored[:, :, swap]
    a = compute_angles(_ds2d(pos), source="2d")
    b = compute_angles(_ds2d(mirrored), source="2d")
    for name in BILATERAL:
        other = mirror_name(name)
        np.testing.assert_allclose(b[name].values, a[other].values, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(b[other].values, a[name].values, atol=1e-6, err_msg=name)
    for name in ("trunk_inclination", "hip_height_rel_leg", "knee_width_ratio"):
        np.testing.assert_allclose(b[name].values, a[name].values, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(b["pelvis_drop"].values, -a["pelvis_drop"].values, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(angle=st.floats(-20, 20))
def test_image_rotation_tilts_inclinations(angle: float) -> None:
    """Inclinations are relative to the image vertical: rotating the image changes them."""
    th = math.radians(angle)
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    moved = np.einsum("ij,tjk->tik", rot, BASE_2D)
    a = compute_angles(_ds2d(BASE_2D), source="2d")
    b = compute_angles(_ds2d(moved), source="2d")
    facing = -1 if a.attrs["facing"] == "image -x" else 1
    assert a.attrs["facing"] == b.attrs["facing"] != "unknown"
    # x right, y down: a positive rotation turns an upright segment towards +x on screen.
    diff = b["trunk_inclination"].values - a["trunk_inclination"].values
    np.testing.assert_allclose(diff, facing * angle, atol=1e-6)


def test_video_landmarks_are_not_taken_for_markers():
    from kneeback.kinematics.angles import _measurement_kind

    base = xr.Dataset(attrs={"source_software": "kneeback (MediaPipe PoseLandmarker)"})
    assert _measurement_kind(base, "world") == "video_world"
    assert _measurement_kind(base, "2d") == "video_2d"
    vicon = xr.Dataset(attrs={"source_software": "Vicon Plug-in-Gait (UI-PRMD)"})
    assert _measurement_kind(vicon, "world") == "marker"
    stated = xr.Dataset(attrs={"source_software": "anything", "measurement": "video"})
    assert _measurement_kind(stated, "world") == "video_world"


def test_knee_width_ratio_uncertainty_propagates_joint_error() -> None:
    ds = to_dataset([frontal_figure(valgus_offset=0.0, drop=0.0)] * 3)
    ds.attrs["measurement"] = "marker"
    angles = compute_angles(ds, source="world")
    leg = float(angles["leg_length"])
    joint_error = 0.02 * leg  # marker joint-centre error, in leg lengths (see _UNCERTAINTY)
    expected = 2.0 * joint_error / (2 * HIP_HALF)  # ankles 2 * HIP_HALF apart
    assert angles["knee_width_ratio"].attrs["uncertainty"] == pytest.approx(expected, abs=1e-3)
    # Two joint centres, each 2 % of leg length: sqrt(2) * 0.02 leg lengths.
    assert angles["knee_inside_ankle_left"].attrs["uncertainty"] == pytest.approx(0.028)
    assert angles["hip_height_rel_leg"].attrs["uncertainty"] == pytest.approx(0.02)
