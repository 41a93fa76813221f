"""The API's OpenAPI schema states its refusals, and they are true: walked from /openapi.json.

Every operation behind a login lists 401, every operation whose path names a row (a session, a
job, a member, an article, an episode, a comment) lists 404, every changing operation behind a
login lists 403 (no CSRF header), each with the ``{"detail": ...}`` body (``Problem``) the app
really sends; 422 is listed exactly where a JSON body or a query can fail validation, with the
list of field errors the app sends (``ValidationProblem``), and every operation lists the
``default`` response (503 when the database is down). ``POST /api/uploads`` states its streamed
multipart form. Then the declarations are checked against the app: each operation listing 401
answers 401 to a visitor, each one listing 404 answers 404 for an id that does not exist and for
another member's, each changing one answers 403 without the CSRF header, each listed 422 is
answered to a body or query that fails validation, and a sample of the role refusals (403), bad
values (400) and conflicts (409, among them the same clip uploaded again, with its ``Location``) is
answered as listed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("python_multipart")

from fastapi.routing import APIRoute
from sqlalchemy import select

from kneeback.web import create_app
from kneeback.web.accounts import assign_member
from kneeback.web.app import CSRF_HEADER, DATABASE_DOWN, current_account
from kneeback.web.content import MAX_NOTE_CHARS
from kneeback.web.jobs import enqueue_job
from kneeback.web.models import Job, User
from test_web import PASSWORD, api_user, client, make_settings
from test_web_review import add_session

#: Path parameters naming a row, and a value that names none.
ROW_PARAMS = {
    "session_id": "1000000000",
    "uid": "0" * 32,
    "username": "nobody",
    "slug": "no-such-article",
    "comment_id": "1000000000",
}
#: Operations that list 404 for a reason other than their path (no history stored).
OTHER_404 = {("GET", "/api/me/export")}
#: Operations whose route answers a 422 of its own (a Problem), not a validation error.
OWN_422 = {("POST", "/api/uploads")}
#: Requests that change something without a login, and so without a CSRF token to send.
NO_CSRF = {("POST", "/api/login"), ("POST", "/api/register")}
CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
ARTICLE = {"issue": 99, "title": "A title", "body_md": "Text.", "published_on": "2025-01-06"}
#: A valid body for each operation that needs one, so that the route itself answers.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/members/{username}/stage"): {"stage": "squat-1", "reason": "Ready."},
    ("POST", "/api/sessions/{session_id}/comments"): {"time_s": 1.0, "text": "Knees out."},
    ("POST", "/api/articles"): ARTICLE,
    ("PUT", "/api/articles/{slug}"): ARTICLE,
    ("POST", "/api/articles/{slug}/comments"): {"text": "Thanks."},
    ("POST", "/api/me/password"): {"current_password": "wrong", "new_password": "a new one!"},
    ("DELETE", "/api/me"): {"password": "wrong"},
    ("POST", "/api/admin/people"): {"username": "newcoach", "password": PASSWORD, "role": "coach"},
    ("POST", "/api/admin/assignments"): {"coach": "cora", "member": "bob"},
    ("POST", "/api/admin/assignments/remove"): {"coach": "cora", "member": "bob"},
}
PROBLEM = {"$ref": "#/components/schemas/Problem"}
VALIDATION_PROBLEM = {"$ref": "#/components/schemas/ValidationProblem"}


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    """alice, bob (members), cora (alice's coach) and root (admin), and rows to name.

    alice has a session (not shared), a queued job and a comment under root's published article
    ``out``; root also wrote a draft.
    """
    app = create_app(make_settings(tmp_path_factory.mktemp("web")))
    w: dict[str, Any] = {"app": app, "anon": client(app)}
    people = (("alice", "member"), ("bob", "member"), ("cora", "coach"), ("root", "admin"))
    for name, role in people:
        w[name], w[name + "_csrf"] = api_user(app, name, role=role)
    db = app.state.web.db
    assign_member(db, "cora", "alice")
    w["session"] = add_session(app, "alice")
    alice_id = db.read(lambda s: s.scalar(select(User.id).where(User.username == "alice")))
    w["job"] = enqueue_job(db, alice_id, Path("clip.mp4"))
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    draft = {"issue": 1, "title": "Draft", "slug": "draft", "body_md": "Text."}
    r = call(w, "root", "POST", "/api/articles", draft | {"published_on": later})
    assert r.status_code == 201, r.text
    out = {
        "issue": 2,
        "title": "Out",
        "slug": "out",
        "body_md": "Text.",
        "published_on": "2025-01-06",
    }
    assert call(w, "root", "POST", "/api/articles", out).status_code == 201
    r = call(w, "alice", "POST", "/api/articles/out/comments", {"text": "Thanks."})
    assert r.status_code == 201, r.text
    w["comment"] = r.json()["id"]
    w["schema"] = w["anon"].get("/openapi.json").json()
    return w


def call(
    w: dict[str, Any], who: str, method: str, path: str, body: Any = None, *, csrf: bool = True
) -> Any:
    """``who``'s request, with its CSRF header unless not ``csrf`` (``anon``: no session)."""
    headers = {CSRF_HEADER: w[who + "_csrf"]} if csrf and who != "anon" else {}
    return w[who].request(method, path, json=body, headers=headers)


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path template) -> the operation, for every operation of the schema."""
    return {
        (method.upper(), path): op
        for path, item in schema["paths"].items()
        for method, op in item.items()
    }


def login_operations(app: Any) -> set[tuple[str, str]]:
    """(METHOD, path template) of every API route that takes the ``LoggedIn`` dependency."""

    def routes(rs: list[Any]) -> Any:
        for r in rs:
            if hasattr(r, "original_router"):  # an included router
                yield from routes(r.original_router.routes)
            elif isinstance(r, APIRoute) and r.include_in_schema:
                yield r

    def calls(dependant: Any) -> Any:
        for d in dependant.dependencies:
            yield d.call
            yield from calls(d)

    return {
        (method, r.path_format)
        for r in routes(app.routes)
        if current_account in set(calls(r.dependant))
        for method in r.methods
    }


def changing_operations(w: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path template) of every operation that changes something behind a login."""
    return {key for key in login_operations(w["app"]) if key[0] in CHANGING}


