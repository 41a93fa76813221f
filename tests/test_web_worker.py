"""The analysis worker as its operator meets it: its log, its database and model outages, the
folders an interrupted job leaves, and how it stops."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from kneeback.web import create_app
from kneeback.web.jobs import claim_next_job, resume_unfinished
from replay_clip import needs_uiprmd, replaying_pose_video, squat_clip
from test_web import api_user, make_settings, tiny_video, upload

JOBS_LOG = "kneeback.web.jobs"


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [rec.getMessage() for rec in caplog.records if rec.name == JOBS_LOG]


@needs_uiprmd
def test_the_log_says_when_a_job_starts_ends_and_goes_back_in_the_queue(
    tmp_path, monkeypatch, caplog
):
    app = create_app(make_settings(tmp_path))
    try:
        c, csrf = api_user(app, "lea")
        clip, ds = squat_clip(tmp_path, reps=1)
        monkeypatch.setattr("kneeback.pipeline.pose_video", replaying_pose_video(ds))
        db = app.state.web.db
        job = upload(c, csrf, clip.read_bytes(), movement="squat").json()
        with caplog.at_level(logging.INFO, logger=JOBS_LOG):
            assert claim_next_job(db) == job["id"]  # its worker stopped
            assert resume_unfinished(db, stale_after_s=-1) == 1
            caplog.clear()
            assert app.state.web.worker.run_pending() == 1
        done = c.get(f"/api/jobs/{job['id']}").json()
        assert done["state"] == "done", done
        assert _messages(caplog) == [
            f"job {job['id']}: started (attempt 2)",
            f"job {job['id']}: done, session {done['session_id']}",
        ]
    finally:
        app.state.web.db.close()


def test_the_log_says_how_many_abandoned_jobs_went_back_in_the_queue(tmp_path, caplog):
    app = create_app(make_settings(tmp_path))
    try:
        c, csrf = api_user(app, "leo")
        db = app.state.web.db
        for _ in range(2):
            upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes())
            assert claim_next_job(db) is not None
        with caplog.at_level(logging.INFO, logger=JOBS_LOG):
            assert resume_unfinished(db, stale_after_s=-1) == 2
            assert resume_unfinished(db, stale_after_s=-1) == 0  # nothing to say: no line
        assert _messages(caplog) == ["put 2 abandoned job(s) back in the queue"]
    finally:
        app.state.web.db.close()
