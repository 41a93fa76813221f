"""The sentence that explains a clip's verdict, shared by the report, the summary and the web."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["verdict_sentence"]

_SENTENCES: dict[str, str] = {
    "good": "The points this clip could judge met their standards. Keep practising to keep it.",
    "good_minor": (
        "Nothing major to change: the points this clip could judge met their standards, and the "
        "smaller points below are worth practising."
    ),
    "needs_work": (
        "There is something to practise. The cues below say what, and how to build it up "
        "week by week."
    ),
    "not_assessed_other": (
        "kneeback has no standards for this movement yet, so nothing was judged; its "
        "measurements are shown for information."
    ),
    "not_assessed": (
        "This clip did not show enough to judge the movement. The filming tips below say "
        "how to record one that does."
    ),
}


def verdict_sentence(
    verdict: str,
    findings: Iterable[tuple[str, str, str]],
    /,
    *,
    movement: str | None = None,
    reps: int = 0,
) -> str:
    """Return the sentences that explain a clip's verdict.

    Parameters
    ----------
    verdict
        ``good``, ``needs_work`` or ``not_assessed``.
    findings
        The clip's findings as (rule id, severity, title). Minor findings do not change a
        verdict (only major ones make it "needs work"), so a good clip with minor points says
        they are worth practising rather than that everything met its standard; and a good
        clip names what was judged, since a view or a movement may allow only a few rules.
    movement, reps
        The movement analysed and its number of repetitions: repetitions of an ``"other"``
        movement are not assessed because kneeback has no standards for it, not because of
        the filming.

    Returns
    -------
    str
        The sentences, or "" for an unknown verdict.
    """
    items = list(findings)
    key = verdict
    if key == "not_assessed" and movement == "other" and reps > 0:
        key = "not_assessed_other"
    if key == "good" and any(severity == "minor" for _, severity, _ in items):
        key = "good_minor"
    text = _SENTENCES.get(key, "")
    judged = list(
        dict.fromkeys(
            title
            for rule, severity, title in items
            if severity in ("positive", "minor", "major") and rule != "view_check"
        )
    )
    if text and verdict == "good" and judged:
        text += f" Judged here: {', '.join(t[:1].lower() + t[1:] for t in judged)}."
    return text
