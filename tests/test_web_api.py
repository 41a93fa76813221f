"""What a client of the JSON API relies on: paged lists (``limit``, ``offset``, ``X-Total-Count``
and RFC 8288 ``Link`` headers, limited in the database, in a stable order), checked on every list
endpoint of the app, on SQLite and PostgreSQL, with rows stored directly (no analysis run); and a
member's history, progress and program typed in the schema, checked on a real analysed session;
uploads made safe to retry with an ``Idempotency-Key``, and a database from before it upgraded.
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
from test_web import PASSWORD, api_user, client, make_settings, tiny_video, world  # noqa: F401
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
    from store_fixtures import backend_database  # a plugin: imported once registered

    url, drop = backend_database(request.param, root, postgres_server)
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


# ---- Idempotency-Key on uploads ------------------------------------------------------------------


@pytest.fixture
def uploader(tmp_path):
    """An app, two members (ann, ben) and two different small clips."""
    app = create_app(make_settings(tmp_path))
    ann, ann_csrf = api_user(app, "ann")
    ben, ben_csrf = api_user(app, "ben")
    clip = tiny_video(tmp_path / "a.mp4").read_bytes()
    other = tiny_video(tmp_path / "b.mp4", frames=10).read_bytes()
    assert clip != other
    return {
        "app": app,
        "ann": (ann, ann_csrf),
        "ben": (ben, ben_csrf),
        "clip": clip,
        "other": other,
    }


def keyed_upload(u, who: str, key, data: bytes | None = None):
    c, csrf = u[who]
    headers = {CSRF_HEADER: csrf}
    if key is not None:
        headers["Idempotency-Key"] = key
    files = {"file": ("clip.mp4", u["clip"] if data is None else data, "video/mp4")}
    return c.post("/api/uploads", files=files, data={"movement": "auto"}, headers=headers)


def stored(u) -> tuple[int, int]:
    """(job rows, files in the upload folder)."""
    jobs = u["app"].state.web.db.read(lambda s: len(s.scalars(select(Job)).all()))
    folder = u["app"].state.web.settings.upload_dir
    return jobs, len(list(folder.iterdir())) if folder.exists() else 0


def test_a_retry_with_the_same_key_gets_the_first_job_back(uploader):
    u = uploader
    first = keyed_upload(u, "ann", "3f1c-upload-1")
    assert first.status_code == 202, first.text
    again = keyed_upload(u, "ann", "3f1c-upload-1")
    assert again.status_code == 200, again.text
    assert (
        again.headers["location"] == first.headers["location"] == f"/api/jobs/{first.json()['id']}"
    )
    assert again.json() == u["ann"][0].get(first.headers["location"]).json()
    assert stored(u) == (1, 1)  # no second job, no second file
    assert keyed_upload(u, "ann", "3f1c-upload-1").status_code == 200
    assert stored(u) == (1, 1)
    # another key with another file is another upload; the same file again is not (409)
    assert keyed_upload(u, "ann", "3f1c-upload-2", u["other"]).status_code == 202
    assert keyed_upload(u, "ann", "3f1c-upload-3").status_code == 409
    assert keyed_upload(u, "ann", None).status_code == 409
    assert stored(u) == (2, 2)


def test_the_same_key_from_another_account_is_another_upload(uploader):
    u = uploader
    mine = keyed_upload(u, "ann", "shared-key")
    theirs = keyed_upload(u, "ben", "shared-key")
    assert mine.status_code == theirs.status_code == 202
    assert mine.json()["id"] != theirs.json()["id"]
    assert u["ben"][0].get(mine.headers["location"]).status_code == 404  # still not ben's
    assert keyed_upload(u, "ben", "shared-key").json()["id"] == theirs.json()["id"]
    assert stored(u) == (2, 2)


def test_a_key_sent_with_another_file_is_422_and_stores_nothing(uploader):
    u = uploader
    first = keyed_upload(u, "ann", "k-1")
    r = keyed_upload(u, "ann", "k-1", u["other"])
    assert r.status_code == 422
    assert r.json() == {
        "detail": "This Idempotency-Key was used for another upload (a different file) in the "
        "last 24 hours; send a new key with this clip."
    }
    assert stored(u) == (1, 1)
    assert keyed_upload(u, "ann", "k-1").json()["id"] == first.json()["id"]  # still its key


@pytest.mark.parametrize(
    "key",
    ["", "x" * 201, "tab\there", "del\x7f", "caf\xe9".encode("latin-1"), "\u00e9".encode()],
)
def test_a_malformed_key_is_400_with_a_sentence(uploader, key):
    r = keyed_upload(uploader, "ann", key)
    assert r.status_code == 400, r.text
    assert r.json() == {
        "detail": "The Idempotency-Key header must be 1 to 200 printable ASCII characters "
        "(a random UUID is a good key)."
    }
    assert stored(uploader) == (0, 0)


def test_keys_of_one_and_of_two_hundred_printable_characters_are_accepted(uploader, tmp_path):
    keys = ("a", "~" * 200, "a key with spaces and !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    for frames, key in enumerate(keys, start=11):  # a file of its own each (the same is a 409)
        clip = tiny_video(tmp_path / f"{frames}.mp4", frames=frames).read_bytes()
        assert keyed_upload(uploader, "ann", key, clip).status_code == 202, key
    assert stored(uploader) == (3, 3)


def test_a_key_names_its_job_for_24_hours(uploader):
    u = uploader
    first = keyed_upload(u, "ann", "daily")
    db = u["app"].state.web.db

    def age(hours):
        def work(s):
            job = s.scalar(select(Job).where(Job.uid == first.json()["id"]))
            job.created_at = utcnow() - dt.timedelta(hours=hours)

        db.write(work)

    age(23.9)
    assert keyed_upload(u, "ann", "daily").status_code == 200
    age(24.1)
    later = keyed_upload(u, "ann", "daily", u["other"])  # a new upload: another file is fine
    assert later.status_code == 202 and later.json()["id"] != first.json()["id"]
    assert keyed_upload(u, "ann", "daily", u["other"]).json()["id"] == later.json()["id"]
    assert u["ann"][0].get(first.headers["location"]).status_code == 200  # the old job stays
    assert stored(u) == (2, 2)


def test_a_refused_keyed_upload_keeps_no_key(uploader):
    """A file that is not a video is 415 and queues nothing: the key is still free."""
    u = uploader
    assert keyed_upload(u, "ann", "k", b"not a video at all").status_code == 415
    assert stored(u) == (0, 0)
    assert keyed_upload(u, "ann", "k").status_code == 202
    c, _ = u["ann"]
    r = c.post(
        "/api/uploads", files={"file": ("c.mp4", u["clip"])}, headers={"Idempotency-Key": "k"}
    )
    assert r.status_code == 403  # the CSRF header is checked first, as without a key
    assert stored(u) == (1, 1)


def test_the_upload_schema_documents_the_key(uploader):
    op = client(uploader["app"]).get("/openapi.json").json()["paths"]["/api/uploads"]["post"]
    (param,) = [p for p in op["parameters"] if p["name"] == "Idempotency-Key"]
    assert param["in"] == "header" and not param["required"]
    assert param["schema"]["maxLength"] == 200 and param["schema"]["minLength"] == 1
    assert {"200", "202", "400", "422"} <= set(op["responses"])
    job = {"$ref": "#/components/schemas/JobOut"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == job


def test_two_requests_with_one_key_queue_one_job(db_url, tmp_path, monkeypatch):
    """The second of two requests racing with one key meets the unique index and gets the job."""
    from kneeback.store import open_database
    from kneeback.web import jobs

    with open_database(db_url) as db:
        account = create_user(db, "racer", PASSWORD)
        first = jobs.enqueue_keyed_job(db, account.id, tmp_path / "a", key="k", upload_sha256="a")
        assert first.created
        # the other request looked before the first one's job was committed: it saw nothing
        looks, real = [], jobs._fresh_keyed_job

        def blind_once(*args):
            looks.append(args)
            return None if len(looks) == 1 else real(*args)

        monkeypatch.setattr(jobs, "_fresh_keyed_job", blind_once)
        late = jobs.enqueue_keyed_job(db, account.id, tmp_path / "b", key="k", upload_sha256="a")
        assert len(looks) == 2  # looked again after the unique index refused the second job
        assert late == jobs.KeyedJob(uid=first.uid, upload_sha256="a", created=False)
        assert db.read(lambda s: len(s.scalars(select(Job)).all())) == 1


def test_a_database_from_before_upload_keys_opens_and_works(db_url, tmp_path):
    """A database at revision 0003 (jobs without keys) is upgraded when the app starts."""
    from sqlalchemy import create_engine, text

    from kneeback.store import open_database
    from kneeback.store.db import _sqlite_setup, current_revision, migrate

    engine = create_engine(db_url)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    migrate(engine, revision="0003")
    with open_database(db_url, upgrade=False) as db:
        account = create_user(db, "olga", PASSWORD)
    now = utcnow().replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO web_jobs (uid, user_id, upload_path, movement, state, stage, done, "
                "total, attempts, created_at, updated_at) VALUES ('old', :u, '/gone.mp4', "
                "'auto', 'failed', '', 0, 0, 1, :t, :t)"
            ),
            {"u": account.id, "t": now},
        )
    engine.dispose()
    app = create_app(make_settings(tmp_path, database_url=db_url))
    try:
        assert current_revision(app.state.web.db.engine) == "0006"
        c = client(app)
        r = c.post("/api/login", json={"username": "olga", "password": PASSWORD})
        u = {"app": app, "olga": (c, r.json()["csrf_token"])}
        u["clip"] = tiny_video(tmp_path / "a.mp4").read_bytes()
        assert [j["id"] for j in c.get("/api/jobs").json()] == ["old"]
        first = keyed_upload(u, "olga", "after-upgrade")
        assert first.status_code == 202, first.text
        assert keyed_upload(u, "olga", "after-upgrade").status_code == 200
        other = tiny_video(tmp_path / "b.mp4", frames=10).read_bytes()
        assert keyed_upload(u, "olga", None, other).status_code == 202
        assert c.get("/api/jobs").headers["x-total-count"] == "3"
    finally:
        app.state.web.db.close()
