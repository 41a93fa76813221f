"""Zero-lag low-pass filtering of landmark trajectories that may contain gaps."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import signal

__all__ = ["lowpass", "sampling_rate"]


def sampling_rate(time_s: np.ndarray, /) -> float:
    """Return the sampling rate in Hz from timestamps: one over the median frame interval.

    Parameters
    ----------
    time_s
        Increasing timestamps in seconds.

    Returns
    -------
    float
        The rate in Hz; NaN with fewer than two samples.
    """
    t = np.asarray(time_s, dtype=np.float64)
    if t.size < 2:
        return float("nan")
    return float(1.0 / np.median(np.diff(t)))


def _finite_runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges [start, stop) of consecutive True values."""
    padded = np.concatenate(([False], valid, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def lowpass(da: xr.DataArray, /, *, cutoff_hz: float, order: int = 2) -> xr.DataArray:
    """Zero-lag Butterworth low-pass along ``time``, run separately on each run of valid samples.

    The filter runs forwards and backwards (``scipy.signal.sosfiltfilt``), so there is no phase
    lag; the combined response is the square of one pass, -6 dB at ``cutoff_hz`` and falling off
    at twice the order. NaN samples are never invented or bridged: each finite run is filtered on
    its own, and runs too short for the filter's edge padding (fewer than
    ``3 * (2 * n_sections + 1) + 1`` samples, e.g. 10 for order 2) are returned unfiltered.

    Irregular timestamps (phones record variable frame rates) are treated as uniformly sampled
    at the median rate (:func:`sampling_rate`); jitter of a few percent shifts the effective
    cut-off by as much, which is harmless for a smoothing filter.

    Parameters
    ----------
    da
        A DataArray with a ``time`` coordinate in seconds.
    cutoff_hz
        Cut-off frequency in Hz.
    order
        Butterworth order of each pass.

    Returns
    -------
    xarray.DataArray
        The filtered copy, same dims, coords, name and attrs, with ``lowpass_cutoff_hz`` and
        ``lowpass_order`` added. When ``cutoff_hz`` is at or above the Nyquist frequency the data
        are returned unchanged and the attr ``lowpass`` says why.
    """
    if cutoff_hz <= 0:
        raise ValueError(f"cutoff_hz must be positive, not {cutoff_hz}.")
    if order < 1:
        raise ValueError(f"order must be >= 1, not {order}.")
    fs = sampling_rate(da["time"].values)
    out = da.copy()
    if not np.isfinite(fs) or cutoff_hz >= 0.5 * fs:
        out.attrs["lowpass"] = (
            f"skipped: cut-off {cutoff_hz} Hz is not below the Nyquist frequency "
            f"({0.5 * fs:.3g} Hz at the median rate)"
        )
        return out
    sos = signal.butter(order, cutoff_hz, btype="low", fs=fs, output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    moved = da.transpose(..., "time")
    values = np.asarray(moved.values, dtype=np.float64)
    flat = values.reshape(-1, values.shape[-1]).copy()
    for i in range(flat.shape[0]):
        series = flat[i]
        for start, stop in _finite_runs(np.isfinite(series)):
            if stop - start > padlen:
                series[start:stop] = signal.sosfiltfilt(sos, series[start:stop], padlen=padlen)
    out = moved.copy(data=flat.reshape(values.shape)).transpose(*da.dims)
    out.attrs = {**da.attrs, "lowpass_cutoff_hz": float(cutoff_hz), "lowpass_order": int(order)}
    return out
