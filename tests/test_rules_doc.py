"""docs/critique-rules.md is written from the rules and stays current."""

from __future__ import annotations

from pathlib import Path

from kneeback.assess.critique import Tolerances
from kneeback.assess.rules import RULES
from kneeback.report.rules_doc import rules_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "critique-rules.md"


def test_the_committed_page_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == rules_markdown(), (
        "docs/critique-rules.md is out of date: run python scripts/write_rules_doc.py"
    )


def test_every_rule_is_on_the_page_with_its_evidence_and_thresholds() -> None:
    page = rules_markdown()
    for rule in RULES.values():
        assert f"(`{rule.id}`)" in page
        assert f"grade {rule.grade}; {rule.source}" in page
        for name in rule.settings:  # the thresholds named are those the critique reads
            assert name in Tolerances.__dataclass_fields__, name
            assert f"Threshold `{name}`" in page
    assert "{value" not in page and "{threshold" not in page
