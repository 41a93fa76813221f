"""A member's whole download as a zip (``/account/export.zip``, ``/api/me/export.zip``).

The zip holds the JSON download byte for byte, ``account.json`` (the account, coaches, uploads,
share state and coaches' comments of each session, article comments), each session's report,
annotated video and uploaded clip (only files inside the data folder), and a README. It is
written while it is sent: nothing of it is left on disk, and a stopped download leaves no file
open. Sessions are stored as the worker stores them (see ``test_web_account.analysed``), and one
runs through a real job with a replayed pose (``test_web.world``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("python_multipart")

from sqlalchemy import event, select

from kneeback.store import forget_person, store_session
from kneeback.store.models import Session as StoredSession
from kneeback.web.account import account_details, member_export
from kneeback.web.account_zip import account_record, clip_suffix, member_archive, zip_chunks
from kneeback.web.accounts import find_account
from kneeback.web.app import CSRF_HEADER
from kneeback.web.models import Article, ArticleComment, Comment
from kneeback.web.queries import jobs_page
from kneeback.web.review import comments_page, share_state
from store_support import day, needs_data, result
from test_web import world  # noqa: F401  (alice's session from a real job)
from test_web_account import _comments_and_shares, analysed, team_app, user_id

pytest_plugins = ["store_fixtures"]

ROUTES = ("/account/export.zip", "/api/me/export.zip")


@pytest.fixture
def w(tmp_path):
    return team_app(tmp_path)


def unzip(content: bytes) -> zipfile.ZipFile:
    z = zipfile.ZipFile(io.BytesIO(content))
    assert z.testzip() is None
    return z


def folder_of(app, session_id: int) -> str:
    """The session's folder in the zip, from its recorded date."""
    at = app.state.web.db.read(
        lambda s: s.scalar(select(StoredSession.recorded_at).where(StoredSession.id == session_id))
    )
    return f"sessions/{at.date().isoformat()}_{session_id}/"


