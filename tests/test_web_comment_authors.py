"""A coach's comments on members' sessions outlive the coach's account (revision 0005).

On SQLite and PostgreSQL: comments written before the upgrade survive it; removing a coach keeps
their comments without an author (the API says ``None``); a member deleting their account still
takes the comments on their sessions with them; the downgrade deletes the authorless comments and
restores ``NOT NULL`` and ``CASCADE``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import Engine

from kneeback.store import open_database
from kneeback.store.db import Database, _alembic_config, _sqlite_setup, current_revision, migrate
from kneeback.store.models import Session as StoredSession
from kneeback.web.account import delete_member
from kneeback.web.accounts import create_user, find_account
from kneeback.web.models import Comment, User
from kneeback.web.removal import plan_removal, removal_lines, remove_account
from kneeback.web.review import list_comments
from test_web import PASSWORD

pytest_plugins = ["store_fixtures"]


def _engine(url: str) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    return engine


def _downgrade(engine: Engine, revision: str) -> None:
    """Downgrade as :func:`~kneeback.store.db.migrate` upgrades (SQLite: foreign keys off)."""
    from alembic import command

    with engine.connect() as conn:
        raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                command.downgrade(_alembic_config(conn), revision)
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


def _author_rule(engine: Engine) -> tuple[bool, str | None]:
    """Whether ``web_comments.author_id`` is nullable, and its foreign key's ON DELETE rule."""
    insp = inspect(engine)
    nullable = next(
        c["nullable"] for c in insp.get_columns("web_comments") if c["name"] == "author_id"
    )
    (fk,) = [f for f in insp.get_foreign_keys("web_comments") if f["referred_table"] == "web_users"]
    return bool(nullable), (fk.get("options") or {}).get("ondelete")


def _add_session(db: Database, username: str) -> int:
    def work(s: Any) -> int:
        row = StoredSession(
            uid=secrets.token_hex(16),
            person_id=s.scalar(select(User.person_id).where(User.username == username)),
            recorded_at=dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC),
            movement="squat",
            movement_recognised="squat",
            view="front",
            measurement="2d",
            capture_verdict="ok",
            verdict="good",
            rep_count=3,
            result_schema_version=1,
            result_json="{}",
        )
        s.add(row)
        s.flush()
        return int(row.id)

    return db.write(work)


def _comment(db: Database, session_id: int, author: str, time_s: float) -> None:
    def work(s: Any) -> None:
        author_id = s.scalar(select(User.id).where(User.username == author))
        text = f"{author} at {time_s:g} s"
        s.add(Comment(session_id=session_id, author_id=author_id, time_s=time_s, text=text))

    db.write(work)


def _authors(db: Database) -> dict[str, int | None]:
    """Each comment's text (naming its author and moment) and its author's id."""
    return db.read(lambda s: dict(s.execute(select(Comment.text, Comment.author_id)).all()))


def _ids(db: Database, *names: str) -> list[int]:
    return [
        db.read(lambda s, n=n: s.scalar(select(User.id).where(User.username == n))) for n in names
    ]


def test_comments_survive_the_upgrade_and_their_coach_and_the_downgrade_drops_them(db_url):
    engine = _engine(db_url)
    migrate(engine, revision="0004")
    assert _author_rule(engine) == (False, "CASCADE")
    with open_database(db_url, upgrade=False) as db:
        create_user(db, "alice", PASSWORD)
        create_user(db, "carol", PASSWORD, role="coach")
        create_user(db, "dave", PASSWORD, role="coach")
        sid = _add_session(db, "alice")
        _comment(db, sid, "carol", 1.0)
        _comment(db, sid, "dave", 2.0)
        carol, dave = _ids(db, "carol", "dave")

    with open_database(db_url) as db:  # upgrades to head
        assert current_revision(db.engine) == "0006"
        assert _author_rule(db.engine) == (True, "SET NULL")
        assert _authors(db) == {"carol at 1 s": carol, "dave at 2 s": dave}
        db.write(lambda s: s.delete(s.get(User, dave)))
        assert _authors(db) == {"carol at 1 s": carol, "dave at 2 s": None}
        alice = find_account(db, "alice")
        assert alice is not None
        shown = list_comments(db, alice, sid)
        assert shown is not None and [c["author"] for c in shown] == ["carol", None]

    _downgrade(engine, "0004")
    assert current_revision(engine) == "0004"
    assert _author_rule(engine) == (False, "CASCADE")
    with open_database(db_url, upgrade=False) as db:
        # dave's comment had no author to keep under NOT NULL
        assert _authors(db) == {"carol at 1 s": carol}
        db.write(lambda s: s.delete(s.get(User, carol)))
        assert _authors(db) == {}  # CASCADE again

    migrate(engine)  # and up again
    assert current_revision(engine) == "0006" and _author_rule(engine) == (True, "SET NULL")
    engine.dispose()