def json_body(op: dict[str, Any]) -> bool:
    return "application/json" in op.get("requestBody", {}).get("content", {})


def query(op: dict[str, Any]) -> bool:
    return any(p["in"] == "query" for p in op.get("parameters", []))


def row_params(path: str) -> set[str]:
    return {name for name in ROW_PARAMS if f"{{{name}}}" in path}


def fill(path: str, **values: object) -> str:
    """The path with each row parameter replaced (by ``values``, else one naming nothing)."""
    for name, missing in ROW_PARAMS.items():
        path = path.replace(f"{{{name}}}", str(values.get(name, missing)))
    return path


def assert_problem(r: Any, status: int) -> None:
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text)
    body = r.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str), body


def assert_field_errors(r: Any) -> None:
    """The 422 the app sends for a body or query its types refuse: each field's error."""
    assert r.status_code == 422, (r.request.method, r.request.url, r.status_code, r.text)
    errors = r.json()["detail"]
    assert errors and all(set(e) == {"type", "loc", "msg"} for e in errors), errors


# ---- what the schema states ----------------------------------------------------------------------


def test_every_operation_behind_a_login_lists_401_and_no_other_does(w):
    ops = operations(w["schema"])
    behind = login_operations(w["app"])
    assert len(behind) >= 30 and behind <= set(ops)
    lists_401 = {key for key, op in ops.items() if "401" in op["responses"]}
    assert sorted(behind - lists_401) == []
    assert sorted(lists_401 - behind) == []
    for key in behind:
        refusal = ops[key]["responses"]["401"]
        assert refusal["content"]["application/json"]["schema"] == PROBLEM, key
        assert "WWW-Authenticate" in refusal["headers"], key


def test_every_operation_naming_a_row_lists_404_and_no_other_does(w):
    ops = operations(w["schema"])
    naming = {key for key in ops if row_params(key[1])}
    assert len(naming) >= 20
    lists_404 = {key for key, op in ops.items() if "404" in op["responses"]}
    assert sorted(naming - lists_404) == []
    assert sorted(lists_404 - naming) == sorted(OTHER_404)
    for key in lists_404:
        refusal = ops[key]["responses"]["404"]
        assert refusal["content"]["application/json"]["schema"] == PROBLEM, key


def test_every_declared_refusal_has_a_body(w):
    schemas = w["schema"]["components"]["schemas"]
    assert schemas["Problem"]["required"] == ["detail"]
    assert schemas["Problem"]["properties"]["detail"]["type"] == "string"
    for key, op in operations(w["schema"]).items():
        for status, response in op["responses"].items():
            if status == "default" or int(status) >= 400:
                assert response["description"], (key, status)
                assert "schema" in response.get("content", {}).get("application/json", {}), (
                    key,
                    status,
                )


