"""The coach review flow through FastAPI's TestClient: a member shares a session, the coach's queue
(oldest first, findings flagged), time-stamped comments, mark reviewed, ownership (404 for others'
ids, 401 or a redirect without a session) and CSRF. Sessions are stored rows (no analysis run).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("python_multipart")

from sqlalchemy import select

from kneeback.store.models import Artifact, Finding
from kneeback.store.models import Session as StoredSession
from kneeback.web import create_app
from kneeback.web.accounts import assign_member, create_user
from kneeback.web.app import CSRF_HEADER, PAGE_CSP
from kneeback.web.models import Comment, Share, User
from test_web import PASSWORD, api_user, client, make_settings


def add_session(app, username: str, *, day: int = 0) -> int:
    """Store a finished session of ``username`` with findings, its result and annotated video.

    The files lie in an output folder as the worker leaves one (beside a ``result.json``, which
    forgetting the session checks before deleting anything).
    """
    ctx = app.state.web
    video = ctx.settings.analysis_dir / secrets.token_hex(8) / "annotated.mp4"
    video.parent.mkdir(parents=True)
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    stored_result = '{"schema_version": 1}'
    (video.parent / "result.json").write_text(stored_result)

    def work(s):
        person_id = s.scalar(select(User.person_id).where(User.username == username))
        row = StoredSession(
            uid=secrets.token_hex(16),
            person_id=person_id,
            recorded_at=dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC) + dt.timedelta(days=day),
            movement="squat",
            movement_recognised="squat",
            view="front",
            measurement="2d",
            capture_verdict="ok",
            verdict="needs_work",
            rep_count=3,
            result_schema_version=1,
            result_json=stored_result,
        )
        row.findings = [
            Finding(
                rule_id="knee_valgus",
                severity="major",
                grade="clear",
                source="rule",
                title="Knees cave in",
                text="Your knees move inwards on the way up.",
                cue="Push your knees out",
                rep_index=1,
                time_s=2.5,
            ),
            Finding(
                rule_id="depth",
                severity="positive",
                grade="clear",
                source="rule",
                title="Good depth",
                text="You reach parallel.",
            ),
        ]
        row.artifacts = [
            Artifact(kind="annotated_mp4", path=str(video.resolve())),
            Artifact(kind="result_json", path=str(video.parent.resolve() / "result.json")),
        ]
        s.add(row)
        s.flush()
        return row.id

    return ctx.db.write(work)


@pytest.fixture
def world(tmp_path):
    """alice and erin (members) are coached by carol; bob is a member and dave a coach of no one."""
    app = create_app(make_settings(tmp_path))
    w = {"app": app, "anon": client(app)}
    for name in ("alice", "bob", "erin"):
        w[name], w[name + "_csrf"] = api_user(app, name)
    for name in ("carol", "dave"):
        w[name], w[name + "_csrf"] = api_user(app, name, role="coach")
    w["root"], w["root_csrf"] = api_user(app, "root", role="admin")
    assign_member(app.state.web.db, "carol", "alice")
    assign_member(app.state.web.db, "carol", "erin")
    w["a1"] = add_session(app, "alice", day=0)
    w["a2"] = add_session(app, "alice", day=1)
    w["e1"] = add_session(app, "erin", day=2)
    w["b1"] = add_session(app, "bob", day=3)
    return w


def post(w, who: str, path: str, json=None, *, csrf: bool = True):
    headers = {CSRF_HEADER: w[who + "_csrf"]} if csrf else {}
    return w[who].post(path, json=json, headers=headers)


def form_token(c, path: str) -> str:
    r = c.get(path)
    assert r.status_code == 200, r.text
    return re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)


def set_shared_at(app, session_id: int, when: dt.datetime) -> None:
    def work(s):
        s.get(Share, session_id).shared_at = when

    app.state.web.db.write(work)


# ---- the flow ------------------------------------------------------------------------------------


def test_share_queue_comment_and_mark_reviewed(world):
    w = world
    assert w["carol"].get("/api/review").json() == []
    r = post(w, "alice", f"/api/sessions/{w['a2']}/share")
    assert r.status_code == 200, r.text
    assert r.json()["shared"] is True and r.json()["reviewed_at"] is None
    assert post(w, "erin", f"/api/sessions/{w['e1']}/share").status_code == 200
    assert post(w, "alice", f"/api/sessions/{w['a1']}/share").status_code == 200
    base = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    for sid, hours in ((w["a2"], 1), (w["e1"], 0), (w["a1"], 2)):
        set_shared_at(w["app"], sid, base + dt.timedelta(hours=hours))

    # the queue: oldest share first, findings flagged
    queue = w["carol"].get("/api/review").json()
    assert [q["id"] for q in queue] == [w["e1"], w["a2"], w["a1"]]
    assert [q["owner"] for q in queue] == ["erin", "alice", "alice"]
    assert queue[0]["severity"] == {"major": 1, "positive": 1}
    assert [f["title"] for f in queue[0]["needs_work"]] == ["Knees cave in"]
    page = w["carol"].get("/review")
    assert page.status_code == 200
    assert page.text.index(f"/sessions/{w['e1']}") < page.text.index(f"/sessions/{w['a2']}")
    assert "Knees cave in" in page.text
    # the counts in the people's words, not the internal severity names
    assert "Findings: 1 main focus, 1 well done" in page.text, page.text
    assert not re.search(r"\d (major|minor|positive|info)\b", page.text)
    assert w["dave"].get("/api/review").json() == []  # coaches no one
    assert len(w["root"].get("/api/review").json()) == 3  # admin sees all

    # the coach's player: video, comment form, the script from /static
    page = w["carol"].get(f"/sessions/{w['a2']}").text
    assert 'id="session-video"' in page and 'id="comment-form"' in page
    video = re.search(r'<video id="session-video"[^>]*>', page).group(0)
    assert 'aria-label="Your clip, annotated: skeleton, angles and rep counter"' in video, video
    assert '<script src="/static/review.js"' in page and "Mark reviewed" in page
    assert w["carol"].get("/static/review.js").status_code == 200
    # a comment at a moment of the video (API and form)
    r = post(w, "carol", f"/api/sessions/{w['a2']}/comments", {"time_s": 2.46, "text": "Knees!"})
    assert r.status_code == 201, r.text
    assert r.json()["time_s"] == 2.5 and r.json()["author"] == "carol"
    token = form_token(w["carol"], f"/sessions/{w['a2']}")
    r = w["carol"].post(
        f"/sessions/{w['a2']}/comments",
        data={"time_s": "0.8", "text": "Nice setup", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/sessions/{w['a2']}#")

    # the member sees the comments, by moment, each seeking the video there
    comments = w["alice"].get(f"/api/sessions/{w['a2']}/comments").json()
    assert [(c["time_s"], c["text"]) for c in comments] == [(0.8, "Nice setup"), (2.5, "Knees!")]
    page = w["alice"].get(f"/sessions/{w['a2']}").text
    assert "Knees!" in page and "Nice setup" in page
    assert f'href="/sessions/{w["a2"]}/annotated.mp4#t=2.5"' in page and 'data-seek="2.5"' in page
    assert 'id="comment-form"' not in page  # members read, coaches write
    assert "waiting for review" in page

    # mark reviewed: out of the queue; the member sees who reviewed it
    r = post(w, "carol", f"/api/sessions/{w['a2']}/reviewed")
    assert r.status_code == 200 and r.json()["reviewed_by"] == "carol"
    assert [q["id"] for q in w["carol"].get("/api/review").json()] == [w["e1"], w["a1"]]
    token = form_token(w["carol"], f"/sessions/{w['e1']}")
    r = w["carol"].post(
        f"/sessions/{w['e1']}/reviewed", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/review"
    assert [q["id"] for q in w["carol"].get("/api/review").json()] == [w["a1"]]
    assert "Reviewed by carol" in w["alice"].get(f"/sessions/{w['a2']}").text
    # sharing again puts it back in the queue (newest)
    assert post(w, "alice", f"/api/sessions/{w['a2']}/share").json()["reviewed_at"] is None
    assert [q["id"] for q in w["carol"].get("/api/review").json()] == [w["a1"], w["a2"]]


def test_share_with_the_form_button(world):
    w = world
    page = w["alice"].get(f"/sessions/{w['a1']}").text
    assert "Share with my coach" in page
    assert "There is something to practise." in page  # the verdict explained
    token = form_token(w["alice"], f"/sessions/{w['a1']}")
    r = w["alice"].post(
        f"/sessions/{w['a1']}/share", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/sessions/{w['a1']}"
    page = w["alice"].get(f"/sessions/{w['a1']}").text
    assert "Shared with your coach (carol)" in page and "waiting for review" in page
    assert [q["id"] for q in w["carol"].get("/api/review").json()] == [w["a1"]]


def test_a_member_without_a_coach_is_told_who_sees_what_they_share(world):
    """bob has no coach: he is not told his coach will review it; the admins' queue has it."""
    w = world
    page = w["bob"].get(f"/sessions/{w['b1']}").text
    assert "You have no coach yet" in page and "Share for review" in page
    assert "Share with my coach" not in page
    r = post(w, "bob", f"/api/sessions/{w['b1']}/share")
    assert r.status_code == 200 and r.json()["coaches"] == []
    page = w["bob"].get(f"/sessions/{w['b1']}").text
    assert "Shared with your coach" not in page and "the program's staff see it" in page
    assert [q["id"] for q in w["root"].get("/api/review").json()] == [w["b1"]]
    assert post(w, "alice", f"/api/sessions/{w['a1']}/share").json()["coaches"] == ["carol"]


