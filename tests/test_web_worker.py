"""The analysis worker as its operator meets it: its log, its database and model outages, the
folders an interrupted job leaves, and how it stops."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

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
        for frames in (10, 11):  # two clips (the same one twice would be one upload)
            upload(c, csrf, tiny_video(tmp_path / f"{frames}.mp4", frames=frames).read_bytes())
            assert claim_next_job(db) is not None
        with caplog.at_level(logging.INFO, logger=JOBS_LOG):
            assert resume_unfinished(db, stale_after_s=-1) == 2
            assert resume_unfinished(db, stale_after_s=-1) == 0  # nothing to say: no line
        assert _messages(caplog) == ["put 2 abandoned job(s) back in the queue"]
    finally:
        app.state.web.db.close()


def test_an_unreachable_database_is_one_warning_and_longer_waits_until_it_is_back(
    tmp_path, monkeypatch, caplog
):
    import time

    from kneeback.web import jobs

    folder = tmp_path / "db"
    settings = make_settings(tmp_path, database_url=f"sqlite:///{folder / 'k.db'}")
    app = create_app(settings)
    db = app.state.web.db
    looks: list[float] = []  # when the worker looked at the queue
    real_resume = jobs.resume_unfinished

    def resume_counted(*args, **kwargs):
        looks.append(time.monotonic())
        return real_resume(*args, **kwargs)

    monkeypatch.setattr(jobs, "resume_unfinished", resume_counted)
    worker = jobs.JobWorker(db, analysis_dir=settings.analysis_dir, poll_s=0.01, max_backoff_s=0.2)
    db.close()  # drop the pooled connections, as a restarted server would
    folder.rename(tmp_path / "db-gone")  # the database's disk is gone
    with caplog.at_level(logging.INFO, logger=JOBS_LOG):
        worker.start()
        try:
            time.sleep(1.5)
            down = list(looks)
            (tmp_path / "db-gone").rename(folder)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and len(_messages(caplog)) < 2:
                time.sleep(0.05)
        finally:
            worker.stop()
            db.close()
    records = [rec for rec in caplog.records if rec.name == JOBS_LOG]
    assert [(rec.levelname, rec.exc_info) for rec in records] == [
        ("WARNING", None),
        ("INFO", None),
    ], _messages(caplog)
    assert "the job worker cannot reach the database" in records[0].getMessage()
    assert records[1].getMessage() == "the job worker reaches the database again"
    # Every 0.01 s, 1.5 s would be ~150 looks; waits of 0.02, 0.04, 0.08, 0.16, then 0.2 s
    # make about 10.
    assert 5 <= len(down) <= 15, len(down)
    gaps = [b - a for a, b in itertools.pairwise(down)]
    assert gaps[0] < 0.1 and 0.19 <= gaps[-1] < 0.5, gaps


def test_a_job_that_runs_through_a_database_outage_warns_once_about_its_heartbeat(
    tmp_path, monkeypatch, caplog
):
    import threading
    import time

    from kneeback.errors import NoPersonError
    from kneeback.web.jobs import JobWorker

    folder = tmp_path / "db"
    settings = make_settings(tmp_path, database_url=f"sqlite:///{folder / 'k.db'}")
    app = create_app(settings)
    db = app.state.web.db
    c, csrf = api_user(app, "lou")
    job = upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes()).json()
    outage_over = threading.Event()

    def long_analysis(*args, **kwargs):  # the pose model at work while the database is away
        db.close()
        folder.rename(tmp_path / "db-gone")
        time.sleep(0.5)  # ~25 heartbeats missed
        (tmp_path / "db-gone").rename(folder)
        outage_over.set()
        time.sleep(0.2)  # ~10 heartbeats made
        raise NoPersonError("Nobody was found in the video.")

    monkeypatch.setattr("kneeback.pipeline.pose_video", long_analysis)
    worker = JobWorker(db, analysis_dir=settings.analysis_dir, lease_s=0.08)
    try:
        with caplog.at_level(logging.INFO, logger=JOBS_LOG):
            assert worker.run_pending() == 1
    finally:
        db.close()
    assert outage_over.is_set()
    beats = [rec for rec in caplog.records if rec.name == JOBS_LOG and "heartbeat" in rec.msg]
    assert [(rec.levelname, rec.exc_info) for rec in beats] == [("WARNING", None), ("INFO", None)]
    assert beats[0].getMessage().startswith(f"job {job['id']}: could not refresh its heartbeat")
    assert beats[1].getMessage() == f"job {job['id']}: its heartbeat is refreshed again"


def test_a_job_without_a_pose_model_waits_in_the_queue_and_the_operator_is_told(
    tmp_path, monkeypatch, caplog
):
    import time

    from kneeback.errors import ModelUnavailableError
    from kneeback.web.jobs import JobWorker
    from kneeback.web.models import Job

    blocked = tmp_path / "a-file"
    blocked.write_text("where the model cache's parent folder should be\n")
    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(blocked / "models"))  # cannot be created
    settings = make_settings(tmp_path)
    app = create_app(settings)
    db = app.state.web.db
    try:
        c, csrf = api_user(app, "mo")
        job = upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes()).json()
        with (
            caplog.at_level(logging.INFO, logger=JOBS_LOG),
            pytest.raises(ModelUnavailableError),
        ):
            app.state.web.worker.run_pending()
        seen = c.get(f"/api/jobs/{job['id']}").json()
        assert seen["state"] == "queued" and seen["error"] is None, seen
        assert seen["stage_text"] == "Waiting: the analysis service is not ready"
        assert "Waiting: the analysis service is not ready." in c.get(f"/jobs/{job['id']}").text
        assert "KNEEBACK_MODEL_DIR" not in c.get(f"/jobs/{job['id']}").text
        attempts = db.read(lambda s: s.query(Job.attempts).filter(Job.uid == job["id"]).scalar())
        assert attempts == 0  # the service's fault uses up none of the clip's attempts
        errors = [r for r in caplog.records if r.name == JOBS_LOG and r.levelname == "ERROR"]
        assert len(errors) == 1
        assert (
            errors[0]
            .getMessage()
            .startswith(
                f"job {job['id']}: back in the queue, the pose model is unavailable: Cannot write "
                "to the model folder"
            )
        )
        assert list(settings.analysis_dir.iterdir()) == []

        # A worker thread keeps the job waiting, looking again after longer and longer waits.
        caplog.clear()
        worker = JobWorker(db, analysis_dir=settings.analysis_dir, poll_s=0.01, max_backoff_s=0.2)
        with caplog.at_level(logging.INFO, logger=JOBS_LOG):
            worker.start()
            time.sleep(1.2)
            worker.stop()
        errors = [r for r in caplog.records if r.name == JOBS_LOG and r.levelname == "ERROR"]
        assert 3 <= len(errors) <= 12 and all(r.exc_info is None for r in errors), len(errors)
        assert c.get(f"/api/jobs/{job['id']}").json()["state"] == "queued"
        assert db.read(lambda s: s.query(Job.attempts).filter(Job.uid == job["id"]).scalar()) == 0
    finally:
        db.close()


@needs_uiprmd
def test_a_database_failure_during_a_job_puts_it_back_not_fails_it(tmp_path, monkeypatch, caplog):
    from kneeback import store
    from kneeback.errors import DatabaseError
    from kneeback.web.models import Job

    settings = make_settings(tmp_path)
    app = create_app(settings)
    db = app.state.web.db
    try:
        c, csrf = api_user(app, "ida")
        clip, ds = squat_clip(tmp_path, reps=1)
        monkeypatch.setattr("kneeback.pipeline.pose_video", replaying_pose_video(ds))
        job = upload(c, csrf, clip.read_bytes(), movement="squat").json()
        real_store = store.store_session

        def outage(*args, **kwargs):
            raise DatabaseError("The database at sqlite:///srv/k.db could not be written: I/O.")

        monkeypatch.setattr(store, "store_session", outage)
        with caplog.at_level(logging.INFO, logger=JOBS_LOG), pytest.raises(DatabaseError):
            app.state.web.worker.run_pending()
        seen = c.get(f"/api/jobs/{job['id']}").json()
        assert seen["state"] == "queued" and seen["error"] is None, seen
        assert seen["stage_text"] == "Waiting: the analysis service is not ready"
        assert "sqlite" not in c.get(f"/jobs/{job['id']}").text
        assert db.read(lambda s: s.query(Job.attempts).filter(Job.uid == job["id"]).scalar()) == 0
        assert any(
            m.startswith(f"job {job['id']}: back in the queue, the database failed")
            for m in _messages(caplog)
        )
        assert not (settings.analysis_dir / job["id"]).exists()

        monkeypatch.setattr(store, "store_session", real_store)  # the database is back
        assert app.state.web.worker.run_pending() == 1
        assert c.get(f"/api/jobs/{job['id']}").json()["state"] == "done"
    finally:
        db.close()


def test_a_job_deletes_the_partial_output_its_interrupted_attempt_left(tmp_path, monkeypatch):
    from kneeback.errors import NoPersonError

    def nobody(*args, **kwargs):
        raise NoPersonError("Nobody was found in the video.")

    monkeypatch.setattr("kneeback.pipeline.pose_video", nobody)
    settings = make_settings(tmp_path)
    app = create_app(settings)
    db = app.state.web.db
    try:
        c, csrf = api_user(app, "nel")
        job = upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes()).json()
        assert claim_next_job(db) == job["id"]  # its worker was killed while writing
        analyses = settings.analysis_dir
        leftover = analyses / f".{job['id']}.k3x9_q.partial"
        leftover.mkdir()
        (leftover / "annotated.mp4").write_bytes(b"\0" * 1000)
        running = analyses / f".{'f' * 32}.a1b2c3.partial"  # another job's, being written
        running.mkdir()
        assert resume_unfinished(db, stale_after_s=-1) == 1
        assert app.state.web.worker.run_pending() == 1
        assert c.get(f"/api/jobs/{job['id']}").json()["state"] == "failed"
        assert sorted(p.name for p in analyses.iterdir()) == [running.name]
    finally:
        db.close()


SQUAT_VIDEO = Path(__file__).resolve().parents[2] / "shared/data/videos/front-squat-3reps.mp4"


def _job_row(url: str, uid: str):
    from kneeback.store import open_database
    from kneeback.web.models import Job

    with open_database(url) as db:
        return db.read(
            lambda s: s.query(Job.state, Job.stage, Job.heartbeat_at).filter(Job.uid == uid).one()
        )


@pytest.mark.skipif(not SQUAT_VIDEO.exists(), reason="../shared/data not present")
def test_sigterm_stops_the_worker_and_puts_its_job_back_at_once(tmp_path, model_dir_full):
    """What systemd sends: the worker says it stopped, and its job needs no lease to expire."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    from kneeback.store import open_database
    from kneeback.web.accounts import create_user
    from kneeback.web.jobs import enqueue_job

    url = f"sqlite:///{tmp_path / 'k.db'}"
    clip = shutil.copy(SQUAT_VIDEO, tmp_path / "clip.mp4")
    with open_database(url) as db:
        account = create_user(db, "pia", "correct horse battery", person="Pia")
        uid = enqueue_job(db, account.id, Path(clip))
    proc = subprocess.Popen(
        [sys.executable, "-m", "kneeback", "worker", "--db", url, "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ | {"KNEEBACK_MODEL_DIR": str(model_dir_full)},
    )
    try:
        deadline = time.monotonic() + 60
        while _job_row(url, uid).stage != "pose" and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.1)
        assert _job_row(url, uid).state == "running"
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, output
    assert f"Stopped; job {uid} is back in the queue." in output
    assert "Traceback" not in output
    state, stage, heartbeat_at = _job_row(url, uid)
    assert (state, stage, heartbeat_at) == ("queued", "", None)


