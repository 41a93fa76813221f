"""How far the hips come down over the standing foot.

A step over a hurdle lifts one thigh as high as a lunge flexes its front hip, but the standing
leg stays straight: the hips do not come down over the foot that carries the body. A lunge, a
split squat and a side lunge all lower the hips over the feet. The height of the hip centre
above the lower ankle (the foot on the ground) tells them apart, where the hips' height above
the ankles' midpoint cannot: lifting one foot raises that midpoint.

Measured (largest minus smallest height over a repetition, in leg lengths; UI-PRMD s01-s06, 3D
and side projection): hurdle steps 0.00-0.07, inline lunges 0.19-0.68, side lunges 0.10-0.58.
The recognition rules read it against the lowering every repetition needs
(:data:`kneeback.movements.specs.MIN_HIP_LOWERING_PCT`, 8 % of leg length), not a fitted value.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from kneeback.kinematics.body import leg_length
from kneeback.kinematics.geometry import spatial_dim

__all__ = ["hip_height_over_stance"]


def hip_height_over_stance(ds: xr.Dataset, /) -> np.ndarray:
    """Height of the hip centre above the lower ankle in each frame, in leg lengths.

    Parameters
    ----------
    ds
        A pose dataset (see :mod:`kneeback.schema`); its first individual is read, from
        ``position`` when present (image y points down), else from ``position_world`` (world y
        points down).

    Returns
    -------
    numpy.ndarray
        One value per frame; NaN where the hips, both ankles or the leg length are unknown.
    """
    name = "position" if "position" in ds else "position_world"
    points = ds[name].isel(individuals=0)
    dim = spatial_dim(points)
    leg = leg_length(points)

    def height(keypoint: str) -> np.ndarray:
        y = points.sel(keypoints=keypoint).transpose("time", dim).values[:, 1]
        return -np.asarray(y, dtype=np.float64)

    if not np.isfinite(leg) or leg <= 0:
        return np.full(ds.sizes["time"], np.nan)
    hips = 0.5 * (height("left_hip") + height("right_hip"))
    # The foot on the ground is the lower one; np.fmin keeps the one seen if only one is.
    ankle = np.fmin(height("left_ankle"), height("right_ankle"))
    return np.asarray((hips - ankle) / leg, dtype=np.float64)
