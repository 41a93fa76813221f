"""A bounded load test of a real ``kneeback serve`` on the loopback (``scripts/loadtest.py``).

50 members browse (10 page and API requests each, after logging in) while 10 others each upload
the front-squat clip, all at once. The server runs without its analysis worker, so that the run
stays bounded and needs no pose model: the uploads are received, checked and queued, and stay
queued. The test asserts no request failed (no status >= 400, no exception), every upload was
accepted, and each has a job row whose stored clip is byte for byte the source (size and SHA-256).
The JSON report, with the p50/p95 latencies, is written to ``test-artifacts/load.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("httpx")

from live_server import live_server

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "loadtest.py"
CLIP = ROOT.parent / "shared" / "data" / "videos" / "front-squat-3reps.mp4"
REPORT = ROOT / "test-artifacts" / "load.json"
BROWSERS, REQUESTS, UPLOADS = 50, 10, 10
DEADLINE_S = 150


@pytest.mark.skipif(not CLIP.is_file(), reason="../shared/data/videos not present")
def test_50_browsing_and_10_uploading_members_get_no_errors_and_lose_no_upload(tmp_path):
    from sqlalchemy import select

    from kneeback.store import open_database
    from kneeback.web.models import Job

    with live_server(tmp_path / "server", worker=False) as server:
        cmd = [sys.executable, str(SCRIPT), "--url", server.url, "--db", server.database_url]
        cmd += ["--browsers", str(BROWSERS), "--requests", str(REQUESTS)]
        cmd += ["--uploads", str(UPLOADS), "--clip", str(CLIP)]
        cmd += ["--deadline", str(DEADLINE_S), "--json-out", str(REPORT)]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=DEADLINE_S + 60, cwd=ROOT
        )
        print(proc.stdout, proc.stderr)
        assert proc.returncode == 0  # live_server prints the server log's tail on failure
        with open_database(server.database_url, upgrade=False) as db:
            states = db.read(lambda s: list(s.scalars(select(Job.state))))

    report = json.loads(REPORT.read_text())
    assert report["ok"] and not report["deadline_passed"]
    assert report["latency"]["errors"] == 0
    kinds = report["latency"]["kinds"]
    assert kinds["login"]["n"] == BROWSERS + UPLOADS
    assert kinds["browse"]["n"] == BROWSERS * REQUESTS
    assert kinds["upload"]["n"] == UPLOADS
    assert report["uploads"]["accepted"] == UPLOADS and report["uploads"]["lost"] == []
    # Every path named in the requirement was browsed (the optional ones when they exist).
    for path in ("/", "/api/sessions", "/members/<me>", "/api/members/<me>/progress"):
        assert path in report["paths_used"]
        assert report["latency"]["paths"][f"browse {path}"]["n"] > 0
    # One job row per upload, still queued: the worker was off, nothing ran twice or vanished.
    assert sorted(states) == ["queued"] * UPLOADS