def test_a_stopping_worker_puts_the_job_it_could_not_finish_back_in_the_queue(
    tmp_path, monkeypatch
):
    """What serve's shutdown does after waiting for the job (10 s there, 0.2 s here)."""
    import threading

    from kneeback.errors import NoPersonError
    from kneeback.web.jobs import JobWorker

    settings = make_settings(tmp_path)
    app = create_app(settings)
    db = app.state.web.db
    in_pose, release = threading.Event(), threading.Event()

    def slow_pose(*args, **kwargs):
        in_pose.set()
        release.wait(10)
        raise NoPersonError("Nobody was found in the video.")

    monkeypatch.setattr("kneeback.pipeline.pose_video", slow_pose)
    worker = JobWorker(db, analysis_dir=settings.analysis_dir, poll_s=0.01)
    try:
        c, csrf = api_user(app, "quo")
        job = upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes()).json()
        worker.start()
        assert in_pose.wait(10)
        assert worker.stop(timeout_s=0.2) == job["id"]
        seen = c.get(f"/api/jobs/{job['id']}").json()
        assert seen["state"] == "queued" and seen["stage_text"] == "Waiting for its turn"
        release.set()  # the stopped attempt ends after all (here; a process would have exited)
        worker.join()
        assert c.get(f"/api/jobs/{job['id']}").json()["state"] == "queued"  # not its "failed"
    finally:
        release.set()
        worker.join()
        db.close()


