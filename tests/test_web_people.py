"""The admin's page of accounts: open coaches' accounts, put members in coaches' groups."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from kneeback.web import create_app
from kneeback.web.app import CSRF_HEADER
from test_web import PASSWORD, api_user, client, make_settings, page_csrf


@pytest.fixture
def office(tmp_path):
    app = create_app(make_settings(tmp_path))
    people = {
        "admin": api_user(app, "root", role="admin"),
        "mia": api_user(app, "mia"),
        "coach": api_user(app, "cora", role="coach"),
    }
    return app, people


def call(people, who, path, body):
    c, csrf = people[who]
    return c.post(path, json=body, headers={CSRF_HEADER: csrf})


def test_an_admin_opens_a_coach_account_and_builds_the_group(office):
    app, people = office
    r = call(people, "admin", "/api/admin/people", {"username": "kim", "password": PASSWORD})
    assert r.status_code == 201, r.text
    assert r.json() == r.json() | {"username": "kim", "role": "coach", "members": []}
    kim = client(app)
    assert kim.post("/api/login", json={"username": "kim", "password": PASSWORD}).status_code == 200
    assert kim.get("/api/members").json() == []
    r = call(people, "admin", "/api/admin/assignments", {"coach": "kim", "member": "mia"})
    assert r.json() == {"changed": True}
    assert kim.get("/api/members").json() == ["mia"]
    listed = {p["username"]: p for p in people["admin"][0].get("/api/admin/people").json()}
    assert listed["mia"]["coaches"] == ["kim"] and listed["kim"]["members"] == ["mia"]
    r = call(people, "admin", "/api/admin/assignments/remove", {"coach": "kim", "member": "mia"})
    assert r.json() == {"changed": True}
    assert kim.get("/api/members").json() == []
    assert kim.get("/api/members/mia/program").status_code == 404
    r = call(people, "admin", "/api/admin/assignments/remove", {"coach": "kim", "member": "mia"})
    assert r.json() == {"changed": False}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"username": "root", "password": PASSWORD}, "taken"),
        ({"username": "x y", "password": PASSWORD}, "username"),
        ({"username": "weak", "password": "short"}, "password"),
    ],
)
def test_a_refused_account_says_why(office, body, expected):
    _, people = office
    r = call(people, "admin", "/api/admin/people", body)
    assert r.status_code == 400 and expected in r.json()["detail"].lower()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"coach": "mia", "member": "mia"}, "No coach account named 'mia'"),
        ({"coach": "cora", "member": "root"}, "No member account named 'root'"),
    ],
)
def test_groups_join_coaches_and_members_only(office, body, expected):
    _, people = office
    r = call(people, "admin", "/api/admin/assignments", body)
    assert r.status_code == 400 and r.json()["detail"] == expected + "."


@pytest.mark.parametrize("who", ["mia", "coach"])
def test_only_admins_manage_accounts(office, who):
    _, people = office
    c, _ = people[who]
    assert c.get("/api/admin/people").status_code == 403
    assert c.get("/admin/people").status_code == 403
    r = call(people, who, "/api/admin/assignments", {"coach": "cora", "member": "mia"})
    assert r.status_code == 403
    r = call(people, who, "/api/admin/people", {"username": "evil", "password": PASSWORD})
    assert r.status_code == 403
    assert people["coach"][0].get("/api/members").json() == []  # nothing changed


def test_the_page_forms(office):
    _, people = office
    admin = people["admin"][0]
    page = admin.get("/admin/people")
    assert page.status_code == 200 and "no coach yet" in page.text
    token = page_csrf(admin, "/admin/people")
    r = admin.post(
        "/admin/assignments",
        data={"coach": "cora", "member": "mia", "action": "assign", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "no coach yet" not in admin.get("/admin/people").text
    assert people["coach"][0].get("/api/members").json() == ["mia"]
    r = admin.post(
        "/admin/people",
        data={"username": "root", "password": PASSWORD, "role": "coach", "csrf_token": token},
    )
    assert r.status_code == 400 and "taken" in r.text
    r = admin.post(
        "/admin/people",
        data={"username": "ada", "password": PASSWORD, "role": "admin", "csrf_token": "forged"},
    )
    assert r.status_code == 403
    assert "ada" not in admin.get("/admin/people").text
    assert 'href="/admin/people"' in admin.get("/").text  # the admin's menu
    assert 'href="/admin/people"' not in people["mia"][0].get("/").text
