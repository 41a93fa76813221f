"""The same clip uploaded again by the same account is not queued again.

A member who uploads the identical file (same SHA-256) while the earlier upload's job is queued,
running, or done with a session that still exists gets that job: the page route opens its page
with a notice, the API answers 409 naming it (``Location``). A failed job or a deleted session does
not block another try; another account's upload of the same bytes is its own; an
``Idempotency-Key`` retry still gets its job (200). An empty file says that it arrived empty.
"""

from __future__ import annotations

import hashlib
import re

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("python_multipart")

from sqlalchemy import select

from kneeback.store.models import utcnow
from kneeback.web import create_app
from kneeback.web.app import CSRF_HEADER
from kneeback.web.models import Job
from test_web import api_user, make_settings, tiny_video, upload
from test_web_review import add_session

pytest_plugins = ["store_fixtures"]

EMPTY = "The file arrived empty: choose it again."


@pytest.fixture
def u(tmp_path):
    """An app, two members (ann, ben) and one small clip."""
    app = create_app(make_settings(tmp_path))
    ann, ann_csrf = api_user(app, "ann")
    ben, ben_csrf = api_user(app, "ben")
    clip = tiny_video(tmp_path / "a.mp4").read_bytes()
    return {"app": app, "ann": (ann, ann_csrf), "ben": (ben, ben_csrf), "clip": clip}


def api(u, who: str, data: bytes | None = None, *, key: str | None = None):
    c, csrf = u[who]
    if key is None:
        return upload(c, csrf, u["clip"] if data is None else data)
    files = {"file": ("clip.mp4", u["clip"] if data is None else data, "video/mp4")}
    headers = {CSRF_HEADER: csrf, "Idempotency-Key": key}
    return c.post("/api/uploads", files=files, data={"movement": "auto"}, headers=headers)


def page(u, who: str, data: bytes | None = None):
    """The upload form of the home page, sent as a browser does (its CSRF field)."""
    c, _ = u[who]
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").text).group(1)
    return c.post(
        "/uploads",
        data={"csrf_token": token, "movement": "auto"},
        files={"file": ("clip.mp4", u["clip"] if data is None else data, "video/mp4")},
        follow_redirects=False,
    )


def stored(u) -> tuple[int, int]:
    """(job rows, files in the upload folder)."""
    jobs = u["app"].state.web.db.read(lambda s: len(s.scalars(select(Job)).all()))
    folder = u["app"].state.web.settings.upload_dir
    return jobs, len(list(folder.iterdir())) if folder.exists() else 0


def set_job(u, uid: str, state: str, session_id: int | None = None) -> None:
    def work(s):
        job = s.scalar(select(Job).where(Job.uid == uid))
        job.state, job.session_id = state, session_id

    u["app"].state.web.db.write(work)


def words(html: str) -> str:
    return " ".join(html.split())


def test_the_page_opens_the_earlier_job_with_a_notice(u):
    first = page(u, "ann")
    assert first.status_code == 303, first.text
    job_url = first.headers["location"]
    again = page(u, "ann")
    assert again.status_code == 303 and again.headers["location"] == f"{job_url}?duplicate=1"
    assert stored(u) == (1, 1)  # not queued, the second file deleted
    ann = u["ann"][0]
    today = utcnow().date().isoformat()
    text = words(ann.get(again.headers["location"]).text)
    assert (
        f"You uploaded this clip on {today}, so it was not queued again: its analysis is under "
        "way below." in text
    )
    assert "You uploaded this clip" not in ann.get(job_url).text  # only after the upload
    # done with a session: the notice says how to analyse it again
    set_job(u, job_url.rsplit("/", 1)[1], "done", add_session(u["app"], "ann"))
    again = page(u, "ann")
    assert again.headers["location"] == f"{job_url}?duplicate=1"
    text = words(ann.get(again.headers["location"]).text)
    assert (
        f"You uploaded this clip on {today}, so here is its analysis; to analyse it again, "
        "delete that session first." in text
    )
    assert "Read the report" in text
    assert stored(u) == (1, 1)