def every_file(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


# ---- what the zip holds --------------------------------------------------------------------------


@needs_data
def test_the_zip_holds_the_export_the_account_and_each_sessions_files(w):
    app = w["app"]
    ana, ben = analysed(app, "ana", n=0), analysed(app, "ben", n=1)
    ben["clip"].write_bytes(b"\x00\x00\x00\x18ftypmp42 ben's clip")
    _comments_and_shares(w, ana, ben)
    ids = {who: user_id(app, who) for who in ("ana", "ben")}

    def hide_ana(s):
        s.scalar(select(ArticleComment).where(ArticleComment.author_id == ids["ana"])).hidden = True

    app.state.web.db.write(hide_ana)
    r = w["ana"].get("/account/export.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    today = dt.date.today().isoformat()
    assert r.headers["content-disposition"] == f'attachment; filename="kneeback-ana-{today}.zip"'
    assert "no-store" in r.headers["cache-control"]
    z = unzip(r.content)
    folder = folder_of(app, ana["session"])
    assert z.namelist() == [
        "README.txt",
        "kneeback-export.json",
        "account.json",
        folder + "annotated.mp4",
        folder + "clip.mp4",
        folder + "report.html",
    ]
    # the JSON download, byte for byte; the files as they are; videos stored, the rest deflated
    assert z.read("kneeback-export.json") == w["ana"].get("/account/export").content
    assert z.read(folder + "clip.mp4") == ana["clip"].read_bytes()
    assert z.read(folder + "report.html") == ana["report_html"].read_bytes()
    assert z.read(folder + "annotated.mp4") == ana["annotated_mp4"].read_bytes()
    for info in z.infolist():
        video = info.filename.endswith(".mp4")
        assert info.compress_type == (zipfile.ZIP_STORED if video else zipfile.ZIP_DEFLATED)
    readme = z.read("README.txt").decode()
    for name in ("kneeback-export.json", "account.json", "report.html", "annotated.mp4", "clip"):
        assert name in readme
    account = json.loads(z.read("account.json"))
    assert account["format"] == "kneeback-account" and account["format_version"] == 1
    assert account["account"]["username"] == "ana" and account["account"]["role"] == "member"
    assert account["account"]["created_at"].startswith(today)
    assert account["coaches"] == ["cora"]
    (job,) = account["uploads"]
    assert job == {
        "id": ana["uid"],
        "created_at": job["created_at"],
        "state": "done",
        "movement": "squat",
        "error": None,
        "session_id": ana["session"],
    }
    (session,) = account["sessions"]
    assert session["id"] == ana["session"] and session["folder"] == folder
    assert session["uid"] == json.loads(z.read("kneeback-export.json"))["sessions"][0]["uid"]
    assert session["shared"] is True and session["shared_at"] and session["reviewed_at"] is None
    assert [(c["time_s"], c["text"], c["author"]) for c in session["comments"]] == [
        (1.0, "Well done, ana", "cora")
    ]
    (said,) = account["article_comments"]
    assert said["article"] == {"title": "Week 1", "slug": "week-1"}
    assert said["text"] == "ana" and said["hidden"] is True
    # nothing of ben's, and no server path outside the export file (as the JSON download has)
    text = z.read("account.json").decode()
    assert "Well done, ben" not in text and '"text": "ben"' not in text
    assert str(app.state.web.settings.data_dir) not in text + readme
    assert not any(n.startswith(folder_of(app, ben["session"])) for n in z.namelist())
    assert all(z.read(n) != ben["clip"].read_bytes() for n in z.namelist())
    # the API's twin is the same zip
    api = unzip(w["ana"].get("/api/me/export.zip").content)
    assert api.namelist() == z.namelist()
    for name in z.namelist():
        if name != "account.json":  # its written_at differs
            assert api.read(name) == z.read(name), name


@needs_data
def test_reviewed_sessions_say_by_whom(w):
    ana = analysed(w["app"], "ana")
    sid = ana["session"]
    assert (
        w["ana"].post(f"/api/sessions/{sid}/share", headers={CSRF_HEADER: w["ana_csrf"]}).is_success
    )
    r = w["cora"].post(f"/api/sessions/{sid}/reviewed", headers={CSRF_HEADER: w["cora_csrf"]})
    assert r.status_code == 200, r.text
    (session,) = json.loads(unzip(w["ana"].get("/api/me/export.zip").content).read("account.json"))[
        "sessions"
    ]
    assert session["shared"] is True and session["reviewed_by"] == "cora"
    assert session["reviewed_at"] and session["comments"] == []


@needs_data
def test_a_removed_coachs_comments_are_kept_without_an_author(w):
    from kneeback.web.removal import remove_account

    app = w["app"]
    ana = analysed(app, "ana")
    _comments_and_shares(w, ana, analysed(app, "ben", n=1))
    settings = app.state.web.settings
    remove_account(
        app.state.web.db,
        "cora",
        upload_dir=settings.upload_dir,
        analysis_dir=settings.analysis_dir,
    )
    account = json.loads(unzip(w["ana"].get("/account/export.zip").content).read("account.json"))
    assert account["coaches"] == []
    (comment,) = account["sessions"][0]["comments"]
    assert comment["author"] is None and comment["text"] == "Well done, ana"


def test_the_zip_of_a_real_job_names_the_clip_by_its_content(world):  # noqa: F811
    """alice's clip went through the upload and a job: it is kept without a suffix."""
    app, sid = world["app"], world["session"]
    z = unzip(world["alice"].get("/account/export.zip").content)
    folder = folder_of(app, sid)
    assert folder.startswith("sessions/2025-03-02_")  # recorded when the clip's metadata says
    assert [n for n in z.namelist() if n.startswith("sessions/")] == [
        folder + "annotated.mp4",
        folder + "clip.mp4",
        folder + "report.html",
    ]
    assert (
        z.read(folder + "annotated.mp4")
        == world["alice"].get(f"/sessions/{sid}/annotated.mp4").content
    )
    written = app.state.web.settings.analysis_dir / world["job"] / "report.html"
    assert z.read(folder + "report.html") == written.read_bytes()  # as written, no web link
    assert z.read(folder + "clip.mp4")[4:8] == b"ftyp"
    account = json.loads(z.read("account.json"))
    assert account["coaches"] == ["carol"]
    assert [j["id"] for j in account["uploads"]] == [world["job"]]
    assert len(account["sessions"]) == 1 and account["sessions"][0]["folder"] == folder
    export = json.loads(z.read("kneeback-export.json"))
    assert len(export["sessions"][0]["result"]["reps"]) == 2
    # bob, another member, has none of it
    bob = unzip(world["bob"].get("/api/me/export.zip").content)
    assert bob.namelist() == ["README.txt", "kneeback-export.json", "account.json"]
    assert json.loads(bob.read("account.json"))["sessions"] == []


def test_a_member_with_nothing_stored_or_forgotten_gets_a_zip(w):
    z = unzip(w["ben"].get("/account/export.zip").content)
    assert z.namelist() == ["README.txt", "kneeback-export.json", "account.json"]
    account = json.loads(z.read("account.json"))
    assert account["sessions"] == [] and account["uploads"] == []
    assert account["article_comments"] == [] and account["coaches"] == ["cora"]
    # forgotten on the command line: the account's rows are still its own to download
    forget_person(w["app"].state.web.db, "ben")
    z = unzip(w["ben"].get("/api/me/export.zip").content)
    assert z.namelist() == ["README.txt", "account.json"]
    assert "no history is stored for this account" in z.read("README.txt").decode()


def test_coaches_and_admins_get_403_and_visitors_log_in_first(w):
    for who in ("cora", "root"):
        for path in ROUTES:
            assert w[who].get(path).status_code == 403, (who, path)
    assert w["anon"].get("/api/me/export.zip").status_code == 401
    r = w["anon"].get("/account/export.zip", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


# ---- account.json in a fixed number of queries ---------------------------------------------------


def post(w, who: str, path: str, **kw):
    r = w[who].post(path, headers={CSRF_HEADER: w[who + "_csrf"]}, **kw)
    assert r.is_success, r.text
    return r


def reader_record(db, account) -> dict:
    """``account.json`` as the per-session readers give it (what the zip wrote before batching).

    Each session's share state and comments are what ``share_state`` and ``comments_page`` give
    the member for it, and the coaches those ``share_state`` names (the member has sessions).
    Without ``format``, ``written_at``, and each session's ``movement`` and ``folder``.
    """
    details = account_details(db, account)
    stored = db.read(
        lambda s: s.execute(
            select(StoredSession.id, StoredSession.uid, StoredSession.recorded_at)
            .where(StoredSession.person_id == account.person_id)
            .order_by(StoredSession.recorded_at, StoredSession.id)
        ).all()
    )
    sessions, coaches = [], []
    for sid, uid, recorded_at in stored:
        share = share_state(db, account, sid)
        coaches = share["coaches"]
        sessions.append(
            {
                "id": sid,
                "uid": uid,
                "recorded_at": recorded_at.isoformat(),
                "shared": share["shared"],
                "shared_at": share["shared_at"],
                "reviewed_at": share["reviewed_at"],
                "reviewed_by": share["reviewed_by"],
                "comments": [
                    {k: c[k] for k in ("time_s", "text", "author", "created_at")}
                    for c in comments_page(db, account, sid).items
                ],
            }
        )
    said = db.read(
        lambda s: [
            {
                "article": {"title": title, "slug": slug},
                "text": c.text,
                "created_at": c.created_at.isoformat(),
                "hidden": c.hidden,
            }
            for c, title, slug in s.execute(
                select(ArticleComment, Article.title, Article.slug)
                .join(Article, Article.id == ArticleComment.article_id)
                .where(ArticleComment.author_id == account.id)
                .order_by(ArticleComment.created_at, ArticleComment.id)
            )
        ]
    )
    return {
        "account": {k: details[k] for k in ("username", "role", "created_at")},
        "coaches": coaches,
        "uploads": [
            {k: j[k] for k in ("id", "created_at", "state", "movement", "error", "session_id")}
            for j in jobs_page(db, account).items
        ],
        "sessions": sessions,
        "article_comments": said,
    }


@needs_data
def test_account_json_says_what_the_per_session_readers_say(w):
    """Shared, reviewed, reshared and unshared sessions, comments out of order, one coachless."""
    app = w["app"]
    db = app.state.web.db
    ana = [analysed(app, "ana", n=n) for n in (2, 0, 3, 1)]  # stored out of date order
    ben = analysed(app, "ben", n=1)
    _comments_and_shares(w, ana[0], ben)
    sids = [a["session"] for a in ana]
    for sid in sids[1:3]:
        post(w, "ana", f"/api/sessions/{sid}/share")
    post(w, "cora", f"/api/sessions/{sids[1]}/reviewed")
    post(w, "cora", f"/api/sessions/{sids[2]}/reviewed")
    post(w, "ana", f"/api/sessions/{sids[2]}/share")  # back in the queue
    for time_s, text in ((1.5, "later"), (0.2, "first"), (1.5, "later, again")):
        post(w, "cora", f"/api/sessions/{sids[1]}/comments", json={"time_s": time_s, "text": text})
    db.write(lambda s: s.add(Comment(session_id=sids[3], author_id=None, time_s=0.7, text="gone")))
    account = find_account(db, "ana")
    settings = app.state.web.settings
    archive = member_archive(
        db, account, upload_dir=settings.upload_dir, analysis_dir=settings.analysis_dir
    )
    (entry,) = [e for e in archive.entries if e.name == "account.json"]
    got = json.loads(entry.data)
    expected = reader_record(db, account)
    for mine in got["sessions"]:
        assert mine.pop("folder") == folder_of(app, mine["id"])
        assert mine.pop("movement") == "squat"
    written = ("format", "format_version", "written_at")
    assert {k: v for k, v in got.items() if k not in written} == expected
    # what the readers say is what was done
    by_id = {s["id"]: s for s in got["sessions"]}
    assert [s["id"] for s in got["sessions"]] == [sids[1], sids[3], sids[0], sids[2]]
    assert [by_id[sid]["shared"] for sid in sids] == [True, True, True, False]
    assert by_id[sids[1]]["reviewed_by"] == "cora" and by_id[sids[2]]["reviewed_by"] is None
    assert [c["text"] for c in by_id[sids[1]]["comments"]] == ["first", "later", "later, again"]
    assert by_id[sids[3]]["comments"][0]["author"] is None


@contextmanager
def statements(db) -> Iterator[list[str]]:
    """Collect the SQL statements run on the database meanwhile."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@needs_data
def test_the_zip_reads_the_database_in_as_many_queries_for_3_sessions_as_for_30(w):
    app = w["app"]
    db = app.state.web.db
    settings = app.state.web.settings
    account = find_account(db, "ana")
    counts = {}
    for n in range(30):
        sid = analysed(app, "ana", n=n % 4)["session"]
        if n % 2 == 0:
            post(w, "ana", f"/api/sessions/{sid}/share")
            post(w, "cora", f"/api/sessions/{sid}/comments", json={"time_s": 1.0, "text": "ok"})
        if n % 4 == 0:
            post(w, "cora", f"/api/sessions/{sid}/reviewed")
        if n + 1 in (3, 30):
            with statements(db) as planned:
                archive = member_archive(
                    db, account, upload_dir=settings.upload_dir, analysis_dir=settings.analysis_dir
                )
            with statements(db) as exported:  # the JSON download's reader, within the zip's
                member_export(db, account)
            with statements(db) as recorded:
                account_record(
                    db, account, upload_dir=settings.upload_dir, analysis_dir=settings.analysis_dir
                )
            assert archive.sessions == n + 1
            counts[n + 1] = (len(planned), len(exported), len(recorded))
    assert counts[3] == counts[30], counts
    assert counts[30][0] < 30, counts


# ---- only files inside the data folder -----------------------------------------------------------


@needs_data
def test_stored_paths_outside_the_data_folder_are_left_out(w, tmp_path):
    """Paths elsewhere, climbing out with .., or links inside pointing out: none is read."""
    app = w["app"]
    settings = app.state.web.settings
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    secret = elsewhere / "secret.html"
    secret.write_text("not ana's")
    inside = settings.analysis_dir / "linked"
    inside.mkdir(parents=True)
    (inside / "annotated.mp4").symlink_to(secret)
    store_session(
        app.state.web.db,
        "ana",
        result(1, 1, (1, 2, 3)),
        artifacts={
            "report_html": settings.analysis_dir / ".." / ".." / "elsewhere" / "secret.html",
            "annotated_mp4": inside / "annotated.mp4",
        },
        recorded_at=day(0),
        source_path=secret,
    )
    z = unzip(w["ana"].get("/account/export.zip").content)
    assert z.namelist() == ["README.txt", "kneeback-export.json", "account.json"]
    assert all(b"not ana's" not in z.read(n) for n in z.namelist())
    (session,) = json.loads(z.read("account.json"))["sessions"]
    assert session["folder"] is None
    assert "Its reports and videos take about" not in w["ana"].get("/account").text


# ---- streamed, nothing left behind ---------------------------------------------------------------


@needs_data
def test_the_zip_is_sent_in_pieces_and_leaves_nothing_on_disk(w, tmp_path):
    app = w["app"]
    ana = analysed(app, "ana")
    big = os.urandom(3 * 1024 * 1024 + 7)
    ana["clip"].write_bytes(b"\x00\x00\x00\x18ftypmp42" + big)
    before = every_file(tmp_path)
    account = find_account(app.state.web.db, "ana")
    settings = app.state.web.settings
    archive = member_archive(
        app.state.web.db,
        account,
        upload_dir=settings.upload_dir,
        analysis_dir=settings.analysis_dir,
    )
    pieces = list(zip_chunks(archive, chunk_bytes=64 * 1024))
    assert len(pieces) > 48 and max(len(p) for p in pieces) < 65 * 1024
    z = unzip(b"".join(pieces))
    assert z.read(folder_of(app, ana["session"]) + "clip.mp4").endswith(big)
    # a download stopped in the middle of the clip closes it
    fds = len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else None
    chunks = zip_chunks(archive, chunk_bytes=64 * 1024)
    sent = 0
    while sent < 1024 * 1024:  # in the clip: what comes before it is a few kB
        sent += len(next(chunks))
    chunks.close()
    if fds is not None:
        assert len(os.listdir("/proc/self/fd")) == fds
    # through the app too: nothing is written to the data folder or beside it
    assert unzip(w["ana"].get("/account/export.zip").content).namelist() == z.namelist()
    assert every_file(tmp_path) == before


def test_clip_suffixes_come_from_the_content():
    ts = b"\x47" + b"\x00" * 187 + b"\x47" + b"\x00" * 10
    heads = {
        b"\x00\x00\x00\x18ftypmp42": "mp4",
        b"\x00\x00\x00\x14ftypqt  ": "mov",
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm": "webm",
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska": "mkv",
        b"RIFF\x00\x00\x00\x00AVI LIST": "avi",
        ts: "ts",
        b"\x00\x00\x01\xba\x44": "mpg",
        b"": "bin",
        b"<html>": "bin",
    }
    for head, suffix in heads.items():
        assert clip_suffix(head) == suffix, head


# ---- the page, the schema, the log ---------------------------------------------------------------


@needs_data
def test_the_page_says_what_the_zip_holds_and_what_the_json_is_for(w):
    page = w["ana"].get("/account").text
    assert 'href="/account/export.zip"' in page and 'href="/account/export"' in page
    assert "kneeback import" in page and "Everything" not in page
    assert "take about" not in page  # nothing kept yet
    analysed(w["app"], "ana")
    assert "Its reports and videos take about 1 kB." in w["ana"].get("/account").text
    for who in ("cora", "root"):
        assert "export.zip" not in w[who].get("/account").text


def test_the_schema_documents_the_zip(w):
    paths = w["anon"].get("/openapi.json").json()["paths"]
    ok = paths["/api/me/export.zip"]["get"]["responses"]["200"]
    assert "application/zip" in ok["content"] and "account.json" in ok["description"]
    assert "get" in paths["/api/me/export"]  # the JSON stays


@needs_data
def test_the_log_has_a_line_for_the_download(w, caplog):
    analysed(w["app"], "ana")
    caplog.set_level(logging.INFO, logger="kneeback")
    w["ana"].get("/account/export.zip")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("kneeback.web")]
    assert "account ana: downloading their data as a zip (1 sessions, 3 files, 1 kB)" in lines
    assert str(w["app"].state.web.settings.data_dir) not in caplog.text
