"""Every text the critique engine can show coaches regeneration and makes no forbidden claim."""

from __future__ import annotations

import re

import pytest

from kneeback.assess import critique, rules
from kneeback.assess.capture import TIP_FRONT, TIP_SIDE
from kneeback.assess.rules import EVIDENCE_GRADES, RULES
from kneeback.movements import recognise

#: Claims REFERENCES.md says the engine must never make, and fear words.
FORBIDDEN = (
    "injur",
    "damage",
    "dangerous",
    "danger ",
    "harm",
    "rounded back",
    "round your back",
    "knees past toes",
    "knees must not pass",
    "lumbar",
    "lumbo",
    "spine",
    "spinal",
    "disc",
    "causes pain",
    "cause pain",
    "risk",
    "unsafe",
    "wear and tear",
    "degenerat",
)


def _texts() -> list[str]:
    out = []
    for rule in RULES.values():
        out += [rule.title, rule.explanation, rule.cue, rule.positive]
    out += [TIP_SIDE, TIP_FRONT]
    out += [v for k, v in vars(rules).items() if isinstance(v, str) and not k.startswith("__")]
    out += [t for pair in rules.VIEW_CHECK_TEXTS.values() for t in pair]
    out += list(rules.VIEW_PHRASES.values())
    out += [v for v in vars(recognise).values() if isinstance(v, str)]
    return out


@pytest.mark.parametrize("word", FORBIDDEN)
def test_no_forbidden_claims(word: str) -> None:
    for text in _texts():
        assert word not in text.lower(), f"{word!r} in {text!r}"


def test_classify_reasons_are_clean() -> None:
    import inspect

    src = inspect.getsource(recognise._classify) + inspect.getsource(critique)
    for word in ("injur", "damage", "dangerous", "harm", "rounded back", "lumbar"):
        assert word not in src.lower()


def test_every_rule_cites_a_source_and_grade() -> None:
    for rule in RULES.values():
        assert rule.source.strip()
        assert rule.grade in EVIDENCE_GRADES
        assert rule.views
        assert rule.severity in ("positive", "info", "minor", "major")
        if rule.severity in ("minor", "major"):
            assert rule.cue, rule.id


def test_cues_are_encouraging() -> None:
    for rule in RULES.values():
        assert not re.search(r"\b(never|don't|do not|stop)\b", rule.cue.lower()), rule.id
