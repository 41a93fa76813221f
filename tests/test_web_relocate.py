"""Restored at another path, the data folder is followed: stored paths are pointed into it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from kneeback.store import forget_person, open_database
from kneeback.web import create_app
from kneeback.web.accounts import create_user
from kneeback.web.jobs import enqueue_job
from kneeback.web.models import Job
from kneeback.web.relocate import follow_data_folder
from replay_clip import needs_uiprmd, replaying_pose_video, squat_clip
from test_web import api_user, client, make_settings, upload
from test_web_cli import PASSWORD, cli  # noqa: F401  (the fixture)


def _serve(cli, root: Path, monkeypatch, *more: str, code: int = 0, data: Path | None = None):  # noqa: F811
    """Run ``kneeback serve`` on ``root``'s database and data folder, without starting uvicorn."""
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    url = f"sqlite:///{root / 'kneeback.db'}"
    folder = str(data or root / "data")
    r = cli("serve", "--port", "8125", "--no-worker", "--db", url, "--data-dir", folder, *more)
    assert r.exit_code == code, r.output
    return " ".join(r.output.split())


def _analysed(tmp_path: Path, old: Path, monkeypatch) -> int:
    """Serve ``old`` as a web app's root, with alice's analysed upload; return its session id."""
    old.mkdir()
    clip, ds = squat_clip(tmp_path, reps=2)
    app = create_app(make_settings(old))
    alice, csrf = api_user(app, "alice")
    monkeypatch.setattr("kneeback.pipeline.pose_video", replaying_pose_video(ds))
    assert upload(alice, csrf, clip.read_bytes(), movement="squat").status_code == 202
    assert app.state.web.worker.run_pending() == 1
    sid = alice.get("/api/sessions").json()[0]["id"]
    app.state.web.db.close()
    return sid


def _statuses(root: Path, sid: int) -> list[int]:
    """The report's and the video's status for alice, logged in on ``root``'s web app."""
    app = create_app(make_settings(root))
    alice = client(app)
    assert alice.post("/api/login", json={"username": "alice", "password": PASSWORD}).is_success
    got = [alice.get(f"/sessions/{sid}/{name}").status_code for name in SERVED]
    app.state.web.db.close()
    return got


#: The files of a session the web app serves.
SERVED = ("report.html", "annotated.mp4")


@needs_uiprmd
def test_a_copy_restored_elsewhere_serves_and_forgets_its_own_files(cli, tmp_path, monkeypatch):  # noqa: F811
    old, new = tmp_path / "old", tmp_path / "new"
    sid = _analysed(tmp_path, old, monkeypatch)
    shutil.copytree(old, new)  # a backup restored at another path; the original stays
    assert _statuses(new, sid) == [404, 404]  # still names old/

    # The original still holds the files: the copy's paths move only when the operator says so.
    said = _serve(cli, new, monkeypatch, code=2)
    assert f"The database's uploads and analyses are in {old / 'data'}, which still" in said
    assert f"give --data-dir {old / 'data'}" in said and "add --relocate" in said
    assert _statuses(new, sid) == [404, 404]  # nothing was changed
    said = _serve(cli, new, monkeypatch, "--relocate")
    assert f"The data folder was moved from {old / 'data'}" in said
    assert f"now point into {new / 'data'}" in said
    assert _statuses(new, sid) == [200, 200]

    moved = create_app(make_settings(new))
    # Forgetting alice on the copy deletes the copy's files, never the original's.
    done = forget_person(moved.state.web.db, "alice")
    assert done["files_deleted"] and not done["files_missing"]
    assert all(p.startswith(str(new)) for p in done["files_deleted"])
    assert not list((new / "data" / "analyses").glob("*/report.html"))
    assert len(list((old / "data" / "analyses").glob("*/report.html"))) == 1
    moved.state.web.db.close()
    assert "moved" not in _serve(cli, new, monkeypatch)  # once is enough


