"""Repetition segmentation: events from hysteresis thresholds with minimum durations.

In the style of ``kineticstoolkit``'s ``cycles.detect_cycles``: a repetition starts when the driving
signal (for a squat, mean knee flexion) rises through an upper threshold and ends when it falls back
below a lower one; an excursion that is too small or too short is not a rep. The thresholds are
fractions of the clip's own range (between its standing level and its deepest point), so that they
hold for any person, camera and frame rate. Each rep is split into phases (descent, bottom, ascent)
and the standing time before the next rep is a pause. A rep whose excursion is well below the set's
typical depth is marked partial.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from kneeback.movements.specs import DrivingSignal

__all__ = [
    "Phase",
    "Rep",
    "chair_stand_tests",
    "detect_reps",
    "driving_signal",
    "rep_side",
]


@dataclass(frozen=True)
class Phase:
    """One phase of a repetition.

    Attributes
    ----------
    name
        ``"descent"``, ``"bottom"``, ``"ascent"`` or ``"pause"``.
    start_s, end_s
        Times in seconds.
    """

    name: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Rep:
    """One repetition found in a driving signal.

    Attributes
    ----------
    index
        0-based position in the set.
    start, peak, end
        Frame indices of the start (standing), the deepest point and the end (standing again).
    start_s, peak_s, end_s
        The same as times in seconds.
    excursion
        Peak value minus the standing level, in the driving signal's unit (degrees).
    partial
        True when the excursion is well below the set's typical depth.
    bottom
        Frame indices (first, last) of the bottom phase.
    phases
        Descent, bottom, ascent and, when the person rests standing before the next rep, pause.
    side
        The working leg (``"left"``/``"right"``) for per-side movements, else None.
    starts_low
        True when the clip starts part-way into this rep (e.g. seated).
    """

    index: int
    start: int
    peak: int
    end: int
    start_s: float
    peak_s: float
    end_s: float
    excursion: float
    partial: bool
    bottom: tuple[int, int]
    phases: tuple[Phase, ...] = field(default_factory=tuple)
    side: str | None = None
    starts_low: bool = False

    def phase(self, name: str, /) -> Phase | None:
        """Return the phase of that name, or None."""
        for p in self.phases:
            if p.name == name:
                return p
        return None


def _var(angles: xr.Dataset, name: str) -> np.ndarray:
    if name not in angles:
        return np.full(angles.sizes["time"], np.nan)
    return np.asarray(angles[name].values, dtype=np.float64)


def _nanmean2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both = np.stack([a, b])
    out = np.full(a.shape, np.nan)
    ok = np.isfinite(both).any(axis=0)
    out[ok] = np.nanmean(both[:, ok], axis=0)
    return out


def _nanmax2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both = np.stack([a, b])
    out = np.full(a.shape, np.nan)
    ok = np.isfinite(both).any(axis=0)
    out[ok] = np.nanmax(both[:, ok], axis=0)
    return out


def driving_signal(angles: xr.Dataset, /, *, kind: DrivingSignal) -> np.ndarray:
    """Build the signal whose excursions are the repetitions.

    Parameters
    ----------
    angles
        Angle dataset from :func:`kneeback.kinematics.compute_angles`.
    kind
        ``"knee_mean"``, ``"knee_max"``, ``"trunk"``, ``"knee_plus_trunk"`` or
        ``"hip_lowering"`` (see :data:`kneeback.movements.specs.DrivingSignal`).

    Returns
    -------
    numpy.ndarray
        One value per frame in degrees (``hip_lowering``: % of leg length), NaN where not
        measurable.
    """
    kl = _var(angles, "knee_flexion_left")
    kr = _var(angles, "knee_flexion_right")
    trunk = _var(angles, "trunk_inclination")
    if kind == "knee_mean":
        return _nanmean2(kl, kr)
    if kind == "knee_max":
        return _nanmax2(kl, kr)
    if kind == "trunk":
        return trunk
    if kind == "knee_plus_trunk":
        return _nanmean2(kl, kr) + trunk
    if kind == "hip_lowering":
        hip = _var(angles, "hip_height_rel_leg")
        if not np.isfinite(hip).any():
            return hip
        return 100.0 * (float(np.nanpercentile(hip, 99)) - hip)
    raise ValueError(f"Unknown driving signal {kind!r}.")


def _fill_gaps(signal: np.ndarray, time_s: np.ndarray) -> np.ndarray:
    ok = np.isfinite(signal)
    if ok.all():
        return signal
    return np.interp(time_s, time_s[ok], signal[ok])


def detect_reps(
    signal: np.ndarray,
    /,
    *,
    time_s: np.ndarray,
    upper_fraction: float,
    lower_fraction: float,
    min_excursion: float,
    min_duration_s: float,
    partial_fraction: float,
    bottom_fraction: float,
    min_pause_s: float = 0.0,
) -> list[Rep]:
    """Find repetitions as excursions of a driving signal, with hysteresis.

    Parameters
    ----------
    signal
        Driving signal, one value per frame (degrees), NaN where missing (short gaps are bridged).
    time_s
        Frame times in seconds, strictly increasing.
    upper_fraction
        A rep must rise above ``standing + upper_fraction * range``; ``range`` runs from the
        standing level (5th percentile) to the deepest point (99th percentile) of the clip.
    lower_fraction
        It ends when it falls back below ``standing + lower_fraction * range``.
    min_excursion
        Excursions smaller than this, in signal units, are not reps (a clip without one has none).
    min_duration_s
        Reps shorter than this are noise, not reps.
    partial_fraction
        A rep whose excursion is below this fraction of the set's median excursion is partial.
    bottom_fraction
        The bottom phase is where the signal stays above this fraction of the rep's excursion.
    min_pause_s
        Standing rests shorter than this are not reported as a pause phase.

    Returns
    -------
    list of Rep
        In time order, with phases and partial flags.
    """
    sig = np.asarray(signal, dtype=np.float64)
    t = np.asarray(time_s, dtype=np.float64)
    if sig.shape != t.shape:
        raise ValueError("signal and time_s must have the same length.")
    ok = np.isfinite(sig)
    if ok.sum() < 3:
        return []
    sig = _fill_gaps(sig, t)
    standing = float(np.percentile(sig, 5))
    deepest = float(np.percentile(sig, 99))
    span = deepest - standing
    if span < min_excursion:
        return []
    upper = standing + upper_fraction * span
    lower = standing + lower_fraction * span

    # Hysteresis state machine: spans between a rise above `upper` and the fall below `lower`.
    spans: list[tuple[int, int, bool]] = []
    n = sig.size
    i = 0
    last_low = 0 if sig[0] <= lower else -1
    while i < n:
        if sig[i] <= lower:
            last_low = i
            i += 1
            continue
        if sig[i] >= upper:
            starts_low = last_low < 0
            start = max(last_low, 0)
            j = i
            while j < n and sig[j] > lower:
                j += 1
            if j >= n:
                break  # the clip ends before the person stands up again: incomplete rep
            spans.append((start, j, starts_low))
            last_low = j
            i = j + 1
            continue
        i += 1

    reps: list[Rep] = []
    prev_end = 0
    for k, (s0, e0, starts_low) in enumerate(spans):
        next_start = spans[k + 1][0] if k + 1 < len(spans) else n - 1
        s = _refine_start(sig, s0, prev_end, tol=0.05 * span) if not starts_low else 0
        e = _refine_end(sig, e0, next_start, tol=0.05 * span)
        prev_end = e
        if t[e] - t[s] < min_duration_s:
            continue
        peak = s + int(np.argmax(sig[s : e + 1]))
        rest = min(sig[s], sig[e]) if not starts_low else sig[e]
        excursion = float(sig[peak] - min(rest, standing))
        if excursion < min_excursion:
            continue
        level = sig[peak] - (1.0 - bottom_fraction) * (sig[peak] - rest)
        b0 = peak
        while b0 > s and sig[b0 - 1] >= level:
            b0 -= 1
        b1 = peak
        while b1 < e and sig[b1 + 1] >= level:
            b1 += 1
        reps.append(
            Rep(
                index=0,
                start=s,
                peak=peak,
                end=e,
                start_s=float(t[s]),
                peak_s=float(t[peak]),
                end_s=float(t[e]),
                excursion=excursion,
                partial=False,
                bottom=(b0, b1),
                starts_low=starts_low,
            )
        )
    if not reps:
        return []
    typical = float(np.median([r.excursion for r in reps]))
    out: list[Rep] = []
    for k, r in enumerate(reps):
        phases = [
            Phase("descent", r.start_s, float(t[r.bottom[0]])),
            Phase("bottom", float(t[r.bottom[0]]), float(t[r.bottom[1]])),
            Phase("ascent", float(t[r.bottom[1]]), r.end_s),
        ]
        if k + 1 < len(reps) and reps[k + 1].start_s - r.end_s >= max(min_pause_s, 1e-9):
            phases.append(Phase("pause", r.end_s, reps[k + 1].start_s))
        out.append(
            Rep(
                index=k,
                start=r.start,
                peak=r.peak,
                end=r.end,
                start_s=r.start_s,
                peak_s=r.peak_s,
                end_s=r.end_s,
                excursion=r.excursion,
                partial=bool(r.excursion < partial_fraction * typical),
                bottom=r.bottom,
                phases=tuple(phases),
                starts_low=r.starts_low,
            )
        )
    return out


def _refine_start(sig: np.ndarray, crossing: int, floor: int, *, tol: float) -> int:
    """Move a start back from the lower-threshold crossing to where the movement began."""
    lo = max(floor, 0)
    seg = sig[lo : crossing + 1]
    rest = float(seg.min())
    idx = crossing
    while idx > lo and sig[idx] > rest + tol:
        idx -= 1
    return idx


def _refine_end(sig: np.ndarray, crossing: int, ceiling: int, *, tol: float) -> int:
    """Move an end forward from the lower-threshold crossing to where the movement stopped."""
    hi = max(min(ceiling, sig.size - 1), crossing)
    seg = sig[crossing : hi + 1]
    rest = float(seg.min())
    idx = crossing
    while idx < hi and sig[idx] > rest + tol:
        idx += 1
    return idx


def rep_side(angles: xr.Dataset, rep: Rep, /, *, lateral: bool = False) -> str | None:
    """Say which leg worked in a rep of a per-side movement.

    Parameters
    ----------
    angles
        Angle dataset.
    rep
        The repetition.
    lateral
        For side lunges: the working leg is the one that bends its knee more. Otherwise (forward
        lunges, split squats) it is the front leg: the one whose hip and knee together flex more at
        the bottom (the back hip stays extended).

    Returns
    -------
    str or None
        ``"left"`` or ``"right"``, None when not measurable.
    """
    sl = slice(rep.bottom[0], rep.bottom[1] + 1)
    kl = _var(angles, "knee_flexion_left")[sl]
    kr = _var(angles, "knee_flexion_right")[sl]
    if lateral:
        left, right = kl, kr
    else:
        left = kl + _var(angles, "hip_flexion_left")[sl]
        right = kr + _var(angles, "hip_flexion_right")[sl]
    if not (np.isfinite(left).any() and np.isfinite(right).any()):
        return None
    return "left" if np.nanmean(left) >= np.nanmean(right) else "right"


def chair_stand_tests(reps: list[Rep], /, *, clip_end_s: float) -> dict[str, float | int | None]:
    """Five-times sit-to-stand time and 30-second chair-stand count from sit-to-stand reps.

    Timing starts at the first movement: the start of the first rep, or the start of its ascent
    when the clip starts seated. A stand is complete at the end of a rep's ascent (standing).

    Parameters
    ----------
    reps
        Sit-to-stand reps from :func:`detect_reps` (partial reps are not counted as stands).
    clip_end_s
        Time of the last frame of the clip, in seconds.

    Returns
    -------
    dict
        ``five_times_sts_s`` (None with fewer than five full stands), ``chair_stands_30s``
        (None when the clip covers less than 30 s from the first movement) and ``stands``.
    """
    full = [r for r in reps if not r.partial]
    if not full:
        return {"five_times_sts_s": None, "chair_stands_30s": None, "stands": 0}
    first = full[0]
    ascent = first.phase("ascent")
    t0 = ascent.start_s if (first.starts_low and ascent is not None) else first.start_s
    five: float | None = None
    if len(full) >= 5:
        five = full[4].end_s - t0
    thirty: int | None = None
    if clip_end_s - t0 >= 30.0:
        thirty = sum(1 for r in full if r.end_s - t0 <= 30.0)
    return {"five_times_sts_s": five, "chair_stands_30s": thirty, "stands": len(full)}
