"""A deleted session's id is never given to another session (revision 0006), on both backends.

SQLite gave the newest session's id, once that session was deleted, to the next one stored; the
upgrade declares the ids ``AUTOINCREMENT`` and keeps every row of the sessions and their children.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from kneeback.store import forget_session, open_database, person_history, store_session
from kneeback.store.db import Database, current_revision, migrate
from store_support import day, needs_data, result
from test_store import ALL_TABLES
from test_web_comment_authors import _downgrade, _engine

pytestmark = needs_data

pytest_plugins = ["store_fixtures"]


def _counts(db: Database) -> dict[str, int]:
    def work(s: Any) -> dict[str, int]:
        return {
            m.__name__: int(s.scalar(select(func.count()).select_from(m)) or 0) for m in ALL_TABLES
        }

    return db.read(work)


def _store(db: Database, n: int) -> int:
    """Store one of Ana's sessions (a sit-to-stand set, so that it also gives an outcome)."""
    return store_session(db, "Ana", result(5, 1, (1, 2, 3, 4, 5)), recorded_at=day(n))


def _sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def test_the_id_of_a_deleted_newest_session_is_not_given_again(db_url: str) -> None:
    engine = _engine(db_url)
    migrate(engine, revision="0005")
    with open_database(db_url, upgrade=False) as db:
        first, newest = _store(db, 0), _store(db, 7)
        forget_session(db, newest)
        again = _store(db, 14)
        # the fault: SQLite handed the deleted session's id out again (PostgreSQL never did)
        assert (again == newest) is _sqlite(engine)
        before, history = _counts(db), person_history(db, "Ana")

    with open_database(db_url) as db:  # upgrades to head
        assert current_revision(db.engine) == "0006"
        assert _counts(db) == before and person_history(db, "Ana") == history
        forget_session(db, again)
        later = _store(db, 21)
        assert later > again  # never reused any more
        assert [s["id"] for s in person_history(db, "Ana")["sessions"]] == [first, later]
        kept = _counts(db)

    _downgrade(engine, "0005")
    with open_database(db_url, upgrade=False) as db:
        assert _counts(db) == kept
    migrate(engine)  # and up again, the rows still there
    with open_database(db_url, upgrade=False) as db:
        assert _counts(db) == kept and current_revision(db.engine) == "0006"
    engine.dispose()
