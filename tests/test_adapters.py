"""Adapters (UI-PRMD, Kinect, keypoint JSON, netCDF) and the virtual camera."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from kneeback.errors import InputError
from kneeback.io.adapters import FORMATS, detect_format, load_any, project
from kneeback.io.adapters.keypoints_json import (
    COCO17_KEYPOINTS,
    keypoint_alias,
    load_keypoints_json,
)
from kneeback.io.adapters.kinect import KINECT_JOINTS, KINECT_TO_BLAZEPOSE, load_kinect
from kneeback.io.adapters.uiprmd import (
    UIPRMD_MARKERS,
    hip_joint_centres_harrington,
    load_uiprmd,
    parse_uiprmd_name,
)
from kneeback.io.adapters.virtual_camera import view_azimuth_deg
from kneeback.io.posefile import save_pose_dataset
from kneeback.kinematics import compute_angles
from kneeback.schema import make_pose_dataset, validate_pose_dataset
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS, mirror_name

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
UIPRMD = DATA / "ui-prmd" / "vicon"
KERAAL = DATA / "keraal"
K = len(BLAZEPOSE_KEYPOINTS)

needs_uiprmd = pytest.mark.skipif(not UIPRMD.is_dir(), reason="UI-PRMD sample data absent")
needs_keraal = pytest.mark.skipif(not KERAAL.is_dir(), reason="Keraal sample data absent")


def uiprmd_file(name: str) -> Path:
    kind = "incorrect" if name.endswith("_inc") else "correct"
    return UIPRMD / kind / f"{name}.txt.gz"


# ---- UI-PRMD ---------------------------------------------------------------------------------


def test_parse_uiprmd_name() -> None:
    assert parse_uiprmd_name("x/m01_s03_e07_positions.txt.gz") == {
        "movement": "m01",
        "movement_name": "deep squat",
        "subject": "s03",
        "episode": 7,
        "correct": 1,
    }
    assert parse_uiprmd_name("m05_s12_e10_positions_inc.txt.gz")["correct"] == 0
    assert parse_uiprmd_name("m05_s12_e10_positions_inc.txt.gz")["movement_name"] == "sit to stand"
    assert parse_uiprmd_name("other.txt") == {}


def test_harrington_on_a_textbook_pelvis() -> None:
    # ASIS 250 mm apart, PSIS 160 mm behind: x anterior, y left, z up (mm).
    lasi, rasi = np.array([[0.0, 125.0, 0.0]]), np.array([[0.0, -125.0, 0.0]])
    lpsi, rpsi = np.array([[-160.0, 45.0, 0.0]]), np.array([[-160.0, -45.0, 0.0]])
    left, right = hip_joint_centres_harrington(lasi, rasi, lpsi, rpsi)
    np.testing.assert_allclose(left[0], [-0.24 * 160 - 9.9, 0.33 * 250 + 7.3, -0.30 * 250 - 10.9])
    np.testing.assert_allclose(right[0], left[0] * np.array([1, -1, 1]))


@needs_uiprmd
def test_uiprmd_marker_order_is_plausible() -> None:
    with gzip.open(uiprmd_file("m01_s01_e01_positions"), "rt") as fh:
        raw = np.loadtxt(fh, delimiter=",")
    m = {n: raw[0].reshape(39, 3)[i] for i, n in enumerate(UIPRMD_MARKERS)}
    z = {n: p[2] for n, p in m.items()}
    assert z["LFHD"] > z["C7"] > z["LASI"] > z["LKNE"] > z["LANK"] > z["LTOE"] - 50
    for s in "LR":
        assert z[f"{s}ASI"] > z[f"{s}THI"] > z[f"{s}KNE"] > z[f"{s}TIB"] > z[f"{s}ANK"]
    for n in ("FHD", "BHD", "SHO", "ELB", "ASI", "PSI", "KNE", "ANK", "HEE", "TOE"):
        assert m[f"L{n}"][1] > m[f"R{n}"][1], n  # +y is the subject's left
    assert m["LFHD"][0] > m["LBHD"][0] and m["LTOE"][0] > m["LHEE"][0]  # +x is anterior
    assert m["LASI"][0] > m["LPSI"][0]


@needs_uiprmd
def test_uiprmd_loads_with_attrs_and_axes() -> None:
    ds = load_uiprmd(uiprmd_file("m01_s03_e01_positions"))
    validate_pose_dataset(ds)
    assert ds.attrs["fps"] == 100.0
    assert ds.attrs["source_software"] == "Vicon Plug-in-Gait (UI-PRMD)"
    assert (ds.attrs["movement"], ds.attrs["subject"], ds.attrs["episode"]) == ("m01", "s03", 1)
    assert ds.attrs["correct"] == 1 and ds.attrs["position_from"] == "virtual_camera"
    np.testing.assert_allclose(np.diff(ds["time"].values), 0.01)
    w = ds["position_world"].isel(individuals=0, time=0)
    y = {k: float(w.sel(keypoints=k, space3="y")) for k in BLAZEPOSE_KEYPOINTS}
    assert y["nose"] < y["left_shoulder"] < y["left_hip"] < y["left_knee"] < y["left_ankle"]
    assert -y["nose"] > 1.4  # metres above the floor
    left_z = float(w.sel(keypoints="left_hip", space3="z"))
    assert left_z > float(w.sel(keypoints="right_hip", space3="z"))  # z = the subject's left
    hip_width = float(np.linalg.norm(w.sel(keypoints="left_hip") - w.sel(keypoints="right_hip")))
    assert 0.13 < hip_width < 0.26
    assert np.isnan(w.sel(keypoints="left_eye_inner")).all()  # not derivable
    assert np.isfinite(ds["position"].sel(keypoints="left_knee")).all()


@needs_uiprmd
def test_uiprmd_standing_and_deep_squat_knee_flexion() -> None:
    angles = compute_angles(load_uiprmd(uiprmd_file("m01_s03_e01_positions")), source="world")
    for side in ("left", "right"):
        assert 0.0 <= float(angles[f"knee_flexion_{side}"][0]) <= 15.0
    peaks = {}
    for kind, suffix in (("correct", ""), ("incorrect", "_inc")):
        values = []
        for s in range(1, 7):
            ds = load_uiprmd(uiprmd_file(f"m01_s{s:02d}_e01_positions{suffix}"))
            a = compute_angles(ds, source="world")
            values.append(float(np.nanmax(a["knee_flexion_left"] + a["knee_flexion_right"]) / 2))
        peaks[kind] = np.median(values)
    assert 90.0 < peaks["correct"] < 160.0
    assert 60.0 < peaks["incorrect"] < peaks["correct"]


@needs_uiprmd
@pytest.mark.parametrize(
    "name", ["m01_s01_e01_positions", "m01_s04_e02_positions", "m05_s02_e01_positions"]
)
def test_uiprmd_side_view_agrees_with_3d(name: str) -> None:
    """Seen from the left, the left knee's 2D angle and the trunk match the 3D values.

    (The far leg and hip flexion can differ by ~5 deg where the thighs are abducted: a side
    view cannot see out-of-plane motion.)
    """
    ds = load_uiprmd(uiprmd_file(name))  # default: side view from the subject's left
    world = compute_angles(ds, source="world")
    seen = compute_angles(ds, source="2d")
    assert seen.attrs["source"] == "2d" and world.attrs["source"] == "world"
    knee = np.abs(world["knee_flexion_left"].values - seen["knee_flexion_left"].values)
    assert np.nanmedian(knee) < 3.0
    trunk = np.abs(world["trunk_inclination"].values - seen["trunk_inclination"].values)
    assert np.nanmedian(trunk) < 0.5
    tibia = np.abs(world["tibia_inclination_left"].values - seen["tibia_inclination_left"].values)
    assert np.nanmedian(tibia) < 1.5


@needs_uiprmd
def test_uiprmd_right_side_view_and_auto_source() -> None:
    ds = load_uiprmd(uiprmd_file("m01_s02_e02_positions"), view="side", side="right")
    assert ds.attrs["virtual_camera_azimuth_deg"] == -90.0
    angles = compute_angles(ds)  # auto: a virtual camera's 2D -> world
    assert angles.attrs["source"] == "world"
    assert angles.attrs["measurement"] == "marker"
    assert angles["knee_flexion_left"].attrs["uncertainty_deg"] <= 5.0


@needs_uiprmd
def test_uiprmd_missing_markers_are_nan_not_zero(tmp_path: Path) -> None:
    with gzip.open(uiprmd_file("m01_s01_e01_positions"), "rt") as fh:
        raw = np.loadtxt(fh, delimiter=",")
    j = UIPRMD_MARKERS.index("LTOE")
    raw[:5, 3 * j : 3 * j + 3] = 0.0
    path = tmp_path / "m01_s01_e01_positions.txt"
    np.savetxt(path, raw, delimiter=",")
    ds = load_uiprmd(path)
    toe = ds["position_world"].sel(keypoints="left_foot_index").isel(individuals=0)
    assert np.isnan(toe[:5]).all() and np.isfinite(toe[5:]).all()


def test_uiprmd_rejects_wrong_files(tmp_path: Path) -> None:
    bad = tmp_path / "m01_s01_e01_positions.txt"
    bad.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(InputError, match="117"):
        load_uiprmd(bad)
    with pytest.raises(InputError):
        load_uiprmd(tmp_path / "absent.txt.gz")


# ---- Kinect ----------------------------------------------------------------------------------


def test_kinect_mapping_is_symmetric() -> None:
    assert len(KINECT_JOINTS) == 25
    for joint, name in KINECT_TO_BLAZEPOSE.items():
        assert joint in KINECT_JOINTS and name in BLAZEPOSE_KEYPOINTS
        twin = joint.replace("Left", "Right") if "Left" in joint else joint.replace("Right", "Left")
        assert KINECT_TO_BLAZEPOSE[twin] == mirror_name(name)


@needs_keraal
@pytest.mark.parametrize("exercise", ["CTK", "ELK", "RTK"])
def test_keraal_kinect_loads(exercise: str) -> None:
    path = KERAAL / f"G3-Kinect-{exercise}-P1T1-Unknown-C-0.txt"
    ds = load_kinect(path)
    assert ds.sizes["keypoints"] == K and ds.sizes["time"] > 150
    np.testing.assert_allclose(np.diff(ds["time"].values), 1 / 30)
    assert ds.attrs["fps"] == 30.0
    w = ds["position_world"].isel(individuals=0)
    for name in ("left_shoulder", "left_hip", "left_knee", "left_ankle", "right_knee"):
        assert np.isfinite(w.sel(keypoints=name)).all(), name
    assert np.isnan(w.sel(keypoints="nose")).all()
    # y down: shoulders above hips above ankles; z: 2-4 m in front of the sensor
    y = w.sel(space3="y").median("time")
    assert float(y.sel(keypoints="left_shoulder")) < float(y.sel(keypoints="left_hip"))
    assert float(y.sel(keypoints="left_hip")) < float(y.sel(keypoints="left_ankle"))
    assert 1.5 < float(w.sel(space3="z", keypoints="left_hip").median()) < 4.5
    # the person faces the sensor: their left appears at image right
    x = ds["position"].isel(individuals=0).sel(space="x").median("time")
    assert float(x.sel(keypoints="left_shoulder")) > float(x.sel(keypoints="right_shoulder"))
    angles = compute_angles(ds)
    assert angles.attrs["source"] == "world"
    assert 0.5 < float(angles["leg_length"]) < 1.1


def test_kinect_other_layouts_and_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    xyz = rng.uniform(-0.5, 0.5, size=(4, 25, 3)) + np.array([0, 0, 3.0])
    state = np.full((4, 25, 1), 2.0)
    state[0, 13] = 1.0  # KneeLeft inferred
    state[1, 13] = 0.0  # not tracked
    path = tmp_path / "kimore.csv"
    np.savetxt(path, np.concatenate([xyz, state], axis=-1).reshape(4, 100), delimiter=",")
    ds = load_kinect(path, fps=30.0)
    conf = ds["confidence"].sel(keypoints="left_knee").isel(individuals=0).values
    np.testing.assert_allclose(conf, [0.5, np.nan, 1.0, 1.0])
    np.testing.assert_allclose(
        ds["position_world"].sel(keypoints="left_knee").isel(individuals=0, time=2).values,
        xyz[2, 13] * np.array([-1, -1, 1]),
    )
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3 4\n")
    with pytest.raises(InputError, match="25 joints"):
        load_kinect(bad)


# ---- keypoint JSON ---------------------------------------------------------------------------


def test_keypoint_aliases() -> None:
    assert keypoint_alias("Left_eye_inner") == "left_eye_inner"
    assert keypoint_alias("lShoulder") == "left_shoulder"
    assert keypoint_alias("RKnee") == "right_knee"
    assert keypoint_alias("Rknee") == "right_knee"
    assert keypoint_alias("Neck") is None
    assert all(keypoint_alias(n) == n for n in COCO17_KEYPOINTS)


@needs_keraal
@pytest.mark.parametrize("exercise", ["CTK", "ELK", "RTK"])
def test_keraal_blazepose_and_openpose_agree(exercise: str) -> None:
    bp = load_any(KERAAL / f"G3-BP-{exercise}-P1T1-Unknown-C-0.json")
    op = load_any(KERAAL / f"G3-OP-{exercise}-P1T1-Unknown-C-0.json")
    assert bp.attrs["skeleton"] == "blazepose" and op.attrs["skeleton"] == "coco"
    assert bp.attrs["mirrored_input"] == 1 and op.attrs["mirrored_input"] == 0
    for ds in (bp, op):
        assert ds.sizes["keypoints"] == K and ds.sizes["time"] > 150
        assert (ds.attrs["width"], ds.attrs["height"]) == (960, 544)
        np.testing.assert_allclose(np.diff(ds["time"].values), 1 / 30)
        assert float(ds["position"].max()) <= 960
    assert np.isfinite(bp["position"].sel(keypoints="left_heel")).all()
    assert np.isnan(op["position"].sel(keypoints="left_heel")).all()
    # Same video, two estimators: after un-mirroring, the same joints land in the same place.
    for name in ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee"):
        a = bp["position"].sel(keypoints=name).isel(individuals=0).median("time").values
        b = op["position"].sel(keypoints=name).isel(individuals=0).median("time").values
        assert np.linalg.norm(a - b) < 20.0, name


@needs_keraal
def test_keraal_openpose_missing_joints_are_nan() -> None:
    op = load_keypoints_json(KERAAL / "G3-OP-CTK-P1T1-Unknown-C-0.json")
    ear = op["position"].sel(keypoints="right_ear").isel(individuals=0)
    assert 0 < int(np.isnan(ear.sel(space="x")).sum()) < op.sizes["time"]
    assert float(op["position"].min()) > 0  # no zeros standing for missing


def test_alphapose_detection_list(tmp_path: Path) -> None:
    def det(frame: int, score: float, dx: float) -> dict[str, object]:
        kps = []
        for i in range(17):
            kps += [100.0 + 10 * i + dx, 200.0 + 5 * i, 0.9]
        kps[3 * 3 : 3 * 3 + 3] = [0.0, 0.0, 0.0]  # left_ear missing
        return {"image_id": f"{frame}.jpg", "keypoints": kps, "score": score}

    path = tmp_path / "alphapose-results.json"
    path.write_text(json.dumps([det(0, 2.0, 0), det(0, 1.0, 500), det(1, 2.5, 1), det(3, 2.0, 2)]))
    with pytest.raises(InputError, match="fps"):
        load_any(path)
    ds = load_any(path, fps=25.0)
    assert detect_format(path) == "coco-json"
    np.testing.assert_allclose(ds["time"].values, [0.0, 0.04, 0.12])
    x = ds["position"].sel(space="x", keypoints="nose").isel(individuals=0).values
    np.testing.assert_allclose(x, [100.0, 101.0, 102.0])  # the best-scoring person per frame
    assert np.isnan(ds["position"].sel(keypoints="left_ear")).all()
    y = ds["position"].sel(keypoints="right_ankle", space="y").isel(individuals=0)
    assert float(y[0]) == 200 + 5 * 16


def test_normalised_json_needs_image_size(tmp_path: Path) -> None:
    path = tmp_path / "clip.json"
    frames = {"1.0": {"Nose": [0.5, 0.2], "lShoulder": [0.6, 0.3]}}
    path.write_text(json.dumps({"positions": frames}))
    with pytest.raises(InputError, match="width"):
        load_keypoints_json(path, fps=30.0)
    ds = load_keypoints_json(path, fps=30.0, width=1000, height=500)
    np.testing.assert_allclose(ds["position"].sel(keypoints="nose")[0, :, 0], [500.0, 100.0])
    np.testing.assert_allclose(
        ds["position"].sel(keypoints="left_shoulder")[0, :, 0], [600.0, 150.0]
    )
    mirrored = load_keypoints_json(path, fps=30.0, width=1000, height=500, mirrored=True)
    np.testing.assert_allclose(
        mirrored["position"].sel(keypoints="right_shoulder")[0, :, 0], [400.0, 150.0]
    )


# ---- load_any and errors ---------------------------------------------------------------------


def test_load_any_netcdf_roundtrip(tmp_path: Path) -> None:
    pos = np.random.default_rng(0).uniform(0, 500, size=(5, 2, K, 1))
    ds = make_pose_dataset(pos, time_s=np.arange(5) / 30.0)
    path = save_pose_dataset(ds, tmp_path / "clip.nc")
    assert detect_format(path) == "netcdf"
    back = load_any(path)
    np.testing.assert_allclose(back["position"].values, pos)


@needs_uiprmd
def test_load_any_detects_uiprmd() -> None:
    path = uiprmd_file("m02_s01_e01_positions")
    assert detect_format(path) == "uiprmd"
    assert load_any(path).attrs["movement_name"] == "hurdle step"
    assert load_any(path, format="uiprmd", fps=50.0).attrs["fps"] == 50.0


@needs_keraal
def test_load_any_detects_keraal_formats() -> None:
    assert detect_format(KERAAL / "G3-Kinect-CTK-P1T1-Unknown-C-0.txt") == "kinect"
    assert detect_format(KERAAL / "G3-BP-CTK-P1T1-Unknown-C-0.json") == "blazepose-json"
    assert detect_format(KERAAL / "G3-OP-CTK-P1T1-Unknown-C-0.json") == "coco-json"
    with pytest.raises(InputError, match="blazepose"):
        load_any(KERAAL / "G3-BP-CTK-P1T1-Unknown-C-0.json", format="coco-json")


@pytest.mark.parametrize(
    "content", [b"", b"\x00\x01garbage", b"not, a, pose\n", b'{"a": 1}', b"[1, 2"]
)
def test_load_any_rejects_unreadable_input(tmp_path: Path, content: bytes) -> None:
    suffix = ".json" if content.startswith((b"{", b"[")) else ".txt"
    path = tmp_path / f"clip{suffix}"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_any(path)
    message = str(info.value)
    assert message.endswith(".") and "\n" not in message


def test_load_any_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No pose file"):
        load_any(tmp_path / "nothing.nc")
    path = tmp_path / "x.txt"
    path.write_text("1 2 3\n")
    with pytest.raises(InputError, match="Unknown pose format"):
        load_any(path, format="bvh")  # type: ignore[arg-type]
    assert set(FORMATS) == {"netcdf", "uiprmd", "kinect", "blazepose-json", "coco-json"}


# ---- virtual camera --------------------------------------------------------------------------


def _standing_world() -> xr.Dataset:
    """A person facing +x (x anterior, y down, z left), 1.7 m tall."""
    pts = {
        "nose": (0.09, -1.6, 0.0),
        "left_shoulder": (0.0, -1.45, 0.18),
        "right_shoulder": (0.0, -1.45, -0.18),
        "left_hip": (0.0, -0.95, 0.1),
        "right_hip": (0.0, -0.95, -0.1),
        "left_knee": (0.0, -0.5, 0.1),
        "right_knee": (0.0, -0.5, -0.1),
        "left_ankle": (0.0, -0.08, 0.1),
        "right_ankle": (0.0, -0.08, -0.1),
        "left_heel": (-0.05, -0.02, 0.1),
        "right_heel": (-0.05, -0.02, -0.1),
        "left_foot_index": (0.15, -0.02, 0.1),
        "right_foot_index": (0.15, -0.02, -0.1),
    }
    w = np.full((2, 3, K, 1), np.nan)
    for name, p in pts.items():
        w[:, :, BLAZEPOSE_KEYPOINTS.index(name), 0] = p
    w[1] += np.array([0.5, 0.0, 0.0])[:, None, None]  # a step forward
    return make_pose_dataset(
        np.full((2, 2, K, 1), np.nan), time_s=np.array([0.0, 0.1]), position_world=w
    )


def test_view_azimuths() -> None:
    assert view_azimuth_deg("front") == 0.0
    assert view_azimuth_deg("side") == 90.0
    assert view_azimuth_deg("side", side="right") == -90.0
    assert view_azimuth_deg("oblique", side="right") == -45.0
    assert view_azimuth_deg("back") == 180.0
    assert view_azimuth_deg(30) == 30.0
    with pytest.raises(ValueError):
        view_azimuth_deg("top")  # type: ignore[arg-type]


def test_virtual_camera_views() -> None:
    ds = _standing_world()
    front = project(ds, view="front", image_size=(720, 1280))
    x = front["position"].isel(individuals=0, time=0).sel(space="x")
    assert float(x.sel(keypoints="left_hip")) > float(x.sel(keypoints="right_hip"))
    assert (front.attrs["width"], front.attrs["height"]) == (1280, 720)
    assert front.attrs["position_from"] == "virtual_camera"
    back = project(ds, view="back")
    xb = back["position"].isel(individuals=0, time=0).sel(space="x")
    assert float(xb.sel(keypoints="left_hip")) < float(xb.sel(keypoints="right_hip"))
    left = project(ds, view="side", side="left")
    p = left["position"].isel(individuals=0)
    # seen from their left, the person faces image left and steps towards it
    assert float(p.sel(space="x", keypoints="left_foot_index")[0]) < float(
        p.sel(space="x", keypoints="left_heel")[0]
    )
    assert float(p.sel(space="x", keypoints="nose")[1]) < float(
        p.sel(space="x", keypoints="nose")[0]
    )
    # y down, upright camera: the head is above the feet and the body is centred vertically
    assert float(p.sel(space="y", keypoints="nose")[0]) < float(
        p.sel(space="y", keypoints="left_ankle")[0]
    )
    ys = p.sel(space="y").values
    assert 0 < np.nanmin(ys) < 540 < np.nanmax(ys) < 1080
    # 1.7 m seen at about 3 m with f = 1000 px is about 560 px tall
    assert 450 < np.nanmax(ys) - np.nanmin(ys) < 650
    np.testing.assert_array_equal(left["position_world"].values, ds["position_world"].values)


def test_virtual_camera_height_and_points_behind() -> None:
    ds = _standing_world()
    low = project(ds, view="front", height_m=0.1)
    high = project(ds, view="front", height_m=1.6)
    y_low = float(low["position"].isel(time=0, individuals=0).sel(space="y", keypoints="nose"))
    y_high = float(high["position"].isel(time=0, individuals=0).sel(space="y", keypoints="nose"))
    assert y_low < y_high
    assert 540.0 < y_high < 550.0  # the nose is 2 cm below the camera (floor = the heels)
    assert low.attrs["virtual_camera_height_m"] == pytest.approx(0.1)
    close = project(ds, view="front", distance_m=0.3)  # the person's second position is behind
    assert np.isnan(close["position"].isel(time=1).sel(keypoints="nose")).all()
