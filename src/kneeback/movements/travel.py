"""Walking or stepping, not a repetition in place: the feet at the bottom of a repetition.

Every movement kneeback analyses has the feet planted at its bottom: a lunge steps before it
lowers (a walking lunge too), a side lunge steps out first, and a sit-to-stand, a hinge and a
floor lift never move the feet. Walking also bends the knees in rhythm, and the knee-driven
repetition detector counts its strides (a person walking across the outdoor multi-person clip
was read as two side lunges). What tells them apart is the feet: at the bottom of a repetition
in place the faster ankle moves a few hundredths of a leg length per second, while a walker
always has a foot swinging.

Measured (median over the bottom phase of the speed of the faster ankle, in leg lengths per
second): UI-PRMD s01-s06, first episode of all five movements, 0.00-0.38 (the hurdle step's
lifted foot the most); the real front-view squats 0.01; a person walking across the outdoor
clip 3.0 and 3.5; the lab clip's reaching foot 2.1. The limit, :data:`MAX_PLANTED_FEET_SPEED`,
lies between. The speed is horizontal: in the image (x) for video, in the horizontal plane for
3D data, so walking towards the camera in a front view goes unseen.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from kneeback.kinematics.body import leg_length
from kneeback.kinematics.geometry import spatial_dim
from kneeback.movements.reps import Rep

__all__ = ["MAX_PLANTED_FEET_SPEED", "feet_planted", "feet_speed"]

#: Fastest horizontal speed of the faster ankle, in leg lengths per second, at which the feet
#: still count as planted at the bottom of a repetition (see the module docstring).
MAX_PLANTED_FEET_SPEED = 1.0


def feet_speed(ds: xr.Dataset, /) -> np.ndarray:
    """Horizontal speed of the faster ankle in each frame, in leg lengths per second.

    Parameters
    ----------
    ds
        A pose dataset (see :mod:`kneeback.schema`); its first individual is read, from
        ``position`` (image x is horizontal) when present, else from ``position_world``
        (horizontal = the plane normal to world y).

    Returns
    -------
    numpy.ndarray
        One value per frame; NaN where an ankle or the leg length is unknown.
    """
    name = "position" if "position" in ds else "position_world"
    points = ds[name].isel(individuals=0)
    dim = spatial_dim(points)
    horizontal = [0] if name == "position" else [0, 2]
    t = np.asarray(ds["time"].values, dtype=np.float64)
    leg = leg_length(points)
    if t.size < 2 or not np.isfinite(leg) or leg <= 0:
        return np.full(t.size, np.nan)
    speeds = []
    for side in ("left", "right"):
        ankle = np.asarray(
            points.sel(keypoints=f"{side}_ankle").transpose("time", dim).values, dtype=np.float64
        )[:, horizontal]
        velocity = np.gradient(ankle, t, axis=0)
        speeds.append(np.linalg.norm(velocity, axis=1) / leg)
    with np.errstate(invalid="ignore"):
        return np.fmax(speeds[0], speeds[1])


def feet_planted(speed: np.ndarray, rep: Rep, /) -> bool:
    """Whether the feet were still at the bottom of a repetition.

    Parameters
    ----------
    speed
        Output of :func:`feet_speed` for the same frames as ``rep``.
    rep
        A repetition (or a recognition window) with its bottom phase.

    Returns
    -------
    bool
        False when the median speed over the bottom phase exceeds
        :data:`MAX_PLANTED_FEET_SPEED`; True otherwise, and when the feet were not seen.
    """
    first, last = rep.bottom
    bottom = speed[first : last + 1]
    bottom = bottom[np.isfinite(bottom)]
    return not (bottom.size and float(np.median(bottom)) > MAX_PLANTED_FEET_SPEED)
