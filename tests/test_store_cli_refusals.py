"""What the store commands refuse, and with which exit code: no analysis data needed.

``forget`` without a terminal or --yes, imports of broken exports, outputs that cannot be
written, an export over an unrelated file, dates in the future, unknown movements, and the words
the commands print.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from kneeback import cli_store
from kneeback.cli_store import register

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def _main() -> None:
    """Test app."""


register(app)
runner = CliRunner()


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args), input=input)
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A SQLite database holding Ana with one ODI entry."""
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    code, _, err = run(
        "outcome", "Ana", "--db", url, "--odi", "30", "--date", "2026-01-05", "--create"
    )
    assert code == 0, err
    code, _, err = run("outcome", "Ana", "--db", url, "--odi", "20", "--date", "2026-01-20")
    assert code == 0, err
    return url


def names(db: str) -> list[str]:
    code, out, _ = run("people", "--db", db, "--json")
    assert code == 0
    return [p["name"] for p in json.loads(out)["people"]]


def one_sentence(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("Error: ")


# ---- forget asks, or needs --yes ---------------------------------------------------------------


def test_forget_without_a_terminal_needs_yes(db: str) -> None:
    for answer in ("n\n", "y\n", None):  # a pipe, even one that says yes, is not a person
        code, _, err = run("forget", "Ana", "--db", db, input=answer)
        assert code == 2 and "pass --yes to delete without asking" in err and one_sentence(err)
        assert names(db) == ["Ana"]
    code, out, _ = run("forget", "Ana", "--db", db, "-y")
    assert code == 0 and names(db) == []
    assert "Forgot Ana: deleted 1 person, 2 outcome entries." in out


def test_forget_on_a_terminal_asks(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_store, "_stdin_is_terminal", lambda: True)
    code, out, _ = run("forget", "Ana", "--db", db, input="n\n")
    assert code == 0 and "nothing was deleted" in out and names(db) == ["Ana"]
    code, out, _ = run("forget", "Ana", "--db", db, input="y\n")
    assert code == 0 and "Forgot Ana" in out and names(db) == []


def test_forget_an_unknown_name_says_so_before_asking(db: str) -> None:
    code, _, err = run("forget", "Bob", "--db", db)
    assert code == 8 and "Bob" in err and names(db) == ["Ana"]


# ---- import checks the whole file before writing ------------------------------------------------


def _export(db: str, tmp_path: Path) -> dict[str, Any]:
    code, out, err = run("export", "Ana", "--db", db)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["outcomes"][1].update(kind="zzz"), '"kind" of outcome entry 2'),
        (lambda d: d.update(sessions=None), '"sessions" should be a valid list, not null'),
        (lambda d: d["outcomes"][0].update(value=120), "ODI score runs from 0 to 100"),
        (lambda d: d["outcomes"][0].update(recorded_at="yesterday"), "ISO date"),
        (lambda d: d["outcomes"][0].update(recorded_at="2999-01-01T00:00:00+00:00"), "future"),
        (lambda d: d["person"].pop("name"), '"person.name" is missing'),
        (lambda d: d["outcomes"][0].update(session_uid="nosuch"), "does not hold"),
        (lambda d: d["outcomes"][1].update(uid=d["outcomes"][0]["uid"]), "repeats the id"),
        (lambda d: d.update(program=None), '"program" should be'),
        (lambda d: d["outcomes"][0].update(answers=[1] * 10), "answers give an ODI score of 20"),
    ],
)
def test_import_refuses_a_broken_export_and_writes_nothing(
    db: str, tmp_path: Path, change: Any, says: str
) -> None:
    data = _export(db, tmp_path)
    change(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    code, _, err = run("import", str(bad), "--db", other)
    assert code == 3 and says in err and one_sentence(err), err
    assert names(other) == []


def test_import_exit_code_is_the_same_for_any_unusable_file(tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    for text in ("{", "{}", "[]", '{"format": "kneeback.person"}', '"x"', ""):
        f = tmp_path / "x.json"
        f.write_text(text)
        code, _, err = run("import", str(f), "--db", other)
        assert code == 3 and one_sentence(err), (text, err)
    code, _, err = run("import", str(tmp_path / "missing.json"), "--db", other)
    assert code == 3


def test_import_round_trip_and_plain_words(db: str, tmp_path: Path) -> None:
    data = _export(db, tmp_path)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(data))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    code, out, err = run("import", str(good), "--db", other)
    assert code == 0, err
    assert "Imported Ana: 0 sessions, 2 outcome entries and 0 program events." in out
    code, out, _ = run("progress", "Ana", "--db", other)
    assert code == 0 and "ODI 20 %" in out


def test_progress_shows_an_outcome_it_cannot_judge(db: str) -> None:
    """Entries stored by an import before imports were checked no longer crash progress."""
    from sqlalchemy import update

    from kneeback.store import open_database
    from kneeback.store.models import OutcomeEntry

    with open_database(db) as database:
        database.write(lambda s: s.execute(update(OutcomeEntry).values(kind="zzz")))
    code, out, err = run("progress", "Ana", "--db", db)
    assert code == 0, err
    assert "not an outcome kneeback knows" in out


# ---- outputs that cannot be written are exit 6, missing program files 2 -------------------------


def test_outputs_that_cannot_be_written(db: str, tmp_path: Path) -> None:
    a_file = tmp_path / "a.txt"
    a_file.write_text("mine")
    cases = [
        ("progress", "Ana", "--html", "/proc/x/p.html"),
        ("progress", "Ana", "--html", str(tmp_path)),
        ("progress", "Ana", "--png", "/proc/x"),
        ("progress", "Ana", "--png", str(a_file)),
        ("progress", "Ana", "--png", str(a_file / "plots")),
        ("export", "Ana", "-o", "/proc/x/a.json"),
        ("export", "Ana", "-o", str(tmp_path)),
    ]
    for args in cases:
        code, _, err = run(*args, "--db", db)
        assert code == 6 and one_sentence(err), (args, err)
    assert a_file.read_text() == "mine"


def test_a_missing_program_file_is_a_usage_error(db: str, tmp_path: Path) -> None:
    code, _, err = run("program", "Ana", "--db", db, "--program", str(tmp_path / "nosuch.toml"))
    assert code == 2 and "does not exist" in err and one_sentence(err)
    code, _, err = run("program", "Ana", "--db", db, "--program", str(tmp_path))
    assert code == 2 and "cannot be read" in err and one_sentence(err)


# ---- export does not replace an unrelated file -------------------------------------------------


def test_export_keeps_an_unrelated_file_unless_forced(db: str, tmp_path: Path) -> None:
    notes = tmp_path / "existing.txt"
    notes.write_text("my notes")
    code, _, err = run("export", "Ana", "--db", db, "-o", str(notes))
    assert code == 6 and "--force" in err and one_sentence(err)
    assert notes.read_text() == "my notes"
    code, _, err = run("export", "Ana", "--db", db, "-o", str(notes), "--force")
    assert code == 0, err
    assert json.loads(notes.read_text())["format"] == "kneeback.person"
    # an earlier export is replaced without asking
    code, out, err = run("export", "Ana", "--db", db, "-o", str(notes))
    assert code == 0 and "1 outcome entry" not in out and "2 outcome entries" in out
    assert not list(tmp_path.glob(".*.tmp"))


# ---- dates and movements ----------------------------------------------------------------------


def test_outcome_dates_after_today_are_refused(db: str) -> None:
    code, _, err = run("outcome", "Ana", "--db", db, "--odi", "20", "--date", "2099-01-01")
    assert code == 2 and "after today" in err and one_sentence(err)
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    code, _, err = run("outcome", "Ana", "--db", db, "--odi", "20", "--date", tomorrow)
    assert code == 2
    code, _, err = run("outcome", "Ana", "--db", db, "--odi", "20", "--date", str(dt.date.today()))
    assert code == 0, err
    code, out, _ = run("history", "Ana", "--db", db, "--json")
    assert len(json.loads(out)["outcomes"]) == 3


@pytest.mark.parametrize("command", ["history", "progress"])
def test_unknown_movements_are_refused(db: str, command: str) -> None:
    code, _, err = run(command, "Ana", "--db", db, "--movement", "dance")
    assert code == 2 and "'dance'" in err and "sit_to_stand" in err and one_sentence(err)
    code, _, err = run(command, "Ana", "--db", db, "--movement", "squat")
    assert code == 0, err


# ---- words ------------------------------------------------------------------------------------


def test_history_lines_use_names_units_and_plurals() -> None:
    session = {
        "id": 4,
        "movement": "sit_to_stand",
        "view": "side",
        "reps": 1,
        "full_reps": 1,
        "capture": "good",
        "verdict": "needs_work",
        "values": {"knee_flexion_peak_deg": 129.44, "knee_fppa_peak_deg": 0.317, "descent_s": 0.64},
    }
    line = cli_store._session_line(session)
    assert "sit to stand (side view), 1 rep (1 full)" in line
    assert "verdict: needs work" in line and "needs_work" not in line
    assert "Peak knee flexion 129.4°" in line and "Time down 0.64 s" in line
    assert "Knee angle seen from the front (above 0: inwards) 0.3°" in line
    assert cli_store._outcome_line({"kind": "five_sts", "value": 11.0}) == (
        "outcome: Five-times sit-to-stand 11 s"
    )


def test_history_merges_outcomes_and_program_events_in_time(db: str) -> None:
    code, _, _ = run("program", "Ana", "--db", db)  # records the start of each track (now)
    assert code == 0
    code, out, _ = run("history", "Ana", "--db", db)
    lines = out.splitlines()
    assert lines[0] == "Ana: 0 sessions, 2 outcome entries, 3 program events"
    days = [line.split()[0] for line in lines[1:]]
    assert days == sorted(days) and len(days) == 5
    assert "outcome: ODI 30 %" in lines[1] and "outcome: ODI 20 %" in lines[2]
