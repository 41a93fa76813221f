"""The summary of an analysis that ``kneeback analyze`` and ``kneeback live`` print."""

from __future__ import annotations

from pathlib import Path

from kneeback.cli_support import out
from kneeback.report.result import AnalysisResult, FindingInfo, RepInfo
from kneeback.report.verdicts import verdict_sentence

__all__ = ["VERDICT_TEXT", "print_summary", "rep_line"]

#: Verdicts in words.
VERDICT_TEXT = {"good": "good", "needs_work": "needs work", "not_assessed": "not assessed"}


def rep_line(rep: RepInfo, findings: list[FindingInfo], /) -> str:
    """Describe one rep in a line: its span, side, verdict and the findings that drove it."""
    titles = {f.id: f.title for f in findings}
    side = f", {rep.side} leg" if rep.side else ""
    partial = ", partial" if rep.partial else ""
    worked = [
        titles[i]
        for i in rep.findings
        if any(
            f.id == i and f.rep == rep.index and f.severity in ("major", "minor") for f in findings
        )
    ]
    why = f" ({', '.join(worked)})" if worked and rep.verdict == "needs_work" else ""
    return (
        f"Rep {rep.index + 1}: {rep.start_s:.1f}-{rep.end_s:.1f} s{side}{partial}, "
        f"{VERDICT_TEXT[rep.verdict]}{why}"
    )


def print_summary(result: AnalysisResult, report: Path) -> None:
    """Print the summary of an analysis for the person who filmed it.

    Movement, view, reps with verdicts, the clip's verdict explained, what the view could not
    judge, and the main cues of what to practise.
    """
    from kneeback.movements.specs import get_spec

    label = get_spec(result.movement.used).label
    n = len(result.reps)
    view = result.view.used
    out.print(
        f"[bold]{label.capitalize()}[/], {view} view: {n} rep{'s' if n != 1 else ''}.",
        highlight=False,
    )
    for note in (result.movement.message,):
        if note:
            out.print(f"Note: {note}", highlight=False)
    if result.view.agreement is False:
        out.print(
            f"Note: you said {result.view.stated} view; it looks like a "
            f"{result.view.recognised} view. The analysis used {view}.",
            highlight=False,
        )
    for rep in result.reps:
        out.print(f"  {rep_line(rep, list(result.findings))}", highlight=False)
    if n == 0:
        out.print(f"  {result.movement.no_repetition_text()}", highlight=False)
    tests = result.tests
    if tests is not None and tests.five_times_sts_s is not None:
        out.print(f"Five-times sit-to-stand: {tests.five_times_sts_s:.1f} s", highlight=False)
    if tests is not None and tests.chair_stands_30s is not None:
        out.print(f"30-second chair stands: {tests.chair_stands_30s}", highlight=False)
    out.print(f"Verdict: [bold]{VERDICT_TEXT[result.verdict]}[/]", highlight=False)
    sentence = verdict_sentence(
        result.verdict,
        ((f.id, f.severity, f.title) for f in result.findings),
        movement=result.movement.used,
        reps=len(result.reps),
    )
    if sentence:
        out.print(f"  {sentence}", highlight=False)
    note = result.movement.recognition_note() if result.verdict == "needs_work" else None
    if note:
        out.print(f"Note: {note}", highlight=False)
    for f in result.findings:  # what the view could not show, so that "good" is read rightly
        if f.id == "view_check":
            out.print(f"Not judged: {f.text}", highlight=False)
    # Cues of what to practise only: an "info" finding (the strategy index, a view note) is
    # reported, not judged, and its cue must not read as a correction.
    order = {"major": 0, "minor": 1}
    cues = sorted(
        (f for f in result.findings if f.cue and f.severity in order),
        key=lambda f: order[f.severity],
    )
    unique = list(dict.fromkeys(f.cue for f in cues))[:3]
    if unique:
        out.print("Main cues:", highlight=False)
        for cue in unique:
            out.print(f"  - {cue}", highlight=False)
    capture = result.capture
    for issue in capture.issues:
        out.print(f"Note: {issue}", highlight=False)
    tracked = capture.people_tracked
    if (capture.people_in_view or 0) > 1 and tracked and tracked > 1:
        out.print(
            f"To follow another of the {tracked} people tracked, analyse the video again with "
            f"--subject N (N from 0 to {tracked - 1}, in order of size and time in view; this "
            f"run followed {capture.person_followed or 0}).",
            highlight=False,
        )
    for tip in result.capture.tips[:1]:
        out.print(f"Filming tip: {tip}", highlight=False)
    out.print(f"Report: {report}", highlight=False)