def test_members_do_not_review_and_bad_comments_are_refused(world):
    w = world
    sid = w["a1"]
    assert w["alice"].get("/api/review").status_code == 403
    assert w["alice"].get("/review").status_code == 403
    assert (
        post(w, "alice", f"/api/sessions/{sid}/comments", {"time_s": 1, "text": "x"}).status_code
        == 403
    )
    # refused as a member whatever was written, not told to fix the comment first
    blank = {"time_s": 1, "text": " "}  # well-formed JSON, refused by the comment's own check
    assert post(w, "alice", f"/api/sessions/{sid}/comments", blank).status_code == 403
    form = {"time_s": "-1", "text": "", "csrf_token": w["alice_csrf"]}
    assert w["alice"].post(f"/sessions/{sid}/comments", data=form).status_code == 403
    assert post(w, "alice", f"/api/sessions/{sid}/share").status_code == 200
    assert post(w, "alice", f"/api/sessions/{sid}/reviewed").status_code == 403
    # a coach cannot share a member's session for them (only the member's own are theirs)
    assert post(w, "carol", f"/api/sessions/{w['a2']}/share").status_code == 404
    # marking an unshared session reviewed
    assert post(w, "carol", f"/api/sessions/{w['a2']}/reviewed").status_code == 409
    for body in ({"time_s": -1, "text": "x"}, {"time_s": 1, "text": ""}, {"time_s": 1}):
        r = post(w, "carol", f"/api/sessions/{sid}/comments", body)
        assert r.status_code == 422, body
    assert (
        post(w, "carol", f"/api/sessions/{sid}/comments", {"time_s": 1, "text": "  "}).status_code
        == 400
    )
    token = form_token(w["carol"], f"/sessions/{sid}")
    r = w["carol"].post(
        f"/sessions/{sid}/comments", data={"time_s": "soon", "text": "x", "csrf_token": token}
    )
    assert r.status_code == 400 and "The moment of a comment is a number" in r.text
    assert ">x</textarea>" in r.text  # the coach's text is kept in the form
    assert w["alice"].get(f"/api/sessions/{sid}/comments").json() == []


