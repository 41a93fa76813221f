"""Assessment: capture quality, evidence-graded critique rules and verdicts."""

from __future__ import annotations

from kneeback.assess.capture import (
    CaptureReport,
    MetricStatus,
    assess_capture,
    metric_family,
    metric_uncertainty,
)
from kneeback.assess.critique import (
    Finding,
    Tolerances,
    Verdict,
    clip_findings,
    clip_verdict,
    critique_rep,
    rep_verdict,
    view_check_findings,
)
from kneeback.assess.rules import EVIDENCE_GRADES, RULES, Rule, get_rule

__all__ = [
    "EVIDENCE_GRADES",
    "RULES",
    "CaptureReport",
    "Finding",
    "MetricStatus",
    "Rule",
    "Tolerances",
    "Verdict",
    "assess_capture",
    "clip_findings",
    "clip_verdict",
    "critique_rep",
    "get_rule",
    "metric_family",
    "metric_uncertainty",
    "rep_verdict",
    "view_check_findings",
]