def test_a_foreign_key_named_otherwise_or_not_at_all_is_found(db_url):
    """An author key that the naming convention did not name is found and changed all the same.

    A table made without the convention: PostgreSQL names the key ``web_comments_author_id_fkey``,
    SQLite leaves it unnamed.
    """
    from sqlalchemy import Column, Float, ForeignKey, Integer, MetaData, Table, Text

    from kneeback.store.models import UTCDateTime

    engine = _engine(db_url)
    migrate(engine, revision="0004")
    with open_database(db_url, upgrade=False) as db:
        create_user(db, "alice", PASSWORD)
        create_user(db, "carol", PASSWORD, role="coach")
        sid = _add_session(db, "alice")
    md = MetaData()  # no naming convention
    md.reflect(engine, only=["sessions", "web_users"])
    old = Table(
        "web_comments",
        md,
        Column("id", Integer, primary_key=True),
        Column("session_id", ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        Column("author_id", ForeignKey("web_users.id", ondelete="CASCADE"), nullable=False),
        Column("time_s", Float, nullable=False),
        Column("text", Text, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
    )
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE web_comments")
        old.create(conn)
    names = {f["name"] for f in inspect(engine).get_foreign_keys("web_comments")}
    assert names == (
        {None}
        if engine.dialect.name == "sqlite"
        else {"web_comments_session_id_fkey", "web_comments_author_id_fkey"}
    )
    with open_database(db_url, upgrade=False) as db:
        _comment(db, sid, "carol", 1.0)

    migrate(engine)
    assert _author_rule(engine) == (True, "SET NULL")
    with open_database(db_url, upgrade=False) as db:
        (carol,) = _ids(db, "carol")
        assert _authors(db) == {"carol at 1 s": carol}
        db.write(lambda s: s.delete(s.get(User, carol)))
        assert _authors(db) == {"carol at 1 s": None}
    engine.dispose()


def test_removing_a_coach_keeps_their_comments_and_a_member_still_takes_theirs(
    db_url, tmp_path: Path
):
    with open_database(db_url) as db:
        create_user(db, "alice", PASSWORD)
        create_user(db, "carol", PASSWORD, role="coach")
        sid = _add_session(db, "alice")
        _comment(db, sid, "carol", 1.5)
        _comment(db, sid, "carol", 0.5)

        plan = plan_removal(db, "carol")
        assert plan.kept == {"comments": 2} and "comments" not in plan.goes
        assert "Kept, without their name: 2 comments on members' sessions." in removal_lines(plan)
        done = remove_account(db, "carol", upload_dir=tmp_path, analysis_dir=tmp_path)
        assert "session_comments" not in done.rows
        assert find_account(db, "carol") is None
        assert _authors(db) == {"carol at 1.5 s": None, "carol at 0.5 s": None}
        alice = find_account(db, "alice")
        assert alice is not None
        shown = list_comments(db, alice, sid)
        assert shown is not None
        assert [(c["time_s"], c["author"]) for c in shown] == [(0.5, None), (1.5, None)]

        # the authorless comments are on alice's session: they go with it, and her account
        delete_member(db, alice, upload_dir=tmp_path, analysis_dir=tmp_path)
        assert _authors(db) == {}
