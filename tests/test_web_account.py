"""The account page of every logged-in account (``/account``) and its API twins (``/api/me/...``).

A new password (the current one checked under the login rate limit; the other logins end, this
one stays), a member's data as the file ``kneeback export`` writes (read back by ``kneeback
import``), and a member deleting their account: their person, history, uploads and files go,
other members' stay. Sessions are stored as the worker stores them (a real analysis result,
its files in a job's output folder, the uploaded clip in the upload folder), without running
the pose model.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("python_multipart")

from sqlalchemy import func, select
from typer.testing import CliRunner

from kneeback.store import (
    export_person,
    export_text,
    forget_person,
    import_person,
    open_database,
    store_session,
)
from kneeback.store.models import Person
from kneeback.store.models import Session as StoredSession
from kneeback.web import create_app
from kneeback.web.accounts import assign_member
from kneeback.web.app import CSRF_HEADER
from kneeback.web.models import (
    Article,
    ArticleComment,
    CoachMember,
    Comment,
    Job,
    LoginSession,
    Share,
    User,
)
from store_support import day, needs_data, result
from test_web import PASSWORD, api_user, client, make_settings

pytest_plugins = ["store_fixtures"]

NEW_PASSWORD = "a much longer new secret"


# ---- fixtures and helpers ------------------------------------------------------------------------


def team_app(root: Path, **settings):
    """An app where ana and ben (members) are coached by cora, with an admin, root."""
    app = create_app(make_settings(root, **settings))
    w = {"app": app, "anon": client(app)}
    for name in ("ana", "ben"):
        w[name], w[name + "_csrf"] = api_user(app, name)
    w["cora"], w["cora_csrf"] = api_user(app, "cora", role="coach")
    w["root"], w["root_csrf"] = api_user(app, "root", role="admin")
    assign_member(app.state.web.db, "cora", "ana")
    assign_member(app.state.web.db, "cora", "ben")
    return w


@pytest.fixture
def w(tmp_path):
    return team_app(tmp_path)


def user_id(app, username: str) -> int | None:
    return app.state.web.db.read(
        lambda s: s.scalar(select(User.id).where(User.username == username))
    )


def count(app, where) -> int:
    return int(app.state.web.db.read(lambda s: s.scalar(select(func.count()).where(where))))


def form_csrf(c, path: str = "/account") -> str:
    r = c.get(path)
    assert r.status_code == 200, r.text
    return re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)


def second_login(app, username: str, password: str = PASSWORD):
    """Another browser logged in to the same account."""
    c = client(app)
    r = c.post("/api/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return c


def analysed(app, username: str, *, n: int = 0) -> dict:
    """Store a session of ``username`` as the worker does after an upload; return its paths.

    The clip is in the upload folder; the job's output folder holds the session's files (its
    artifacts), its ``result.json`` and one file no artifact names; the job is done with the
    session.
    """
    ctx = app.state.web
    uid = secrets.token_hex(16)
    clip = ctx.settings.upload_dir / f"{secrets.token_hex(16)}.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    folder = ctx.settings.analysis_dir / uid
    folder.mkdir(parents=True)
    artifacts = {"report_html": folder / "report.html", "annotated_mp4": folder / "annotated.mp4"}
    for path in artifacts.values():
        path.write_text(path.name)
    (folder / "pose.nc").write_text("not an artifact")
    res = result(1, 1, (1 + n, 2 + n, 3 + n))
    (folder / "result.json").write_text(res.to_json() + "\n")  # what makes it kneeback's folder
    person = ctx.db.read(
        lambda s: s.scalar(
            select(Person.name)
            .join(User, User.person_id == Person.id)
            .where(User.username == username)
        )
    )
    sid = store_session(
        ctx.db,
        person,
        res,
        artifacts=artifacts,
        recorded_at=day(n),
        source_path=clip,
    )
    at = dt.datetime.now(dt.UTC)
    ctx.db.write(
        lambda s: s.add(
            Job(
                uid=uid,
                user_id=user_id(app, username),
                upload_path=str(clip),
                movement="squat",
                state="done",
                stage="done",
                session_id=sid,
                output_dir=str(folder),
                created_at=at,
                updated_at=at,
            )
        )
    )
    return {"uid": uid, "session": sid, "clip": clip, "folder": folder, **artifacts}


def queued_upload(app, username: str) -> Path:
    """A clip uploaded by ``username`` whose job waits in the queue; return the clip."""
    ctx = app.state.web
    clip = ctx.settings.upload_dir / f"{secrets.token_hex(16)}.mp4"
    clip.write_bytes(b"clip")
    from kneeback.web.jobs import enqueue_job

    enqueue_job(ctx.db, user_id(app, username), clip, movement="squat")
    return clip


def set_job_state(app, uid: str, state: str) -> None:
    def work(s):
        s.scalar(select(Job).where(Job.uid == uid)).state = state

    app.state.web.db.write(work)


def delete_form(c, csrf: str, *, password: str = PASSWORD, username: str = "ana"):
    return c.post(
        "/account/delete",
        data={"password": password, "confirm_username": username, "csrf_token": csrf},
        follow_redirects=False,
    )


def password_form(c, csrf: str, *, current: str = PASSWORD, new: str = NEW_PASSWORD, again=None):
    return c.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )


def alert(html: str) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', html)
    assert found, html
    return found.group(1)


# ---- the page ------------------------------------------------------------------------------------


def test_every_page_links_the_account_page_when_logged_in(w):
    for who in ("ana", "cora", "root"):
        for path in ("/", "/articles", "/rules"):
            assert 'href="/account">Account</a>' in w[who].get(path).text, (who, path)
    assert 'href="/account"' not in w["anon"].get("/").text
    r = w["anon"].get("/account", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Faccount"


def test_the_page_shows_the_account_and_what_its_role_may_do(w):
    today = dt.datetime.now(dt.UTC).date().isoformat()
    page = w["ana"].get("/account").text
    assert "<dd>ana</dd>" in page and "<dd>member</dd>" in page and f"<dd>{today}</dd>" in page
    assert 'action="/account/password"' in page
    assert 'href="/account/export"' in page and 'action="/account/delete"' in page
    for who, role in (("cora", "coach"), ("root", "admin")):
        page = w[who].get("/account").text
        assert f"<dd>{role}</dd>" in page and 'action="/account/password"' in page
        assert 'action="/account/delete"' not in page and "/account/export" not in page
        assert "ask the operator of the service" in page


def test_forms_and_api_calls_without_a_csrf_token_are_refused(w):
    ana = w["ana"]
    assert ana.post("/account/password", data={"current_password": PASSWORD}).status_code == 403
    r = ana.post("/account/delete", data={"password": PASSWORD, "confirm_username": "ana"})
    assert r.status_code == 403
    r = ana.post("/api/me/password", json={"current_password": PASSWORD, "new_password": "x" * 12})
    assert r.status_code == 403
    assert ana.request("DELETE", "/api/me", json={"password": PASSWORD}).status_code == 403
    wrong = {CSRF_HEADER: w["ben_csrf"]}  # another account's token
    assert (
        ana.request("DELETE", "/api/me", json={"password": PASSWORD}, headers=wrong).status_code
        == 403
    )
    assert ana.get("/api/me").json()["username"] == "ana"  # nothing happened
    assert user_id(w["app"], "ana") is not None


def test_the_routes_are_in_the_schema(w):
    paths = w["anon"].get("/openapi.json").json()["paths"]
    assert "post" in paths["/api/me/password"] and "get" in paths["/api/me/export"]
    assert {"get", "delete"} <= set(paths["/api/me"])
    assert not any(p.startswith("/account") for p in paths)


# ---- a new password ------------------------------------------------------------------------------


def test_a_new_password_ends_the_other_logins_and_keeps_this_one(w):
    app = w["app"]
    phone = second_login(app, "ana")
    ben_phone = second_login(app, "ben")
    r = password_form(w["ana"], form_csrf(w["ana"]))
    assert r.status_code == 303 and r.headers["location"] == "/account?ended=1#password"
    page = w["ana"].get(r.headers["location"]).text
    assert re.search(r'role="status">Your password is changed.\s+1 other login', page)
    assert w["ana"].get("/api/me").status_code == 200  # this login stays
    assert phone.get("/api/me").status_code == 401  # the other one ended
    assert ben_phone.get("/api/me").json()["username"] == "ben"  # another account's is untouched
    assert w["ben"].get("/api/me").status_code == 200
    anon = client(app)
    assert (
        anon.post("/api/login", json={"username": "ana", "password": PASSWORD}).status_code == 400
    )
    assert (
        anon.post("/api/login", json={"username": "ana", "password": NEW_PASSWORD}).status_code
        == 200
    )


def test_a_wrong_current_password_shows_the_form_again_with_an_alert(w):
    ana, csrf = w["ana"], form_csrf(w["ana"])
    r = password_form(ana, csrf, current="not the password")
    assert r.status_code == 400 and alert(r.text) == "The current password is wrong."
    r = password_form(ana, csrf, again="something else entirely")
    assert r.status_code == 400 and "not the same" in alert(r.text)
    r = password_form(ana, csrf, new="short")
    assert r.status_code == 400 and alert(r.text) == "A password needs at least 10 characters."
    assert second_login(w["app"], "ana").get("/api/me").status_code == 200  # unchanged


def test_wrong_current_passwords_count_against_the_login_limit(tmp_path):
    w = team_app(tmp_path, login_max_failures_per_account=3)
    ana, csrf = w["ana"], form_csrf(w["ana"])
    assert password_form(ana, csrf, current="wrong one 1").status_code == 400
    r = ana.post(
        "/api/me/password",
        json={"current_password": "wrong one 2", "new_password": NEW_PASSWORD},
        headers={CSRF_HEADER: w["ana_csrf"]},
    )
    assert r.status_code == 400 and r.json()["detail"] == "The current password is wrong."
    r = client(w["app"]).post("/api/login", json={"username": "ana", "password": "wrong one 3"})
    assert r.status_code == 400
    # three failures, from the page, the API and the login form: the fourth try is refused
    r = password_form(ana, csrf)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "Too many wrong passwords" in alert(r.text)
    r = ana.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={CSRF_HEADER: w["ana_csrf"]},
    )
    assert r.status_code == 429 and "retry-after" in r.headers
    r = client(w["app"]).post("/api/login", json={"username": "ana", "password": PASSWORD})
    assert r.status_code == 429
    r = ana.request(
        "DELETE", "/api/me", json={"password": PASSWORD}, headers={CSRF_HEADER: w["ana_csrf"]}
    )
    assert r.status_code == 429 and user_id(w["app"], "ana") is not None
    # the limit is the account's: ben changes his password
    assert password_form(w["ben"], form_csrf(w["ben"])).status_code == 303


def test_the_api_changes_the_password(w):
    app, ana, headers = w["app"], w["ana"], {CSRF_HEADER: w["ana_csrf"]}
    phone = second_login(app, "ana")
    body = {"current_password": PASSWORD, "new_password": "short"}
    r = ana.post("/api/me/password", json=body, headers=headers)
    assert r.status_code == 400 and "at least 10" in r.json()["detail"]
    body["new_password"] = NEW_PASSWORD
    r = client(app).post("/api/me/password", json=body)
    assert r.status_code == 401
    r = ana.post("/api/me/password", json=body, headers=headers)
    assert r.status_code == 204 and r.content == b""
    assert ana.get("/api/me").status_code == 200 and phone.get("/api/me").status_code == 401
    assert second_login(app, "ana", NEW_PASSWORD).get("/api/me").status_code == 200
    # coaches and admins change theirs too
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    for who in ("cora", "root"):
        r = w[who].post("/api/me/password", json=body, headers={CSRF_HEADER: w[who + "_csrf"]})
        assert r.status_code == 204, (who, r.text)


def test_the_log_says_what_was_done_and_never_a_password(w, caplog):
    caplog.set_level(logging.INFO, logger="kneeback")
    ana = w["ana"]
    password_form(ana, form_csrf(ana), current="a wrong password here")
    password_form(ana, form_csrf(ana))
    ana.get("/account/export")
    delete_form(ana, form_csrf(ana), password=NEW_PASSWORD)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("kneeback.web")]
    assert any(re.fullmatch(r"account ana: current password refused \(400\)", m) for m in lines)
    assert "account ana: password changed, 0 other login(s) ended" in lines
    assert "account ana: downloaded their data (0 sessions)" in lines
    assert any(m.startswith("account ana: deleted by its member, with person ana") for m in lines)
    for secret in (PASSWORD, NEW_PASSWORD, "a wrong password here"):
        assert secret not in caplog.text


# ---- downloading a member's data -----------------------------------------------------------------


def _cli(*args: str) -> str:
    from kneeback.cli import app

    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, res.stderr
    return res.stdout


@needs_data
def test_the_download_is_what_kneeback_export_writes_and_imports_back(tmp_path, db_factory):
    url = db_factory()
    w = team_app(tmp_path, database_url=url)
    app = w["app"]
    analysed(app, "ana", n=0)
    analysed(app, "ana", n=1)
    today = dt.date.today().isoformat()
    r = w["ana"].get("/account/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"] == f'attachment; filename="kneeback-ana-{today}.json"'
    assert "no-store" in r.headers["cache-control"]
    # what `kneeback export` writes, without the server's paths (they name its folders)
    cli = json.loads(_cli("export", "ana", "--db", url))
    assert all(s["source_path"] and s["artifacts"] for s in cli["sessions"])
    for s in cli["sessions"]:
        s["source_path"], s["artifacts"] = None, []
    assert r.text == export_text(cli)
    assert str(app.state.web.settings.data_dir) not in r.text
    api = w["ana"].get("/api/me/export")
    assert api.status_code == 200 and api.content == r.content
    assert api.headers["content-disposition"] == r.headers["content-disposition"]
    data = r.json()
    assert len(data["sessions"]) == 2 and data["person"]["name"] == "ana"
    # back through `kneeback import` into another database, and out again the same
    dump = tmp_path / "ana.json"
    dump.write_bytes(r.content)
    other = db_factory()
    assert "Imported ana: 2 sessions" in _cli("import", str(dump), "--db", other)
    assert json.loads(_cli("export", "ana", "--db", other)) == data


def test_a_member_with_nothing_stored_gets_a_valid_export(w, tmp_path):
    r = w["ben"].get("/account/export")
    assert r.status_code == 200
    data = r.json()
    assert data["person"]["name"] == "ben"
    assert data["sessions"] == [] and data["outcomes"] == []
    assert data["program"] == {"states": [], "events": []}
    with open_database(f"sqlite:///{tmp_path / 'other.db'}") as other:
        assert import_person(other, data)["sessions"] == 0
        assert export_person(other, "ben") == data


def test_the_download_is_a_members_and_says_when_there_is_nothing(w):
    for who in ("cora", "root"):
        assert w[who].get("/account/export").status_code == 403
        assert w[who].get("/api/me/export").status_code == 403
    assert w["anon"].get("/api/me/export").status_code == 401
    # ben's person forgotten on the command line: his account stays, unlinked
    forget_person(w["app"].state.web.db, "ben")
    r = w["ben"].get("/account/export")
    assert r.status_code == 404 and "nothing to download" in r.text
    assert w["ben"].get("/api/me/export").json() == {
        "detail": "No history is stored for this account, so there is nothing to download."
    }
    assert "0 analysed sessions" in w["ben"].get("/account").text


# ---- deleting a member's account -----------------------------------------------------------------


def _comments_and_shares(w, ana: dict, ben: dict) -> None:
    """ana and ben share their sessions; cora comments on each; both comment on an article."""
    app = w["app"]
    for who, s in (("ana", ana), ("ben", ben)):
        r = w[who].post(
            f"/api/sessions/{s['session']}/share", headers={CSRF_HEADER: w[who + "_csrf"]}
        )
        assert r.status_code == 200, r.text
        r = w["cora"].post(
            f"/api/sessions/{s['session']}/comments",
            json={"time_s": 1.0, "text": f"Well done, {who}"},
            headers={CSRF_HEADER: w["cora_csrf"]},
        )
        assert r.status_code == 201, r.text

    def work(s):
        article = Article(
            issue=1,
            slug="week-1",
            title="Week 1",
            body_md="Text.",
            published_on=dt.date(2026, 1, 5),
        )
        s.add(article)
        s.flush()
        for who in ("ana", "ben"):
            s.add(ArticleComment(article_id=article.id, author_id=user_id(app, who), text=who))

    app.state.web.db.write(work)


def _kept_of(app, username: str) -> dict:
    """Rows of ``username`` in every table a deletion touches."""
    uid = user_id(app, username)
    return {
        "logins": count(app, LoginSession.user_id == uid),
        "jobs": count(app, Job.user_id == uid),
        "coach": count(app, CoachMember.member_id == uid),
        "article_comments": count(app, ArticleComment.author_id == uid),
        "sessions": count(
            app,
            StoredSession.person_id
            == select(User.person_id).where(User.id == uid).scalar_subquery(),
        ),
    }


@needs_data
def test_a_member_deletes_their_account_and_only_theirs(tmp_path, db_url):
    """On SQLite and PostgreSQL: every row and file of ana's goes, none of ben's."""
    w = team_app(tmp_path, database_url=db_url)
    app = w["app"]
    ana, ben = analysed(app, "ana"), analysed(app, "ben")
    _comments_and_shares(w, ana, ben)
    ana_queued, ben_queued = queued_upload(app, "ana"), queued_upload(app, "ben")
    ana_phone = second_login(app, "ana")
    ana_id = user_id(app, "ana")
    ben_before = _kept_of(app, "ben")
    assert _kept_of(app, "ana") == {
        "logins": 2,
        "jobs": 2,
        "coach": 1,
        "article_comments": 1,
        "sessions": 1,
    }

    r = delete_form(w["ana"], form_csrf(w["ana"]))
    assert r.status_code == 200, r.text
    assert "<h1>Your account is deleted</h1>" in r.text
    said = [
        "1 analysed session",
        "2 uploads and their analysis jobs",
        "1 comment on an article",
        "1 place in a coach&#39;s group",
        "2 logins",
        "6 files on the server",
    ]
    for line in said:
        assert line in r.text, line
    assert 'href="/login">Log in</a>' in r.text  # logged out
    assert re.search(r"kb_session=\"?\"?;.*Max-Age=0", r.headers["set-cookie"])
    for c in (w["ana"], ana_phone):
        assert c.get("/api/me").status_code == 401
    r = client(app).post("/api/login", json={"username": "ana", "password": PASSWORD})
    assert r.status_code == 400

    # ana's rows: the account, its cascade and her person with its history
    assert user_id(app, "ana") is None
    assert count(app, LoginSession.user_id == ana_id) == 0
    assert count(app, Job.user_id == ana_id) == 0
    assert count(app, CoachMember.member_id == ana_id) == 0
    assert count(app, ArticleComment.author_id == ana_id) == 0
    assert count(app, Person.name == "ana") == 0
    assert count(app, StoredSession.id == ana["session"]) == 0
    assert count(app, Comment.session_id == ana["session"]) == 0
    assert count(app, Share.session_id == ana["session"]) == 0
    # ana's files: the clips, the session's files, the job's folder with what no artifact names
    for path in (ana["clip"], ana_queued, ana["report_html"], ana["annotated_mp4"], ana["folder"]):
        assert not path.exists(), path
    # ben's: all there, and cora still coaches him and reads his session
    assert _kept_of(app, "ben") == ben_before
    for path in (
        ben["clip"],
        ben_queued,
        ben["report_html"],
        ben["annotated_mp4"],
        ben["folder"] / "pose.nc",
    ):
        assert path.exists(), path
    assert w["ben"].get("/api/me").status_code == 200
    assert w["cora"].get("/api/members").json() == ["ben"]
    comments = w["cora"].get(f"/api/sessions/{ben['session']}/comments").json()
    assert [c["text"] for c in comments] == ["Well done, ben"]
    assert w["ben"].get(f"/sessions/{ben['session']}/annotated.mp4").status_code == 200
    assert (
        app.state.web.settings.upload_dir.is_dir() and app.state.web.settings.analysis_dir.is_dir()
    )


def test_the_api_deletes_the_account(w):
    app, ana, headers = w["app"], w["ana"], {CSRF_HEADER: w["ana_csrf"]}
    clip = queued_upload(app, "ana")
    r = ana.request("DELETE", "/api/me", json={"password": "not the password"}, headers=headers)
    assert r.status_code == 400 and r.json()["detail"] == "The password is wrong."
    assert user_id(app, "ana") is not None and clip.exists()
    assert client(app).request("DELETE", "/api/me", json={"password": PASSWORD}).status_code == 401
    r = ana.request("DELETE", "/api/me", json={"password": PASSWORD}, headers=headers)
    assert r.status_code == 204 and "Max-Age=0" in r.headers["set-cookie"]
    assert user_id(app, "ana") is None and not clip.exists()
    assert ana.get("/api/me").status_code == 401
    assert w["ben"].get("/api/me").json()["username"] == "ben"


def test_the_form_asks_for_the_password_and_the_username(w):
    ana, csrf = w["ana"], form_csrf(w["ana"])
    r = delete_form(ana, csrf, username="Ana")
    assert (
        r.status_code == 400
        and alert(r.text) == "Type your username, ana, to confirm the deletion."
    )
    r = delete_form(ana, csrf, password="not the password")
    assert r.status_code == 400 and alert(r.text) == "The password is wrong."
    assert user_id(w["app"], "ana") is not None
    assert ana.get("/api/me").status_code == 200


def test_a_running_analysis_holds_the_deletion_back(w):
    app = w["app"]
    ana, csrf = w["ana"], form_csrf(w["ana"])
    clip = queued_upload(app, "ana")
    uid = app.state.web.db.read(
        lambda s: s.scalar(select(Job.uid).where(Job.upload_path == str(clip)))
    )
    set_job_state(app, uid, "running")
    r = delete_form(ana, csrf)
    assert r.status_code == 409
    assert alert(r.text) == "An analysis of yours is running; try again when it has finished."
    r = ana.request(
        "DELETE", "/api/me", json={"password": PASSWORD}, headers={CSRF_HEADER: w["ana_csrf"]}
    )
    assert r.status_code == 409 and "running" in r.json()["detail"]
    assert user_id(app, "ana") is not None and clip.exists()
    assert count(app, Person.name == "ana") == 1
    set_job_state(app, uid, "failed")  # it has finished
    assert delete_form(ana, csrf).status_code == 200
    assert user_id(app, "ana") is None and not clip.exists()


def test_coaches_and_admins_do_not_delete_themselves(w):
    app = w["app"]
    for who in ("cora", "root"):  # root is the only admin
        r = delete_form(w[who], form_csrf(w[who]), username=who)
        assert r.status_code == 403 and "ask the operator of the service" in r.text
        r = w[who].request(
            "DELETE",
            "/api/me",
            json={"password": PASSWORD},
            headers={CSRF_HEADER: w[who + "_csrf"]},
        )
        assert r.status_code == 403
        assert user_id(app, who) is not None
        assert w[who].get("/api/me").status_code == 200


def test_files_outside_the_data_folder_are_never_deleted(w, tmp_path):
    """A job row naming a clip or an output folder elsewhere leaves them alone."""
    app = w["app"]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    clip = outside / "clip.mp4"
    clip.write_bytes(b"clip")
    (outside / "keep.txt").write_text("keep")
    at = dt.datetime.now(dt.UTC)
    app.state.web.db.write(
        lambda s: s.add(
            Job(
                uid=secrets.token_hex(16),
                user_id=user_id(app, "ana"),
                upload_path=str(clip),
                state="failed",
                output_dir=str(outside),
                created_at=at,
                updated_at=at,
            )
        )
    )
    assert delete_form(w["ana"], form_csrf(w["ana"])).status_code == 200
    assert clip.exists() and (outside / "keep.txt").exists()


def test_a_username_ending_in_a_newline_is_refused(w):
    """``$`` also matches before a final newline: "eve\\n" was taken, and its downloads failed
    (its person is found by the stripped name) with a newline meant for the
    Content-Disposition header and the log's lines."""
    for name in ("eve\n", "eve\r\n", "eve\nx"):
        r = client(w["app"]).post("/api/register", json={"username": name, "password": PASSWORD})
        assert r.status_code == 400, (name, r.text)
    assert user_id(w["app"], "eve\n") is None