def test_every_changing_operation_behind_a_login_lists_403_for_the_csrf_header(w):
    ops = operations(w["schema"])
    changing = changing_operations(w)
    assert len(changing) >= 19
    for key in changing:
        assert CSRF_HEADER in ops[key]["responses"]["403"]["description"], key
    unchecked = {key for key in ops if key[0] in CHANGING} - changing
    assert unchecked == NO_CSRF
    for key in unchecked:
        assert "403" not in ops[key]["responses"], key


def test_422_is_listed_exactly_where_a_body_or_query_can_fail_validation(w):
    """A path value the types refuse is a 404 (RowId), so a path alone never makes a 422."""
    ops = operations(w["schema"])
    validated = {key for key, op in ops.items() if json_body(op) or query(op)}
    lists_422 = {key for key, op in ops.items() if "422" in op["responses"]}
    assert len(validated) >= 20
    assert sorted(lists_422 - validated) == sorted(OWN_422)
    assert sorted(validated - lists_422) == []
    for key in validated:
        refusal = ops[key]["responses"]["422"]
        assert refusal["content"]["application/json"]["schema"] == VALIDATION_PROBLEM, key
    for key in OWN_422:
        assert ops[key]["responses"]["422"]["content"]["application/json"]["schema"] == PROBLEM
    schemas = w["schema"]["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    error = schemas["FieldProblem"]
    assert set(error["required"]) == {"type", "loc", "msg"}


def test_every_operation_lists_the_default_response_of_a_server_that_cannot_answer(w):
    for key, op in operations(w["schema"]).items():
        default = op["responses"]["default"]
        assert default["content"]["application/json"]["schema"] == PROBLEM, key
        assert "503" in default["description"] and "Retry-After" in default["headers"], key


def test_the_upload_states_its_streamed_form_and_refusals(w):
    op = w["schema"]["paths"]["/api/uploads"]["post"]
    body = op["requestBody"]
    assert body["required"] is True and set(body["content"]) == {"multipart/form-data"}
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"]
    assert form["properties"]["file"] == form["properties"]["file"] | {
        "type": "string",
        "format": "binary",
    }
    movement = form["properties"]["movement"]
    assert movement["type"] == "string" and movement["default"] == "auto"
    assert {"auto", "squat", "lunge"} <= set(movement["enum"])
    assert {"200", "202", "400", "401", "403", "409", "413", "415", "422"} <= set(op["responses"])
    for status in ("400", "401", "403", "409", "413", "415", "422"):
        assert op["responses"][status]["content"]["application/json"]["schema"] == PROBLEM
    assert set(op["responses"]["409"]["headers"]) == {"Location"}
    # the episode upload states its form the same way
    episode = w["schema"]["paths"]["/api/articles/{slug}/episode"]["post"]
    assert {"401", "403", "404", "413", "415"} <= set(episode["responses"])


# ---- and the app does as it states ---------------------------------------------------------------


def test_each_operation_listing_401_answers_401_to_a_visitor(w):
    listed = [key for key, op in operations(w["schema"]).items() if "401" in op["responses"]]
    assert len(listed) >= 30
    for method, path in listed:
        r = call(w, "anon", method, fill(path), BODIES.get((method, path)))
        assert_problem(r, 401)
        assert r.headers["www-authenticate"] == "Cookie"


def test_each_operation_listing_404_answers_404_for_a_row_that_does_not_exist(w):
    listed = [
        key
        for key, op in operations(w["schema"]).items()
        if "404" in op["responses"] and key not in OTHER_404
    ]
    assert len(listed) >= 20
    for method, path in listed:  # the admin sees every row there is, and may do everything
        assert_problem(call(w, "root", method, fill(path), BODIES.get((method, path))), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/sessions/{session_id}"),
        ("DELETE", "/api/sessions/{session_id}"),
        ("GET", "/api/sessions/{session_id}/share"),
        ("POST", "/api/sessions/{session_id}/share"),
        ("GET", "/api/sessions/{session_id}/comments"),
        ("POST", "/api/sessions/{session_id}/comments"),
        ("POST", "/api/sessions/{session_id}/reviewed"),
        ("GET", "/api/jobs/{uid}"),
        ("GET", "/api/members/{username}/history"),
        ("GET", "/api/members/{username}/progress"),
        ("GET", "/api/members/{username}/program"),
        ("POST", "/api/members/{username}/stage"),
        ("GET", "/api/articles/{slug}"),
        ("POST", "/api/articles/{slug}/comments"),
        ("GET", "/api/articles/{slug}/episode"),
    ],
)
def test_another_members_row_or_a_draft_is_404_like_a_missing_one(w, method, path):
    assert "404" in operations(w["schema"])[(method, path)]["responses"]
    mine = {"session_id": w["session"], "uid": w["job"], "username": "alice", "slug": "draft"}
    r = call(w, "bob", method, fill(path, **mine), BODIES.get((method, path)))
    assert_problem(r, 404)
    # alice sees her own rows, the admin the draft: the 404 was about whose they are
    owner = "root" if "{slug}" in path else "alice"
    seen = {
        "session_id": f"/api/sessions/{w['session']}",
        "uid": f"/api/jobs/{w['job']}",
        "username": "/api/members/alice/program",
        "slug": "/api/articles/draft",
    }
    for name in row_params(path):
        assert call(w, owner, "GET", seen[name]).status_code == 200


