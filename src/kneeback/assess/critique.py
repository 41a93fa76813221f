"""Apply the critique rules to per-rep metrics and give each rep, and the clip, a verdict.

A rule judges only when every metric it reads is measurable from the clip *and* judgeable from
its camera view (see :mod:`kneeback.assess.capture`; REFERENCES.md rule 1: sagittal feedback only
from a side view, valgus only from a front view). Otherwise it refuses: no finding for the rep and
no effect on the verdict; instead one clip-level ``view_check`` finding per refused family
(sagittal, frontal) says what could not be judged and how to film it. A rep is ``"needs_work"``
when a ``major`` finding applies to it, else ``"good"``; the clip is ``"needs_work"`` when at
least half of its full (not partial) reps are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from kneeback.assess.capture import CaptureReport, metric_family
from kneeback.assess.rules import (
    RULES,
    VIEW_CHECK_MISSING,
    VIEW_CHECK_REFUSED,
    VIEW_CHECK_SHOWN,
    VIEW_CHECK_TEXTS,
    VIEW_PHRASES,
    Rule,
    Severity,
)
from kneeback.movements.specs import MovementSpec

__all__ = [
    "Finding",
    "Tolerances",
    "Verdict",
    "clip_findings",
    "clip_verdict",
    "critique_rep",
    "rep_verdict",
    "rule_limit",
    "view_check_findings",
]

Verdict = Literal["good", "needs_work", "not_assessed"]
MetricValue = float | bool | None

#: Knee flexion used by daily tasks such as chairs and stairs (Rowe et al. 2000): lunge depth aim.
LUNGE_KNEE_AIM_DEG = 90.0

#: Five-times sit-to-stand: worse than average above these times (Bohannon 2006), by age band.
FIVE_TIMES_STS_NORMS_S: dict[str, float] = {"60-69": 11.4, "70-79": 12.6, "80-89": 14.8}

#: 30-second chair stand: below average under these counts, (men, women), CDC STEADI.
CHAIR_STAND_30S_NORMS: dict[str, tuple[int, int]] = {
    "60-64": (14, 12),
    "65-69": (12, 11),
    "70-74": (12, 10),
    "75-79": (11, 10),
    "80-84": (10, 9),
    "85-89": (8, 8),
    "90-94": (7, 4),
}


@dataclass(frozen=True)
class Tolerances:
    """The critique thresholds, taken from :class:`kneeback.settings.AnalysisSettings`."""

    depth_thigh_tolerance_deg: float
    trunk_tibia_tolerance_deg: float
    ankle_limited_tibia_deg: float
    heel_lift_tolerance: float
    knee_valgus_fppa_deg: float
    knee_inside_ankle_max: float
    sts_trunk_inclination_max_deg: float
    tempo_min_phase_s: float
    asymmetry_tolerance_deg: float

    @classmethod
    def from_settings(cls, settings: object, /) -> Tolerances:
        """Pick the tolerance fields out of a settings object."""
        names = cls.__dataclass_fields__
        return cls(**{n: float(getattr(settings, n)) for n in names})


@dataclass(frozen=True)
class Finding:
    """One critique finding.

    Attributes
    ----------
    rule_id
        The rule (see :data:`kneeback.assess.rules.RULES`).
    severity
        ``positive``, ``info``, ``minor`` or ``major``.
    grade
        Evidence grade of the rule.
    source
        The rule's citation.
    title
        Short name.
    text
        Plain-language explanation with the measured value.
    cue
        What to practise (empty for positive findings).
    rep
        Rep index, or None for the whole clip.
    time_s
        When in the clip (the rep's deepest point), or None.
    value, threshold
        The measured value and the rule's threshold, when numeric.
    """

    rule_id: str
    severity: Severity
    grade: str
    source: str
    title: str
    text: str
    cue: str
    rep: int | None = None
    time_s: float | None = None
    value: float | None = None
    threshold: float | None = None


def _num(metrics: Mapping[str, MetricValue], name: str) -> float | None:
    v = metrics.get(name)
    if v is None or isinstance(v, bool):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _measurable(rule: Rule, capture: CaptureReport, names: Sequence[str] | None = None) -> bool:
    """Whether the rule may judge: its metrics are measurable and judgeable from this view."""
    for name in names if names is not None else rule.metrics:
        status = capture.metrics.get(name)
        if status is None or not status.measurable or not status.judgeable:
            return False
    return True


def _finding(
    rule: Rule,
    *,
    met: bool,
    rep: int | None,
    time_s: float | None,
    value: float | None,
    threshold: float | None,
    value_text: str | None = None,
    severity: Severity | None = None,
) -> Finding | None:
    if met:
        if not rule.positive:
            return None
        return Finding(
            rule_id=rule.id,
            severity="positive",
            grade=rule.grade,
            source=rule.source,
            title=rule.title,
            text=rule.positive,
            cue="",
            rep=rep,
            time_s=time_s,
            value=value,
            threshold=threshold,
        )
    shown: object = value_text if value_text is not None else (value if value is not None else 0.0)
    text = rule.explanation.format(value=shown, threshold=threshold if threshold else 0.0)
    return Finding(
        rule_id=rule.id,
        severity=severity or rule.severity,
        grade=rule.grade,
        source=rule.source,
        title=rule.title,
        text=text,
        cue=rule.cue,
        rep=rep,
        time_s=time_s,
        value=value,
        threshold=threshold,
    )


@dataclass(frozen=True)
class _Limit:
    """A rule that compares one metric of a rep with a limit.

    Attributes
    ----------
    metric
        The metric read.
    at_most
        Met when the value is at most the limit (else: at least).
    limit
        The limit applied, from the tolerances and the metric's measurement uncertainty.
    shown
        The threshold the finding reports (default: the limit).
    report_met
        Also report the rule when met (its positive text); else only when not met.
    whole_reps
        Partial reps are not judged (depth cannot be judged on a rep that did not go down).
    own_metric_only
        Whether the rule may judge needs only this metric, not all of the rule's metrics.
    """

    metric: str
    at_most: bool
    limit: Callable[[Tolerances, float], float]
    shown: Callable[[Tolerances, float, float], float] | None = None
    report_met: bool = True
    whole_reps: bool = False
    own_metric_only: bool = False


#: The rules that compare one metric with a limit, by rule id. ``u`` is the metric's
#: measurement uncertainty (0 when the capture report gives none).
_LIMITS: dict[str, _Limit] = {
    "depth": _Limit(
        "thigh_angle_bottom_deg",
        at_most=True,
        limit=lambda t, u: t.depth_thigh_tolerance_deg,
        whole_reps=True,
        own_metric_only=True,
    ),
    "lunge_depth": _Limit(
        "knee_flexion_peak_deg",
        at_most=False,
        limit=lambda t, u: LUNGE_KNEE_AIM_DEG - t.depth_thigh_tolerance_deg,
        shown=lambda t, u, limit: LUNGE_KNEE_AIM_DEG,
        whole_reps=True,
    ),
    "trunk_vs_tibia": _Limit(
        "trunk_minus_tibia_bottom_deg", at_most=True, limit=lambda t, u: t.trunk_tibia_tolerance_deg
    ),
    # FMS: the deep squat is done with the heels flat; a rise beyond the allowance by more than
    # the measurement error (a heel keypoint can drift in a deep bend) counts.
    "heel_lift": _Limit(
        "heel_lift_peak",
        at_most=True,
        limit=lambda t, u: t.heel_lift_tolerance + u,
        shown=lambda t, u, limit: round(limit, 3),
    ),
    # A knee inside the inner edge of its foot by more than the measurement error (FMS: knees
    # aligned over the feet).
    "knee_tracking": _Limit(
        "knee_inside_ankle_bottom",
        at_most=True,
        limit=lambda t, u: t.knee_inside_ankle_max + u,
        shown=lambda t, u, limit: round(limit, 3),
    ),
    "knee_valgus": _Limit(
        "knee_fppa_peak_deg",
        at_most=True,
        limit=lambda t, u: t.knee_valgus_fppa_deg,
        report_met=False,
    ),
    # Beyond the reference range by more than the measurement error, as for the knees.
    "sts_trunk_lean": _Limit(
        "trunk_inclination_peak_deg",
        at_most=True,
        limit=lambda t, u: t.sts_trunk_inclination_max_deg + u,
        shown=lambda t, u, limit: round(limit, 1),
    ),
    "symmetry": _Limit(
        "knee_flexion_asymmetry_deg",
        at_most=True,
        limit=lambda t, u: t.asymmetry_tolerance_deg,
        report_met=False,
    ),
}
#: The order in which a rep's findings are listed.
_RULE_ORDER = (
    "depth",
    "lunge_depth",
    "trunk_vs_tibia",
    "heel_lift",
    "ankle_mobility",
    "knee_tracking",
    "knee_valgus",
    "sts_trunk_lean",
    "strategy",
    "tempo",
    "symmetry",
)


def rule_limit(rule_id: str, /, tolerances: Tolerances, *, uncertainty: float | None) -> float:
    """Return the limit a rule that compares one metric with a limit applies.

    Parameters
    ----------
    rule_id
        One of the rules that compare a metric with a limit (``depth``, ``heel_lift``,
        ``knee_tracking``, ...).
    tolerances
        The thresholds.
    uncertainty
        The metric's measurement uncertainty (None: 0).

    Returns
    -------
    float
        The limit, in the metric's unit, as :func:`critique_rep` applies it.
    """
    return _LIMITS[rule_id].limit(tolerances, uncertainty or 0.0)


def _limit_finding(
    rule_id: str,
    metrics: Mapping[str, MetricValue],
    capture: CaptureReport,
    tol: Tolerances,
    *,
    rep: int | None,
    time_s: float | None,
) -> tuple[Finding | None, bool]:
    """Judge one :data:`_LIMITS` rule; return its finding (if any) and whether it failed."""
    rule, check = RULES[rule_id], _LIMITS[rule_id]
    value = _num(metrics, check.metric)
    if value is None or not _measurable(
        rule, capture, [check.metric] if check.own_metric_only else None
    ):
        return None, False
    status = capture.metrics.get(check.metric)
    u = (status.uncertainty if status is not None else None) or 0.0
    limit = rule_limit(rule_id, tol, uncertainty=u)
    met = value <= limit if check.at_most else value >= limit
    if met and not check.report_met:
        return None, False
    shown = check.shown(tol, u, limit) if check.shown is not None else limit
    finding = _finding(rule, met=met, value=value, threshold=shown, rep=rep, time_s=time_s)
    return finding, not met


def critique_rep(
    metrics: Mapping[str, MetricValue],
    /,
    *,
    spec: MovementSpec,
    capture: CaptureReport,
    tolerances: Tolerances,
    rep: int | None = None,
    time_s: float | None = None,
    partial: bool = False,
) -> list[Finding]:
    """Apply the movement's rules to one rep's metrics.

    Parameters
    ----------
    metrics
        Metric name to value, from :func:`kneeback.movements.metrics.rep_metrics`.
    spec
        The movement analysed.
    capture
        Capture report: which metrics are measurable.
    tolerances
        Thresholds.
    rep, time_s
        Rep index and the time of its deepest point, recorded in the findings.
    partial
        A partial rep is not judged on depth.

    Returns
    -------
    list of Finding
        Positive, informative and corrective findings for this rep, in :data:`_RULE_ORDER`,
        except that an ankle-range finding comes first (it explains the others).
    """
    out: list[Finding] = []
    failed: set[str] = set()
    tol = tolerances
    for rule_id in _RULE_ORDER:
        if rule_id not in spec.rules:
            continue
        finding: Finding | None = None
        if rule_id in _LIMITS:
            if partial and _LIMITS[rule_id].whole_reps:
                continue
            finding, did_fail = _limit_finding(
                rule_id, metrics, capture, tol, rep=rep, time_s=time_s
            )
            if did_fail:
                failed.add(rule_id)
        elif rule_id == "ankle_mobility":
            finding = _ankle_finding(
                metrics, capture, tol, failed & {"depth", "trunk_vs_tibia"}, rep, time_s
            )
        elif rule_id == "strategy":  # described, never judged
            si = _num(metrics, "strategy_index")
            if si is not None and _measurable(RULES[rule_id], capture):
                finding = _finding(
                    RULES[rule_id], met=False, value=si, threshold=None, rep=rep, time_s=time_s
                )
        elif rule_id == "tempo":
            finding = _tempo_finding(metrics, capture, tol, rep, time_s)
        if finding is not None:
            out.append(finding)
    # Limited ankles explain the depth and trunk findings: they come first (REFERENCES.md rule 4).
    out.sort(key=lambda f: f.rule_id != "ankle_mobility")
    return out


def _ankle_finding(
    metrics: Mapping[str, MetricValue],
    capture: CaptureReport,
    tol: Tolerances,
    failed: set[str],
    rep: int | None,
    time_s: float | None,
) -> Finding | None:
    """Ankle mobility: shins upright when depth or trunk-vs-shin failed (REFERENCES.md rule 4).

    Heels that rise have a rule of their own (``heel_lift``), whose text points at the ankles too.
    """
    rule = RULES["ankle_mobility"]
    tib = _num(metrics, "tibia_inclination_bottom_deg")
    if tib is None or not failed or not _measurable(rule, capture):
        return None
    if tib >= tol.ankle_limited_tibia_deg:
        return None
    return _finding(
        rule,
        met=False,
        value=tib,
        threshold=tol.ankle_limited_tibia_deg,
        rep=rep,
        time_s=time_s,
    )


#: How the tempo finding names the phases.
_TEMPO_PHASES = {"descent": "the way down", "ascent": "the way up"}


def _tempo_phases_text(fast: list[tuple[str, float]]) -> str:
    """E.g. ``"Both the way down (0.6 s) and the way up (0.7 s)"``."""
    text = " and ".join(f"{_TEMPO_PHASES[phase]} ({d:.1f} s)" for phase, d in fast)
    text = f"both {text}" if len(fast) == 2 else text
    return text[:1].upper() + text[1:]


def _tempo_finding(
    metrics: Mapping[str, MetricValue],
    capture: CaptureReport,
    tol: Tolerances,
    rep: int | None,
    time_s: float | None,
) -> Finding | None:
    """Tempo: the lowering or the rising (or both) faster than the minimum phase time."""
    rule = RULES["tempo"]
    fast = [
        (phase, d)
        for phase in ("descent", "ascent")
        if (d := _num(metrics, f"{phase}_s")) is not None and d < tol.tempo_min_phase_s
    ]
    if not (_measurable(rule, capture) and fast):
        return None
    return _finding(
        rule,
        met=False,
        value=fast[0][1],
        threshold=tol.tempo_min_phase_s,
        value_text=_tempo_phases_text(fast),
        rep=rep,
        time_s=time_s,
    )


def rep_verdict(findings: Sequence[Finding], /) -> Verdict:
    """Return ``"needs_work"`` when a major finding applies, else ``"good"``."""
    return "needs_work" if any(f.severity == "major" for f in findings) else "good"


def clip_verdict(verdicts: Sequence[Verdict], /, *, partial: Sequence[bool] = ()) -> Verdict:
    """Clip verdict: ``"needs_work"`` when at least half of the full reps need work.

    Reps that were not assessed do not count.

    Parameters
    ----------
    verdicts
        One verdict per rep.
    partial
        One flag per rep; partial reps count only when every rep is partial.

    Returns
    -------
    str
        ``"good"``, ``"needs_work"`` or ``"not_assessed"`` (no assessed reps).
    """
    flags = list(partial) or [False] * len(verdicts)
    judged = [(v, p) for v, p in zip(verdicts, flags, strict=True) if v != "not_assessed"]
    full = [v for v, p in judged if not p] or [v for v, _ in judged]
    if not full:
        return "not_assessed"
    bad = sum(v == "needs_work" for v in full)
    return "needs_work" if bad * 2 >= len(full) else "good"


#: Rules whose metrics do not depend on the camera view, or that judge nothing per rep.
_VIEW_FREE_RULES = ("view_check", "sts_tests")


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def view_check_findings(*, spec: MovementSpec, capture: CaptureReport) -> list[Finding]:
    """One ``view_check`` finding per family of metrics the clip cannot support.

    REFERENCES.md rule 1: sagittal feedback only from a side view, valgus only from a front
    view; say so when the clip cannot support a metric. For each family (``sagittal``,
    ``frontal``, ``timing``) whose rules :func:`critique_rep` refused, or whose metrics are not
    measurable, the finding names the rules not judged, what the view lacks, the uncertainty of
    values shown only for information, and (as its cue) how to film it.

    Parameters
    ----------
    spec
        The movement analysed.
    capture
        Capture report.

    Returns
    -------
    list of Finding
        Info findings at clip level, sagittal first; none for a movement without judged rules
        (``other``), where no other view would get the clip judged.
    """
    rule = RULES["view_check"]
    out: list[Finding] = []
    if not any(r not in _VIEW_FREE_RULES and RULES[r].metrics for r in spec.rules):
        return out  # nothing is judged ("other movement"): no view would change that
    for family, (what, needs) in VIEW_CHECK_TEXTS.items():
        names = [m for m in spec.metrics if metric_family(m) == family and m in capture.metrics]
        if not names:
            continue
        statuses = [capture.metrics[m] for m in names]
        refused = []
        for rule_id in spec.rules:
            r = RULES[rule_id]
            if rule_id in _VIEW_FREE_RULES or not r.metrics:
                continue
            mine = [m for m in r.metrics if m in names]
            if mine and not _measurable(r, capture, mine):
                refused.append(r.title.lower())
        unmeasured = [s for s in statuses if not s.measurable]
        shown = [s for s in statuses if s.measurable and not s.judgeable]
        if not refused and not unmeasured:
            continue
        filmed = VIEW_PHRASES.get(
            "timing" if family == "timing" else capture.view.name, VIEW_PHRASES["unknown"]
        )
        if refused:
            text = VIEW_CHECK_REFUSED.format(
                filmed=filmed, what=what, needs=needs, rules=_join(refused)
            )
        else:
            text = VIEW_CHECK_MISSING.format(filmed=filmed, what=what, needs=needs)
        uncs = [s.uncertainty for s in shown if s.uncertainty is not None]
        if shown and uncs:
            text += " " + VIEW_CHECK_SHOWN.format(unc=max(uncs))
        tip = next((s.tip for s in statuses if not s.judgeable and s.tip), None)
        tip = tip or next((s.tip for s in unmeasured if s.tip), None) or rule.cue
        out.append(
            Finding(
                rule_id=rule.id,
                severity=rule.severity,
                grade=rule.grade,
                source=rule.source,
                title=rule.title,
                text=text,
                cue=tip,
                value=None,
                threshold=None,
            )
        )
    return out


def clip_findings(
    *,
    spec: MovementSpec,
    capture: CaptureReport,
    tests: Mapping[str, float | int | None] | None = None,
) -> list[Finding]:
    """List findings about the whole clip: what the view cannot show, the chair-stand tests.

    Parameters
    ----------
    spec
        The movement analysed.
    capture
        Capture report.
    tests
        Output of :func:`kneeback.movements.reps.chair_stand_tests` for sit-to-stand sets.

    Returns
    -------
    list of Finding
        Clip-level findings.
    """
    out = view_check_findings(spec=spec, capture=capture)
    if tests and "sts_tests" in spec.rules:
        rule = RULES["sts_tests"]
        parts = []
        five = tests.get("five_times_sts_s")
        thirty = tests.get("chair_stands_30s")
        if five is not None:
            norms = ", ".join(f"{k} y: {v} s" for k, v in FIVE_TIMES_STS_NORMS_S.items())
            parts.append(
                f"Five-times sit-to-stand: {float(five):.1f} s (worse than average above: {norms})."
            )
        if thirty is not None:
            parts.append(
                f"30-second chair stand: {int(thirty)} stands (below-average counts depend on age "
                "and sex, e.g. under 12 for men and 11 for women aged 65-69)."
            )
        if parts:
            f = _finding(
                rule,
                met=False,
                rep=None,
                time_s=None,
                value=None if five is None else float(five),
                threshold=None,
                value_text=" ".join(parts),
            )
            if f is not None:
                out.append(f)
    return out
