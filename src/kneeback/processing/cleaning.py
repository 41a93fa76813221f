"""Dropping unreliable landmarks and filling short gaps."""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["fill_gaps", "mask_low_confidence"]

_POSITION_VARS = ("position", "position_world")


def mask_low_confidence(ds: xr.Dataset, /, *, threshold: float) -> xr.Dataset:
    """Set positions to NaN where the landmark confidence is below ``threshold``.

    Parameters
    ----------
    ds
        A pose dataset with ``confidence`` (time, keypoints, individuals).
    threshold
        Minimum confidence in [0, 1] for a landmark to be kept. A NaN confidence counts as
        below any threshold.

    Returns
    -------
    xarray.Dataset
        A copy with ``position`` (and ``position_world`` if present) masked; ``confidence`` is
        unchanged. The attr ``confidence_threshold`` records the threshold.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], not {threshold}.")
    keep = ds["confidence"] >= threshold
    out = ds.copy()
    for name in _POSITION_VARS:
        if name in out:
            out[name] = ds[name].where(keep)
            out[name].attrs = dict(ds[name].attrs)
    out.attrs["confidence_threshold"] = float(threshold)
    return out


def _fill_series(t: np.ndarray, y: np.ndarray, max_gap_s: float) -> np.ndarray:
    valid = np.isfinite(y)
    if valid.all() or valid.sum() < 2:
        return y
    idx = np.flatnonzero(valid)
    out = y.copy()
    # Consecutive valid samples with missing samples between them bound a gap.
    starts = idx[:-1][np.diff(idx) > 1]
    ends = idx[1:][np.diff(idx) > 1]
    for a, b in zip(starts, ends, strict=True):
        if t[b] - t[a] <= max_gap_s + 1e-9:
            out[a + 1 : b] = np.interp(t[a + 1 : b], (t[a], t[b]), (y[a], y[b]))
    return out


def fill_gaps(da: xr.DataArray, /, *, max_gap_s: float) -> xr.DataArray:
    """Fill short runs of missing samples by linear interpolation in time.

    A gap is a run of NaN samples with valid samples on both sides; its duration is the time
    between those two valid samples, so a single missing frame at 30 fps is a 0.067 s gap. Gaps
    up to ``max_gap_s`` are filled using the real timestamps; longer gaps, and missing samples at
    the start or end of the clip, stay NaN (nothing is extrapolated).

    Parameters
    ----------
    da
        Any DataArray with a ``time`` coordinate in seconds (for example ``position``).
    max_gap_s
        The longest gap to fill, in seconds.

    Returns
    -------
    xarray.DataArray
        A filled copy with the same dims, coords, name and attrs (plus ``max_gap_s``).
    """
    if max_gap_s < 0:
        raise ValueError(f"max_gap_s must be >= 0, not {max_gap_s}.")
    t = np.asarray(da["time"].values, dtype=np.float64)
    moved = da.transpose(..., "time")
    values = np.asarray(moved.values, dtype=np.float64)
    flat = values.reshape(-1, values.shape[-1]).copy()
    for i in range(flat.shape[0]):
        flat[i] = _fill_series(t, flat[i], max_gap_s)
    out = moved.copy(data=flat.reshape(values.shape)).transpose(*da.dims)
    out.attrs = {**da.attrs, "max_gap_s": float(max_gap_s)}
    return out