def test_each_changing_operation_answers_403_without_the_csrf_header(w):
    """Asked by the admin (a member uploads): the header is checked before the row or the role."""
    changing = sorted(changing_operations(w))
    assert len(changing) >= 19
    for method, path in changing:
        who = "alice" if path == "/api/uploads" else "root"
        r = call(w, who, method, fill(path), BODIES.get((method, path)), csrf=False)
        assert_problem(r, 403)
        assert r.json()["detail"] == f"Missing or wrong {CSRF_HEADER} header.", (method, path)


def test_each_listed_422_is_answered_to_a_body_or_query_that_fails_validation(w):
    ops = operations(w["schema"])
    bodies = [key for key, op in ops.items() if json_body(op)]
    queries = [key for key, op in ops.items() if query(op)]
    assert len(bodies) >= 10 and len(queries) >= 8
    for method, path in bodies:  # a list where an object belongs
        assert_field_errors(call(w, "root", method, fill(path), []))
    for method, path in queries:
        for bad in ("limit=0", "offset=-1", "limit=many"):
            assert_field_errors(call(w, "root", method, f"{fill(path)}?{bad}"))


@pytest.mark.parametrize("bad", ["abc", "0", "1.5", str(2**63)])
def test_a_path_id_that_names_nothing_is_404_not_422(w, bad):
    ops = [
        key for key in operations(w["schema"]) if {"session_id", "comment_id"} & row_params(key[1])
    ]
    assert len(ops) >= 10
    for method, path in ops:
        r = call(
            w,
            "root",
            method,
            fill(path, session_id=bad, comment_id=bad),
            BODIES.get((method, path)),
        )
        assert_problem(r, 404)


def refused(who: str, method: str, path: str, body: Any, status: int, **ids: object) -> Any:
    """A refusal the route's own code makes: ``who`` asks, ``ids`` name rows (else alice's)."""
    return pytest.param(who, method, path, body, status, ids, id=f"{status}-{who}-{method}-{path}")


STAGE = BODIES[("POST", "/api/members/{username}/stage")]
COMMENT = "/api/sessions/{session_id}/comments"
PICK = "/api/article-comments/{comment_id}/pick"
REFUSALS = [
    # 403: an account of the wrong role
    refused("alice", "GET", "/api/review", None, 403),
    refused("alice", "GET", "/api/admin/people", None, 403),
    refused("alice", "POST", "/api/admin/assignments", {"coach": "cora", "member": "bob"}, 403),
    refused("alice", "POST", "/api/articles", ARTICLE, 403),
    refused("alice", "PUT", "/api/articles/{slug}", ARTICLE, 403),
    refused("alice", "POST", "/api/members/{username}/stage", STAGE, 403),
    refused("alice", "POST", COMMENT, {"time_s": 1, "text": "Hi."}, 403),
    refused("alice", "POST", "/api/sessions/{session_id}/reviewed", None, 403),
    refused("alice", "POST", "/api/article-comments/{comment_id}/hide", None, 403),
    refused("alice", "POST", PICK, None, 403),
    refused("alice", "POST", "/api/articles/{slug}/episode", None, 403),
    refused("cora", "DELETE", "/api/sessions/{session_id}", None, 403),
    refused("root", "POST", "/api/uploads", None, 403),
    refused("root", "POST", "/api/articles/{slug}/comments", {"text": "Early."}, 403, slug="draft"),
    refused("root", "GET", "/api/me/export", None, 403),
    refused("cora", "GET", "/api/me/export.zip", None, 403),
    refused("root", "DELETE", "/api/me", {"password": PASSWORD}, 403),
    # 400: a value the route refuses
    refused("anon", "POST", "/api/login", {"username": "alice", "password": "not it"}, 400),
    refused("anon", "POST", "/api/register", {"username": "alice", "password": PASSWORD}, 400),
    refused("root", "POST", "/api/members/{username}/stage", STAGE | {"stage": "nowhere"}, 400),
    refused("root", "POST", "/api/members/{username}/stage", STAGE | {"reason": " "}, 400),
    refused("root", "POST", COMMENT, {"time_s": 1, "text": "  "}, 400),
    refused("root", "POST", "/api/articles", ARTICLE | {"issue": 1}, 400),
    refused("root", "PUT", "/api/articles/{slug}", ARTICLE | {"issue": 1}, 400),
    refused("alice", "POST", "/api/articles/{slug}/comments", {"text": " "}, 400),
    refused("root", "POST", PICK, {"note": "n" * (MAX_NOTE_CHARS + 1)}, 400),
    refused("root", "POST", "/api/admin/people", {"username": "bob", "password": PASSWORD}, 400),
    refused("root", "POST", "/api/admin/assignments", {"coach": "nobody", "member": "bob"}, 400),
    refused("bob", "POST", "/api/me/password", {"current_password": "?", "new_password": "x"}, 400),
    refused("bob", "POST", "/api/me/password", BODIES[("POST", "/api/me/password")], 400),
    refused("bob", "DELETE", "/api/me", {"password": "not it"}, 400),
    # 409: a state that forbids it
    refused("root", "POST", "/api/sessions/{session_id}/reviewed", None, 409),
]


