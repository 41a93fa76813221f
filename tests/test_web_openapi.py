"""The API's OpenAPI schema states its refusals, and they are true: walked from /openapi.json.

Every operation behind a login lists 401, every operation whose path names a row (a session, a
job, a member, an article, an episode, a comment) lists 404, each with the ``{"detail": ...}``
body (``Problem``) the app really sends; ``POST /api/uploads`` states its streamed multipart form.
Then the declarations are checked against the app: each operation listing 401 answers 401 to a
visitor, and each one listing 404 answers 404 for an id that does not exist and for another
member's.
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
from kneeback.web.app import CSRF_HEADER, current_account
from kneeback.web.jobs import enqueue_job
from kneeback.web.models import User
from test_web import api_user, client, make_settings
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
#: A valid body for each operation that needs one, so that the route itself answers.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/members/{username}/stage"): {"stage": "squat-1", "reason": "Ready."},
    ("POST", "/api/sessions/{session_id}/comments"): {"time_s": 1.0, "text": "Knees out."},
    ("PUT", "/api/articles/{slug}"): {
        "issue": 99,
        "title": "A title",
        "body_md": "Text.",
        "published_on": "2025-01-06",
    },
    ("POST", "/api/articles/{slug}/comments"): {"text": "Thanks."},
}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    """alice (member) has a session and a job; bob is a member; root (admin) wrote a draft."""
    app = create_app(make_settings(tmp_path_factory.mktemp("web")))
    w: dict[str, Any] = {"app": app, "anon": client(app)}
    for name, role in (("alice", "member"), ("bob", "member"), ("root", "admin")):
        w[name], w[name + "_csrf"] = api_user(app, name, role=role)
    w["session"] = add_session(app, "alice")
    db = app.state.web.db
    alice_id = db.read(lambda s: s.scalar(select(User.id).where(User.username == "alice")))
    w["job"] = enqueue_job(db, alice_id, Path("clip.mp4"))
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    draft = {"issue": 1, "title": "Draft", "slug": "draft", "body_md": "Text."}
    r = call(w, "root", "POST", "/api/articles", draft | {"published_on": later})
    assert r.status_code == 201, r.text
    w["schema"] = w["anon"].get("/openapi.json").json()
    return w


def call(w: dict[str, Any], who: str, method: str, path: str, body: Any = None) -> Any:
    """``who``'s request with its CSRF header (``anon``: no session, no header)."""
    headers = {} if who == "anon" else {CSRF_HEADER: w[who + "_csrf"]}
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
            if int(status) >= 400:
                assert response["description"], (key, status)
                assert "schema" in response.get("content", {}).get("application/json", {}), (
                    key,
                    status,
                )


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
    assert {"200", "202", "400", "401", "403", "413", "415", "422"} <= set(op["responses"])
    for status in ("400", "401", "403", "413", "415", "422"):
        assert op["responses"][status]["content"]["application/json"]["schema"] == PROBLEM
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
