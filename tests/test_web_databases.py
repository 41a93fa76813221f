"""The web app on each database it supports: SQLite (the default) and PostgreSQL (by URL).

One pass through the app's writes and reads on a fresh database of each backend (PostgreSQL is
started for the run by the store's fixtures): a member uploads and gets a session, shares it, the
coach comments at a moment and moves the member's stage, an admin publishes an article that the
member comments on, the coach picks that comment of the week and the home page shows it.
Videos are posed by replaying a known pose (no model).
"""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from kneeback.web import create_app
from kneeback.web.accounts import assign_member
from kneeback.web.app import CSRF_HEADER
from replay_clip import needs_uiprmd, replaying_pose_video, squat_clip
from test_web import api_user, client, make_settings, upload

pytest_plugins = ["store_fixtures"]


@needs_uiprmd
def test_the_web_app_on_each_database(db_url, tmp_path, monkeypatch):
    app = create_app(make_settings(tmp_path, database_url=db_url))
    try:
        ana, ana_csrf = api_user(app, "ana")
        coach, coach_csrf = api_user(app, "cora", role="coach")
        admin, admin_csrf = api_user(app, "root", role="admin")
        assign_member(app.state.web.db, "cora", "ana")

        clip, ds = squat_clip(tmp_path, reps=2)
        monkeypatch.setattr("kneeback.pipeline.pose_video", replaying_pose_video(ds))
        r = upload(ana, ana_csrf, clip.read_bytes(), movement="squat")
        assert r.status_code == 202, r.text
        assert app.state.web.worker.run_pending() == 1
        job = ana.get(f"/api/jobs/{r.json()['id']}").json()
        assert job["state"] == "done", job
        sid = job["session_id"]
        assert ana.get(f"/api/sessions/{sid}").json()["reps"] == 2

        def post(c, csrf, path, body):
            return c.post(path, json=body, headers={CSRF_HEADER: csrf})

        assert post(ana, ana_csrf, f"/api/sessions/{sid}/share", {}).status_code == 200
        queue = coach.get("/api/review").json()
        assert [q["id"] for q in queue] == [sid]
        r = post(coach, coach_csrf, f"/api/sessions/{sid}/comments", {"time_s": 2.5, "text": "Hi"})
        assert r.status_code == 201, r.text
        assert [c["time_s"] for c in ana.get(f"/api/sessions/{sid}/comments").json()] == [2.5]
        r = post(
            coach, coach_csrf, "/api/members/ana/stage", {"stage": "towel_squat", "reason": "OK"}
        )
        assert r.status_code == 200, r.text

        article = {
            "issue": 3,
            "title": "Sitting less",
            "body_md": "# Hello",
            "published_on": dt.date.today().isoformat(),
        }
        r = post(admin, admin_csrf, "/api/articles", article)
        assert r.status_code == 201, r.text
        slug = r.json()["slug"]
        r = post(ana, ana_csrf, f"/api/articles/{slug}/comments", {"text": "Less sitting!"})
        assert r.status_code == 201, r.text
        r = post(coach, coach_csrf, f"/api/article-comments/{r.json()['id']}/pick", {})
        assert r.status_code == 200, r.text
        assert "Less sitting!" in client(app).get("/").text
    finally:
        app.state.web.db.close()


def test_workers_never_take_the_same_job_and_leave_none_behind(db_url, tmp_path):
    """Four workers claim 40 queued jobs at once: each job is taken exactly once."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from kneeback.store import open_database
    from kneeback.web.accounts import create_user
    from kneeback.web.jobs import claim_next_job, enqueue_job

    with open_database(db_url) as db:
        account = create_user(db, "nia", "a long enough password 1")
        uids = {enqueue_job(db, account.id, tmp_path / f"{i}.mp4") for i in range(40)}
        start = threading.Barrier(4)

        def worker(_: int) -> list[str]:
            start.wait()
            taken = []
            while (uid := claim_next_job(db)) is not None:
                taken.append(uid)
            return taken

        with ThreadPoolExecutor(4) as pool:
            claimed = [uid for taken in pool.map(worker, range(4)) for uid in taken]
    assert len(claimed) == len(set(claimed)) == 40
    assert set(claimed) == uids
