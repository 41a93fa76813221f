"""Which way the body faces: in the image (left or right) and in world coordinates (a vector).

Both are estimated once per clip, robustly (medians over frames), because a single frame's
hips or feet can be missing or noisy.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from kneeback.kinematics.geometry import WORLD_UP, spatial_dim

__all__ = ["body_frame", "image_facing", "leg_length", "nan_midpoint", "side_mean"]

#: |median cue| below this means the facing direction in the image is unknown (front/back view).
_MIN_FACING_CUE = 0.3


def _point(points: xr.DataArray, name: str) -> np.ndarray:
    """Return (time, D) coordinates of one keypoint, NaN if the keypoint is absent."""
    dim = spatial_dim(points)
    n_space = points.sizes[dim]
    if name not in points["keypoints"].values:
        return np.full((points.sizes["time"], n_space), np.nan)
    return np.asarray(points.sel(keypoints=name).transpose("time", dim).values, dtype=np.float64)


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.linalg.norm(v, axis=-1, keepdims=True)
        return np.where(n > 0, v / n, np.nan)


def nan_midpoint(a: np.ndarray, b: np.ndarray, /) -> np.ndarray:
    """Midpoint of two point arrays, or whichever one is present where the other is NaN.

    Parameters
    ----------
    a, b
        Arrays of shape (time, D).

    Returns
    -------
    numpy.ndarray
        Shape (time, D); NaN only where both are missing.
    """
    a_ok = np.isfinite(a).all(axis=-1, keepdims=True)
    b_ok = np.isfinite(b).all(axis=-1, keepdims=True)
    mid = 0.5 * (a + b)
    return np.where(a_ok & b_ok, mid, np.where(a_ok, a, np.where(b_ok, b, np.nan)))


def side_mean(left: np.ndarray, right: np.ndarray, /) -> np.ndarray:
    """Mean of a left and a right series, or whichever one is present where the other is NaN.

    Parameters
    ----------
    left, right
        Arrays of shape (time,).

    Returns
    -------
    numpy.ndarray
        Shape (time,); NaN only where both are missing.
    """
    return nan_midpoint(left[:, None], right[:, None])[:, 0]


def leg_length(points: xr.DataArray, /) -> float:
    """Estimate the leg length: hip -> knee plus knee -> ankle, both sides averaged.

    Each side's length is the 90th percentile over the frames (foreshortening and missed joints
    only ever shorten it), and the two sides are averaged.

    Parameters
    ----------
    points
        Keypoint positions (``position`` or ``position_world`` of one individual).

    Returns
    -------
    float
        In the points' units; NaN when neither leg is seen.
    """
    lengths = []
    for side in ("left", "right"):
        hip, knee, ankle = (_point(points, f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        leg = np.linalg.norm(knee - hip, axis=-1) + np.linalg.norm(ankle - knee, axis=-1)
        leg = leg[np.isfinite(leg)]
        if leg.size:
            lengths.append(float(np.percentile(leg, 90)))
    return float(np.mean(lengths)) if lengths else float("nan")


def image_facing(position: xr.DataArray, /) -> int:
    """Estimate whether the person faces image right (+1), image left (-1), or neither (0).

    Cues, each the image-x component of a unit vector, averaged per frame: heel -> foot index of
    each foot and ears' midpoint -> nose. Their median over the clip decides; in a front or back
    view the cues cancel or vanish and 0 (unknown) is returned.

    Parameters
    ----------
    position
        Image coordinates of one person, dims (time, space, keypoints).

    Returns
    -------
    int
        +1, -1 or 0.
    """
    cues = []
    for side in ("left", "right"):
        heel = _point(position, f"{side}_heel")
        toe = _point(position, f"{side}_foot_index")
        cues.append(_unit(toe - heel)[:, 0])
    ears = nan_midpoint(_point(position, "left_ear"), _point(position, "right_ear"))
    cues.append(_unit(_point(position, "nose") - ears)[:, 0])
    stacked = np.stack(cues, axis=1)
    finite = np.isfinite(stacked)
    counts = finite.sum(axis=1)
    per_frame = np.where(counts > 0, np.nansum(stacked, axis=1) / np.maximum(counts, 1), np.nan)
    if not np.isfinite(per_frame).any():
        return 0
    score = float(np.nanmedian(per_frame))
    if abs(score) < _MIN_FACING_CUE:
        return 0
    return 1 if score > 0 else -1


def body_frame(position_world: xr.DataArray, /) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate the body's anterior, left and up unit vectors in world coordinates.

    The left direction is the median over the clip of the horizontal part of
    ``(left_hip - right_hip) + (left_shoulder - right_shoulder)``; anterior is
    ``left x up`` (right-handed). Without hips and shoulders, the feet (heel -> foot index)
    give the anterior direction instead.

    Parameters
    ----------
    position_world
        World coordinates of one person, dims (time, space3, keypoints), y down.

    Returns
    -------
    anterior, left, up : numpy.ndarray
        Unit vectors of shape (3,); anterior and left are NaN when nothing tells them.
    """
    up = np.asarray(WORLD_UP, dtype=np.float64)

    def horizontal(v: np.ndarray) -> np.ndarray:
        return v - (v @ up)[..., None] * up

    lateral = np.nan_to_num(
        _point(position_world, "left_hip") - _point(position_world, "right_hip")
    ) + np.nan_to_num(
        _point(position_world, "left_shoulder") - _point(position_world, "right_shoulder")
    )
    lateral = _unit(horizontal(lateral))
    if np.isfinite(lateral).all(axis=1).any():
        left = _unit(np.nanmedian(lateral, axis=0))
        anterior = _unit(np.cross(left, up))
        return anterior, left, up
    feet = [
        _unit(
            horizontal(
                _point(position_world, f"{s}_foot_index") - _point(position_world, f"{s}_heel")
            )
        )
        for s in ("left", "right")
    ]
    fwd = np.concatenate(feet, axis=0)
    if np.isfinite(fwd).all(axis=1).any():
        anterior = _unit(np.nanmedian(fwd, axis=0))
        left = _unit(np.cross(up, anterior))
        return anterior, left, up
    nan = np.full(3, np.nan)
    return nan, nan.copy(), up
