"""How far the hands reach below the knees.

A floor lift brings the hands to the floor, or to the object on it: a box, kettlebell or bar is
gripped at mid-shin height or lower, about 0.15-0.25 leg lengths below the knees (shank 0.246 and
leg 0.491 of stature, Drillis & Contini 1966; a handle 20-30 cm off the floor). A squat whose
trunk leans just as far keeps the hands wherever the arms are held: overhead, behind the head, out
in front at about knee height (OpenCap's squats, ``../shared/data/opencap``: wrists 0.00-0.11 leg
lengths *above* the knees at the bottom of every repetition). The recognition rules ask the hands
to come at least 0.1 leg length below the knees, a hand's breadth and more than the error of two
joint centres from a video (2 x 5 % of leg length, in quadrature 0.07), before they call a deep
forward bend a floor lift.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from kneeback.kinematics.body import leg_length, side_mean
from kneeback.kinematics.geometry import spatial_dim

__all__ = ["hands_below_knees"]


def _points(ds: xr.Dataset) -> xr.DataArray | None:
    """Return the first individual's image points when any were seen, else its world points."""
    for name in ("position", "position_world"):
        if name in ds:
            points = ds[name].isel(individuals=0)
            if bool(np.isfinite(points.values).any()):
                return points
    return None


def hands_below_knees(ds: xr.Dataset, /) -> np.ndarray:
    """Height of the knees above the lower wrist in each frame, in leg lengths.

    Parameters
    ----------
    ds
        A pose dataset (see :mod:`kneeback.schema`); its first individual is read, from
        ``position`` when it holds any point (image y points down), else from ``position_world``
        (world y points down).

    Returns
    -------
    numpy.ndarray
        One value per frame: positive when the lower hand is below the knees (the mean of the
        knees seen); NaN where no wrist, no knee or no leg length is known.
    """
    points = _points(ds)
    if points is None:
        return np.full(ds.sizes["time"], np.nan)
    dim = spatial_dim(points)
    names = {str(k) for k in points["keypoints"].values}
    leg = leg_length(points)

    def height(keypoint: str) -> np.ndarray:
        if keypoint not in names:
            return np.full(points.sizes["time"], np.nan)
        y = points.sel(keypoints=keypoint).transpose("time", dim).values[:, 1]
        return -np.asarray(y, dtype=np.float64)

    if not np.isfinite(leg) or leg <= 0:
        return np.full(points.sizes["time"], np.nan)
    knees = side_mean(height("left_knee"), height("right_knee"))
    # The lower hand is the one reaching down; np.fmin keeps the one seen if only one is.
    wrist = np.fmin(height("left_wrist"), height("right_wrist"))
    return np.asarray((knees - wrist) / leg, dtype=np.float64)