@needs_uiprmd
def test_a_moved_data_folder_is_followed_by_serve_alone(cli, tmp_path, monkeypatch):  # noqa: F811
    old, new = tmp_path / "old", tmp_path / "new"
    sid = _analysed(tmp_path, old, monkeypatch)
    shutil.move(old, new)  # moved to a new disk: nothing is left at the old path
    url = f"sqlite:///{new / 'kneeback.db'}"
    data = str(new / "data")
    monkeypatch.setattr("kneeback.web.cli._check_models", lambda variant: None)
    # A worker or a removal does not take the folder over (on another machine the same share
    # may be mounted elsewhere): it says to start serve first, and changes nothing.
    for args in (("worker", "--once"), ("users", "remove", "alice", "--yes")):
        r = cli(*args, "--db", url, "--data-dir", data)
        said = " ".join(r.output.split())
        assert r.exit_code == 2, r.output
        assert f"start `kneeback serve --data-dir {data}` once" in said
    assert _statuses(new, sid) == [404, 404]
    said = _serve(cli, new, monkeypatch)
    assert f"The data folder was moved from {old / 'data'}" in said
    assert _statuses(new, sid) == [200, 200]
    r = cli("worker", "--once", "--db", url, "--data-dir", data)
    assert r.exit_code == 0 and "Ran 0 jobs." in r.output


@needs_uiprmd
def test_the_live_database_started_on_another_data_folder_is_left_alone(cli, tmp_path, monkeypatch):  # noqa: F811
    """The same database with another --data-dir (a slip, a share mounted elsewhere) holding a
    copy of the files: nothing is rewritten under a running server, nothing removed half."""
    root = tmp_path / "srv"
    sid = _analysed(tmp_path, root, monkeypatch)
    other = tmp_path / "elsewhere"
    shutil.copytree(root / "data", other)
    said = _serve(cli, root, monkeypatch, code=2, data=other)
    assert f"give --data-dir {root / 'data'}" in said
    url = f"sqlite:///{root / 'kneeback.db'}"
    monkeypatch.setattr("kneeback.web.cli._check_models", lambda variant: None)
    for args in (("worker", "--once"), ("users", "remove", "alice", "--yes")):
        r = cli(*args, "--db", url, "--data-dir", str(other))
        said = " ".join(r.output.split())
        assert r.exit_code == 2, r.output
        assert f"are in {root / 'data'}, not in {other}: give --data-dir {root / 'data'}" in said
    assert _statuses(root, sid) == [200, 200]  # the server's paths are as they were
    r = cli("users", "remove", "alice", "--yes", "--db", url, "--data-dir", str(root / "data"))
    assert r.exit_code == 0 and "files deleted" in r.output
    assert not list((root / "data" / "analyses").glob("*/report.html"))
    assert len(list((other / "analyses").glob("*/report.html"))) == 1


def test_a_data_folder_that_was_not_restored_changes_nothing(cli, tmp_path, monkeypatch):  # noqa: F811
    url = f"sqlite:///{tmp_path / 'kneeback.db'}"
    gone = tmp_path / "gone" / "data"
    with open_database(url) as db:
        account = create_user(db, "nia", PASSWORD)
        enqueue_job(db, account.id, gone / "uploads" / "clip.mp4")
    said = _serve(cli, tmp_path, monkeypatch)
    assert f"the database names 1 uploads and analyses in {gone}" in said
    assert f"{tmp_path / 'data'} holds none of them" in said
    with open_database(url) as db:
        assert db.read(lambda s: s.query(Job.upload_path).scalar()) == str(
            gone / "uploads" / "clip.mp4"
        )


def test_only_paths_inside_the_old_folder_are_rewritten(tmp_path):
    # Folder names with LIKE wildcards, and a sibling whose name starts like the old folder.
    old, sibling, new = tmp_path / "a_b%c", tmp_path / "a_b%c2", tmp_path / "new"
    (new / "uploads").mkdir(parents=True)  # the old folders are gone; new holds old's clip
    (new / "uploads" / "x.mp4").write_bytes(b"clip")
    with open_database(f"sqlite:///{tmp_path / 'k.db'}") as db:
        account = create_user(db, "nia", PASSWORD)
        enqueue_job(db, account.id, old / "uploads" / "x.mp4")
        enqueue_job(db, account.id, sibling / "uploads" / "y.mp4")
        enqueue_job(db, account.id, new / "uploads" / "x.mp4")
        done = {r.old: r for r in follow_data_folder(db, new)}
        assert done[old].found == 1 and done[old].rewritten == 1
        assert done[sibling].found == 0 and done[sibling].rewritten == 0
        paths = db.read(lambda s: sorted(s.scalars(s.query(Job.upload_path).statement)))
        assert paths == sorted(
            [
                str(new / "uploads" / "x.mp4"),
                str(new / "uploads" / "x.mp4"),
                str(sibling / "uploads" / "y.mp4"),
            ]
        )
        assert follow_data_folder(db, new) == [done[sibling]]  # nothing more to do
