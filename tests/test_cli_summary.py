"""The summary `kneeback analyze` prints: what it says about the verdict, the view and the cues."""

from __future__ import annotations

from pathlib import Path

from kneeback.cli_summary import print_summary
from kneeback.cli_support import out
from kneeback.report.result import (
    AnalysisResult,
    CaptureInfo,
    FindingInfo,
    MovementInfo,
    RepInfo,
    ViewInfo,
)


def _finding(id: str, severity: str, cue: str, rep: int | None = 0) -> FindingInfo:
    return FindingInfo(
        id=id, severity=severity, grade="C", source="s", title=id, text=f"{id} text", cue=cue,
        rep=rep,
    )  # fmt: skip


def _summary(findings: list[FindingInfo], verdict: str = "good") -> str:
    result = AnalysisResult(
        movement=MovementInfo(recognised="squat", used="squat", confidence=1.0),
        view=ViewInfo(recognised="front", used="front", confidence=1.0),
        capture=CaptureInfo(in_frame=1.0, source="2d", measurement="video_2d"),
        reps=[RepInfo(index=0, start_s=1.0, end_s=2.5, peak_s=1.8, verdict=verdict)],
        findings=findings,
        verdict=verdict,
    )
    with out.capture() as captured:
        print_summary(result, Path("report.html"))
    return captured.get()


def test_cues_are_what_to_practise_not_what_was_only_reported():
    text = _summary(
        [
            _finding("tempo", "minor", "Take 1-2 s each way."),
            _finding("strategy", "info", "Knee-led practice keeps the knees strong."),
        ]
    )
    assert "Take 1-2 s each way." in text
    assert "Knee-led practice" not in text  # a strategy is reported, not corrected


def test_a_good_verdict_says_what_is_left_and_what_the_view_could_not_judge():
    view = _finding("view_check", "info", "Film from the side.", rep=None)
    view = view.model_copy(update={"text": "Filmed from the front, depth could not be judged."})
    text = _summary([_finding("tempo", "minor", "Take 1-2 s each way."), view])
    assert "Verdict: good" in text and "smaller points below are worth practising" in text
    assert "Not judged: Filmed from the front, depth could not be judged." in text
    plain = _summary([])
    assert "met their standards. Keep practising to keep it." in plain
    assert "Not judged" not in plain


def test_a_good_verdict_names_what_was_judged():
    text = _summary([_finding("tempo", "positive", ""), _finding("knee_tracking", "positive", "")])
    assert "Judged here: tempo, knee_tracking." in text


def test_an_other_movement_is_not_blamed_on_the_filming():
    from kneeback.report.verdicts import verdict_sentence

    text = verdict_sentence("not_assessed", [], movement="other", reps=1)
    assert text.startswith("kneeback has no standards for this movement yet")
    assert "filming" not in text
    assert "filming tips" in verdict_sentence("not_assessed", [], movement="squat")
    # no repetition at all (walking, too short): that is about the filming
    assert "filming tips" in verdict_sentence("not_assessed", [], movement="other", reps=0)


def test_a_recognised_movement_that_needs_work_says_how_to_name_another():
    text = _summary([_finding("depth", "major", "Build depth gradually.")], verdict="needs_work")
    assert "recognised as a squat from how you moved" in text and "--movement" in text
    assert "recognised as" not in _summary([_finding("tempo", "minor", "x")])  # good: no note
