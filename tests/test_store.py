"""The store on SQLite and PostgreSQL: sessions, history, export/import, forget, integrity."""

from __future__ import annotations

import json
import multiprocessing as mp
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from kneeback.errors import (
    BadValueError,
    DatabaseError,
    InputError,
    PersonExistsError,
    UnknownPersonError,
)
from kneeback.report.result import AnalysisResult
from kneeback.store import (
    export_person,
    forget_person,
    import_person,
    list_people,
    open_database,
    person_history,
    store_session,
)
from kneeback.store.db import Database, current_revision, migrate
from kneeback.store.models import (
    Artifact,
    Base,
    Finding,
    OutcomeEntry,
    Person,
    ProgramEvent,
    ProgramState,
    Rep,
    RepMetric,
    Session,
)
from store_support import day, needs_data, output_folder, result

pytestmark = needs_data

ALL_TABLES = (
    Person,
    Session,
    Rep,
    RepMetric,
    Finding,
    Artifact,
    OutcomeEntry,
    ProgramState,
    ProgramEvent,
)

pytest_plugins = ["store_fixtures"]


def _count(database: Database, model: type) -> int:
    return database.read(lambda s: int(s.scalar(select(func.count()).select_from(model)) or 0))


def _squats() -> list[AnalysisResult]:
    return [result(1, 1, (1, 2, 3)), result(1, 1, (4, 5, 6)), result(1, 1, (7, 8, 9))]


def test_real_results_have_several_reps() -> None:
    res = result(1, 1, (1, 2, 3))
    assert res.movement.used == "squat"
    assert len(res.reps) == 3


