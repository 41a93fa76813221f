"""What a client of the JSON API relies on: paged lists (``limit``, ``offset``, ``X-Total-Count``
and RFC 8288 ``Link`` headers, limited in the database, in a stable order), checked on every list
endpoint of the app, on SQLite and PostgreSQL, with rows stored directly (no analysis run); and a
member's history, progress and program typed in the schema, checked on a real analysed session.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import secrets

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("python_multipart")

from sqlalchemy import event, select

from kneeback.store.models import utcnow
from kneeback.web import create_app
from kneeback.web.accounts import assign_member, create_user
from kneeback.web.app import CSRF_HEADER
from kneeback.web.models import Article, Comment, Episode, Job, User
from replay_clip import needs_uiprmd
from test_web import PASSWORD, api_user, client, make_settings, world  # noqa: F401
from test_web_review import add_session, set_shared_at

pytest_plugins = ["store_fixtures"]

#: Every list endpoint of the API, with who may read it.
LISTS = {
    "/api/sessions": "alice",
    "/api/jobs": "alice",
    "/api/review": "carol",
    "/api/sessions/{sid}/comments": "alice",
    "/api/members": "root",
    "/api/admin/people": "root",
    "/api/articles": "anon",
    "/api/podcast/episodes": "anon",
}
#: How many of each the shelf holds: more than a page of two, not a whole number of pages.
N = 5
#: The comments on the second session: more than a default page.
MANY = 55


def _user_id(app, username: str) -> int:
    return app.state.web.db.read(
        lambda s: s.scalar(select(User.id).where(User.username == username))
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shelf(request, tmp_path_factory, postgres_server):
    """An app holding N of everything that is listed, many with equal times (order ties).

    alice (member, coached by carol) has N sessions recorded at the same moment, all shared with
    the same share time, N jobs queued at the same moment and N comments at the same moment of her
    first session; her second session has MANY comments. There are N + 1 members (alice, m1..m5)
    and N articles published on the same day, each with a podcast episode.
    """
    root = tmp_path_factory.mktemp("web")
    if request.param == "sqlite":
        url, drop = f"sqlite:///{root / 'kneeback.db'}", None
    elif postgres_server is None:
        pytest.skip("no PostgreSQL server")
    else:
        from store_fixtures import _pg_database

        url, drop = _pg_database(postgres_server)
    app = create_app(make_settings(root, database_url=url))
    w = {"app": app, "anon": client(app)}
    w["alice"], w["alice_csrf"] = api_user(app, "alice")
    w["carol"], _ = api_user(app, "carol", role="coach")
    w["root"], _ = api_user(app, "root", role="admin")
    db = app.state.web.db
    for i in range(1, N + 1):
        create_user(db, f"m{i}", PASSWORD)
    assign_member(db, "carol", "alice")
    sids = [add_session(app, "alice", day=0) for _ in range(N)]
    shared = dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC)
    for sid in sids:
        r = w["alice"].post(f"/api/sessions/{sid}/share", headers={CSRF_HEADER: w["alice_csrf"]})
        assert r.status_code == 200, r.text
        set_shared_at(app, sid, shared)
    alice_id, carol_id = _user_id(app, "alice"), _user_id(app, "carol")
    now = utcnow()

    def fill(s):
        for _ in range(N):
            s.add(
                Job(
                    uid=secrets.token_hex(16),
                    user_id=alice_id,
                    upload_path="/nowhere",
                    state="queued",
                    created_at=now,
                    updated_at=now,
                )
            )
        for i in range(N):
            s.add(Comment(session_id=sids[0], author_id=carol_id, time_s=1.5, text=f"c{i}"))
        for i in range(MANY):
            s.add(Comment(session_id=sids[1], author_id=carol_id, time_s=i / 10, text=f"n{i}"))
        day = dt.date.today() - dt.timedelta(days=3)
        for issue in range(1, N + 1):
            article = Article(
                issue=issue, slug=f"issue-{issue}", title=f"Issue {issue}", body_md="Text.",
                published_on=day,
            )  # fmt: skip
            s.add(article)
            s.flush()
            s.add(
                Episode(
                    guid=secrets.token_hex(8), article_id=article.id, title=f"Episode {issue}",
                    audio_name=f"{secrets.token_hex(16)}.mp3", audio_bytes=1000,
                    audio_type="audio/mpeg", duration_s=60.0,
                )
            )  # fmt: skip

    db.write(fill)
    w["sids"] = sids
    yield w
    db.close()
    if drop is not None:
        drop()


def _url(path: str, shelf) -> str:
    return path.format(sid=shelf["sids"][0])


def links(r) -> dict[str, str]:
    """The targets of an RFC 8288 Link header by relation."""
    return {
        rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', r.headers.get("link", ""))
    }


# ---- paging --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(LISTS))
def test_every_list_pages_with_a_total_and_links(shelf, path):
    c, url = shelf[LISTS[path]], _url(path, shelf)
    whole = c.get(f"{url}?limit=200")
    assert whole.status_code == 200, whole.text
    everything = whole.json()
    total = int(whole.headers["x-total-count"])
    assert total == len(everything) >= N
    assert "link" not in whole.headers  # one page holds it all
    seen, page, hops = [], c.get(f"{url}?limit=2"), 0
    assert "prev" not in links(page)
    while True:
        assert page.status_code == 200, page.text
        assert isinstance(page.json(), list) and len(page.json()) <= 2
        assert int(page.headers["x-total-count"]) == total
        seen += page.json()
        nxt = links(page).get("next")
        if nxt is None:
            break
        assert nxt == f"{url}?limit=2&offset={len(seen)}"
        page, hops = c.get(nxt), hops + 1
        assert links(page)["prev"] == f"{url}?limit=2&offset={len(seen) - 2}"
    assert seen == everything  # no item repeated or skipped, in the list's order
    assert hops == (total + 1) // 2 - 1
    middle = c.get(f"{url}?limit=2&offset=1")
    assert middle.json() == everything[1:3]
    assert links(middle) == {"next": f"{url}?limit=2&offset=3", "prev": f"{url}?limit=2&offset=0"}


def test_the_default_page_is_fifty(shelf):
    url = f"/api/sessions/{shelf['sids'][1]}/comments"
    r = shelf["alice"].get(url)
    assert len(r.json()) == 50 and r.headers["x-total-count"] == str(MANY)
    assert links(r) == {"next": f"{url}?limit=50&offset=50"}
    rest = shelf["alice"].get(links(r)["next"])
    assert [c["text"] for c in r.json() + rest.json()] == [f"n{i}" for i in range(MANY)]
    assert links(rest) == {"prev": f"{url}?limit=50&offset=0"}


def test_past_the_end_is_an_empty_page_with_the_total(shelf):
    r = shelf["alice"].get("/api/jobs?limit=2&offset=100")
    assert r.status_code == 200 and r.json() == []
    assert r.headers["x-total-count"] == str(N)
    assert links(r) == {"prev": "/api/jobs?limit=2&offset=98"}


def test_ties_in_time_are_ordered_by_id(shelf):
    sessions = shelf["alice"].get("/api/sessions?limit=200").json()
    assert [s["id"] for s in sessions] == sorted(shelf["sids"], reverse=True)  # newest first
    queue = shelf["carol"].get("/api/review?limit=200").json()
    assert [s["id"] for s in queue] == sorted(shelf["sids"])  # oldest share first
    jobs = shelf["alice"].get("/api/jobs?limit=200").json()
    assert len({j["created_at"] for j in jobs}) == 1
    ids = shelf["app"].state.web.db.read(
        lambda s: {uid: i for i, uid in s.execute(select(Job.id, Job.uid))}
    )
    assert [ids[j["id"]] for j in jobs] == sorted(ids.values(), reverse=True)
    comments = shelf["alice"].get(f"/api/sessions/{shelf['sids'][0]}/comments").json()
    assert [c["text"] for c in comments] == [f"c{i}" for i in range(N)]
    articles = shelf["anon"].get("/api/articles").json()
    assert [a["issue"] for a in articles] == list(range(N, 0, -1))
    episodes = shelf["anon"].get("/api/podcast/episodes").json()
    assert [e["issue"] for e in episodes] == list(range(N, 0, -1))


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("limit=0", "limit", "greater than or equal to 1"),
        ("limit=-3", "limit", "greater than or equal to 1"),
        ("limit=201", "limit", "less than or equal to 200"),
        ("limit=1000000000000000000000", "limit", "less than or equal to 200"),
        ("limit=ten", "limit", "valid integer"),
        ("limit=2.5", "limit", "valid integer"),
        ("offset=-1", "offset", "greater than or equal to 0"),
        (f"offset={2**64}", "offset", "less than or equal to"),
    ],
)
def test_a_window_out_of_range_is_422_naming_the_parameter(shelf, query, field, message):
    for path, who in LISTS.items():
        r = shelf[who].get(f"{_url(path, shelf)}?{query}")
        assert r.status_code == 422, (path, r.text)
        (error,) = r.json()["detail"]
        assert error["loc"] == ["query", field] and message in error["msg"], (path, error)


def test_the_largest_offset_is_an_empty_page_not_an_error(shelf):
    r = shelf["alice"].get(f"/api/sessions?offset={2**63 - 1 - 200}&limit=200")
    assert r.status_code == 200 and r.json() == []


def test_the_database_does_the_limiting(shelf):
    """The page's rows are selected with LIMIT and OFFSET, and the total counted in SQL."""
    engine = shelf["app"].state.web.db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        for path, who in LISTS.items():
            statements.clear()
            assert shelf[who].get(f"{_url(path, shelf)}?limit=2&offset=1").status_code == 200
            assert any("LIMIT" in s and "OFFSET" in s for s in statements), (path, statements)
            assert any("count(*)" in s for s in statements), path
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_pages_of_the_app_still_list_everything(shelf):
    page = shelf["carol"].get("/review")
    assert all(f"/sessions/{sid}" in page.text for sid in shelf["sids"])
    comments = shelf["alice"].get(f"/sessions/{shelf['sids'][1]}")
    assert f"n{MANY - 1}" in comments.text


