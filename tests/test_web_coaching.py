"""A coach moves a member's program stage with a reason; registrations are rate-limited."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from kneeback.web import create_app
from kneeback.web.accounts import assign_member
from kneeback.web.app import CSRF_HEADER
from test_web import PASSWORD, api_user, client, make_settings, page_csrf


@pytest.fixture
def team(tmp_path):
    app = create_app(make_settings(tmp_path))
    people = {name: api_user(app, name) for name in ("mia", "ned")}
    people["coach"] = api_user(app, "coach", role="coach")
    people["other"] = api_user(app, "other", role="coach")
    people["admin"] = api_user(app, "admin", role="admin")
    assign_member(app.state.web.db, "coach", "mia")
    return app, people


def override(people, who, member="mia", stage="sts_low_box", reason="Rises well from the box"):
    c, csrf = people[who]
    return c.post(
        f"/api/members/{member}/stage",
        json={"stage": stage, "reason": reason},
        headers={CSRF_HEADER: csrf},
    )


def squat_track(program: dict) -> dict:
    return next(t for t in program["tracks"] if t["track"] == "squat")


def test_a_coach_moves_their_member_and_the_member_reads_why(team):
    _, people = team
    r = override(people, "coach")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["override"]["to"] == "sts_low_box" and body["override"]["coach"] == "coach"
    assert squat_track(body)["stage"] == "sts_low_box"
    mia = people["mia"][0]
    track = squat_track(mia.get("/api/members/mia/program").json())
    assert track["stage"] == "sts_low_box"
    assert track["why"] == "Coach override by coach: Rises well from the box"
    page = mia.get("/members/mia").text
    assert "Coach override by coach: Rises well from the box" in page
    assert "Set stage" not in page  # members read their stage, they do not set it
    assert "Set stage" in people["coach"][0].get("/members/mia").text


def test_the_override_form_works_in_the_browser_flow(team):
    _, people = team
    coach = people["coach"][0]
    token = page_csrf(coach, "/members/mia")
    r = coach.post(
        "/members/mia/stage",
        data={"stage": "towel_squat", "reason": "Ready <for> more", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/members/mia#track-squat"
    page = coach.get("/members/mia").text
    assert "Ready &lt;for&gt; more" in page  # escaped
    assert re.search(r'<option value="towel_squat" selected>', page)
    r = coach.post(
        "/members/mia/stage",
        data={"stage": "towel_squat", "reason": "x", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    # a refused move comes back as the form, open, with the reason why and the choice kept
    r = coach.post(
        "/members/mia/stage",
        data={"stage": "sts_low_box", "reason": "   ", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "Give a reason for moving the stage" in r.text
    assert '<details class="override" open>' in r.text
    assert re.search(r'<option value="sts_low_box" selected>', r.text)
    r = coach.post(
        "/members/mia/stage",
        data={"stage": "bogus", "reason": "Kept text", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "Choose one of the program&#39;s stages" in r.text
    assert "kneeback default program" not in r.text  # no developer text


@pytest.mark.parametrize(
    ("who", "member", "stage", "reason", "status"),
    [
        ("mia", "mia", "sts_low_box", "I feel ready", 403),  # members do not move themselves
        ("ned", "mia", "sts_low_box", "x", 404),  # another member's program does not exist
        ("other", "mia", "sts_low_box", "x", 404),  # a coach of other members
        ("coach", "ned", "sts_low_box", "x", 404),  # not this coach's member
        ("coach", "nobody", "sts_low_box", "x", 404),
        ("coach", "mia", "no_such_stage", "x", 400),
        ("coach", "mia", "sts_low_box", "   ", 400),
        ("coach", "mia", "sts_low_box", "x" * 501, 400),
        ("admin", "ned", "split_squat", "Admin decision", 200),
    ],
)
def test_who_may_move_whom(team, who, member, stage, reason, status):
    _, people = team
    r = override(people, who, member, stage, reason)
    assert r.status_code == status, r.text
    if status == 400:
        assert r.json()["detail"]  # a sentence saying what is wrong


def test_moving_a_stage_needs_a_session_and_a_csrf_token(team):
    app, people = team
    anon = client(app)
    r = anon.post("/api/members/mia/stage", json={"stage": "sts_low_box", "reason": "x"})
    assert r.status_code == 401
    r = anon.post("/members/mia/stage", data={"stage": "sts_low_box"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    coach = people["coach"][0]
    r = coach.post("/api/members/mia/stage", json={"stage": "sts_low_box", "reason": "x"})
    assert r.status_code == 403
    track = squat_track(people["mia"][0].get("/api/members/mia/program").json())
    assert track["stage"] == "sts_high_box"  # nothing changed


def test_registrations_per_address_are_limited(tmp_path):
    app = create_app(make_settings(tmp_path, register_max_per_ip=2))
    for name in ("r1", "r2"):
        r = client(app).post("/api/register", json={"username": name, "password": PASSWORD})
        assert r.status_code == 201
    r = client(app).post("/api/register", json={"username": "r3", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "Too many registrations" in r.json()["detail"]
    c = client(app)
    token = page_csrf(c, "/register")
    r = c.post("/register", data={"username": "r4", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429 and "Too many registrations" in r.text
    assert int(r.headers["retry-after"]) > 0
    # the refused accounts were not made; logging in to existing ones is unaffected
    r = client(app).post("/api/login", json={"username": "r3", "password": PASSWORD})
    assert r.status_code == 400
    r = client(app).post("/api/login", json={"username": "r1", "password": PASSWORD})
    assert r.status_code == 200


def test_a_refused_registration_counts_too(tmp_path):
    """Probing which usernames exist is rate-limited like opening accounts."""
    app = create_app(make_settings(tmp_path, register_max_per_ip=2))
    assert client(app).post("/api/register", json={"username": "s1", "password": PASSWORD})
    r = client(app).post("/api/register", json={"username": "s1", "password": PASSWORD})
    assert r.status_code == 400
    r = client(app).post("/api/register", json={"username": "s2", "password": PASSWORD})
    assert r.status_code == 429


def test_registration_window_slides():
    from kneeback.web.ratelimit import RegistrationRateLimiter

    now = [0.0]
    lim = RegistrationRateLimiter(max_per_ip=2, window_s=10, clock=lambda: now[0])
    assert lim.try_acquire("1.2.3.4") is None
    now[0] = 4
    assert lim.try_acquire("1.2.3.4") is None
    assert lim.try_acquire("1.2.3.4") == pytest.approx(6)
    assert lim.try_acquire("5.6.7.8") is None  # another address
    now[0] = 10.5
    assert lim.try_acquire("1.2.3.4") is None
    assert lim.try_acquire("1.2.3.4") is not None


def test_a_form_posted_without_a_session_returns_to_its_page_after_login(team):
    app, _ = team
    anon = client(app)
    r = anon.post(
        "/members/mia/stage",
        data={"stage": "sts_low_box"},
        headers={"Referer": "http://testserver/members/mia?x=1"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/login?next=%2Fmembers%2Fmia%3Fx%3D1"
    r = anon.post(
        "/members/mia/stage",
        data={"stage": "sts_low_box"},
        headers={"Referer": "https://elsewhere.example/members/mia"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/login?next=%2F"  # never back to another site
