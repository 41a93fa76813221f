"""A member's history in the JSON API pages its sessions: the window counts back from the newest
(the first page is the newest sessions, ``rel="next"`` goes back in time), each page lists its
sessions oldest first, ``X-Total-Count`` counts them all, outcomes and program changes come whole;
the database does the limiting, so a long history costs a request no more statements or rows than
a short one. On SQLite and PostgreSQL, with rows stored directly (no analysis run).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from sqlalchemy import event, select

from kneeback.store import person_history, record_outcome
from kneeback.store.models import Rep, RepMetric
from kneeback.store.models import Session as StoredSession
from kneeback.store.sessions import load_session_metrics
from kneeback.web import create_app
from kneeback.web.accounts import assign_member
from kneeback.web.models import User
from test_web import api_user, client, make_settings
from test_web_api import links
from test_web_review import add_session

pytest_plugins = ["store_fixtures"]

#: ida's sessions: more than a default page (50), not a whole number of pages.
LONG = 61
#: jon's sessions: more than the small pages below.
SHORT = 5
#: The metric each stored session carries: its index in the member's history.
METRIC = "peak_knee_flexion_deg"
URL = "/api/members/ida/history"


def _store_sessions(app, username: str, n: int) -> list[int]:
    """Store ``n`` sessions of ``username``, two at each moment (ties in time), oldest first.

    They are :func:`test_web_review.add_session`'s (findings, an annotated video); session ``k``
    also has a clip path and one full rep whose metric is ``k``, and a partial rep (not counted).
    """
    ids = [add_session(app, username, day=k // 2) for k in range(n)]

    def work(s) -> None:
        for k, sid in enumerate(ids):
            s.get(StoredSession, sid).source_path = f"/srv/clips/{username}-{k}.mp4"
            for index, (partial, value) in enumerate([(False, float(k)), (True, -1.0)]):
                rep = Rep(
                    session_id=sid, index=index, start_s=2.0 * index, end_s=2.0 * index + 2,
                    peak_s=2.0 * index + 1, partial=partial, verdict="good",
                )  # fmt: skip
                rep.metrics = [RepMetric(name=METRIC, value=value)]
                s.add(rep)

    app.state.web.db.write(work)
    return ids


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def history(request, tmp_path_factory, postgres_server) -> Iterator[dict[str, Any]]:
    """ida (LONG sessions) and jon (SHORT), one ODI entry each; carol coaches ida only."""
    root = tmp_path_factory.mktemp("history")
    from store_fixtures import backend_database  # a plugin: imported once registered

    url, drop = backend_database(request.param, root, postgres_server)
    app = create_app(make_settings(root, database_url=url))
    w: dict[str, Any] = {"app": app}
    for name in ("ida", "jon"):
        w[name], _ = api_user(app, name)
    w["carol"], _ = api_user(app, "carol", role="coach")
    db = app.state.web.db
    assign_member(db, "carol", "ida")
    w["ids"] = {"ida": _store_sessions(app, "ida", LONG), "jon": _store_sessions(app, "jon", SHORT)}
    for name in ("ida", "jon"):
        record_outcome(db, name, kind="odi", value=30.0, recorded_at=dt.datetime(2026, 1, 4))
    yield w
    db.close()
    if drop is not None:
        drop()


def _ids(r) -> list[int]:
    return [s["id"] for s in r.json()["sessions"]]


def test_the_first_page_is_the_newest_sessions_listed_oldest_first(history):
    ids = history["ids"]["ida"]
    first = history["ida"].get(URL)
    assert first.status_code == 200, first.text
    assert _ids(first) == ids[-50:]  # the default limit, oldest first within the page
    assert first.headers["x-total-count"] == str(LONG)
    assert links(first) == {"next": f"{URL}?limit=50&offset=50"}
    body = first.json()
    assert body["name"] == "ida" and len(body["outcomes"]) == 1
    newest = body["sessions"][-1]
    assert newest["values"] == {METRIC: float(LONG - 1)} and newest["full_reps"] == 1
    assert [f["title"] for f in newest["findings"]] == ["Knees cave in", "Good depth"]
    assert not {"source_path", "artifacts"} & {key for s in body["sessions"] for key in s}
    older = history["ida"].get(links(first)["next"])
    assert _ids(older) == ids[: LONG - 50]
    assert [s["values"][METRIC] for s in older.json()["sessions"]] == list(range(LONG - 50))
    assert links(older) == {"prev": f"{URL}?limit=50&offset=0"}
    assert older.json()["outcomes"] == body["outcomes"]  # whole on every page


def test_following_next_visits_every_session_once_across_ties(history):
    """Pages of 3 split pairs of sessions recorded at the same moment: ties go by id."""
    ids, c = history["ids"]["ida"], history["ida"]
    pages, page = [], c.get(f"{URL}?limit=3")
    while True:
        assert page.status_code == 200 and page.headers["x-total-count"] == str(LONG)
        pages.append(_ids(page))
        nxt = links(page).get("next")
        if nxt is None:
            break
        assert nxt == f"{URL}?limit=3&offset={3 * len(pages)}"
        page = c.get(nxt)
        assert links(page)["prev"] == f"{URL}?limit=3&offset={3 * (len(pages) - 1)}"
    assert [i for p in reversed(pages) for i in p] == ids
    middle = c.get(f"{URL}?limit=2&offset=1")
    assert _ids(middle) == ids[-3:-1]
    assert links(middle) == {"next": f"{URL}?limit=2&offset=3", "prev": f"{URL}?limit=2&offset=0"}
    whole = c.get(f"{URL}?limit=200")
    assert _ids(whole) == ids and "link" not in whole.headers


def test_past_the_oldest_is_an_empty_page_with_the_total(history):
    r = history["ida"].get(f"{URL}?limit=10&offset={LONG}")
    assert r.status_code == 200 and r.json()["sessions"] == []
    assert r.headers["x-total-count"] == str(LONG) and len(r.json()["outcomes"]) == 1
    assert links(r) == {"prev": f"{URL}?limit=10&offset={LONG - 10}"}


def test_only_those_who_may_see_the_member_read_the_history(history):
    assert history["carol"].get(f"{URL}?limit=2").status_code == 200  # ida's coach
    for c, url in [
        (history["jon"], URL),
        (history["carol"], "/api/members/jon/history"),
        (history["ida"], "/api/members/nobody/history?limit=2"),
    ]:
        r = c.get(url)
        assert r.status_code == 404 and "x-total-count" not in r.headers, url
    assert client(history["app"]).get(URL).status_code == 401


def test_a_window_out_of_range_is_the_same_422_as_for_the_other_lists(history):
    for query in ("limit=0", "limit=201", "limit=ten", "offset=-1", f"offset={2**64}"):
        r = history["ida"].get(f"{URL}?{query}")
        assert r.status_code == 422, (query, r.text[:300])
        (error,) = r.json()["detail"]
        assert error["loc"] == ["query", query.split("=")[0]], query
        assert r.json() == history["ida"].get(f"/api/sessions?{query}").json(), query


def test_the_schema_documents_the_window_and_the_headers(history):
    op = (
        client(history["app"])
        .get("/openapi.json")
        .json()["paths"]["/api/members/{username}/history"]["get"]
    )
    params = {p["name"]: p["schema"] for p in op["parameters"] if p["in"] == "query"}
    assert params["limit"]["default"] == 50 and params["limit"]["maximum"] == 200
    assert params["limit"]["minimum"] == 1 and params["offset"]["minimum"] == 0
    assert {"X-Total-Count", "Link"} <= set(op["responses"]["200"]["headers"])
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MemberHistory"
    }


def _reads(history, who: str, url: str) -> list[tuple[str, int]]:
    """The SQL statements a request runs, each with the number of rows it returns."""
    engine = history["app"].state.web.db.engine
    ran: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        ran.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert history[who].get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    out = []
    raw = engine.raw_connection()  # run each query again to count what it returned
    try:
        cursor = raw.cursor()
        for statement, parameters in ran:
            rows = 0
            if statement.lstrip().upper().startswith("SELECT"):
                cursor.execute(statement, parameters)
                rows = len(cursor.fetchall())
            out.append((statement, rows))
        raw.rollback()
    finally:
        raw.close()
    return out


def test_a_long_history_costs_no_more_statements_or_rows_than_a_short_one(history):
    """The same page of ida's 61 sessions and of jon's 5: as many statements, as many rows."""
    long = _reads(history, "ida", f"{URL}?limit=3&offset=1")
    short = _reads(history, "jon", "/api/members/jon/history?limit=3&offset=1")
    assert [rows for _, rows in long] == [rows for _, rows in short]
    assert len(long) == len(short)
    assert any("LIMIT" in s and "OFFSET" in s for s, _ in long)
    assert any("count(*)" in s for s, _ in long)


def test_the_store_windows_the_whole_history_and_its_callers_get_it_all(history):
    db, ids = history["app"].state.web.db, history["ids"]["ida"]
    whole = person_history(db, "ida")
    assert set(whole) == {"name", "sessions", "outcomes", "program_events"}
    assert [s["id"] for s in whole["sessions"]] == ids
    window = person_history(db, "ida", limit=5, offset=3)
    assert window == whole | {"sessions": whole["sessions"][-8:-3], "session_total": LONG}
    assert person_history(db, "ida", offset=LONG - 2)["sessions"] == whole["sessions"][:2]
    assert person_history(db, "ida", movement="lunge", limit=5)["session_total"] == 0
    person_id = db.read(lambda s: s.scalar(select(User.person_id).where(User.username == "ida")))
    some = db.read(lambda s: load_session_metrics(s, person_id, session_ids=ids[10:12]))
    assert list(some) == ids[10:12] and some[ids[11]].values() == {METRIC: 11.0}
    assert db.read(lambda s: load_session_metrics(s, person_id, session_ids=[])) == {}
