"""docs/critique-rules.md is written from the rules and stays current."""

from __future__ import annotations

from pathlib import Path

import pytest

from kneeback.assess.critique import Tolerances
from kneeback.assess.rules import RULES
from kneeback.report.html import SEVERITY_LABELS
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


def _section(page: str, rule_id: str) -> list[str]:
    """The lines of one rule's section, after its heading."""
    body = page.split(f"(`{rule_id}`)\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in body.splitlines() if line]


@pytest.mark.parametrize("for_web", [False, True])
def test_severities_are_named_as_the_session_page_names_them(for_web: bool) -> None:
    """A "Well done - Knee tracking" finding links to a rule that says it gives "Well done"."""
    page = rules_markdown(for_web=for_web)
    assert "Severity:" not in page and "is *needs work*" not in page and "is needs work" not in page
    assert "A rep needs work when a *Main focus* finding applies to it" in page
    intro = page.split("\n## ", 1)[0]
    for label in SEVERITY_LABELS.values():
        assert f"**{label}**" in intro
    for rule in RULES.values():
        first = _section(page, rule.id)[0]
        if rule.severity == "info":
            assert first == "- Shown as: a **For reference** finding (info): a measurement " + (
                "described, never judged"
            )
            continue
        label = SEVERITY_LABELS[rule.severity]
        assert f"- When not met: a **{label}** finding ({rule.severity})" in page
        assert first.startswith("- When met: ")
    knee = _section(page, "knee_tracking")
    assert (
        knee[0]
        == '- When met: a **Well done** finding, "Your knees stayed in line with your feet."'
    )
    assert knee[1] == "- When not met: a **Main focus** finding (major): the rep needs work"
    assert _section(page, "knee_valgus")[0] == "- When met: no finding"
    # tempo has a positive text, but the critique reports only a fast phase, never a met tempo
    assert _section(page, "tempo")[0] == "- When met: no finding"


def test_references_citations_are_explained_not_linked() -> None:
    for page in (rules_markdown(), rules_markdown(for_web=True)):
        assert "REFERENCES.md, the project's evidence file" in page
        for line in page.splitlines():
            if line.startswith("- Evidence:") and "REFERENCES.md" in line:
                assert line.endswith("(REFERENCES.md: the project's evidence file)"), line
        assert "http" not in page
