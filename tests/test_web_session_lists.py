"""Long histories: the home page lists the newest sessions, a member's page pages through all."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from kneeback.store import store_session
from kneeback.web import create_app
from kneeback.web.accounts import assign_member
from store_support import DATA, day, result
from test_web import api_user, make_settings

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data not present")


@pytest.fixture(scope="module")
def years(tmp_path_factory):
    """ida has 30 sessions (one a day), jon 2; carol coaches both."""
    app = create_app(make_settings(tmp_path_factory.mktemp("lists")))
    people = {name: api_user(app, name)[0] for name in ("ida", "jon")}
    people["carol"] = api_user(app, "carol", role="coach")[0]
    for member in ("ida", "jon"):
        assign_member(app.state.web.db, "carol", member)
    squat = result(1, 1, (1, 2))
    ids = {
        "ida": [
            store_session(app.state.web.db, "ida", squat, recorded_at=day(n)) for n in range(30)
        ],
        "jon": [store_session(app.state.web.db, "jon", squat, recorded_at=day(n)) for n in (3, 40)],
    }
    yield app, people, ids
    app.state.web.db.close()


def _listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li><a href="/sessions/(\d+)">', html)]


def test_a_members_page_lists_25_sessions_at_a_time_newest_first(years):
    _, people, ids = years
    newest_first = ids["ida"][::-1]
    first = people["ida"].get("/members/ida")
    assert first.status_code == 200
    assert _listed(first.text) == newest_first[:25]  # none of jon's
    assert "1-25 of 30, newest first." in first.text
    assert 'href="/members/ida?offset=25#sessions" rel="next">Older sessions' in first.text
    assert 'rel="prev"' not in first.text
    older = people["ida"].get("/members/ida?offset=25")
    assert _listed(older.text) == newest_first[25:]
    assert "26-30 of 30" in older.text
    assert 'href="/members/ida?offset=0#sessions" rel="prev">Newer sessions' in older.text
    assert 'rel="next"' not in older.text
    past = people["ida"].get("/members/ida?offset=60")
    assert _listed(past.text) == [] and "No sessions this far back." in past.text
    bad = people["ida"].get("/members/ida?offset=-1")
    assert bad.status_code == 400 and "offset" in bad.text
    # A short history has no pager; the coach reads the same pages as the member.
    jon = people["carol"].get("/members/jon")
    assert _listed(jon.text) == ids["jon"][::-1]
    assert "newest first." not in jon.text and "Older sessions" not in jon.text
    assert _listed(people["carol"].get("/members/ida?offset=25").text) == newest_first[25:]
    assert people["jon"].get("/members/ida").status_code == 404


def test_the_home_page_lists_the_20_newest_and_says_where_the_rest_are(years):
    _, people, ids = years
    home = people["ida"].get("/")
    assert _listed(home.text) == ids["ida"][::-1][:20]
    assert "The 20 newest of 30." in home.text
    assert 'href="/members/ida#sessions">All your sessions' in home.text
    coach = people["carol"].get("/")
    everyone = sorted(
        [(n, i) for n, i in enumerate(ids["ida"])] + [(3, ids["jon"][0]), (40, ids["jon"][1])],
        key=lambda d: (d[0], d[1]),
        reverse=True,
    )
    assert _listed(coach.text) == [i for _, i in everyone][:20]
    assert "The 20 newest of 32. Each member's page lists all of theirs." in " ".join(
        coach.text.split()
    )
    short = people["jon"].get("/")
    assert _listed(short.text) == ids["jon"][::-1] and "newest of" not in short.text
