"""Left/right leg swaps are undone, on real UI-PRMD lunges with swaps put in; nothing else moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from kneeback.analysis import analyse
from kneeback.io.adapters.uiprmd import load_uiprmd
from kneeback.processing import unswap_legs
from kneeback.processing.legs import LEG_JOINTS
from kneeback.skeletons import mirror_name

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ui-prmd" / "vicon" / "correct"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared UI-PRMD data not present")

SWAPPED = np.r_[50:55, 100:104]  # frames in which the model is made to exchange the legs


def _load(name: str) -> xr.Dataset:
    return load_uiprmd(DATA / f"{name}_positions.txt.gz")


def _swap_legs(ds: xr.Dataset, frames: np.ndarray) -> xr.Dataset:
    """Exchange the left and right leg landmarks in ``frames``, as a confused model does."""
    out = ds.copy(deep=True)
    names = [str(k) for k in ds["keypoints"].values]
    left = [names.index(f"left_{j}") for j in LEG_JOINTS]
    right = [names.index(f"right_{j}") for j in LEG_JOINTS]
    order = left + right
    exchanged = right + left
    for var in ("position", "position_world", "confidence"):
        if var not in out:
            continue
        values = out[var].values
        axis = out[var].dims.index("keypoints")
        rows = np.take(values, frames, axis=0)
        moved = np.take(rows, exchanged, axis=axis)
        index = [slice(None)] * values.ndim
        index[axis] = order
        rows[tuple(index)] = moved
        values[frames] = rows
    return out


@pytest.mark.parametrize("two_d", [True, False])
def test_swapped_legs_are_exchanged_back(two_d: bool) -> None:
    ds = _load("m03_s01_e01")  # an inline lunge: the legs are apart
    if not two_d:
        ds = ds.drop_vars("position")
    broken = _swap_legs(ds, SWAPPED)
    fixed = unswap_legs(broken)
    assert fixed.attrs["leg_swaps_undone"] == len(SWAPPED)
    for var in ("position", "position_world", "confidence"):
        if var in ds:
            np.testing.assert_array_equal(fixed[var].values, ds[var].values)


def test_the_analysis_of_a_clip_with_swaps_is_that_of_the_clip() -> None:
    ds = _load("m03_s01_e01").drop_vars("position_world")
    clean, broken = analyse(ds), analyse(_swap_legs(ds, SWAPPED))
    assert broken.reps == clean.reps
    assert broken.reps[0].side == clean.reps[0].side


@pytest.mark.parametrize(
    "name", ["m01_s01_e01", "m02_s01_e01", "m03_s01_e01", "m04_s01_e01", "m05_s01_e01"]
)
def test_clips_without_swaps_are_left_alone(name: str) -> None:
    ds = _load(name)
    for data in (ds, ds.drop_vars("position")):
        fixed = unswap_legs(data)
        assert fixed.attrs["leg_swaps_undone"] == 0
        xr.testing.assert_identical(fixed.drop_attrs(), data.drop_attrs())


def test_labels_mirrored_in_every_frame_are_not_a_swap() -> None:
    ds = _load("m03_s01_e01")
    mirrored = ds.assign_coords(keypoints=[mirror_name(str(k)) for k in ds["keypoints"].values])
    assert unswap_legs(mirrored).attrs["leg_swaps_undone"] == 0
