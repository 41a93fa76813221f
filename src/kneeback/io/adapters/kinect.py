"""Kinect v2 skeleton text files (Keraal, KIMORE) -> pose dataset.

Layout: one row per frame, the 25 Kinect v2 joints in the SDK's ``JointType`` order
(:data:`KINECT_JOINTS`), each with a fixed number of values separated by spaces or commas:

- 7 values, ``x y z qx qy qz qw`` (Keraal ``G3-Kinect-*.txt``: 175 columns);
- 4 values, ``x y z tracking_state`` (KIMORE-style position files: 100 columns; state 2 =
  tracked, 1 = inferred, 0 = not tracked, read as confidence 1, 0.5 and missing);
- 3 values, ``x y z`` (75 columns).

Positions are in metres in Kinect camera space (origin at the sensor, x to the sensor's left,
y up, z along the sensor's view). A joint at exactly (0, 0, 0) is missing. The files carry no
timestamps, so frame ``i`` is at ``i / fps``.

World coordinates
-----------------
``position_world = (-x, -y, z)``: the camera frame of the sensor with x to the image right,
y down and z away from the sensor, the same convention as MediaPipe world landmarks (right
handed, y down). "Down" is the sensor's down, which is gravity only when the sensor is level.
``position`` is the pinhole projection into the sensor's colour camera, approximated as
1920 x 1080 px with a 1060 px focal length (attr ``position_from = "depth_camera"``), i.e. the
view the Kinect itself had.

Joint mapping onto BlazePose-33: shoulders, elbows, wrists, hips, knees and ankles by name;
``HandTip`` -> ``*_index``, ``Thumb`` -> ``*_thumb``, ``Foot`` -> ``*_foot_index``. Kinect hips
sit higher and more lateral than the anatomical hip joint centres. Head, neck, spine and hand
centre have no BlazePose equivalent and are not kept; nose, eyes, ears and heels are NaN.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from kneeback.errors import InputError
from kneeback.schema import make_pose_dataset
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS

__all__ = ["KINECT_JOINTS", "KINECT_TO_BLAZEPOSE", "load_kinect", "pinhole_project"]

#: Kinect v2 ``JointType`` order.
KINECT_JOINTS: tuple[str, ...] = (
    "SpineBase", "SpineMid", "Neck", "Head",
    "ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft",
    "ShoulderRight", "ElbowRight", "WristRight", "HandRight",
    "HipLeft", "KneeLeft", "AnkleLeft", "FootLeft",
    "HipRight", "KneeRight", "AnkleRight", "FootRight",
    "SpineShoulder", "HandTipLeft", "ThumbLeft", "HandTipRight", "ThumbRight",
)  # fmt: skip

#: Kinect joint -> BlazePose landmark.
KINECT_TO_BLAZEPOSE: dict[str, str] = {
    f"{joint}{side.title()}": f"{side}_{name}"
    for side in ("left", "right")
    for joint, name in (
        ("Shoulder", "shoulder"),
        ("Elbow", "elbow"),
        ("Wrist", "wrist"),
        ("HandTip", "index"),
        ("Thumb", "thumb"),
        ("Hip", "hip"),
        ("Knee", "knee"),
        ("Ankle", "ankle"),
        ("Foot", "foot_index"),
    )
}

_SENSOR_IMAGE_SIZE = (1080, 1920)  # (height, width) of the Kinect v2 colour camera
_SENSOR_FOCAL_PX = 1060.0
_SPLIT = re.compile(r"[,;\s]+")


def pinhole_project(
    world: np.ndarray, /, *, focal_px: float, image_size: tuple[int, int]
) -> np.ndarray:
    """Project camera-frame points (x right, y down, z forward, metres) to pixels.

    Parameters
    ----------
    world
        Array of shape (time, 3, keypoints, individuals).
    focal_px
        Focal length in pixels; the principal point is the image centre.
    image_size
        ``(height, width)`` in pixels.

    Returns
    -------
    numpy.ndarray
        Shape (time, 2, keypoints, individuals); NaN for points not in front of the camera.
    """
    h, w = image_size
    x, y, z = world[:, 0], world[:, 1], world[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = z > 1e-3
        u = np.where(ok, focal_px * x / z + 0.5 * w, np.nan)
        v = np.where(ok, focal_px * y / z + 0.5 * h, np.nan)
    return np.stack([u, v], axis=1)


def _read_rows(path: Path) -> np.ndarray:
    rows: list[list[float]] = []
    try:
        with open(path, encoding="utf-8", errors="strict") as fh:
            for line_no, line in enumerate(fh):
                fields = [f for f in _SPLIT.split(line.strip()) if f]
                if not fields:
                    continue
                try:
                    rows.append([float(f) for f in fields])
                except ValueError:
                    if line_no == 0 and not rows:
                        continue  # a header line
                    raise
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not a readable Kinect skeleton file ({exc}).") from exc
    if not rows:
        raise InputError(f"{path} holds no Kinect frames.")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise InputError(f"{path} has rows of different lengths {sorted(widths)}.")
    return np.asarray(rows, dtype=np.float64)


def load_kinect(path: str | Path, /, *, fps: float = 30.0) -> xr.Dataset:
    """Load a Kinect v2 skeleton text file as a pose dataset with BlazePose-33 names.

    Parameters
    ----------
    path
        A text file with 25 joints per row (see the module docstring for the layouts).
    fps
        Frame rate of the file; Kinect v2 records 30 Hz.

    Returns
    -------
    xarray.Dataset
        A validated pose dataset with ``position_world`` in metres (x right, y down, z away from
        the sensor), ``position`` in pixels of the sensor's approximate colour camera and
        ``confidence`` (1, or from the tracking state when the file has one).

    Raises
    ------
    InputError
        If the file is missing, unreadable, or not 25 joints x 3, 4 or 7 values.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No Kinect file at {path}.")
    if fps <= 0:
        raise ValueError(f"fps must be positive, not {fps}.")
    data = _read_rows(path)
    n, cols = data.shape
    per_joint = cols // len(KINECT_JOINTS)
    if cols % len(KINECT_JOINTS) or per_joint not in (3, 4, 7):
        raise InputError(
            f"{path} has {cols} values per frame; a Kinect v2 skeleton file has 25 joints x "
            "3, 4 or 7 values (75, 100 or 175)."
        )
    joints = data.reshape(n, len(KINECT_JOINTS), per_joint)
    xyz = joints[:, :, :3]
    missing = (xyz == 0).all(axis=-1)
    joint_conf = np.where(missing, np.nan, 1.0)
    if per_joint == 4:
        state = joints[:, :, 3]
        joint_conf = np.where(state >= 2, 1.0, np.where(state >= 1, 0.5, np.nan))
        joint_conf = np.where(missing, np.nan, joint_conf)
    xyz = np.where(np.isfinite(joint_conf)[..., None], xyz, np.nan)

    k_total = len(BLAZEPOSE_KEYPOINTS)
    world = np.full((n, 3, k_total, 1), np.nan)
    conf = np.full((n, k_total, 1), np.nan)
    for j, joint in enumerate(KINECT_JOINTS):
        name = KINECT_TO_BLAZEPOSE.get(joint)
        if name is None:
            continue
        k = BLAZEPOSE_KEYPOINTS.index(name)
        world[:, :, k, 0] = xyz[:, j, :] * np.array([-1.0, -1.0, 1.0])
        conf[:, k, 0] = joint_conf[:, j]
    position = pinhole_project(world, focal_px=_SENSOR_FOCAL_PX, image_size=_SENSOR_IMAGE_SIZE)
    conf = np.where(np.isfinite(position).all(axis=1), conf, np.nan)
    return make_pose_dataset(
        position,
        time_s=np.arange(n) / float(fps),
        confidence=conf,
        position_world=world,
        individuals=("subject",),
        fps=float(fps),
        source_software="Microsoft Kinect v2",
        attrs={
            "source_file": path.name,
            "width": _SENSOR_IMAGE_SIZE[1],
            "height": _SENSOR_IMAGE_SIZE[0],
            "position_from": "depth_camera",
            "world_axes": "Kinect camera frame: x image right, y down, z away from the sensor (m)",
        },
    )