@pytest.mark.parametrize("state", ["queued", "running", "done"])
def test_the_api_answers_409_naming_the_earlier_job(u, state):
    first = api(u, "ann")
    assert first.status_code == 202, first.text
    uid = first.json()["id"]
    set_job(u, uid, state, add_session(u["app"], "ann") if state == "done" else None)
    for again in (api(u, "ann"), api(u, "ann", key="a-new-key")):
        assert again.status_code == 409, again.text
        assert again.headers["location"] == f"/api/jobs/{uid}"
        assert again.json() == {
            "detail": f"You uploaded this clip on {utcnow().date().isoformat()} (job {uid}), so "
            "it was not queued again (to analyse it again, delete that job's session first)."
        }
    assert stored(u) == (1, 1)
    assert u["ann"][0].get("/api/jobs").json()[0]["id"] == uid


@pytest.mark.parametrize("state", ["failed", "done"])
def test_after_a_failed_job_or_a_deleted_session_the_clip_is_accepted(u, state):
    """A done job without its session: the session was deleted (the job's link is cleared)."""
    first = api(u, "ann").json()["id"]
    set_job(u, first, state)
    again = api(u, "ann")
    assert again.status_code == 202, again.text
    assert again.json()["id"] != first
    assert page(u, "ann").headers["location"] == f"/jobs/{again.json()['id']}?duplicate=1"
    assert stored(u) == (2, 2)


def test_another_member_uploading_the_same_bytes_is_not_affected(u):
    mine = api(u, "ann")
    theirs = api(u, "ben")
    assert mine.status_code == theirs.status_code == 202
    assert theirs.json()["id"] != mine.json()["id"]
    r = page(u, "ben")
    assert r.headers["location"] == f"/jobs/{theirs.json()['id']}?duplicate=1"  # ben's own
    assert stored(u) == (2, 2)


def test_an_idempotency_key_retry_still_gets_its_job(u):
    first = api(u, "ann", key="k-1")
    assert first.status_code == 202
    again = api(u, "ann", key="k-1")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == f"/api/jobs/{first.json()['id']}"
    assert api(u, "ann").status_code == 409  # without the key: the same clip again
    assert stored(u) == (1, 1)


def test_every_upload_keeps_the_sha256_of_its_file(u):
    api(u, "ann")
    api(u, "ben", key="k")
    sums = u["app"].state.web.db.read(lambda s: s.scalars(select(Job.upload_sha256)).all())
    assert sums == [hashlib.sha256(u["clip"]).hexdigest()] * 2


def test_an_empty_file_is_said_to_have_arrived_empty(u):
    r = api(u, "ann", b"")
    assert r.status_code == 415 and r.json() == {"detail": EMPTY}
    r = page(u, "ann", b"")
    assert r.status_code == 415 and EMPTY in r.text
    assert stored(u) == (0, 0)


def test_two_uploads_of_one_file_at_the_same_moment_queue_one_job(db_url, tmp_path, monkeypatch):
    """On PostgreSQL as on SQLite: the second upload waits for the first to be queued, then is
    refused; without the account's row lock both passed the check before either was queued."""
    import threading
    import time

    from kneeback.store import open_database
    from kneeback.web import jobs
    from kneeback.web.accounts import create_user

    with open_database(db_url) as db:
        ann = create_user(db, "ann", "correct horse battery")
        real = jobs._queued_job
        first = threading.Event()

        def slow_queued_job(*args, **kwargs):
            if not first.is_set():  # the first upload holds its transaction open a while
                first.set()
                time.sleep(0.5)
            return real(*args, **kwargs)

        monkeypatch.setattr(jobs, "_queued_job", slow_queued_job)
        outcomes: list[str] = []

        def send(name: str) -> None:
            try:
                jobs.enqueue_job(db, ann.id, tmp_path / name, upload_sha256="ab" * 32)
                outcomes.append("queued")
            except jobs.DuplicateUploadError:
                outcomes.append("refused")

        one = threading.Thread(target=send, args=("1.mp4",))
        one.start()
        assert first.wait(5)
        two = threading.Thread(target=send, args=("2.mp4",))
        two.start()
        one.join(10)
        two.join(10)
        assert sorted(outcomes) == ["queued", "refused"]
        assert len(db.read(lambda s: list(s.scalars(select(Job.uid))))) == 1