def test_every_list_endpoint_is_paged_and_documented(shelf):
    """A list endpoint added later is caught here: each takes limit and offset, and says so."""
    paths = client(shelf["app"]).get("/openapi.json").json()["paths"]

    def answers_a_list(op) -> bool:
        content = op["responses"].get("200", {}).get("content", {})
        return content.get("application/json", {}).get("schema", {}).get("type") == "array"

    listed = {path for path, ops in paths.items() if "get" in ops and answers_a_list(ops["get"])}
    assert listed == {p.replace("{sid}", "{session_id}") for p in LISTS}
    for path in listed:
        op = paths[path]["get"]
        params = {p["name"]: p["schema"] for p in op["parameters"] if p["in"] == "query"}
        assert params["limit"]["default"] == 50 and params["limit"]["maximum"] == 200, path
        assert params["limit"]["minimum"] == 1 and params["offset"]["minimum"] == 0, path
        assert {"X-Total-Count", "Link"} <= set(op["responses"]["200"]["headers"]), path


# ---- typed member responses ----------------------------------------------------------------------

MEMBER_MODELS = {
    ("get", "/api/members/{username}/history"): "MemberHistory",
    ("get", "/api/members/{username}/progress"): "MemberProgress",
    ("get", "/api/members/{username}/program"): "MemberProgram",
    ("post", "/api/members/{username}/stage"): "MemberProgram",
}