def test_a_comment_after_the_end_of_the_clip_is_refused(world):
    w = world

    def set_length(s):
        s.get(StoredSession, w["a1"]).result_json = '{"capture": {"duration_s": 9.0}}'

    w["app"].state.web.db.write(set_length)
    sid = w["a1"]
    r = post(w, "carol", f"/api/sessions/{sid}/comments", {"time_s": 9999, "text": "late"})
    assert r.status_code == 400 and "after the end of the clip (9.0 s)" in r.json()["detail"]
    r = post(w, "carol", f"/api/sessions/{sid}/comments", {"time_s": 9.2, "text": "end"})
    assert r.status_code == 201, r.text
    page = w["carol"].get(f"/sessions/{sid}").text
    assert 'max="9.5"' in page  # the form's own limit
    token = form_token(w["carol"], f"/sessions/{sid}")
    r = w["carol"].post(
        f"/sessions/{sid}/comments",
        data={"time_s": "12", "text": "Look at the knees here", "csrf_token": token},
    )
    assert r.status_code == 400 and "after the end of the clip" in r.text
    assert "Look at the knees here</textarea>" in r.text and 'value="12"' in r.text
    assert [c["text"] for c in w["alice"].get(f"/api/sessions/{sid}/comments").json()] == ["end"]


