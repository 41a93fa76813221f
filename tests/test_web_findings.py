"""The session page and the coach's queue list each rule's findings once, with their reps.

The critique gives one finding per rep; a 3-rep clip whose knees caved in every rep read "Knees
cave in (rep 1)", "(rep 2)", "(rep 3)" as three entries. Now one entry names the reps, and keeps
each rep's sentence when they differ.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("fastapi")

from kneeback.store.models import Finding
from kneeback.web.findings import group_findings
from test_web_review import post, world  # noqa: F401  (the fixture)


def _finding(rule: str, severity: str, title: str, rep: int | None, text: str) -> dict:
    return {"id": rule, "severity": severity, "title": title, "rep": rep, "text": text}


def test_findings_are_grouped_by_rule_and_severity_in_order():
    groups = group_findings(
        [
            _finding("tempo", "minor", "Tempo", 0, "Down in 0.6 s."),
            _finding("knee_tracking", "positive", "Knee tracking", 0, "In line."),
            _finding("tempo", "minor", "Tempo", 1, "Down in 0.6 s."),
            _finding("knee_tracking", "positive", "Knee tracking", 1, "In line."),
            _finding("tempo", "minor", "Tempo", 2, "Down in 0.4 s."),
            _finding("view_check", "info", "Film from the side", None, "Front view."),
        ]
    )
    assert [(g.id, g.where, g.same_text) for g in groups] == [
        ("tempo", "reps 1, 2, 3", False),
        ("knee_tracking", "reps 1, 2", True),
        ("view_check", "", True),
    ]
    assert groups[0].texts == [(1, "Down in 0.6 s."), (2, "Down in 0.6 s."), (3, "Down in 0.4 s.")]


def test_the_session_page_and_the_queue_name_each_rule_once(world):  # noqa: F811
    app, sid = world["app"], world["a1"]

    def more(s):  # the same rule on reps 1 and 3 too, one with another sentence
        for rep, text in ((0, "Your knees move inwards on the way up."), (2, "Inwards, 9 %.")):
            s.add(
                Finding(
                    session_id=sid,
                    rule_id="knee_valgus",
                    severity="major",
                    grade="clear",
                    source="rule",
                    title="Knees cave in",
                    text=text,
                    cue="Push your knees out",
                    rep_index=rep,
                    time_s=1.0,
                )
            )

    app.state.web.db.write(more)
    page = " ".join(world["alice"].get(f"/sessions/{sid}").text.split())
    assert page.count("<strong>Knees cave in</strong>") == 1
    assert "<strong>Knees cave in</strong> (reps 1, 2, 3)" in page
    assert "<li>Rep 3: Inwards, 9 %.</li>" in page
    assert page.count("Rep 2: Your knees move inwards on the way up.") == 1
    assert post(world, "alice", f"/api/sessions/{sid}/share").status_code == 200
    queue = " ".join(world["carol"].get("/review").text.split())
    assert len(re.findall(r"Knees cave in \(reps 1, 2, 3\)", queue)) == 1
    assert "(rep 1)" not in queue
