"""Rep segmentation on synthetic signals with known reps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeback.movements.reps import Rep, chair_stand_tests, detect_reps
from kneeback.settings import AnalysisSettings

S = AnalysisSettings()


def _detect(signal: np.ndarray, t: np.ndarray, *, min_excursion: float = 25.0) -> list[Rep]:
    return detect_reps(
        signal,
        time_s=t,
        upper_fraction=S.rep_upper_fraction,
        lower_fraction=S.rep_lower_fraction,
        min_excursion=min_excursion,
        min_duration_s=S.rep_min_duration_s,
        partial_fraction=S.rep_partial_fraction,
        bottom_fraction=S.rep_bottom_fraction,
        min_pause_s=S.rep_min_pause_s,
    )


def squats(
    depths: list[float], *, fps: float = 30.0, rep_s: float = 2.0, pause_s: float = 1.0
) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]]]:
    """Knee flexion of a set: standing 10 deg, each rep a raised cosine to its depth."""
    period = rep_s + pause_s
    total = pause_s + period * len(depths)
    t = np.arange(0.0, total, 1.0 / fps)
    sig = np.full(t.shape, 10.0)
    truth = []
    for k, d in enumerate(depths):
        t0 = pause_s + k * period
        inside = (t >= t0) & (t <= t0 + rep_s)
        phase = (t[inside] - t0) / rep_s
        sig[inside] = 10.0 + (d - 10.0) * 0.5 * (1 - np.cos(2 * np.pi * phase))
        truth.append((t0, t0 + rep_s))
    return t, sig, truth


def test_counts_and_times() -> None:
    t, sig, truth = squats([110, 115, 105, 112, 108])
    reps = _detect(sig, t)
    assert len(reps) == 5
    for rep, (t0, t1) in zip(reps, truth, strict=True):
        assert rep.start_s == pytest.approx(t0, abs=0.3)
        assert rep.end_s == pytest.approx(t1, abs=0.3)
        assert rep.peak_s == pytest.approx(0.5 * (t0 + t1), abs=0.1)
        names = [p.name for p in rep.phases]
        assert names[:3] == ["descent", "bottom", "ascent"]
        assert not rep.partial
    assert [p.name for p in reps[0].phases][-1] == "pause"


def test_partial_rep_flagged() -> None:
    t, sig, _ = squats([110, 112, 60, 111])
    reps = _detect(sig, t)
    assert len(reps) == 4
    assert [r.partial for r in reps] == [False, False, True, False]


def test_no_reps_when_standing_still() -> None:
    t = np.arange(0, 10, 1 / 30)
    rng = np.random.default_rng(0)
    sig = 10 + rng.normal(0, 1.5, t.size)
    assert _detect(sig, t) == []


def test_gaps_are_bridged() -> None:
    t, sig, _ = squats([110, 110, 110])
    sig = sig.copy()
    sig[40:44] = np.nan
    assert len(_detect(sig, t)) == 3


def test_clip_starting_low_counts_its_rise() -> None:
    t, sig, _ = squats([100, 100, 100])
    start = int(np.argmax(sig))  # start the clip at the deepest point of rep 1
    reps = _detect(sig[start:], t[start:] - t[start])
    assert len(reps) == 3
    assert reps[0].starts_low


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=6),
    shift=st.floats(min_value=-1000, max_value=1000, allow_nan=False),
    fps=st.sampled_from([15.0, 24.0, 30.0, 60.0, 100.0]),
)
def test_count_invariant_under_time_shift_and_resampling(n: int, shift: float, fps: float) -> None:
    depths = [100.0 + 5 * (k % 3) for k in range(n)]
    t, sig, _ = squats(depths, fps=30.0)
    base = len(_detect(sig, t))
    assert base == n
    assert len(_detect(sig, t + shift)) == n
    t2 = np.arange(t[0], t[-1], 1.0 / fps)
    sig2 = np.interp(t2, t, sig)
    assert len(_detect(sig2, t2)) == n


def test_chair_stand_tests() -> None:
    t, sig, truth = squats([90] * 14, rep_s=2.0, pause_s=0.5)
    reps = _detect(sig, t)
    tests = chair_stand_tests(reps, clip_end_s=float(t[-1]))
    assert tests["stands"] == 14
    assert tests["five_times_sts_s"] == pytest.approx(truth[4][1] - truth[0][0], abs=0.4)
    # stand k (0-based) ends 2.5 k + 2 s after the first movement: 12 of them within 30 s
    assert tests["chair_stands_30s"] == 12
    short = chair_stand_tests(reps[:3], clip_end_s=8.0)
    assert short["five_times_sts_s"] is None
    assert short["chair_stands_30s"] is None
