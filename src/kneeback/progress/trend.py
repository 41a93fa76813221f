"""Honest progress: a trend per metric, judged against the smallest detectable change (SDC).

A session's value of a metric is the median over its full (not partial) reps. A change between
the baseline (mean of the first sessions) and the recent level (mean of the last sessions) counts
as real only when it exceeds the SDC (REFERENCES.md rule 9); otherwise it is "no real change yet".

The SDC comes from the person's own repeated measurements once there are enough of them: the
pooled rep-to-rep standard deviation within sessions is the standard error of measurement of a
single rep (SEM), and ``SDC95 = 1.96 * sqrt(2) * SEM``. Treating a session value like a single rep
(no division by the square root of the rep count) is deliberately conservative: it leaves room for
the day-to-day differences in camera placement that rep-to-rep variation cannot see. Until there
are enough reps, or whenever it is larger, the published measurement error of the instrument
applies (single-camera angle about 7-9 deg, knee FPPA 7.5-8.9 deg); marker data, which are
measured better, use only their own data once available. A metric with neither has no SDC yet and
every change stays "no real change yet".

Pure functions over plain data: no database, no files.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from kneeback.movements.labels import metric_label
from kneeback.progress.settings import ProgressSettings

__all__ = [
    "BETTER_DIRECTION",
    "MetricTrend",
    "SDCEstimate",
    "SessionPoint",
    "estimate_sdc",
    "metric_trend",
    "metric_unit",
    "reference_sdc",
]

#: Measurements whose own precision is better than a phone camera's (no reference floor).
PRECISE_MEASUREMENTS = frozenset({"marker"})

#: Which way is progress for the metrics where the coaching aim is clear (REFERENCES.md: regain
#: deep, controlled knee flexion; knees rather than trunk doing the bending; FMS: heels flat).
#: Others get no direction: a real change is reported as an increase or decrease only.
BETTER_DIRECTION: dict[str, tuple[int, str]] = {
    "knee_flexion_peak_deg": (+1, "deeper knee bend"),
    "knee_flexion_peak_left_deg": (+1, "deeper knee bend"),
    "knee_flexion_peak_right_deg": (+1, "deeper knee bend"),
    "hip_flexion_peak_deg": (+1, "deeper hip bend"),
    "strategy_index": (-1, "knees doing more of the bending"),
    "trunk_minus_tibia_bottom_deg": (-1, "trunk more in line with the shins"),
    "trunk_minus_tibia_peak_deg": (-1, "trunk more in line with the shins"),
    "heel_lift_peak": (-1, "heels staying down"),
}


def metric_unit(name: str, /) -> str:
    """Return the unit of a metric: ``_deg`` degrees, ``_s`` seconds, else from the docs."""
    if name.endswith("_deg"):
        return "deg"
    if name.endswith("_s"):
        return "s"
    return {
        "strategy_index": "index 0-100",
        "heel_lift_peak": "foot lengths",
        "knee_width_ratio_bottom": "ratio",
        "knee_inside_ankle_bottom": "leg lengths",
        "wobble_hip_height": "leg lengths",
    }.get(name, "")


@dataclass(frozen=True)
class SessionPoint:
    """One session's values of one metric.

    Attributes
    ----------
    session_id
        Database id of the session.
    recorded_at
        When the clip was recorded.
    rep_values
        Values of the full reps that measured the metric.
    measurement
        How the session was measured (``video_2d``, ``video_world``, ``marker``, ...).
    """

    session_id: int
    recorded_at: dt.datetime
    rep_values: tuple[float, ...]
    measurement: str = "video_2d"

    @property
    def value(self) -> float:
        """Median over the reps."""
        return float(np.median(self.rep_values))


@dataclass(frozen=True)
class SDCEstimate:
    """The smallest detectable change used to judge a metric.

    Attributes
    ----------
    value
        SDC95 in the metric's unit; None when not known yet.
    basis
        ``"own"`` (the person's repeated measurements), ``"reference"`` (REFERENCES.md) or
        ``"unknown"``.
    text
        How it was obtained, in one sentence.
    own_sdc, own_sem
        The estimate from the person's own data, when there are enough of them.
    sessions, reps
        Sessions with two or more reps, and their reps, behind the own estimate.
    """

    value: float | None
    basis: Literal["own", "reference", "unknown"]
    text: str
    own_sdc: float | None = None
    own_sem: float | None = None
    sessions: int = 0
    reps: int = 0


def reference_sdc(
    metric: str, /, *, settings: ProgressSettings | None = None
) -> tuple[float, str] | None:
    """Return the published SDC of a metric and its source; None when REFERENCES.md has none."""
    settings = settings or ProgressSettings()
    if metric == "knee_fppa_peak_deg":
        return (
            settings.reference_sdc_fppa_deg,
            "knee FPPA smallest real change 7.5-8.9 deg (Munro et al. 2012)",
        )
    if metric.endswith("_deg") and not metric.startswith("wobble"):
        return (
            settings.reference_sdc_angle_deg,
            "single-camera angle, about 7-9 deg (REFERENCES.md)",
        )
    return None


def estimate_sdc(
    points: Sequence[SessionPoint],
    /,
    *,
    metric: str,
    settings: ProgressSettings | None = None,
) -> SDCEstimate:
    """Estimate the SDC of a metric for one person.

    Parameters
    ----------
    points
        The person's sessions (of one movement) that measured the metric.
    metric
        Metric name, for the reference value.
    settings
        Thresholds; defaults to :class:`~kneeback.progress.settings.ProgressSettings`.

    Returns
    -------
    SDCEstimate
        Own estimate when there are enough repeated measurements (never below the reference for
        camera data), else the reference, else unknown.
    """
    settings = settings or ProgressSettings()
    multi = [p for p in points if len(p.rep_values) >= 2]
    df = sum(len(p.rep_values) - 1 for p in multi)
    own_sdc = own_sem = None
    if len(multi) >= settings.min_sessions_for_own_sdc and df >= settings.min_df_for_own_sdc:
        ss = sum(
            float(np.sum((np.asarray(p.rep_values) - np.mean(p.rep_values)) ** 2)) for p in multi
        )
        own_sem = math.sqrt(ss / df)
        own_sdc = 1.96 * math.sqrt(2.0) * own_sem
    ref = reference_sdc(metric, settings=settings)
    precise = bool(points) and all(p.measurement in PRECISE_MEASUREMENTS for p in points)
    n_reps = sum(len(p.rep_values) for p in multi)
    if own_sdc is not None:
        own_text = (
            f"from your own repeated measurements: rep-to-rep SD "
            f"{own_sem:.2g}{' ' + metric_unit(metric) if metric_unit(metric) else ''} over "
            f"{len(multi)} sessions and {n_reps} reps, SDC95 = 1.96 x sqrt(2) x SEM"
        )
        if ref is not None and not precise and ref[0] > own_sdc:
            return SDCEstimate(
                value=ref[0],
                basis="reference",
                text=f"{ref[1]}; your own data give {own_sdc:.2g} ({own_text}), "
                "but a camera is not more precise than its published error",
                own_sdc=own_sdc,
                own_sem=own_sem,
                sessions=len(multi),
                reps=n_reps,
            )
        return SDCEstimate(
            value=own_sdc,
            basis="own",
            text=own_text,
            own_sdc=own_sdc,
            own_sem=own_sem,
            sessions=len(multi),
            reps=n_reps,
        )
    need = (
        f"needs {settings.min_sessions_for_own_sdc} sessions with two or more full reps and "
        f"{settings.min_df_for_own_sdc} repeats in all (reps beyond each session's first; so "
        f"far {len(multi)} session{'' if len(multi) == 1 else 's'} and {df} "
        f"repeat{'' if df == 1 else 's'})"
    )
    if ref is not None:
        source = (
            f"{ref[1]}, used for marker data too until their own estimate (markers measure "
            "better, so this errs on the safe side)"
            if precise
            else ref[1]
        )
        return SDCEstimate(
            value=ref[0],
            basis="reference",
            text=f"{source}; the estimate from your own data {need}",
            sessions=len(multi),
            reps=n_reps,
        )
    return SDCEstimate(
        value=None,
        basis="unknown",
        text=f"no published value; the estimate from your own data {need}",
        sessions=len(multi),
        reps=n_reps,
    )


@dataclass(frozen=True)
class MetricTrend:
    """A metric over a person's sessions of one movement.

    Attributes
    ----------
    metric, movement, unit
        What is tracked.
    points
        Session values, oldest first.
    baseline, recent
        Means of the first and of the last sessions (up to ``trend_window_sessions`` each, never
        overlapping); None with fewer than two sessions.
    change
        ``recent - baseline``.
    sdc
        The smallest detectable change used.
    verdict
        ``"real increase"``, ``"real decrease"``, ``"no real change yet"`` or
        ``"one session only"``.
    text
        One sentence for the user.
    slope_per_30d
        Least-squares slope per 30 days, for the plot (not used for the verdict).
    """

    metric: str
    movement: str
    unit: str
    points: tuple[SessionPoint, ...]
    baseline: float | None
    recent: float | None
    change: float | None
    sdc: SDCEstimate
    verdict: str
    text: str
    slope_per_30d: float | None = None
    window: int = 1
    direction: str | None = field(default=None)


def _fmt_change(v: float, unit: str) -> str:
    """Return a signed change with its unit, as precise as the values it compares."""
    return ("+" if v > 0 else "") + _fmt(v, unit)


def _fmt(v: float, unit: str) -> str:
    """Return a value with its unit (none for an index or a ratio: nothing to show)."""
    if unit in ("deg", "s"):
        return f"{v:.1f} {unit}"
    if unit in ("foot lengths", "leg lengths"):
        return f"{v:.3g} {unit}"
    return f"{v:.3g}"


def metric_trend(
    points: Sequence[SessionPoint],
    /,
    *,
    metric: str,
    movement: str,
    settings: ProgressSettings | None = None,
) -> MetricTrend:
    """Trend of one metric, with the verdict against the smallest detectable change.

    Parameters
    ----------
    points
        Session values (any order; sorted by time here).
    metric, movement
        What is tracked.
    settings
        Thresholds.

    Returns
    -------
    MetricTrend
        The trend and its verdict.
    """
    settings = settings or ProgressSettings()
    pts = tuple(sorted(points, key=lambda p: (p.recorded_at, p.session_id)))
    unit = metric_unit(metric)
    sdc = estimate_sdc(pts, metric=metric, settings=settings)
    label = metric_label(metric)[0]
    if len(pts) < 2:
        only = f" ({_fmt(pts[0].value, unit)})" if pts else ""
        return MetricTrend(
            metric=metric,
            movement=movement,
            unit=unit,
            points=pts,
            baseline=None,
            recent=None,
            change=None,
            sdc=sdc,
            verdict="one session only" if pts else "no sessions",
            text=f"{label}: one session so far{only}; a trend needs more sessions."
            if pts
            else f"{label}: not measured in any session.",
        )
    k = max(1, min(settings.trend_window_sessions, len(pts) // 2))
    baseline = float(np.mean([p.value for p in pts[:k]]))
    recent = float(np.mean([p.value for p in pts[-k:]]))
    change = recent - baseline
    days = np.array([(p.recorded_at - pts[0].recorded_at).total_seconds() / 86400 for p in pts])
    slope = None
    if np.ptp(days) > 0:
        slope = float(np.polyfit(days, [p.value for p in pts], 1)[0] * 30.0)
    direction = None
    span = f"{_fmt(baseline, unit)} -> {_fmt(recent, unit)}"
    days_apart = float(days[-1] - days[0])
    if k < settings.min_window_sessions or days_apart < settings.min_trend_days:
        verdict = "no real change yet"
        text = (
            f"{label}: {span} ({_fmt_change(change, unit)}); no real change yet: a trend "
            f"needs {2 * settings.min_window_sessions} sessions over "
            f"{settings.min_trend_days:g} days or more (has {len(pts)} over "
            f"{days_apart:.0f} days)."
        )
    elif sdc.value is None:
        verdict = "no real change yet"
        text = (
            f"{label}: {span} ({_fmt_change(change, unit)}); no real change yet: the smallest "
            "detectable change "
            f"is not known yet ({sdc.text})."
        )
    elif abs(change) <= sdc.value:
        verdict = "no real change yet"
        text = (
            f"{label}: {span} ({_fmt_change(change, unit)}), within the smallest detectable "
            "change of "
            f"{_fmt(sdc.value, unit)}: no real change yet."
        )
    else:
        verdict = "real increase" if change > 0 else "real decrease"
        better = BETTER_DIRECTION.get(metric)
        if better is not None and math.copysign(1, change) == better[0]:
            direction = better[1]
        text = (
            f"{label}: {span} ({_fmt_change(change, unit)}), beyond the smallest detectable "
            "change of "
            f"{_fmt(sdc.value, unit)}: a {verdict}" + (f" ({direction})." if direction else ".")
        )
    return MetricTrend(
        metric=metric,
        movement=movement,
        unit=unit,
        points=pts,
        baseline=baseline,
        recent=recent,
        change=change,
        sdc=sdc,
        verdict=verdict,
        text=text,
        slope_per_30d=slope,
        window=k,
        direction=direction,
    )