# ---- ownership, no session, CSRF -----------------------------------------------------------------

API_ROUTES = [
    ("POST", "/api/sessions/{sid}/share", None),
    ("GET", "/api/sessions/{sid}/comments", None),
    ("POST", "/api/sessions/{sid}/comments", {"time_s": 1.0, "text": "hello"}),
    ("POST", "/api/sessions/{sid}/reviewed", None),
]
FORM_ROUTES = [
    ("/sessions/{sid}/share", {}),
    ("/sessions/{sid}/comments", {"time_s": "1", "text": "hello"}),
    ("/sessions/{sid}/reviewed", {}),
]


def test_another_member_or_coach_gets_404(world):
    w = world
    sid = w["a1"]
    assert post(w, "alice", f"/api/sessions/{sid}/share").status_code == 200
    post(w, "carol", f"/api/sessions/{sid}/comments", {"time_s": 1.0, "text": "secret note"})
    for who in ("bob", "dave"):
        for method, path, body in API_ROUTES:
            headers = {CSRF_HEADER: w[who + "_csrf"]}
            r = w[who].request(method, path.format(sid=sid), json=body, headers=headers)
            assert r.status_code == 404, (who, method, path, r.text)
        for path, data in FORM_ROUTES:
            token = form_token(w[who], "/")
            r = w[who].post(path.format(sid=sid), data=data | {"csrf_token": token})
            assert r.status_code == 404, (who, path)
        assert w[who].get(f"/sessions/{sid}").status_code == 404
    assert w["bob"].get("/api/review").status_code == 403  # a member has no queue
    assert w["dave"].get("/api/review").json() == []
    assert f"/sessions/{sid}" not in w["dave"].get("/review").text
    # a member's own sessions are theirs alone: alice cannot share or read bob's
    assert post(w, "alice", f"/api/sessions/{w['b1']}/share").status_code == 404
    assert w["alice"].get(f"/api/sessions/{w['b1']}/comments").status_code == 404
    # carol does not coach bob
    assert (
        post(
            w, "carol", f"/api/sessions/{w['b1']}/comments", {"time_s": 1, "text": "x"}
        ).status_code
        == 404
    )
    assert post(w, "carol", f"/api/sessions/{w['b1']}/reviewed").status_code == 404
    # nothing changed for alice's session
    assert [c["text"] for c in w["alice"].get(f"/api/sessions/{sid}/comments").json()] == [
        "secret note"
    ]
    assert [q["id"] for q in w["carol"].get("/api/review").json()] == [sid]
    # unknown ids
    assert post(w, "carol", "/api/sessions/999999/reviewed").status_code == 404


