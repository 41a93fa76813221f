"""``kneeback users remove``: the operator removes an account (mounted as in test_web_cli).

A member's account goes as deleting it on the account page does (its person, history, uploads
and files); a coach's goes without any member's data (their comments on members' sessions stay,
by "a former coach"); the last admin stays.
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from sqlalchemy import select

from kneeback import cli_store
from kneeback.store.models import Person
from kneeback.store.models import Session as StoredSession
from kneeback.web.accounts import create_user
from kneeback.web.app import CSRF_HEADER
from kneeback.web.models import CoachMember, Comment, Job, LoginSession, Share
from store_support import needs_data
from test_web_account import (
    _comments_and_shares,
    _kept_of,
    analysed,
    count,
    queued_upload,
    set_job_state,
    team_app,
    user_id,
)
from test_web_cli import PASSWORD, cli  # noqa: F401  (the fixture)


def where(root) -> tuple[str, ...]:
    """``--db`` and ``--data-dir`` of :func:`team_app`'s service in ``root``."""
    return ("--db", f"sqlite:///{root / 'kneeback.db'}", "--data-dir", str(root / "data"))


def said(output: str) -> str:
    """The output on one line (rich wraps nothing, but a sentence may span lines)."""
    return " ".join(output.split())


@needs_data
def test_a_member_goes_with_their_history_and_files_and_only_theirs(cli, tmp_path):  # noqa: F811
    w = team_app(tmp_path)
    app = w["app"]
    ana, ben = analysed(app, "ana"), analysed(app, "ben")
    _comments_and_shares(w, ana, ben)
    ana_queued = queued_upload(app, "ana")
    ana_id, ben_before = user_id(app, "ana"), _kept_of(app, "ben")

    r = cli("users", "remove", "ana", "--yes", *where(tmp_path))
    assert r.exit_code == 0, r.output
    text = said(r.output)
    assert text.startswith("Removed the member account ana with 1 analysed session, "), text
    for words in ("2 uploads and their analysis jobs", "1 place in a coach's group"):
        assert words in text
    assert text.endswith("1 login; 6 files deleted.")
    assert user_id(app, "ana") is None
    for table in (LoginSession, Job):
        assert count(app, table.user_id == ana_id) == 0
    assert count(app, CoachMember.member_id == ana_id) == 0
    assert count(app, Person.name == "ana") == 0
    assert count(app, StoredSession.id == ana["session"]) == 0
    assert count(app, Comment.session_id == ana["session"]) == 0
    for path in (ana["clip"], ana_queued, ana["report_html"], ana["folder"]):
        assert not path.exists(), path
    assert w["ana"].get("/api/me").status_code == 401  # her login ended with the account

    assert _kept_of(app, "ben") == ben_before
    for path in (ben["clip"], ben["report_html"], ben["annotated_mp4"], ben["folder"] / "pose.nc"):
        assert path.exists(), path
    assert w["ben"].get("/api/me").status_code == 200
    assert w["cora"].get("/api/members").json() == ["ben"]


def test_on_a_terminal_it_says_what_goes_and_asks(cli, tmp_path, monkeypatch):  # noqa: F811
    w = team_app(tmp_path)
    clip = queued_upload(w["app"], "ana")
    monkeypatch.setattr(cli_store, "_stdin_is_terminal", lambda: True)
    r = cli("users", "remove", "ana", *where(tmp_path), input="n\n")
    assert r.exit_code == 0, r.output
    text = said(r.output)
    assert "Removing the member account ana deletes what deleting it on its account page" in text
    assert "their person ana and history" in text and "1 upload and its analysis job" in text
    assert "Remove ana? This cannot be undone" in text
    assert "Kept ana; nothing was deleted." in text
    assert user_id(w["app"], "ana") is not None and clip.exists()
    r = cli("users", "remove", "ana", *where(tmp_path), input="y\n")
    assert r.exit_code == 0, r.output
    assert user_id(w["app"], "ana") is None and not clip.exists()