@needs_uiprmd
def test_an_attempt_that_lost_its_job_stores_no_session(tmp_path, monkeypatch, caplog):
    """A worker stalled past the lease finishes after another attempt took the job: one session."""
    from kneeback.web.jobs import run_job

    app = create_app(make_settings(tmp_path))
    db = app.state.web.db
    try:
        c, csrf = api_user(app, "ria")
        clip, ds = squat_clip(tmp_path, reps=1)
        replay = replaying_pose_video(ds)
        job = upload(c, csrf, clip.read_bytes(), movement="squat").json()

        def stalled_then_replaced(*args, **kwargs):
            out = replay(*args, **kwargs)
            # While this attempt stalled, its lease ran out and another attempt claimed the job.
            assert resume_unfinished(db, stale_after_s=-1) == 1
            assert claim_next_job(db) == job["id"]
            return out

        monkeypatch.setattr("kneeback.pipeline.pose_video", stalled_then_replaced)
        assert claim_next_job(db) == job["id"]
        with caplog.at_level(logging.INFO, logger=JOBS_LOG):
            run_job(db, job["id"], analysis_dir=app.state.web.settings.analysis_dir)
        assert f"job {job['id']}: attempt 1 no longer holds the job" in " ".join(_messages(caplog))
        assert c.get("/api/sessions").json() == []  # the stalled attempt stored nothing
        seen = c.get(f"/api/jobs/{job['id']}").json()
        assert seen["state"] == "running" and seen["session_id"] is None  # attempt 2's to finish
        monkeypatch.setattr("kneeback.pipeline.pose_video", replay)
        run_job(db, job["id"], analysis_dir=app.state.web.settings.analysis_dir)
        assert len(c.get("/api/sessions").json()) == 1
        assert c.get(f"/api/jobs/{job['id']}").json()["state"] == "done"
    finally:
        db.close()
