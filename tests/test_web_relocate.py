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


def _serve(cli, root: Path, monkeypatch):  # noqa: F811  (cli is the fixture)
    """Run ``kneeback serve`` on ``root``'s database and data folder, without starting uvicorn."""
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    url = f"sqlite:///{root / 'kneeback.db'}"
    r = cli("serve", "--port", "8125", "--no-worker", "--db", url, "--data-dir", str(root / "data"))
    assert r.exit_code == 0, r.output
    return " ".join(r.output.split())


@needs_uiprmd
def test_a_copy_restored_elsewhere_serves_and_forgets_its_own_files(cli, tmp_path, monkeypatch):  # noqa: F811
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    clip, ds = squat_clip(tmp_path, reps=2)
    app = create_app(make_settings(old))
    alice, csrf = api_user(app, "alice")
    monkeypatch.setattr("kneeback.pipeline.pose_video", replaying_pose_video(ds))
    assert upload(alice, csrf, clip.read_bytes(), movement="squat").status_code == 202
    assert app.state.web.worker.run_pending() == 1
    sid = alice.get("/api/sessions").json()[0]["id"]
    app.state.web.db.close()
    shutil.copytree(old, new)  # a backup restored at another path; the original stays

    moved = create_app(make_settings(new))
    alice = client(moved)
    assert alice.post("/api/login", json={"username": "alice", "password": PASSWORD}).is_success
    assert alice.get(f"/sessions/{sid}/report.html").status_code == 404  # still names old/
    moved.state.web.db.close()

    said = _serve(cli, new, monkeypatch)
    assert f"The data folder was moved from {old / 'data'}" in said
    assert f"now point into {new / 'data'}" in said

    moved = create_app(make_settings(new))
    alice = client(moved)
    assert alice.post("/api/login", json={"username": "alice", "password": PASSWORD}).is_success
    assert alice.get(f"/sessions/{sid}/report.html").status_code == 200
    assert alice.get(f"/sessions/{sid}/annotated.mp4").status_code == 200
    # Forgetting alice on the copy deletes the copy's files, never the original's.
    done = forget_person(moved.state.web.db, "alice")
    assert done["files_deleted"] and not done["files_missing"]
    assert all(p.startswith(str(new)) for p in done["files_deleted"])
    assert not list((new / "data" / "analyses").glob("*/report.html"))
    assert len(list((old / "data" / "analyses").glob("*/report.html"))) == 1
    moved.state.web.db.close()
    assert "moved" not in _serve(cli, new, monkeypatch)  # once is enough


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
    for root in (old, new):
        (root / "uploads").mkdir(parents=True)
        (root / "uploads" / "x.mp4").write_bytes(b"clip")
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