@needs_data
def test_a_coach_goes_and_their_members_data_stays(cli, tmp_path, monkeypatch):  # noqa: F811
    w = team_app(tmp_path)
    app = w["app"]
    ana, ben = analysed(app, "ana"), analysed(app, "ben")
    _comments_and_shares(w, ana, ben)
    r = w["cora"].post(
        f"/api/sessions/{ana['session']}/reviewed", headers={CSRF_HEADER: w["cora_csrf"]}
    )
    assert r.status_code == 200, r.text
    create_user(app.state.web.db, "carl", PASSWORD, role="coach", person="Carl Coach")
    cora_id = user_id(app, "cora")
    before = {who: _kept_of(app, who) for who in ("ana", "ben")}

    monkeypatch.setattr(cli_store, "_stdin_is_terminal", lambda: True)
    r = cli("users", "remove", "cora", *where(tmp_path), input="y\n")
    assert r.exit_code == 0, r.output
    text = said(r.output)
    for line in (
        "Removing the coach account cora deletes: 2 members assigned to them 1 login",
        "The members assigned to them keep their accounts and data; only the assignment goes.",
        "Kept, without their name: 2 comments on members' sessions, 1 session they marked "
        "reviewed.",
        "Removed the coach account cora with 2 members assigned to them, 1 login; 0 files deleted.",
    ):
        assert line in text, text
    assert user_id(app, "cora") is None
    assert w["cora"].get("/api/me").status_code == 401
    assert count(app, Comment.author_id == cora_id) == 0
    assert count(app, CoachMember.coach_id == cora_id) == 0
    # her comments stay on the members' sessions, by no one named
    for who, s in (("ana", ana), ("ben", ben)):
        assert count(app, Comment.session_id == s["session"]) == 1
        comments = w[who].get(f"/api/sessions/{s['session']}/comments").json()
        assert [(c["author"], c["text"]) for c in comments] == [(None, f"Well done, {who}")]
        page = w[who].get(f"/sessions/{s['session']}").text
        assert '<span class="muted">a former coach</span><br>Well done, ' + who in page
        assert "cora" not in page
    # the members: accounts, logins, sessions, files, shares and the review mark all stay
    for who, s in (("ana", ana), ("ben", ben)):
        assert _kept_of(app, who) == before[who] | {"coach": 0}
        assert w[who].get(f"/api/sessions/{s['session']}").status_code == 200
        assert s["report_html"].exists() and s["clip"].exists()
        assert count(app, Share.session_id == s["session"]) == 1
    review = app.state.web.db.read(
        lambda s: s.execute(
            select(Share.reviewed_at, Share.reviewed_by).where(Share.session_id == ana["session"])
        ).one()
    )
    assert review[0] is not None and review[1] is None  # still reviewed, by nobody named

    # a coach linked to a person: the account goes, the person and history stay
    r = cli("users", "remove", "carl", *where(tmp_path), input="y\n")
    assert r.exit_code == 0, r.output
    assert "Kept: the person Carl Coach linked to the account, with their history (0 sessions)" in (
        said(r.output)
    )
    assert user_id(app, "carl") is None and count(app, Person.name == "Carl Coach") == 1


def test_the_last_admin_stays(cli, tmp_path):  # noqa: F811
    w = team_app(tmp_path)
    app = w["app"]
    r = cli("users", "remove", "root", "--yes", *where(tmp_path))
    assert r.exit_code == 2
    assert "root is the last admin account, so it was not removed" in said(r.output)
    assert user_id(app, "root") is not None and w["root"].get("/api/me").status_code == 200
    create_user(app.state.web.db, "boss", PASSWORD, role="admin")
    r = cli("users", "remove", "root", "--yes", *where(tmp_path))
    assert r.exit_code == 0, r.output
    assert user_id(app, "root") is None and w["root"].get("/api/me").status_code == 401
    r = cli("users", "remove", "boss", "--yes", *where(tmp_path))
    assert r.exit_code == 2 and "boss is the last admin account" in said(r.output)


def test_a_role_changed_while_removing_is_not_removed(cli, tmp_path, monkeypatch):  # noqa: F811
    """The account was read as a coach, then made the last admin: its checks no longer hold."""
    import dataclasses

    from kneeback.web import removal

    w = team_app(tmp_path)
    app = w["app"]
    found = removal.find_account
    monkeypatch.setattr(
        removal,
        "find_account",
        lambda db, name: dataclasses.replace(found(db, name), role="coach"),
    )
    r = cli("users", "remove", "root", "--yes", *where(tmp_path))
    assert r.exit_code == 2
    assert "root became admin while it was being removed, so it was not removed" in said(r.output)
    assert user_id(app, "root") is not None


def test_an_unknown_name_is_refused_like_users_password_refuses_it(cli, tmp_path):  # noqa: F811
    team_app(tmp_path)
    r = cli("users", "remove", "nobody", "--yes", *where(tmp_path))
    assert r.exit_code == 2 and "No account named 'nobody'." in r.output
    r = cli("users", "password", "nobody", "--password-stdin", *where(tmp_path)[:2], input="x\n")
    assert r.exit_code == 2


def test_without_a_terminal_only_yes_removes(cli, tmp_path):  # noqa: F811
    w = team_app(tmp_path)
    r = cli("users", "remove", "ben", *where(tmp_path))
    assert r.exit_code == 2
    assert "Not removing ben: there is no terminal to ask on, so pass --yes" in said(r.output)
    assert user_id(w["app"], "ben") is not None
    assert w["ben"].get("/api/me").status_code == 200


def test_a_running_analysis_holds_the_removal_back(cli, tmp_path):  # noqa: F811
    w = team_app(tmp_path)
    app = w["app"]
    clip = queued_upload(app, "ana")
    uid = app.state.web.db.read(
        lambda s: s.scalar(select(Job.uid).where(Job.upload_path == str(clip)))
    )
    set_job_state(app, uid, "running")
    r = cli("users", "remove", "ana", "--yes", *where(tmp_path))
    assert r.exit_code == 2
    assert "An analysis of ana's is running, so nothing was deleted" in said(r.output)
    assert user_id(app, "ana") is not None and clip.exists()
    assert count(app, Person.name == "ana") == 1
    set_job_state(app, uid, "failed")  # it has finished
    assert cli("users", "remove", "ana", "--yes", *where(tmp_path)).exit_code == 0
    assert user_id(app, "ana") is None and not clip.exists()
