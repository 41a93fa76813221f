"""Processing: confidence masking, gap filling and zero-lag low-pass, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy import signal

from kneeback.processing import (
    fill_gaps,
    lowpass,
    mask_low_confidence,
    preprocess,
    sampling_rate,
)
from kneeback.schema import make_pose_dataset
from kneeback.settings import AnalysisSettings
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS

K = len(BLAZEPOSE_KEYPOINTS)


def series(values: np.ndarray, t: np.ndarray) -> xr.DataArray:
    return xr.DataArray(values, dims=("time",), coords={"time": t}, name="x", attrs={"units": "px"})


# ---- fill_gaps -------------------------------------------------------------------------------


def test_fill_gaps_fills_short_gaps_exactly_and_leaves_long_ones() -> None:
    t = np.arange(60) / 30.0
    y = 3.0 * t + 1.0
    holes = y.copy()
    holes[10:13] = np.nan  # bracketing samples 9 and 13: 4 / 30 = 0.133 s
    holes[30:45] = np.nan  # 16 / 30 = 0.533 s
    holes[:2] = np.nan  # leading: never extrapolated
    holes[-1] = np.nan  # trailing
    out = fill_gaps(series(holes, t), max_gap_s=0.25)
    np.testing.assert_allclose(out.values[10:13], y[10:13])
    assert np.isnan(out.values[30:45]).all()
    assert np.isnan(out.values[:2]).all() and np.isnan(out.values[-1])
    assert out.attrs["units"] == "px" and out.attrs["max_gap_s"] == 0.25
    assert out.name == "x"


def test_fill_gaps_uses_real_timestamps() -> None:
    t = np.array([0.0, 0.01, 0.05, 0.06, 0.2, 0.21])  # irregular
    y = t**1  # linear in time, so interpolation in time is exact
    holes = y.copy()
    holes[2:4] = np.nan
    out = fill_gaps(series(holes, t), max_gap_s=0.3)
    np.testing.assert_allclose(out.values, y)


def test_fill_gaps_gap_duration_boundary() -> None:
    t = np.arange(10) * 0.1
    holes = np.arange(10.0)
    holes[3:5] = np.nan  # bracketed by t=0.2 and t=0.5: 0.3 s
    assert np.isnan(fill_gaps(series(holes, t), max_gap_s=0.29).values[3:5]).all()
    np.testing.assert_allclose(fill_gaps(series(holes, t), max_gap_s=0.3).values, np.arange(10.0))


def test_fill_gaps_on_position_keeps_dims() -> None:
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(20, 2, K, 1))
    pos[5:7, :, 3, 0] = np.nan
    ds = make_pose_dataset(pos, time_s=np.arange(20) / 30.0)
    out = fill_gaps(ds["position"], max_gap_s=0.2)
    assert out.dims == ds["position"].dims
    assert np.isfinite(out.values).all()
    np.testing.assert_array_equal(out.values[:5], pos[:5])


@settings(max_examples=30, deadline=None)
@given(
    gap=st.integers(1, 20),
    start=st.integers(1, 30),
    fps=st.sampled_from([24.0, 30.0, 60.0]),
)
def test_fill_gaps_property(gap: int, start: int, fps: float) -> None:
    t = np.arange(60) / fps
    y = np.sin(t)
    holes = y.copy()
    holes[start : start + gap] = np.nan
    max_gap_s = 0.25
    out = fill_gaps(series(holes, t), max_gap_s=max_gap_s).values
    duration = t[start + gap] - t[start - 1]
    assert np.array_equal(np.isnan(out), np.isnan(holes) & (duration > max_gap_s + 1e-9))
    finite = np.isfinite(holes)
    np.testing.assert_array_equal(out[finite], holes[finite])


# ---- lowpass ---------------------------------------------------------------------------------


def test_sine_below_cutoff_passes_and_far_above_is_attenuated() -> None:
    fs = 100.0
    t = np.arange(1000) / fs
    slow = np.sin(2 * np.pi * 1.0 * t)
    fast = np.sin(2 * np.pi * 30.0 * t)
    out_slow = lowpass(series(slow, t), cutoff_hz=6.0).values
    out_fast = lowpass(series(fast, t), cutoff_hz=6.0).values
    mid = slice(100, 900)
    # Forwards and backwards: the gain is |H(f)|^2 of one 2nd-order Butterworth pass.
    assert np.max(np.abs(out_slow[mid] - slow[mid])) < 0.01
    sos = signal.butter(2, 6.0, fs=fs, output="sos")
    _, h = signal.sosfreqz(sos, worN=[30.0], fs=fs)
    expected_fast_gain = float(np.abs(h[0]) ** 2)
    assert np.max(np.abs(out_fast[mid])) == pytest.approx(expected_fast_gain, rel=0.2)
    assert np.max(np.abs(out_fast[mid])) < 0.01


def test_lowpass_has_zero_lag() -> None:
    fs = 60.0
    t = np.arange(600) / fs
    y = np.sin(2 * np.pi * 0.5 * t)
    out = lowpass(series(y, t), cutoff_hz=4.0).values
    lag = np.argmax(np.correlate(out - out.mean(), y - y.mean(), mode="full")) - (len(y) - 1)
    assert lag == 0


def test_lowpass_respects_nan_runs() -> None:
    fs = 50.0
    t = np.arange(200) / fs
    y = np.where(t < 2.0, 0.0, 10.0)  # a step hidden inside a gap
    y[95:105] = np.nan
    y[150:155] = np.nan
    y[170:175] = 5.0  # a short run between NaNs: too short to filter, left as is
    y[165:170] = np.nan
    y[175:180] = np.nan
    out = lowpass(series(y, t), cutoff_hz=6.0).values
    assert np.array_equal(np.isnan(out), np.isnan(y))
    np.testing.assert_allclose(out[:95], 0.0, atol=1e-9)  # the step is not smeared across
    np.testing.assert_allclose(out[105:150], 10.0, atol=1e-9)
    np.testing.assert_array_equal(out[170:175], y[170:175])


def test_lowpass_irregular_timestamps_use_median_rate() -> None:
    rng = np.random.default_rng(1)
    dt = 1 / 30.0 * (1 + rng.uniform(-0.05, 0.05, size=300))
    t = np.cumsum(dt)
    assert sampling_rate(t) == pytest.approx(30.0, rel=0.02)
    slow = np.sin(2 * np.pi * 0.5 * t)
    fast = 0.5 * np.sin(2 * np.pi * 13.0 * t)
    out = lowpass(series(slow + fast, t), cutoff_hz=4.0).values
    mid = slice(30, 270)
    assert np.max(np.abs(out[mid] - slow[mid])) < 0.05


def test_lowpass_above_nyquist_is_a_no_op() -> None:
    t = np.arange(50) / 10.0
    y = np.sin(t)
    out = lowpass(series(y, t), cutoff_hz=6.0)
    np.testing.assert_array_equal(out.values, y)
    assert "skipped" in out.attrs["lowpass"]


def test_lowpass_rejects_bad_arguments() -> None:
    t = np.arange(50) / 10.0
    with pytest.raises(ValueError):
        lowpass(series(np.sin(t), t), cutoff_hz=0.0)
    with pytest.raises(ValueError):
        fill_gaps(series(np.sin(t), t), max_gap_s=-1.0)


# ---- masking and the whole chain -------------------------------------------------------------


def _noisy_dataset() -> xr.Dataset:
    rng = np.random.default_rng(2)
    n = 120
    t = np.arange(n) / 30.0
    base = 100 + 50 * np.sin(2 * np.pi * 0.5 * t)
    pos = np.broadcast_to(base[:, None, None, None], (n, 2, K, 1)).copy()
    pos += rng.normal(scale=3.0, size=pos.shape)
    conf = np.full((n, K, 1), 0.9)
    conf[40:43, 5, 0] = 0.2  # short dropout: filled
    conf[60:90, 6, 0] = 0.1  # long dropout: stays missing
    world = pos[:, :1].repeat(3, axis=1) / 100.0
    return make_pose_dataset(pos, time_s=t, confidence=conf, position_world=world, fps=30.0)


def test_mask_low_confidence() -> None:
    ds = _noisy_dataset()
    out = mask_low_confidence(ds, threshold=0.5)
    assert np.isnan(out["position"].values[40:43, :, 5]).all()
    assert np.isnan(out["position_world"].values[60:90, :, 6]).all()
    assert np.isfinite(out["position"].values[:40]).all()
    np.testing.assert_array_equal(out["confidence"].values, ds["confidence"].values)
    assert np.isfinite(ds["position"].values).all()  # the input is untouched
    with pytest.raises(ValueError):
        mask_low_confidence(ds, threshold=1.5)


def test_preprocess_chain() -> None:
    ds = _noisy_dataset()
    out = preprocess(ds, settings=AnalysisSettings())
    pos = out["position"].values
    assert np.isfinite(pos[40:43, :, 5]).all()  # 0.13 s gap filled
    assert np.isnan(pos[60:90, :, 6]).all()  # 1 s gap kept
    t = ds["time"].values
    truth = 100 + 50 * np.sin(2 * np.pi * 0.5 * t)
    err_in = np.std(ds["position"].values[10:110, 0, 0, 0] - truth[10:110])
    err_out = np.std(pos[10:110, 0, 0, 0] - truth[10:110])
    assert err_out < 0.6 * err_in
    assert "processing" in out.attrs
    assert out["position"].attrs["lowpass_cutoff_hz"] == AnalysisSettings().cutoff_hz


def test_analysis_settings_are_strict_and_frozen() -> None:
    s = AnalysisSettings()
    assert s.cutoff_hz == 6.0 and s.filter_order == 2
    with pytest.raises(ValidationError):
        AnalysisSettings(cutoff_hz_typo=3.0)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        AnalysisSettings(confidence_threshold=2.0)
    with pytest.raises(ValidationError):
        s.__setattr__("cutoff_hz", 3.0)
