"""Processing: pure functions that clean landmark trajectories before kinematics.

The order is: drop low-confidence landmarks, undo left/right leg swaps, fill short gaps, low-pass
filter (:func:`preprocess` chains them with the values of
:class:`~kneeback.settings.AnalysisSettings`).
"""

from __future__ import annotations

import xarray as xr

from kneeback.processing.cleaning import fill_gaps, mask_low_confidence
from kneeback.processing.filtering import lowpass, sampling_rate
from kneeback.processing.legs import unswap_legs
from kneeback.schema import validate_pose_dataset
from kneeback.settings import AnalysisSettings

__all__ = [
    "fill_gaps",
    "lowpass",
    "mask_low_confidence",
    "preprocess",
    "sampling_rate",
    "unswap_legs",
]

_POSITION_VARS = ("position", "position_world")


def preprocess(ds: xr.Dataset, /, *, settings: AnalysisSettings) -> xr.Dataset:
    """Mask low-confidence landmarks, undo leg swaps, fill short gaps and low-pass the positions.

    Parameters
    ----------
    ds
        A pose dataset.
    settings
        Uses ``confidence_threshold``, ``max_gap_s``, ``cutoff_hz`` and ``filter_order``.

    Returns
    -------
    xarray.Dataset
        A new, validated dataset; ``position`` and ``position_world`` (when present) are
        processed, ``confidence`` follows the leg swaps undone (attr ``leg_swaps_undone``), and
        the attr ``processing`` describes the steps.
    """
    out = unswap_legs(mask_low_confidence(ds, threshold=settings.confidence_threshold))
    for name in _POSITION_VARS:
        if name in out:
            filled = fill_gaps(out[name], max_gap_s=settings.max_gap_s)
            out[name] = lowpass(filled, cutoff_hz=settings.cutoff_hz, order=settings.filter_order)
    out.attrs["processing"] = (
        f"confidence >= {settings.confidence_threshold}; left/right leg swaps undone in "
        f"{out.attrs['leg_swaps_undone']} frames; gaps <= {settings.max_gap_s} s filled "
        f"linearly; zero-lag Butterworth low-pass {settings.cutoff_hz} Hz, order "
        f"{settings.filter_order} per pass"
    )
    return validate_pose_dataset(out)