def strict_validator(openapi: dict, name: str):
    """A JSON Schema validator of a component that refuses keys the schema does not describe."""
    jsonschema = pytest.importorskip("jsonschema")
    components = copy.deepcopy(openapi["components"])
    for schema in components["schemas"].values():
        if "properties" in schema:
            schema["additionalProperties"] = False
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": components}
    )


def test_openapi_names_the_member_models(shelf):
    openapi = client(shelf["app"]).get("/openapi.json").json()
    for (method, path), name in MEMBER_MODELS.items():
        schema = openapi["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        assert schema["schema"] == {"$ref": f"#/components/schemas/{name}"}, path
    schemas = openapi["components"]["schemas"]
    assert "in the unit" in schemas["Trend"]["properties"]["sdc"]["description"]
    assert "degrees" in schemas["HistorySession"]["properties"]["values"]["description"]
    assert "from" in schemas["StageChange"]["properties"]  # the key the JSON has
    program = schemas["MemberProgram"]
    assert set(program["required"]) == {"name", "program", "override", "tracks"}


@needs_uiprmd
def test_member_responses_are_what_the_store_returns_and_match_the_schema(world):  # noqa: F811
    """Real responses (alice's analysed session, outcomes, a coach's override): the schema
    describes every key, and the JSON is exactly what the store's functions return."""
    from kneeback.progress.report import person_progress, progress_to_dict
    from kneeback.store import person_history, program_status, record_outcome

    app, alice, carol = world["app"], world["alice"], world["carol"]
    db = app.state.web.db
    day = dt.datetime(2025, 3, 1, 8, tzinfo=dt.UTC)
    record_outcome(db, "alice", kind="odi", value=40.0, recorded_at=day)
    record_outcome(db, "alice", kind="odi", value=20.0, recorded_at=day + dt.timedelta(days=9))
    record_outcome(db, "alice", kind="five_sts", value=12.5, age=64, sex="female", recorded_at=day)
    r = carol.get("/api/me")
    stage = carol.post(
        "/api/members/alice/stage",
        json={"stage": "towel_squat", "reason": "Ready for more."},
        headers={CSRF_HEADER: r.json()["csrf_token"]},
    )
    assert stage.status_code == 200, stage.text
    openapi = client(app).get("/openapi.json").json()
    got = {
        "history": alice.get("/api/members/alice/history").json(),
        "progress": alice.get("/api/members/alice/progress").json(),
        "program": alice.get("/api/members/alice/program").json(),
        "stage": stage.json(),
    }
    history = person_history(db, "alice") | {"name": "alice"}
    for s in history["sessions"]:
        del s["source_path"], s["artifacts"]
    progress = progress_to_dict(person_progress(db, "alice")) | {"name": "alice"}
    want = {
        "history": history,
        "progress": progress | {"generated_at": got["progress"]["generated_at"]},
        "program": program_status(db, "alice") | {"name": "alice"},
    }
    models = {"history": "MemberHistory", "progress": "MemberProgress", "program": "MemberProgram"}
    for key, name in models.items():
        assert got[key] == want[key], key  # nothing dropped, nothing added
        strict_validator(openapi, name).validate(got[key])
    strict_validator(openapi, "MemberProgram").validate(got["stage"])
    # what the check covers: values, findings, outcomes, program changes, the override
    session = got["history"]["sessions"][0]
    assert session["values"] and session["findings"] and got["history"]["outcomes"]
    assert got["history"]["program_events"][-1]["kind"] == "override"
    assert got["progress"]["trends"]
    first, second = got["progress"]["outcomes"]["odi"]
    assert "change_since_first" not in first and "meaningful" not in first  # left out, not null
    assert second["meaningful"] is True and second["change_since_first"]
    assert got["stage"]["override"]["to"] == "towel_squat" and got["program"]["override"] is None
