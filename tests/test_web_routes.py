"""Every route of the web app, listed from the app itself, without a session and with other ids.

The routes are enumerated from the running app, so a route added later is tested here without
anyone remembering to: without a session every route that is not in :data:`PUBLIC` answers 401
(API) or redirects to the login page (pages); every route whose path names a member's data (a
session, a job, a member, an article comment) answers 404 or 403 to another member and to a
coach of other members, with a valid CSRF token so that it is the ownership check that refuses.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from kneeback.web.app import CSRF_HEADER
from test_web import api_user, world  # noqa: F401  (the shared app with alice's session)
from test_web_podcast import tone

#: Routes anyone may call without logging in.
PUBLIC = {
    ("GET", "/openapi.json"),
    ("POST", "/api/login"),
    ("POST", "/api/register"),
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/register"),
    ("POST", "/register"),
    ("GET", "/api/articles"),
    ("GET", "/api/articles/{slug}"),
    ("GET", "/api/comment-of-the-week"),
    ("GET", "/articles"),
    ("GET", "/articles/{slug}"),
    ("GET", "/api/podcast/episodes"),
    ("GET", "/api/articles/{slug}/episode"),
    ("GET", "/podcast"),
    ("GET", "/podcast.xml"),
    ("GET", "/podcast/cover.png"),
    ("GET", "/podcast/audio/{audio_name}"),
    ("GET", "/rules"),
    ("GET", "/healthz"),
}
#: Path parameters that name one member's data.
OWNED = ("session_id", "uid", "username", "comment_id")


def app_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of every route of ``app`` (HEAD and static files left out)."""

    def walk(routes: list[Any]) -> Any:
        for r in routes:
            if hasattr(r, "original_router"):  # an included router
                yield from walk(r.original_router.routes)
            elif getattr(r, "methods", None):
                for method in sorted(r.methods - {"HEAD"}):
                    yield method, r.path

    return sorted(set(walk(app.routes)))


@pytest.fixture(scope="module")
def ids(world, tmp_path_factory):  # noqa: F811
    """Real ids for every path parameter: alice's session, job and article comment, and more."""
    app = world["app"]
    admin, admin_csrf = api_user(app, "editor", role="admin")
    r = admin.post(
        "/api/articles",
        json={"issue": 1, "title": "First week", "body_md": "Text.", "published_on": "2026-01-05"},
        headers={CSRF_HEADER: admin_csrf},
    )
    assert r.status_code == 201, r.text
    slug = r.json()["slug"]
    audio = tone(tmp_path_factory.mktemp("audio") / "ep").read_bytes()
    r = admin.post(
        f"/api/articles/{slug}/episode",
        data={"title": "Episode 1"},
        files={"audio": ("ep.mp3", audio, "audio/mpeg")},
        headers={CSRF_HEADER: admin_csrf},
    )
    assert r.status_code == 201, r.text
    audio_name = r.json()["audio_url"].rsplit("/", 1)[1]
    r = world["alice"].post(
        f"/api/articles/{slug}/comments",
        json={"text": "My knees thank you."},
        headers={CSRF_HEADER: world["alice_csrf"]},
    )
    assert r.status_code == 201, r.text
    return {
        "session_id": world["session"],
        "uid": world["job"],
        "username": "alice",
        "name": "report.html",
        "slug": slug,
        "comment_id": r.json()["id"],
        "audio_name": audio_name,
    }


def fill(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def test_public_routes_are_all_real_routes(world):  # noqa: F811
    assert set(app_routes(world["app"])) >= PUBLIC


def test_every_route_needs_a_session_unless_public(world, ids):  # noqa: F811
    anon = world["anon"]
    routes = app_routes(world["app"])
    assert len(routes) >= 60
    for method, path in routes:
        url = fill(path, ids)
        r = anon.request(method, url, follow_redirects=False)
        to_login = r.status_code == 303 and r.headers["location"].startswith("/login")
        if (method, path) in PUBLIC:
            assert r.status_code != 401 and not to_login, (method, path, r.status_code)
        elif path.startswith("/api/"):
            assert r.status_code == 401, (method, path, r.status_code)
        else:
            assert to_login, (method, path, r.status_code)


def test_ids_that_name_nothing_answer_404(world, ids):  # noqa: F811
    """An id that is not a number, or beyond what the database holds, is 404 on every route."""
    alice, csrf = world["alice"], _csrf_of(world["alice"])
    numeric = [
        (m, p) for m, p in app_routes(world["app"]) if "{session_id}" in p or "{comment_id}" in p
    ]
    assert len(numeric) >= 10
    for method, path in numeric:
        for bad in ("abc", str(2**63), "-1"):
            url = fill(path, ids | {"session_id": bad, "comment_id": bad})
            headers = {CSRF_HEADER: csrf}
            r = alice.request(method, url, headers=headers, data={"csrf_token": csrf})
            assert r.status_code == 404, (method, url, r.status_code, r.text[:200])
            if path.startswith("/api/"):
                assert r.json() == {"detail": "Not found."}


def _csrf_of(client: Any) -> str:
    return str(client.get("/api/me").json()["csrf_token"])


@pytest.mark.parametrize("who", ["bob", "dave"])
def test_another_members_ids_answer_404_or_403(world, ids, who):  # noqa: F811
    """bob is another member, dave a coach of other members: neither reaches alice's data.

    Article comments are public and any coach moderates them, so they are members' data only
    as far as other members are concerned.
    """
    client = world[who]
    csrf = _csrf_of(client)
    keys = OWNED if who == "bob" else tuple(k for k in OWNED if k != "comment_id")
    owned = [(m, p) for m, p in app_routes(world["app"]) if any(f"{{{k}}}" in p for k in keys)]
    assert len(owned) >= 19
    for method, path in owned:
        url = fill(path, ids)
        if method == "GET":
            r = client.get(url, follow_redirects=False)
        elif path.startswith("/api/"):
            body = {"time_s": 1.0, "text": "x", "stage": "sts_low_box", "reason": "x"}
            r = client.request(method, url, json=body, headers={CSRF_HEADER: csrf})
        else:
            form = {"csrf_token": csrf, "time_s": "1", "text": "x", "stage": "sts_low_box"}
            r = client.request(method, url, data=form | {"reason": "x"}, follow_redirects=False)
        assert r.status_code in (403, 404), (who, method, path, r.status_code, r.text[:200])
        if method == "GET" or "{comment_id}" not in path:
            assert r.status_code == 404, (who, method, path, r.status_code)
    # and nothing of alice's changed: no comment, share or stage change was made by them
    alice = world["alice"]
    assert alice.get(f"/api/sessions/{ids['session_id']}/comments").json() == []
    program = alice.get("/api/members/alice/program").json()
    assert all("override" not in (t["why"] or "").lower() for t in program["tracks"])


def test_the_schema_states_the_limits_the_server_enforces(world):  # noqa: F811
    from kneeback.web.coaching import MAX_REASON_CHARS
    from kneeback.web.content import MAX_ARTICLE_COMMENT_CHARS, MAX_NOTE_CHARS

    schemas = world["anon"].get("/openapi.json").json()["components"]["schemas"]
    assert schemas["StageOverrideIn"]["properties"]["reason"]["maxLength"] == MAX_REASON_CHARS
    assert (
        schemas["ArticleCommentIn"]["properties"]["text"]["maxLength"] == MAX_ARTICLE_COMMENT_CHARS
    )
    assert schemas["PickIn"]["properties"]["note"]["maxLength"] == MAX_NOTE_CHARS
