"""Forgetting one session: the store (SQLite and PostgreSQL) and ``kneeback forget --session``.

Its rows and files go and nothing else: other sessions, other people, entered outcomes and the
program's history stay; shared files and output folders written again are kept; the web app's
share, comments and job link follow the database's foreign keys; progress and the program's
evaluation stop counting the session while a stage change it already led to stays.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kneeback import cli_store
from kneeback.errors import UnknownPersonError, UnknownSessionError
from kneeback.store import (
    forget_session,
    list_people,
    open_database,
    person_history,
    program_status,
    record_outcome,
    session_to_forget,
    store_session,
)
from kneeback.store.db import Database
from kneeback.store.models import Person, Session
from store_support import day, needs_data, output_folder, result
from test_program import _coach_copy
from test_store import ALL_TABLES
from test_store_cli_refusals import run

pytestmark = needs_data

pytest_plugins = ["store_fixtures"]

#: Every table of the store by name, as ``rows`` counts them.
TABLES = {m.__tablename__: m for m in ALL_TABLES}


def _counts(database: Database) -> dict[str, int]:
    def work(s: Any) -> dict[str, int]:
        return {
            k: int(s.scalar(select(func.count()).select_from(m)) or 0) for k, m in TABLES.items()
        }

    return database.read(work)


def _store(
    database: Database, tmp_path: Path, name: str, res: Any, n: int, **files: Path
) -> tuple[int, Path]:
    """Store a session of ``name`` recorded on day ``n`` whose files lie in their own folder."""
    folder = tmp_path / f"{name}-{n}"
    arts = output_folder(folder, res, "report.html")
    clip = tmp_path / f"{name}-{n}.mp4"
    clip.write_bytes(b"clip")
    sid = store_session(
        database,
        name,
        res,
        artifacts={**arts, **files},
        recorded_at=day(n),
        source_path=clip,
    )
    return sid, folder


#: The files :func:`_store` writes, in the order forgetting lists them.
OURS = ("report.html", "result.json")


def _sids(database: Database, name: str) -> list[int]:
    return [s["id"] for s in person_history(database, name)["sessions"]]


# ---- the store -----------------------------------------------------------------------------------


def test_forget_one_session_deletes_its_rows_and_files_only(db: Database, tmp_path: Path) -> None:
    squats = [result(1, 1, (1, 2, 3)), result(1, 1, (4, 5, 6)), result(1, 1, (7, 8, 9))]
    ana = [_store(db, tmp_path, "Ana", res, 7 * i) for i, res in enumerate(squats)]
    bob, bob_folder = _store(db, tmp_path, "Bob", result(1, 2, (1, 2, 3)), 0)
    record_outcome(db, "Ana", kind="odi", value=30.0, answers=None, recorded_at=day(1))
    program_status(db, "Ana")
    before = _counts(db)
    sid, folder = ana[1]
    asked = session_to_forget(db, sid, person="Ana")
    done = forget_session(db, sid, person="Ana")

    res = squats[1]
    expected = {
        "sessions": 1,
        "reps": len(res.reps),
        "rep_metrics": sum(len(r.metrics) for r in res.reps),
        "findings": len(res.findings),
        "artifacts": 2,
        "outcomes": 0,
    }
    assert done["rows"] == asked["rows"] == expected
    assert done["session"] == asked["session"]
    assert done["session"]["name"] == "Ana" and done["session"]["movement"] == "squat"
    after = _counts(db)
    assert {k: before[k] - after[k] for k in before} == {k: expected.get(k, 0) for k in before}, (
        "only the session's own rows go"
    )
    # its files and the folder they emptied are gone; the clip it was analysed from stays
    assert done["files_deleted"] == [str((folder / n).resolve()) for n in OURS]
    assert asked["files"] == done["files_deleted"]
    assert done["folders_deleted"] == [str(folder.resolve())] and not folder.exists()
    assert done["files_kept"] == [] and done["files_missing"] == []
    clip = tmp_path / "Ana-7.mp4"
    assert done["source_files_left"] == [str(clip.resolve())] and clip.exists()
    assert done["source_files_deleted"] == []
    # the other sessions, Ana's ODI entry and Bob are untouched
    assert _sids(db, "Ana") == [ana[0][0], ana[2][0]]
    assert all((f / n).exists() for _, f in (ana[0], ana[2], (bob, bob_folder)) for n in OURS)
    assert [o["kind"] for o in person_history(db, "Ana")["outcomes"]] == ["odi"]
    assert {p["name"]: p["sessions"] for p in list_people(db)} == {"Ana": 2, "Bob": 1}
    with pytest.raises(UnknownSessionError):
        forget_session(db, sid)


def test_a_sit_to_stand_session_takes_the_outcome_its_clip_gave(db: Database) -> None:
    from kneeback.progress.report import person_progress

    sts = store_session(db, "Ana", result(5, 1, (1, 2, 3, 4, 5)), recorded_at=day(0))
    record_outcome(db, "Ana", kind="five_sts", value=14.0, recorded_at=day(2))
    kinds = sorted(o["kind"] for o in person_history(db, "Ana")["outcomes"])
    assert kinds == ["five_sts", "five_sts"]  # one from the clip, one entered
    done = forget_session(db, sts)
    assert done["rows"]["outcomes"] == 1
    assert [o["source"] for o in done["outcomes"]] == ["clip"]
    left = person_history(db, "Ana")["outcomes"]
    assert [(o["kind"], o["value"], o["source"]) for o in left] == [("five_sts", 14.0, "entered")]
    assert [e["value"] for e in person_progress(db, "Ana").outcomes["five_sts"]] == [14.0]


def test_shared_and_replaced_files_are_kept(db: Database, tmp_path: Path) -> None:
    shared = output_folder(tmp_path / "shared", result(1, 3, (1, 2, 3)), "pose.nc")["pose_nc"]
    a, folder_a = _store(db, tmp_path, "Ana", result(1, 1, (1, 2, 3)), 0, extra=shared)
    b, _ = _store(db, tmp_path, "Ana", result(1, 1, (4, 5, 6)), 7, extra=shared)
    # a folder holding a file kneeback did not write is not removed
    (folder_a / "notes.txt").write_text("mine")
    done = forget_session(db, a)
    assert done["files_kept"] == [
        {"path": str(shared.resolve()), "why": "also an artifact of another session"}
    ]
    assert shared.exists() and done["folders_deleted"] == []
    assert (folder_a / "notes.txt").exists() and not (folder_a / "report.html").exists()
    done = forget_session(db, b)  # now nobody else names it
    assert str(shared.resolve()) in done["files_deleted"] and not shared.exists()

    # an output folder analysed again since: none of its files are the session's any more
    folder = tmp_path / "out"
    folder.mkdir()
    res = result(1, 1, (1, 2, 3))
    (folder / "report.html").write_text("Zed's report")
    (folder / "result.json").write_text(res.to_json() + "\n")
    arts = {"report_html": folder / "report.html", "result_json": folder / "result.json"}
    zed = store_session(db, "Zed", res, artifacts=arts)
    (folder / "result.json").write_text(result(1, 2, (1, 2, 3)).to_json() + "\n")
    done = forget_session(db, zed)
    assert done["files_deleted"] == [] and len(done["files_kept"]) == 2
    assert {k["why"] for k in done["files_kept"]} == {"its folder now holds a later analysis"}
    assert (folder / "report.html").read_text() == "Zed's report"


def test_only_kneebacks_own_output_files_are_deleted(db: Database, tmp_path: Path) -> None:
    """A stored path that is not a kneeback output file (an edited export) is never deleted."""
    mine = tmp_path / "home"
    mine.mkdir()
    notes = mine / "notes.txt"  # not a name kneeback writes
    notes.write_text("mine")
    report = mine / "report.html"  # kneeback's name, but no kneeback result beside it
    report.write_text("my own report")
    (mine / "result.json").write_text('{"mine": true}')
    sid, folder = _store(db, tmp_path, "Ana", result(1, 1, (1, 2, 3)), 0, a=notes, b=report)
    assert session_to_forget(db, sid)["files"] == [str((folder / n).resolve()) for n in OURS]
    done = forget_session(db, sid)
    why = "not a file kneeback writes in an output folder"
    assert done["files_kept"] == [{"path": str(p.resolve()), "why": why} for p in (notes, report)]
    assert notes.read_text() == "mine" and report.read_text() == "my own report"
    assert done["files_deleted"] == [str((folder / n).resolve()) for n in OURS]


def test_unknown_ids_and_other_peoples_sessions_are_refused(db: Database, tmp_path: Path) -> None:
    ana, _ = _store(db, tmp_path, "Ana", result(1, 1, (1, 2, 3)), 0)
    bob, _ = _store(db, tmp_path, "Bob", result(1, 2, (1, 2, 3)), 0)
    before = _counts(db)
    with pytest.raises(UnknownSessionError, match=r"No session #999999 is stored"):
        forget_session(db, 999_999)
    with pytest.raises(UnknownSessionError, match=rf"Session #{bob} is not Ana's"):
        forget_session(db, bob, person="Ana")
    with pytest.raises(UnknownSessionError, match=rf"Session #{bob} is not Ana's"):
        session_to_forget(db, bob, person="Ana")
    with pytest.raises(UnknownPersonError):
        forget_session(db, ana, person="Zoe")

    def refuse(s: Any, row: Session) -> None:
        assert row.id == ana
        raise RuntimeError("not now")

    with pytest.raises(RuntimeError, match="not now"):
        forget_session(db, ana, check=refuse)
    assert _counts(db) == before
    assert (tmp_path / "Ana-0" / "report.html").exists()


def test_a_clip_kneeback_wrote_goes_with_its_session(db: Database, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    clip = uploads / "0123abcd"
    clip.write_bytes(b"clip")
    outside = tmp_path / "mine.mp4"
    outside.write_bytes(b"clip")
    one = store_session(db, "Ana", result(1, 1, (1, 2, 3)), source_path=clip, recorded_at=day(0))
    two = store_session(db, "Ana", result(1, 1, (4, 5, 6)), source_path=clip, recorded_at=day(1))
    three = store_session(db, "Ana", result(1, 1, (7, 8, 9)), source_path=outside)
    done = forget_session(db, one, delete_sources_in=uploads)
    assert done["source_files_left"] == [str(clip.resolve())] and clip.exists()  # two names it
    done = forget_session(db, two, delete_sources_in=uploads)
    assert done["source_files_deleted"] == [str(clip.resolve())] and not clip.exists()
    assert uploads.is_dir()  # the upload folder itself stays, though empty
    done = forget_session(db, three, delete_sources_in=uploads)
    assert done["source_files_left"] == [str(outside.resolve())] and outside.exists()


def test_the_web_apps_rows_follow_the_foreign_keys(db: Database) -> None:
    """Share and comments are deleted, the job keeps its row without a session (both backends)."""
    from kneeback.web.models import Comment, Job, Share, User

    sid = store_session(db, "Ana", result(1, 1, (1, 2, 3)), recorded_at=day(0))
    other = store_session(db, "Ana", result(1, 1, (4, 5, 6)), recorded_at=day(1))

    def setup(s: Any) -> None:
        person = s.scalar(select(Person.id).where(Person.name == "Ana"))
        member = User(username="ana", password_hash="x", role="member", person_id=person)
        coach = User(username="kim", password_hash="x", role="coach")
        s.add_all([member, coach])
        s.flush()
        for n, session_id in enumerate((sid, other)):
            s.add(Share(session_id=session_id))
            s.add(Comment(session_id=session_id, author_id=coach.id, time_s=1.0, text="Knees"))
            s.add(
                Job(
                    uid=f"job{n}",
                    user_id=member.id,
                    upload_path=f"/uploads/{n}",
                    state="done",
                    session_id=session_id,
                )
            )

    db.write(setup)
    forget_session(db, sid)

    def look(s: Any) -> tuple[list[int], list[int], list[tuple[str, int | None]]]:
        return (
            list(s.scalars(select(Share.session_id))),
            list(s.scalars(select(Comment.session_id))),
            [tuple(r) for r in s.execute(select(Job.uid, Job.session_id).order_by(Job.uid))],
        )

    shares, comments, jobs = db.read(look)
    assert shares == [other] and comments == [other]
    assert jobs == [("job0", None), ("job1", other)]


def test_progress_no_longer_counts_the_session(db: Database) -> None:
    from kneeback.progress.report import person_progress

    sids = [
        store_session(db, "Ana", result(1, 1, eps), recorded_at=day(7 * i))
        for i, eps in enumerate(((1, 2, 3), (4, 5, 6), (7, 8, 9)))
    ]

    def knee_points() -> list[int]:
        trend = next(
            t for t in person_progress(db, "Ana").trends if t.metric == "knee_flexion_peak_deg"
        )
        return [p.session_id for p in trend.points]

    assert knee_points() == sids
    forget_session(db, sids[1])
    assert knee_points() == [sids[0], sids[2]]


# ---- the program ---------------------------------------------------------------------------------

#: subject 5's correct rises: each sit-to-stand session meets the exit criteria of the first stage
#: of the coach's copy of the program (three sessions in a row move the member up).
PASSING = ((1, 2, 3), (4, 5, 6), (7, 8, 9))


def test_a_session_no_longer_counts_toward_the_next_stage(db: Database, tmp_path: Path) -> None:
    prog = _coach_copy(tmp_path)
    first = store_session(db, "Ana", result(5, 5, PASSING[0]), recorded_at=day(0))
    second = store_session(db, "Ana", result(5, 5, PASSING[1]), recorded_at=day(3))
    view = program_status(db, "Ana", program=prog)["tracks"][0]
    assert view["sessions_held"] == 2 and view["sessions_on_stage"] == 2
    events = person_history(db, "Ana")["program_events"]
    done = forget_session(db, second)
    assert done["program_changes_kept"] == []
    view = program_status(db, "Ana", program=prog)["tracks"][0]
    assert view["stage"] == "sts_high_box"
    assert view["sessions_held"] == 1 and view["sessions_on_stage"] == 1
    assert person_history(db, "Ana")["program_events"] == events
    assert _sids(db, "Ana") == [first]


def _moved_up(database: Database, tmp_path: Path) -> tuple[list[int], Any]:
    """Three passing sessions, the program evaluated after each: the third moves Ana up."""
    prog = _coach_copy(tmp_path)
    sids = []
    for i, eps in enumerate(PASSING):
        sids.append(store_session(database, "Ana", result(5, 5, eps), recorded_at=day(3 * i)))
        program_status(database, "Ana", program=prog)
    return sids, prog


def test_a_stage_change_the_session_led_to_stays(db: Database, tmp_path: Path) -> None:
    sids, prog = _moved_up(db, tmp_path)
    view = program_status(db, "Ana", program=prog)["tracks"][0]
    assert view["stage"] == "sts_low_box" and view["since"][:10] == day(6).date().isoformat()
    events = person_history(db, "Ana")["program_events"]
    done = forget_session(db, sids[2])
    kept = done["program_changes_kept"]
    assert [(c["kind"], c["from"], c["to"]) for c in kept] == [
        ("advance", "sts_high_box", "sts_low_box")
    ]
    assert kept[0]["at"][:10] == day(6).date().isoformat() and "3 sessions" in kept[0]["reason"]
    # the history and the stage are kept; the new stage counts no session
    assert person_history(db, "Ana")["program_events"] == events
    view = program_status(db, "Ana", program=prog)["tracks"][0]
    assert view["stage"] == "sts_low_box" and view["changes"] == []
    assert view["sessions_on_stage"] == 0 and view["since"][:10] == day(6).date().isoformat()
    # an earlier session led to no change
    assert forget_session(db, sids[0])["program_changes_kept"] == []


# ---- the command line ----------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path: Path) -> str:
    """A SQLite database where Ana has two squat sessions (with files) and Bob one."""
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    with open_database(url) as database:
        _store(database, tmp_path, "Ana", result(1, 1, (1, 2, 3)), 0)
        _store(database, tmp_path, "Ana", result(1, 1, (4, 5, 6)), 7)
        _store(database, tmp_path, "Bob", result(1, 2, (1, 2, 3)), 0)
    return url


def _history_ids(url: str, name: str) -> list[int]:
    code, out, err = run("history", name, "--db", url, "--json")
    assert code == 0, err
    return [s["id"] for s in json.loads(out)["sessions"]]


def test_forget_session_asks_first(
    cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _history_ids(cli_db, "Ana")
    code, out, _ = run("history", "Ana", "--db", cli_db)
    assert f"session #{second}:" in out  # where the id comes from
    for answer in ("y\n", None):  # a pipe, even one that says yes, is not a person
        code, _, err = run("forget", "Ana", "--session", str(second), "--db", cli_db, input=answer)
        assert code == 2 and "pass --yes to delete without asking" in err
        assert err.startswith("Error: Not deleting session #") and err.count("\n") == 1
    monkeypatch.setattr(cli_store, "_stdin_is_terminal", lambda: True)
    code, out, _ = run("forget", "Ana", "--session", str(second), "--db", cli_db, input="n\n")
    assert code == 0 and "nothing was deleted" in out
    assert f"Delete session #{second} of Ana (squat, 2026-01-12, 3 reps)" in out
    assert _history_ids(cli_db, "Ana") == [first, second]
    code, out, _ = run("forget", "Ana", "--session", str(second), "--db", cli_db, input="y\n")
    assert code == 0, out
    assert f"Deleted session #{second} of Ana (squat, 2026-01-12, 3 reps): 1 session, 3 reps" in out
    assert "Deleted 2 files." in out and "deleted the emptied folder" in out
    assert "Your own clips were not written by kneeback and were left in place" in out
    assert (tmp_path / "Ana-7.mp4").exists() and not (tmp_path / "Ana-7").exists()
    assert _history_ids(cli_db, "Ana") == [first] and len(_history_ids(cli_db, "Bob")) == 1


def test_forget_session_with_yes_and_json(cli_db: str) -> None:
    first, _ = _history_ids(cli_db, "Ana")
    code, out, err = run("forget", "Ana", "--session", str(first), "--db", cli_db, "-y", "--json")
    assert code == 0, err
    done = json.loads(out)
    assert done["session"]["id"] == first and done["rows"]["sessions"] == 1
    assert done["program_changes_kept"] == [] and len(done["files_deleted"]) == 2


def test_forget_session_refuses_unknown_and_other_peoples_ids(cli_db: str) -> None:
    ana = _history_ids(cli_db, "Ana")
    (bob,) = _history_ids(cli_db, "Bob")
    code, _, err = run("forget", "Ana", "--session", "999999", "--db", cli_db, "-y")
    assert code == 8 and "No session #999999 is stored (see `kneeback history Ana`)." in err
    code, _, err = run("forget", "Ana", "--session", str(bob), "--db", cli_db, "-y")
    assert code == 8 and f"Session #{bob} is not Ana's" in err
    code, _, err = run("forget", "Zoe", "--session", str(bob), "--db", cli_db, "-y")
    assert code == 8 and "Zoe" in err
    code, _, err = run("forget", "Ana", "--session", "0", "--db", cli_db, "-y")
    assert code == 2
    assert _history_ids(cli_db, "Ana") == ana and _history_ids(cli_db, "Bob") == [bob]


def test_forget_session_says_a_stage_change_stays(
    db_factory: Callable[[], str], tmp_path: Path
) -> None:
    url = db_factory()
    with open_database(url) as database:
        sids, _ = _moved_up(database, tmp_path)
    code, out, err = run("forget", "Ana", "--session", str(sids[2]), "--db", url, "-y")
    assert code == 0, err
    assert "Kept in the program: on 2026-01-11 this session moved up Ana from" in out
    assert "kneeback program Ana --override STAGE --reason TEXT" in out
