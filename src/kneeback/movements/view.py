"""Which way the camera looks at the person: side, front, back or oblique.

The cue is how wide the shoulders and hips appear in the image relative to the torso length: a
body seen from the front shows its full shoulder and hip breadth, one seen from the side shows
almost none. Where metric world landmarks exist, the same ratio measured in 3D gives the true
breadth, so the image ratio over the world ratio is the cosine of the camera's angle to the
frontal plane; otherwise typical adult proportions stand in. Front and back are told apart by
the left/right order of the shoulders in the image and by whether the face is visible.

MediaPipe world landmarks share the camera's axes (x right, y down, z away from the camera;
only the origin moves to the hip centre). For them the camera's angle to the frontal plane is
read directly: the shoulder and hip lines turn out of the image plane by
``atan(|dz| / |dx|)``. This does not depend on the torso's apparent length, which a forward
lean or a camera above or below the hips foreshortens (a front-view squat filmed from knee
height otherwise looks 25-30 deg "oblique").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import xarray as xr

__all__ = [
    "CAMERA_ALIGNED_WORLD_SOFTWARE",
    "TYPICAL_BREADTH_RATIO",
    "ViewEstimate",
    "ViewName",
    "recognise_view",
]

#: ``source_software`` substrings (lower case) of pose data whose world landmarks share the
#: camera's axes, so that the view angle can be read from them directly.
CAMERA_ALIGNED_WORLD_SOFTWARE: tuple[str, ...] = ("mediapipe", "poselandmarker", "blazepose")

ViewName = Literal["side", "front", "back", "oblique", "unknown"]

#: Typical adult (shoulder breadth, hip breadth) over torso length (shoulder centre to hip centre),
#: between joint-centre landmarks: about 0.2 H and 0.1 H over 0.29 H (Winter, Biomechanics and
#: Motor Control of Human Movement, segment-length table).
TYPICAL_BREADTH_RATIO: tuple[float, float] = (0.70, 0.35)

#: Camera angle to the frontal plane (deg): below FRONT_MAX it is a front/back view, above
#: SIDE_MIN a side view, in between oblique. 45-90 deg is acceptable for sagittal angles
#: (REFERENCES.md, "How accurate a single camera is"); 60 keeps a margin.
FRONT_MAX_DEG = 30.0
SIDE_MIN_DEG = 60.0


@dataclass(frozen=True)
class ViewEstimate:
    """The recognised camera view.

    Attributes
    ----------
    name
        ``"side"``, ``"front"``, ``"back"``, ``"oblique"`` or ``"unknown"``.
    angle_deg
        Camera angle to the person's frontal plane: 0 front or back, 90 side (median over frames).
    confidence
        Fraction in [0, 1]: share of frames whose own view agrees with ``name``, lowered near
        class boundaries.
    facing
        For side views, the side of the body turned to the camera (``"left"``/``"right"``).
    """

    name: ViewName
    angle_deg: float | None
    confidence: float
    facing: str | None = None


def _kp(arr: xr.DataArray, name: str) -> np.ndarray:
    if name not in arr["keypoints"].values:
        shape = (arr.sizes["time"], arr.shape[1])
        return np.full(shape, np.nan)
    return np.asarray(arr.sel(keypoints=name).values, dtype=np.float64)


def _breadth_ratios(arr: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    ls, rs = _kp(arr, "left_shoulder"), _kp(arr, "right_shoulder")
    lh, rh = _kp(arr, "left_hip"), _kp(arr, "right_hip")
    torso = np.linalg.norm(0.5 * (ls + rs) - 0.5 * (lh + rh), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sh = np.linalg.norm(ls - rs, axis=1) / torso
        hp = np.linalg.norm(lh - rh, axis=1) / torso
    return sh, hp


def _camera_aligned_world(ds: xr.Dataset) -> bool:
    software = str(ds.attrs.get("source_software", "")).lower()
    projected = str(ds.attrs.get("position_from", "")) != ""
    return (
        "position_world" in ds
        and not projected
        and any(s in software for s in CAMERA_ALIGNED_WORLD_SOFTWARE)
    )


def _world_yaw_deg(world: xr.DataArray) -> np.ndarray:
    """Per-frame angle (deg) of the shoulder and hip lines out of the image plane (0 = front)."""
    yaws = []
    for a, b in (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")):
        d = _kp(world, a) - _kp(world, b)
        with np.errstate(invalid="ignore"):
            yaws.append(np.degrees(np.arctan2(np.abs(d[:, 2]), np.abs(d[:, 0]))))
    stack = np.stack(yaws)
    out = np.full(stack.shape[1], np.nan)
    ok = np.isfinite(stack).any(axis=0)
    out[ok] = np.nanmean(stack[:, ok], axis=0)
    return out


def _classify(angle: np.ndarray) -> np.ndarray:
    out = np.full(angle.shape, "oblique", dtype=object)
    out[angle < FRONT_MAX_DEG] = "frontal"
    out[angle >= SIDE_MIN_DEG] = "side"
    out[~np.isfinite(angle)] = "unknown"
    return out


def recognise_view(ds: xr.Dataset, /, *, individual: str | None = None) -> ViewEstimate:
    """Recognise the camera view of a pose dataset.

    Parameters
    ----------
    ds
        A pose dataset (see :mod:`kneeback.schema`).
    individual
        Which individual; the first by default.

    Returns
    -------
    ViewEstimate
        The view with its angle and confidence; ``"unknown"`` when shoulders and hips are not seen.
    """
    ind = individual if individual is not None else ds["individuals"].values[0]
    pos = ds["position"].sel(individuals=ind).transpose("time", "space", "keypoints")
    if _camera_aligned_world(ds):
        world = ds["position_world"].sel(individuals=ind).transpose("time", "space3", "keypoints")
        yaw = _world_yaw_deg(world)
        if np.isfinite(yaw).any():
            return _estimate(ds, pos, ind, yaw)
    sh2, hp2 = _breadth_ratios(pos)
    ref_sh, ref_hp = TYPICAL_BREADTH_RATIO
    if "position_world" in ds:
        world = ds["position_world"].sel(individuals=ind).transpose("time", "space3", "keypoints")
        sh3, hp3 = _breadth_ratios(world)
        if np.isfinite(sh3).any() and np.isfinite(hp3).any():
            ref_sh = float(np.nanmedian(sh3))
            ref_hp = float(np.nanmedian(hp3))
    with np.errstate(invalid="ignore"):
        cos_sh = np.clip(sh2 / ref_sh, 0.0, 1.0)
        cos_hp = np.clip(hp2 / ref_hp, 0.0, 1.0)
    cos = np.nanmean(np.stack([cos_sh, cos_hp]), axis=0) if sh2.size else sh2
    with np.errstate(invalid="ignore"):
        angle = np.degrees(np.arccos(cos))
    return _estimate(ds, pos, ind, angle)


def _estimate(ds: xr.Dataset, pos: xr.DataArray, ind: object, angle: np.ndarray) -> ViewEstimate:
    """Name the view from per-frame camera angles to the frontal plane."""
    if not np.isfinite(angle).any():
        return ViewEstimate(name="unknown", angle_deg=None, confidence=0.0)
    med = float(np.nanmedian(angle))
    per_frame = _classify(angle[np.isfinite(angle)])
    cls = str(_classify(np.array([med]))[0])
    agree = float(np.mean(per_frame == cls))
    margin = min(abs(med - FRONT_MAX_DEG), abs(med - SIDE_MIN_DEG))
    confidence = agree * float(min(1.0, 0.5 + margin / 20.0))
    facing: str | None = None
    name: ViewName
    if cls == "frontal":
        # Facing the camera, the person's left shoulder appears on the image right (+x).
        dx = _kp(pos, "left_shoulder")[:, 0] - _kp(pos, "right_shoulder")[:, 0]
        dx_hip = _kp(pos, "left_hip")[:, 0] - _kp(pos, "right_hip")[:, 0]
        order = np.nanmedian(np.concatenate([dx, dx_hip])) if np.isfinite(dx).any() else np.nan
        name = "back" if (np.isfinite(order) and order < 0) else "front"
    elif cls == "side":
        name = "side"
        facing = _side_facing(ds, pos, ind)
    else:
        name = "oblique"
    return ViewEstimate(name=name, angle_deg=med, confidence=round(confidence, 3), facing=facing)


def _side_facing(ds: xr.Dataset, pos: xr.DataArray, ind: object) -> str | None:
    """Which side of the body is nearer the camera in a side view."""
    if "confidence" in ds:
        conf = ds["confidence"].sel(individuals=ind)
        names = [str(k) for k in conf["keypoints"].values]
        left = [n for n in names if n.startswith("left_")]
        right = [f"right_{n[5:]}" for n in left if f"right_{n[5:]}" in names]
        left = [f"left_{n[6:]}" for n in right]
        if left:
            cl = float(np.nanmean(conf.sel(keypoints=left).values))
            cr = float(np.nanmean(conf.sel(keypoints=right).values))
            if np.isfinite(cl) and np.isfinite(cr) and abs(cl - cr) > 0.05:
                return "left" if cl > cr else "right"
    if "position_world" in ds:
        world = ds["position_world"].sel(individuals=ind).transpose("time", "space3", "keypoints")
        # MediaPipe world z points away from the camera: nearer landmarks have smaller z.
        dz = _kp(world, "left_shoulder")[:, 2] - _kp(world, "right_shoulder")[:, 2]
        dz = np.concatenate([dz, _kp(world, "left_hip")[:, 2] - _kp(world, "right_hip")[:, 2]])
        if np.isfinite(dz).any():
            return "left" if np.nanmedian(dz) < 0 else "right"
    return None