def test_store_session_and_history(db: Database, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    res = result(1, 1, (1, 2, 3))
    sid = store_session(
        db, "Ana", res, artifacts={"report_html": report}, recorded_at=day(0), source_path="a.nc"
    )
    assert isinstance(sid, int)
    store_session(db, "Ana", result(1, 1, (4, 5, 6)), artifacts={}, recorded_at=day(7))
    h = person_history(db, "Ana")
    assert [s["recorded_at"][:10] for s in h["sessions"]] == ["2026-01-05", "2026-01-12"]
    first = h["sessions"][0]
    assert first["movement"] == "squat" and first["reps"] == 3
    assert first["artifacts"] == {"report_html": str(report.resolve())}
    assert first["source_path"] == str(Path("a.nc").resolve())
    assert first["values"]["knee_flexion_peak_deg"] > 80
    # one row per rep metric, "not measured" kept as NULL
    n_metrics = sum(len(r.metrics) for r in res.reps)
    assert _count(db, RepMetric) == n_metrics + sum(
        len(r.metrics) for r in result(1, 1, (4, 5, 6)).reps
    )
    assert _count(db, Finding) > 0
    people = list_people(db)
    assert people[0]["name"] == "Ana" and people[0]["sessions"] == 2


def test_result_json_is_lossless(db: Database) -> None:
    res = result(5, 1, (1, 2, 3, 4, 5))
    sid = store_session(db, "Ben", res, artifacts={}, recorded_at=day(0))
    stored = db.read(lambda s: s.get(Session, sid).result_json)  # type: ignore[union-attr]
    assert AnalysisResult.from_json(stored) == res


def test_values_the_view_cannot_judge_stay_out_of_trends(db: Database) -> None:
    from kneeback.store.sessions import load_session_metrics

    res = result(1, 1, (1, 2, 3))
    knee = res.capture.metrics["knee_flexion_peak_deg"]
    metrics = {
        **res.capture.metrics,
        "knee_flexion_peak_deg": knee.model_copy(update={"judgeable": False}),
    }
    capture = res.capture.model_copy(update={"metrics": metrics})  # e.g. a front view, 3D estimate
    front = res.model_copy(update={"capture": capture})
    sid = store_session(db, "Cleo", front, artifacts={}, recorded_at=day(0))
    stored = db.read(lambda s: AnalysisResult.from_json(s.get(Session, sid).result_json))
    assert stored == front  # the report's value is kept in the result
    person_id = db.read(lambda s: s.get(Session, sid).person_id)
    loaded = db.read(lambda s: load_session_metrics(s, person_id))[sid]
    assert "knee_flexion_peak_deg" not in loaded.full  # but not used for progress
    assert "trunk_inclination_peak_deg" in loaded.full


def test_sit_to_stand_clip_adds_outcome(db: Database) -> None:
    res = result(5, 1, (1, 2, 3, 4, 5))
    assert res.tests is not None and res.tests.five_times_sts_s is not None
    store_session(db, "Ben", res, artifacts={}, recorded_at=day(0))
    outs = db.read(lambda s: [(o.kind, o.source, o.value) for o in s.scalars(select(OutcomeEntry))])
    assert outs == [("five_sts", "clip", pytest.approx(res.tests.five_times_sts_s))]


def test_unknown_person_is_one_sentence(db: Database) -> None:
    store_session(db, "Anna", result(1, 1, (1, 2, 3)), artifacts={}, recorded_at=day(0))
    with pytest.raises(UnknownPersonError) as info:
        person_history(db, "Ana")
    msg = str(info.value)
    assert "Ana" in msg and "Anna" in msg and "\n" not in msg
    assert info.value.exit_code == 8


def test_bad_urls() -> None:
    with pytest.raises(DatabaseError, match="not a database URL"):
        open_database("not a url")
    with pytest.raises(DatabaseError, match="driver"):
        open_database("nosuchdb://x/y")
    with pytest.raises(DatabaseError, match="Cannot open"):
        open_database("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")


def test_sqlite_pragmas(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    database.close()


def test_default_url_is_user_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kneeback.store.db import default_database_url, resolve_database_url

    monkeypatch.delenv("KNEEBACK_DATABASE_URL", raising=False)
    assert default_database_url().endswith("kneeback.db")
    assert resolve_database_url() == default_database_url()
    monkeypatch.setenv("KNEEBACK_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    assert resolve_database_url() == f"sqlite:///{tmp_path}/env.db"
    assert resolve_database_url("sqlite:///other.db") == "sqlite:///other.db"


# ---- migrations ------------------------------------------------------------------------------


def test_models_match_migrations(db: Database) -> None:
    """The migrations build exactly the store's and the web app's models (one metadata)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import kneeback.web.models  # noqa: F401  (registers the web tables)

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []
    assert current_revision(db.engine) is not None


def test_upgrade_keeps_data(db_url: str) -> None:
    from sqlalchemy import create_engine

    from kneeback.store.db import _sqlite_setup

    engine = create_engine(db_url)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    migrate(engine, revision="0001")
    assert current_revision(engine) == "0001"
    res = result(1, 1, (1, 2, 3))
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO people (uid, name, created_at) VALUES ('u1', 'Old', :t)"),
            {"t": day(0).replace(tzinfo=None)},
        )
        pid = conn.execute(text("SELECT id FROM people WHERE uid = 'u1'")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO sessions (uid, person_id, recorded_at, stored_at, movement, "
                "movement_recognised, view, measurement, capture_verdict, verdict, rep_count, "
                "source_path, result_schema_version, result_json) VALUES ('s1', :p, :t, :t, "
                "'squat', 'squat', 'side', 'marker', 'good', 'good', 3, NULL, 1, :j)"
            ),
            {"p": pid, "t": day(0).replace(tzinfo=None), "j": res.to_json(indent=None)},
        )
    engine.dispose()
    database = open_database(db_url)  # upgrades to head
    try:
        assert current_revision(database.engine) == "0006"
        h = person_history(database, "Old")
        assert len(h["sessions"]) == 1 and h["sessions"][0]["movement"] == "squat"
        sex = database.read(lambda s: s.scalar(select(Person.sex)))
        assert sex is None
        # the new tables work alongside the old data
        store_session(database, "Old", res, artifacts={}, recorded_at=day(1))
        assert len(person_history(database, "Old")["sessions"]) == 2
    finally:
        database.close()


def test_a_database_made_by_a_newer_kneeback_is_refused_with_a_sentence(db_url: str) -> None:
    """Rolling kneeback back over a database a newer version upgraded: a sentence, no change."""
    open_database(db_url).close()
    from sqlalchemy import create_engine

    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    try:
        with pytest.raises(DatabaseError) as info:
            open_database(db_url)
        message = str(info.value)
        assert "has schema revision 9999, made by a newer kneeback" in message
        assert "upgrade kneeback, or restore a backup made with this version" in message
        assert current_revision(engine) == "9999"
    finally:
        engine.dispose()


# ---- transactions -------------------------------------------------------------------------------


def test_failure_mid_session_leaves_nothing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from kneeback.store import sessions

    store_session(db, "Ana", result(1, 1, (1, 2, 3)), artifacts={}, recorded_at=day(0))
    before = {m.__name__: _count(db, m) for m in ALL_TABLES}

    def broken(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # rows are flushed, not committed
        raise RuntimeError("power cut")

    real = sessions._add_session_rows
    monkeypatch.setattr(sessions, "_add_session_rows", broken)
    with pytest.raises(RuntimeError):
        store_session(db, "Newcomer", result(1, 1, (4, 5, 6)), artifacts={}, recorded_at=day(1))
    after = {m.__name__: _count(db, m) for m in ALL_TABLES}
    assert after == before


_CRASH = """
import os, sys
from kneeback.report.result import AnalysisResult
from kneeback.store import open_database, sessions

real = sessions._add_session_rows
def crash(*args, **kwargs):
    real(*args, **kwargs)
    os._exit(3)  # the process dies with the rows flushed but not committed
sessions._add_session_rows = crash
db = open_database(sys.argv[1])
res = AnalysisResult.from_json(open(sys.argv[2]).read())
sessions.store_session(db, "Crash", res, artifacts={})
"""


def test_crash_mid_session_leaves_no_half_session(db_url: str, tmp_path: Path) -> None:
    database = open_database(db_url)
    store_session(database, "Ana", result(1, 1, (1, 2, 3)), artifacts={}, recorded_at=day(0))
    before = {m.__name__: _count(database, m) for m in ALL_TABLES}
    database.close()
    res_file = tmp_path / "res.json"
    res_file.write_text(result(1, 1, (4, 5, 6)).to_json())
    proc = subprocess.run(
        [sys.executable, "-c", _CRASH, db_url, str(res_file)], capture_output=True, timeout=120
    )
    assert proc.returncode == 3, proc.stderr.decode()
    database = open_database(db_url)
    try:
        assert {m.__name__: _count(database, m) for m in ALL_TABLES} == before
        store_session(database, "Ana", result(1, 1, (4, 5, 6)), artifacts={}, recorded_at=day(1))
        assert len(person_history(database, "Ana")["sessions"]) == 2
    finally:
        database.close()


def _writer(url: str, name: str, results: list[str], start: int, barrier: Any) -> None:
    database = open_database(url)
    barrier.wait(timeout=120)  # both processes write at the same time
    for i, r in enumerate(results):
        store_session(
            database, name, AnalysisResult.from_json(r), artifacts={}, recorded_at=day(start + i)
        )
    database.close()


def test_two_processes_writing_lose_nothing(db_url: str) -> None:
    squats = [r.to_json(indent=None) for r in _squats()] * 3  # 9 sessions per process
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_writer, args=(db_url, "Shared", squats, k * 100, barrier))
        for k in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0]
    database = open_database(db_url)
    try:
        h = person_history(database, "Shared")
        assert len(h["sessions"]) == 2 * len(squats)
        assert _count(database, Person) == 1
        reps = sum(len(AnalysisResult.from_json(r).reps) for r in squats) * 2
        assert _count(database, Rep) == reps
    finally:
        database.close()


# ---- export, import, forget ----------------------------------------------------------------------


def _fill(database: Database, tmp_path: Path) -> list[Path]:
    from kneeback.store import program_status, record_outcome

    files = []
    for i, res in enumerate(_squats()):
        arts = output_folder(tmp_path / f"out-{i}", res, "report.html")
        files.extend(arts.values())
        store_session(
            database,
            "Ana",
            res,
            artifacts=arts,
            recorded_at=day(7 * i),
            source_path=tmp_path / f"clip-{i}.mp4",
        )
    store_session(database, "Ana", result(5, 1, (1, 2, 3, 4, 5)), artifacts={}, recorded_at=day(30))
    record_outcome(database, "Ana", kind="odi", value=34.0, answers=None, age=64, sex="female")
    record_outcome(database, "Ana", kind="chair_stand_30s", value=11, recorded_at=day(31))
    program_status(database, "Ana")
    return files


def test_export_import_round_trip(db_factory: Callable[[], str], tmp_path: Path) -> None:
    a = open_database(db_factory())
    b = open_database(db_factory())
    try:
        _fill(a, tmp_path)
        exported = export_person(a, "Ana")
        text1 = json.dumps(exported, sort_keys=True)
        done = import_person(b, json.loads(text1))
        assert done["sessions"] == 4 and not done["copy"]
        again = export_person(b, "Ana")
        assert json.dumps(again, sort_keys=True) == text1
        # reps, metrics and findings are rebuilt exactly
        for model in (Rep, RepMetric, Finding, Artifact, OutcomeEntry):
            assert _count(a, model) == _count(b, model), model.__name__
        with pytest.raises(PersonExistsError):
            import_person(b, exported)
        copy = import_person(b, exported, name="Ana copy")
        assert copy["copy"] and len(person_history(b, "Ana copy")["sessions"]) == 4
        with pytest.raises(InputError):
            import_person(b, {"format": "something else"})
    finally:
        a.close()
        b.close()


def test_import_checks_everything_before_writing(
    db_factory: Callable[[], str], tmp_path: Path
) -> None:
    a = open_database(db_factory())
    b = open_database(db_factory())
    try:
        _fill(a, tmp_path)
        good = export_person(a, "Ana")
        # the sessions come first in the file: a bad last record must still leave nothing stored
        for path, value, says in (
            (("outcomes", -1, "kind"), "zzz", r'"kind" of outcome entry \d+ should be'),
            (
                ("program", "events", -1, "to_stage"),
                None,
                r'"to_stage" of program event \d+ should be',
            ),
            (("sessions", 3, "result", "reps"), "many", "session 4 holds no valid analysis"),
        ):
            bad = json.loads(json.dumps(good))
            *parent, key = path
            target = bad
            for part in parent:
                target = target[part]
            target[key] = value
            with pytest.raises(InputError, match=says):
                import_person(b, bad)
            for model in ALL_TABLES:
                assert _count(b, model) == 0, model.__name__
        with pytest.raises(InputError, match='"sessions" should be a valid list, not null'):
            import_person(b, {**good, "sessions": None})
        with pytest.raises(BadValueError):
            import_person(b, good, name="   ")
        assert import_person(b, good)["sessions"] == 4
    finally:
        a.close()
        b.close()


def test_forget_removes_rows_and_files(db: Database, tmp_path: Path) -> None:
    other = result(1, 2, (1, 2, 3))
    shared = output_folder(tmp_path / "other", other, "report.html")["report_html"]
    store_session(db, "Other", other, artifacts={"report_html": shared})
    only_other = {m.__name__: _count(db, m) for m in ALL_TABLES}
    files = _fill(db, tmp_path)
    store_session(
        db, "Ana", result(1, 1, (1, 2, 3)), artifacts={"report_html": shared}, recorded_at=day(40)
    )
    assert all(f.exists() for f in files)
    done = forget_person(db, "Ana")
    assert done["rows"]["people"] == 1 and done["rows"]["sessions"] == 5
    assert done["rows"]["rep_metrics"] > 0 and done["rows"]["program_events"] >= 3
    assert done["rows"]["outcomes"] == 3  # ODI, chair stand, 5xSTS from the clip
    assert sorted(done["files_deleted"]) == sorted(str(f.resolve()) for f in files)
    assert not any(f.exists() for f in files)
    assert done["files_kept"] == [
        {"path": str(shared.resolve()), "why": "also an artifact of another person's session"}
    ]
    assert shared.exists()
    assert len(done["source_files_left"]) == 3
    with pytest.raises(UnknownPersonError):
        person_history(db, "Ana")
    assert {m.__name__: _count(db, m) for m in ALL_TABLES} == only_other
    assert [p["name"] for p in list_people(db)] == ["Other"]


def test_forget_is_quiet_about_missing_files(db: Database, tmp_path: Path) -> None:
    gone = tmp_path / "gone.html"
    store_session(db, "Cy", result(1, 1, (1, 2, 3)), artifacts={"report": gone})
    done = forget_person(db, "Cy")
    assert done["files_missing"] == [str(gone.resolve())]


def test_store_session_rejects_empty_name(db: Database) -> None:
    with pytest.raises(BadValueError):
        store_session(db, "  ", result(1, 1, (1, 2, 3)), artifacts={})


def test_script_prints_a_url_when_it_starts(postgres_server: str | None) -> None:
    if postgres_server is None:
        pytest.skip("no PostgreSQL")
    assert postgres_server.startswith("postgresql+psycopg://")


def test_scripts_are_shell_clean() -> None:
    script = Path(__file__).resolve().parents[1] / "scripts" / "postgres-test-server.sh"
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert textwrap.dedent(script.read_text()).startswith("#!/usr/bin/env bash")


def test_artifact_paths_from_an_output_record(tmp_path: Path) -> None:
    from dataclasses import dataclass

    from kneeback.store import artifact_paths

    @dataclass
    class Files:
        folder: Path
        report_html: Path
        annotated_mp4: Path | None = None
        mot: tuple[Path, ...] = ()

    files = Files(tmp_path, tmp_path / "r.html", None, (tmp_path / "a.mot", tmp_path / "b.mot"))
    assert artifact_paths(files) == {
        "report_html": tmp_path / "r.html",
        "mot_0": tmp_path / "a.mot",
        "mot_1": tmp_path / "b.mot",
    }


def test_forget_removes_an_emptied_output_folder(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "clip-kneeback"
    folder.mkdir()
    res = result(1, 1, (1, 2, 3))
    (folder / "report.html").write_text("x")
    (folder / "result.json").write_text(res.to_json() + "\n")
    store_session(
        db,
        "Dee",
        res,
        artifacts={"report_html": folder / "report.html", "result_json": folder / "result.json"},
    )
    done = forget_person(db, "Dee")
    assert len(done["files_deleted"]) == 2 and done["folders_deleted"] == [str(folder.resolve())]
    assert not folder.exists()


def test_forget_keeps_a_folder_that_now_holds_a_later_analysis(
    db: Database, tmp_path: Path
) -> None:
    """The same -o folder written again later (for no one): its files are not Zed's any more."""
    folder = tmp_path / "zed_out"
    folder.mkdir()
    res = result(1, 1, (1, 2, 3))
    (folder / "report.html").write_text("Zed's report")
    (folder / "result.json").write_text(res.to_json() + "\n")
    arts = {"report_html": folder / "report.html", "result_json": folder / "result.json"}
    store_session(db, "Zed", res, artifacts=arts)
    later = result(1, 2, (1, 2, 3))  # analyze Y -o zed_out, without --person
    (folder / "report.html").write_text("Y's report")
    (folder / "result.json").write_text(later.to_json() + "\n")
    done = forget_person(db, "Zed")
    assert done["files_deleted"] == [] and done["folders_deleted"] == []
    assert {k["why"] for k in done["files_kept"]} == {"its folder now holds a later analysis"}
    assert (folder / "report.html").read_text() == "Y's report"