def test_without_a_session_401_or_redirect(world):
    w = world
    sid = w["a1"]
    anon = w["anon"]
    for method, path, body in [*API_ROUTES, ("GET", "/api/review", None)]:
        r = anon.request(method, path.format(sid=sid), json=body)
        assert r.status_code == 401, (method, path)
    for path, data in [*FORM_ROUTES]:
        r = anon.post(path.format(sid=sid), data=data, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    r = anon.get("/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Freview"


def test_changes_without_or_with_a_wrong_csrf_token_are_refused(world):
    w = world
    sid = w["a1"]
    for who, path, body in [
        ("alice", "/api/sessions/{sid}/share", None),
        ("carol", "/api/sessions/{sid}/comments", {"time_s": 1.0, "text": "hello"}),
        ("carol", "/api/sessions/{sid}/reviewed", None),
    ]:
        url = path.format(sid=sid)
        assert w[who].post(url, json=body).status_code == 403, url
        r = w[who].post(url, json=body, headers={CSRF_HEADER: "wrong"})
        assert r.status_code == 403, url
    for who, path, data in [
        ("alice", "/sessions/{sid}/share", {}),
        ("carol", "/sessions/{sid}/comments", {"time_s": "1", "text": "hello"}),
        ("carol", "/sessions/{sid}/reviewed", {}),
    ]:
        url = path.format(sid=sid)
        assert w[who].post(url, data=data).status_code == 403, url
        assert w[who].post(url, data=data | {"csrf_token": "wrong"}).status_code == 403, url
    # another account's token is no good either
    r = w["carol"].post(
        f"/api/sessions/{sid}/comments",
        json={"time_s": 1.0, "text": "x"},
        headers={CSRF_HEADER: w["dave_csrf"]},
    )
    assert r.status_code == 403
    assert w["alice"].get(f"/api/sessions/{sid}/comments").json() == []
    assert w["carol"].get("/api/review").json() == []


def test_the_page_script_is_allowed_by_the_csp_and_nothing_inline(world):
    w = world
    r = w["carol"].get(f"/sessions/{w['a1']}")
    csp = r.headers["content-security-policy"]
    assert csp == PAGE_CSP and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert re.search(r"<script>", r.text) is None  # no inline script
    assert re.search(r"\son[a-z]+=", r.text) is None  # no inline handlers


def test_each_finding_link_names_its_finding(world):
    """A screen reader's list of links tells the "how this is judged" links apart: each holds its
    finding's title (and rep) as visually hidden text (a class the style sheet hides the
    standard way)."""
    page = world["alice"].get(f"/sessions/{world['a1']}").text
    links = re.findall(r'<a class="muted" href="/rules#([a-z_]+)">(.*?)</a>', page, re.S)
    names = [(rule, re.sub(r"<[^>]+>", "", inner)) for rule, inner in links]
    assert names == [
        ("knee_valgus", "how this is judged (Knees cave in, rep 2)"),
        ("depth", "how this is judged (Good depth)"),
    ], links
    assert all('<span class="visually-hidden"> (' in inner for _, inner in links)
    css = world["anon"].get("/static/style.css").text
    rule = re.search(r"\.visually-hidden\s*\{([^}]*)\}", css)
    assert rule and "clip: rect(0, 0, 0, 0)" in rule.group(1)
    assert "position: absolute" in rule.group(1)


def test_openapi_names_the_review_routes(world):
    paths = world["anon"].get("/openapi.json").json()["paths"]
    assert {
        "/api/review",
        "/api/sessions/{session_id}/share",
        "/api/sessions/{session_id}/comments",
        "/api/sessions/{session_id}/reviewed",
    } <= set(paths)


def test_web_tables_include_shares_and_comments_and_cascade(world):
    from sqlalchemy import inspect

    app = world["app"]
    engine = app.state.web.db.engine
    names = set(inspect(engine).get_table_names())
    assert {"web_shares", "web_comments"} <= names
    cols = {c["name"] for c in inspect(engine).get_columns("web_shares")}
    assert cols == {"session_id", "shared_at", "reviewed_at", "reviewed_by"}
    cols = {c["name"] for c in inspect(engine).get_columns("web_comments")}
    assert cols == {"id", "session_id", "author_id", "time_s", "text", "created_at"}
    post(world, "alice", f"/api/sessions/{world['a1']}/share")
    post(world, "carol", f"/api/sessions/{world['a1']}/comments", {"time_s": 1, "text": "x"})

    def count(s):
        return len(s.scalars(select(Share)).all()), len(s.scalars(select(Comment)).all())

    assert app.state.web.db.read(count) == (1, 1)


def test_a_database_whose_web_tables_the_old_app_made_keeps_its_accounts(tmp_path):
    """Before revision 0003 the app created some web tables itself; upgrading keeps their rows."""
    from sqlalchemy import create_engine, inspect

    from kneeback.store import open_database
    from kneeback.store.db import _sqlite_setup, current_revision, migrate
    from kneeback.store.models import Base
    from kneeback.web.accounts import authenticate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    _sqlite_setup(engine)
    migrate(engine, revision="0002")
    old = [Base.metadata.tables[n] for n in ("web_users", "web_login_sessions", "web_jobs")]
    Base.metadata.create_all(engine, tables=old)
    with open_database(url, upgrade=False) as db:
        create_user(db, "olga", PASSWORD)
    engine.dispose()
    with open_database(url) as db:
        assert current_revision(db.engine) == "0006"
        assert {"web_shares", "web_comments", "web_articles"} <= set(
            inspect(db.engine).get_table_names()
        )
        assert authenticate(db, "olga", PASSWORD) is not None


def test_a_recognised_movement_that_needs_work_says_how_to_name_another(world):
    w = world
    result = (
        '{"verdict": "needs_work", "movement": {"recognised": "squat", "used": "squat", '
        '"confidence": 1.0, "stated": null}}'
    )

    def set_result(s):
        s.get(StoredSession, w["a1"]).result_json = result

    w["app"].state.web.db.write(set_result)
    page = w["alice"].get(f"/sessions/{w['a1']}").text
    assert "recognised as a squat from how you moved" in page
    assert "the movement choice of the upload form" in page


def test_control_characters_are_not_stored(world):
    """A NUL (which PostgreSQL's text columns refuse) or other control character typed or sent
    in a comment is dropped; line breaks and tabs stay."""
    from kneeback.web.text import clean_text

    assert clean_text("  a\x00b\x07c\n\td\x7f  ") == "abc\n\td"
    w = world
    r = post(w, "carol", f"/api/sessions/{w['a1']}/comments", {"time_s": 1, "text": "knee\x00s"})
    assert r.status_code == 201 and r.json()["text"] == "knees"


def test_the_share_state_can_be_read_without_changing_it(world):
    w = world
    sid = w["a1"]
    before = w["alice"].get(f"/api/sessions/{sid}/share")
    assert before.status_code == 200 and before.json()["shared"] is False
    assert post(w, "alice", f"/api/sessions/{sid}/share").status_code == 200
    assert post(w, "carol", f"/api/sessions/{sid}/reviewed").status_code == 200
    reviewed = w["alice"].get(f"/api/sessions/{sid}/share").json()
    assert reviewed["shared"] is True and reviewed["reviewed_at"] is not None
    assert w["carol"].get(f"/api/sessions/{sid}/share").json() == reviewed  # a read changes nothing
    assert w["bob"].get(f"/api/sessions/{sid}/share").status_code == 404
