"""What the operator of ``kneeback serve`` meets when the server's own resources fail.

The database becomes unreachable, the disk refuses to store an upload: the client gets a 503 with
a sentence (never the database URL or a bare "Internal Server Error"), the log one line saying
why, and the app works again once the cause is gone.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from kneeback.web import create_app
from kneeback.web.app import DATABASE_DOWN, STORAGE_DOWN
from test_web import api_user, client, make_settings, tiny_video, upload


def test_an_unreachable_database_is_a_503_with_a_sentence_until_it_is_back(tmp_path, caplog):
    folder = tmp_path / "db"
    app = create_app(make_settings(tmp_path, database_url=f"sqlite:///{folder / 'k.db'}"))
    try:
        ana, _ = api_user(app, "ana")
        visitor = client(app)
        app.state.web.db.close()  # drop the pooled connections, as a restarted server would
        folder.rename(tmp_path / "db-gone")  # the database's disk is gone
        with caplog.at_level(logging.ERROR, logger="kneeback.web.app"):
            r = ana.get("/api/me")
            assert r.status_code == 503, r.text
            assert r.json() == {"detail": DATABASE_DOWN}
            assert r.headers["retry-after"] == "5"
            page = visitor.get("/")
            assert page.status_code == 503
            assert DATABASE_DOWN in page.text
            assert "sqlite" not in page.text and "Traceback" not in page.text
        lines = [rec.getMessage() for rec in caplog.records if rec.name == "kneeback.web.app"]
        assert len(lines) == 2 and all("could not be read" in line for line in lines), lines
        assert all(rec.exc_info is None for rec in caplog.records if rec.name == "kneeback.web.app")
        (tmp_path / "db-gone").rename(folder)
        assert ana.get("/api/me").json()["username"] == "ana"
    finally:
        app.state.web.db.close()


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_an_upload_the_disk_refuses_is_a_503_with_a_sentence(tmp_path, caplog):
    app = create_app(make_settings(tmp_path))
    try:
        ana, csrf = api_user(app, "ana")
        clip = tiny_video(tmp_path / "clip.mp4").read_bytes()
        uploads = app.state.web.settings.upload_dir
        shutil.rmtree(uploads)
        # sysfs refuses to create files even for root: a folder the server cannot write
        os.symlink("/sys/kernel", uploads)
        with caplog.at_level(logging.ERROR, logger="kneeback.web.app"):
            r = upload(ana, csrf, clip)
        assert r.status_code == 503, r.text
        assert r.json() == {"detail": STORAGE_DOWN}
        lines = [rec.getMessage() for rec in caplog.records if rec.name == "kneeback.web.app"]
        assert len(lines) == 1 and "POST /api/uploads" in lines[0], lines
        assert "Permission denied" in lines[0] and str(uploads) in lines[0]
        uploads.unlink()
        uploads.mkdir()
        assert upload(ana, csrf, clip).status_code == 202
    finally:
        app.state.web.db.close()


def test_healthz_says_ok_and_what_is_down(tmp_path):
    folder = tmp_path / "db"
    app = create_app(make_settings(tmp_path, database_url=f"sqlite:///{folder / 'k.db'}"))
    try:
        probe = client(app)
        r = probe.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert r.headers["cache-control"] == "no-store"
        app.state.web.db.close()
        folder.rename(tmp_path / "db-gone")
        analyses = app.state.web.settings.analysis_dir
        shutil.rmtree(analyses)
        analyses.write_text("a file where the analyses folder should be\n")
        r = probe.get("/healthz")
        assert r.status_code == 503
        assert r.json() == {"status": "unavailable", "problems": ["database", "storage"]}
        assert str(tmp_path) not in r.text
        (tmp_path / "db-gone").rename(folder)
        analyses.unlink()
        assert probe.get("/healthz").status_code == 200
    finally:
        app.state.web.db.close()
