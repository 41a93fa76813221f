"""Undo left/right leg swaps: frames in which the pose model exchanged the legs' labels.

Seen from the side the legs overlap, and a single-camera pose model now and then labels the
left leg as the right one for a few frames (on the outdoor VP9 clip the walker's ankles
exchange labels twice, for 4 frames each). Filtered, such a swap smears into both legs' angles
and turns a lunge's front leg into its back leg for a moment.

A frame's legs are compared with the last frame before it (with the swaps undone up to there):
when the legs lie much closer to the opposite legs of that frame than to their own (the
exchanged assignment costs less than :data:`SWAP_COST_RATIO` of the kept one) and the kept
assignment means a real jump (the leg landmarks moved on average more than
:data:`MIN_JUMP_LEG` leg lengths), the frame's leg labels are exchanged back. Legs that merely
pass each other, as in walking, or overlap, as in a squat seen from the side, cost about the
same either way and are left alone. The decision is made on ``position`` (the image) when
present, else on ``position_world``; every position variable and the confidence follow it.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from kneeback.kinematics.body import leg_length
from kneeback.kinematics.geometry import spatial_dim

__all__ = ["LEG_JOINTS", "MIN_JUMP_LEG", "SWAP_COST_RATIO", "unswap_legs"]

#: The landmarks of each leg whose labels are checked and exchanged (the hips overlap from the
#: side and are left as they are).
LEG_JOINTS = ("knee", "ankle", "heel", "foot_index")

#: The exchanged assignment must cost less than this share of the kept one.
SWAP_COST_RATIO = 0.5

#: Smallest mean displacement of the leg landmarks, in leg lengths, that counts as a jump.
MIN_JUMP_LEG = 0.05


def _leg_indices(ds: xr.Dataset) -> tuple[list[int], list[int]] | None:
    names = [str(k) for k in ds["keypoints"].values]
    left = [f"left_{j}" for j in LEG_JOINTS]
    right = [f"right_{j}" for j in LEG_JOINTS]
    if not all(n in names for n in (*left, *right)):
        return None
    return [names.index(n) for n in left], [names.index(n) for n in right]


def _swapped_frames(
    points: np.ndarray, left: list[int], right: list[int], leg: float
) -> np.ndarray:
    """Find the frames whose leg labels are exchanged, from (time, space, keypoints) positions.

    Each frame is compared with the last position of each leg landmark seen before it (swaps
    undone), on the landmarks seen on both legs in both; at least two are needed.
    """
    n = points.shape[0]
    swapped = np.zeros(n, dtype=bool)
    ref_l = np.full(points[0][:, left].shape, np.nan)
    ref_r = np.full_like(ref_l, np.nan)
    for t in range(n):
        lt, rt = points[t][:, left], points[t][:, right]
        both = np.isfinite(lt).all(0) & np.isfinite(rt).all(0)
        usable = both & np.isfinite(ref_l).all(0) & np.isfinite(ref_r).all(0)
        if usable.sum() >= 2:
            a, b, ra, rb = lt[:, usable], rt[:, usable], ref_l[:, usable], ref_r[:, usable]
            kept = np.linalg.norm(a - ra, axis=0).sum() + np.linalg.norm(b - rb, axis=0).sum()
            crossed = np.linalg.norm(a - rb, axis=0).sum() + np.linalg.norm(b - ra, axis=0).sum()
            jump = kept / (2 * usable.sum()) > MIN_JUMP_LEG * leg
            swapped[t] = jump and crossed < SWAP_COST_RATIO * kept
        new_l, new_r = (rt, lt) if swapped[t] else (lt, rt)
        ref_l = np.where(np.isfinite(new_l), new_l, ref_l)
        ref_r = np.where(np.isfinite(new_r), new_r, ref_r)
    return swapped


def unswap_legs(ds: xr.Dataset, /) -> xr.Dataset:
    """Exchange the left and right leg labels back in frames where the pose model swapped them.

    Parameters
    ----------
    ds
        A pose dataset (see :mod:`kneeback.schema`).

    Returns
    -------
    xarray.Dataset
        A copy in which, for each individual, the :data:`LEG_JOINTS` of the frames found
        swapped (see the module docstring) have their left and right positions and confidences
        exchanged. The attr ``leg_swaps_undone`` counts those frames.
    """
    out = ds.copy()  # the exchanged variables are new arrays; the input is not changed
    idx = _leg_indices(ds)
    total = 0
    if idx is None:
        out.attrs["leg_swaps_undone"] = 0
        return out
    left, right = idx
    decide = "position" if "position" in ds else "position_world"
    for i in range(ds.sizes["individuals"]):
        points = ds[decide].isel(individuals=i)
        leg = leg_length(points)
        if not np.isfinite(leg) or leg <= 0:
            continue
        values = points.transpose("time", spatial_dim(points), "keypoints").values
        swapped = _swapped_frames(np.asarray(values, dtype=np.float64), left, right, leg)
        total += int(swapped.sum())
        if not swapped.any():
            continue
        for name in ("position", "position_world", "confidence"):
            if name in out:
                out[name] = _exchange(out[name], swapped, left, right, individual=i)
    out.attrs["leg_swaps_undone"] = total
    return out


def _exchange(
    da: xr.DataArray, frames: np.ndarray, left: list[int], right: list[int], *, individual: int
) -> xr.DataArray:
    """Exchange the ``left`` and ``right`` keypoints of one individual in the given frames."""
    order = ("time", *[d for d in da.dims if d not in ("time", "keypoints", "individuals")])
    moved = da.transpose(*order, "keypoints", "individuals")
    values = moved.values.copy()
    rows = values[frames]
    kept = rows[..., left, individual].copy()
    rows[..., left, individual] = rows[..., right, individual]
    rows[..., right, individual] = kept
    values[frames] = rows
    return moved.copy(data=values).transpose(*da.dims)