def test_a_deleted_accounts_files_outside_the_data_folder_stay(w, tmp_path):
    """Deleting an account deletes its person's files in the data folder only: not those a
    session stored on the command line names elsewhere, nor any reached through a link."""
    app = w["app"]
    mine = analysed(app, "ana")
    outside = tmp_path / "operator"
    outside.mkdir()
    (outside / "report.html").write_text("the operator's")
    link = app.state.web.settings.analysis_dir / "link-out"
    link.symlink_to(outside)
    person = app.state.web.db.read(
        lambda s: s.scalar(
            select(Person.name)
            .join(User, User.person_id == Person.id)
            .where(User.username == "ana")
        )
    )
    store_session(
        app.state.web.db,
        person,
        result(1, 1, (4, 5, 6)),
        artifacts={"report_html": outside / "report.html", "annotated_mp4": link / "video.mp4"},
        recorded_at=day(5),
    )
    (outside / "video.mp4").write_bytes(b"the operator's")
    assert delete_form(w["ana"], form_csrf(w["ana"])).status_code == 200
    assert not mine["report_html"].exists() and not mine["clip"].exists()
    assert sorted(p.name for p in outside.iterdir()) == ["report.html", "video.mp4"]
    assert link.is_symlink()


def test_an_account_and_its_person_go_together_or_not_at_all(w, monkeypatch):
    """The account and its person's history are deleted in one transaction: when forgetting the
    person fails, the account, its logins and every file stay as they were."""
    import kneeback.store.forget as forget

    app = w["app"]
    mine = analysed(app, "ana")
    ana_id = user_id(app, "ana")

    def broken(s, name):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(forget, "forget_person_rows", broken)
    with pytest.raises(RuntimeError):
        delete_form(w["ana"], form_csrf(w["ana"]))
    assert user_id(app, "ana") == ana_id and count(app, Person.name == "ana") == 1
    assert count(app, Job.user_id == ana_id) == 1 and count(app, LoginSession.user_id == ana_id)
    assert mine["report_html"].exists() and mine["clip"].exists()
    assert w["ana"].get("/api/me").status_code == 200  # still logged in
