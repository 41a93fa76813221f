"""A session's findings as the pages list them: one entry per rule and severity, with its reps.

The critique gives a finding per rep ("Knee tracking (rep 1)", "(rep 2)", "(rep 3)"); the
session page and the coach's queue list each rule once with the reps it concerns, as the HTML
report does, and keep every rep's own sentence when they differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FindingGroup", "group_findings"]


@dataclass
class FindingGroup:
    """The findings of one rule at one severity, in the order they came.

    Attributes
    ----------
    id, severity, title
        The rule, its severity and its title.
    reps
        The reps concerned, counted from 1, in order (empty: the whole clip).
    texts
        Each finding's rep (counted from 1; None for the whole clip) and sentence, in rep order.
    """

    id: str
    severity: str
    title: str
    reps: list[int] = field(default_factory=list)
    texts: list[tuple[int | None, str]] = field(default_factory=list)

    @property
    def same_text(self) -> bool:
        """Whether every finding of the group says the same sentence."""
        return len({text for _, text in self.texts}) <= 1

    @property
    def where(self) -> str:
        """``"rep 2"``, ``"reps 1, 2, 3"``, or ``""`` for the whole clip."""
        if not self.reps:
            return ""
        label = "rep" if len(self.reps) == 1 else "reps"
        return f"{label} {', '.join(str(r) for r in self.reps)}"


def group_findings(findings: Iterable[Mapping[str, Any]], /) -> list[FindingGroup]:
    """Group findings by rule and severity, in the order each group first appears.

    Parameters
    ----------
    findings
        Findings as the store gives them: ``id``, ``severity``, ``title``, ``text`` and ``rep``
        (0-based, None for the whole clip).

    Returns
    -------
    list of FindingGroup
        One per rule and severity, in the order each first appears; reps and sentences within
        a group in rep order.
    """
    groups: dict[tuple[str, str], FindingGroup] = {}
    for f in findings:
        key = (str(f["id"]), str(f["severity"]))
        g = groups.setdefault(key, FindingGroup(id=key[0], severity=key[1], title=str(f["title"])))
        rep = None if f.get("rep") is None else int(f["rep"]) + 1
        if rep is not None and rep not in g.reps:
            g.reps.append(rep)
        g.texts.append((rep, str(f.get("text") or "")))
    for g in groups.values():  # in rep order, whatever order the findings came in
        g.reps.sort()
        g.texts.sort(key=lambda t: -1 if t[0] is None else t[0])
    return list(groups.values())
