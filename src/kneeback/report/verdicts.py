"""The sentence that explains a clip's verdict, shared by the report, the summary and the web."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["verdict_sentence"]

_SENTENCES: dict[str, str] = {
    "good": "The points this clip can measure met their standards. Keep practising to keep it.",
    "good_minor": (
        "Nothing major to change: the points this clip can measure met their standards, and the "
        "smaller points below are worth practising."
    ),
    "needs_work": (
        "There is something to practise. The cues below say what, and how to build it up "
        "week by week."
    ),
    "not_assessed": (
        "This clip did not show enough to judge the movement. The filming tips below say "
        "how to record one that does."
    ),
}


def verdict_sentence(verdict: str, severities: Iterable[str], /) -> str:
    """Return the sentence that explains a clip's verdict.

    Parameters
    ----------
    verdict
        ``good``, ``needs_work`` or ``not_assessed``.
    severities
        The severities of the clip's findings. Minor findings do not change a verdict (only
        major ones make it "needs work"), so a good clip with minor points says they are worth
        practising rather than that everything met its standard.

    Returns
    -------
    str
        The sentence, or "" for an unknown verdict.
    """
    key = verdict
    if key == "good" and "minor" in set(severities):
        key = "good_minor"
    return _SENTENCES.get(key, "")