@pytest.mark.parametrize(("who", "method", "path", "body", "status", "ids"), REFUSALS)
def test_a_refusal_of_the_routes_own_is_listed_and_answered(
    w, who, method, path, body, status, ids
):
    assert str(status) in operations(w["schema"])[(method, path)]["responses"]
    alices = {"session_id": w["session"], "username": "alice", "comment_id": w["comment"]}
    r = call(w, who, method, fill(path, **(alices | {"slug": "out"} | ids)), body)
    assert_problem(r, status)
    if status == 403:
        assert CSRF_HEADER not in r.json()["detail"]  # the role, not the header


def test_an_unfinished_analysis_is_a_409_for_deleting_its_session_or_the_account(w):
    ops = operations(w["schema"])
    db = w["app"].state.web.db

    def job(state: str, session_id: int | None) -> None:
        def work(s):
            row = s.scalar(select(Job).where(Job.uid == w["job"]))
            row.state, row.session_id = state, session_id

        db.write(work)

    job("running", w["session"])
    try:
        assert "409" in ops[("DELETE", "/api/sessions/{session_id}")]["responses"]
        r = call(w, "alice", "DELETE", f"/api/sessions/{w['session']}")
        assert_problem(r, 409)
        assert "not finished" in r.json()["detail"]
        assert "409" in ops[("DELETE", "/api/me")]["responses"]
        assert_problem(call(w, "alice", "DELETE", "/api/me", {"password": PASSWORD}), 409)
        assert call(w, "alice", "GET", f"/api/sessions/{w['session']}").status_code == 200
    finally:
        job("queued", None)


def test_the_same_clip_uploaded_again_is_the_listed_409_with_its_location(tmp_path):
    """Its own app: the member's second upload of one file names the first upload's job."""
    from test_web import tiny_video, upload

    app = create_app(make_settings(tmp_path / "web"))
    schema = client(app).get("/openapi.json").json()
    declared = operations(schema)[("POST", "/api/uploads")]["responses"]["409"]
    c, csrf = api_user(app, "ida")
    clip = tiny_video(tmp_path / "clip.mp4").read_bytes()
    first = upload(c, csrf, clip)
    assert first.status_code == 202, first.text
    r = upload(c, csrf, clip)
    assert_problem(r, 409)
    assert set(declared["headers"]) <= {k.title() for k in r.headers}
    assert r.headers["location"] == first.headers["location"]
    assert first.json()["id"] in r.json()["detail"]


def test_an_unreachable_database_is_the_default_response(tmp_path):
    folder = tmp_path / "db"
    app = create_app(make_settings(tmp_path, database_url=f"sqlite:///{folder / 'k.db'}"))
    try:
        ana, csrf = api_user(app, "ana")
        app.state.web.db.close()
        folder.rename(tmp_path / "db-gone")
        for method, path in (
            ("GET", "/api/articles"),
            ("GET", "/api/sessions/1"),
            ("POST", "/api/logout"),
        ):
            r = ana.request(method, path, headers={CSRF_HEADER: csrf})
            assert_problem(r, 503)
            assert r.json()["detail"] == DATABASE_DOWN and r.headers["retry-after"] == "5"
        (tmp_path / "db-gone").rename(folder)
    finally:
        app.state.web.db.close()
