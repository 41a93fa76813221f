"""Tables of the web app: accounts, coaches, login sessions, jobs, shares and comments.

They live on their own :class:`~sqlalchemy.MetaData` (:class:`WebBase`), created by
:func:`create_web_tables` when the app starts, not by the store's Alembic migrations: the store's
test that compares its models with its migrations stays exact, and the web tables can move into the
migration chain when the web app's schema settles. They refer to the store's ``people`` and
``sessions`` tables by foreign key, so the store's tables must exist first
(:func:`kneeback.store.open_database` creates them).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, Float, ForeignKey, Index, Integer, MetaData, String, Text, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kneeback.errors import DatabaseError
from kneeback.store.models import NAMING_CONVENTION, Person, UTCDateTime, utcnow
from kneeback.store.models import Session as StoredSession

__all__ = [
    "ROLES",
    "CoachMember",
    "Comment",
    "Job",
    "LoginSession",
    "Share",
    "User",
    "WebBase",
    "create_web_tables",
]

#: Account roles: a member owns their data, a coach reads their assigned members', an admin all.
ROLES = ("member", "coach", "admin")
#: Job states, in order.
JOB_STATES = ("queued", "running", "done", "failed")


class WebBase(DeclarativeBase):
    """Declarative base of the web tables (a metadata of their own)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(WebBase):
    """An account. ``person_id`` links a member to their history in the store."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(10), default="member")
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey(Person.id, ondelete="SET NULL"), default=None, unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CoachMember(WebBase):
    """A member assigned to a coach."""

    __tablename__ = "web_coach_members"

    coach_id: Mapped[int] = mapped_column(
        ForeignKey("web_users.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("web_users.id", ondelete="CASCADE"), primary_key=True
    )


class LoginSession(WebBase):
    """A server-side login session; the cookie holds a token whose SHA-256 is ``token_hash``."""

    __tablename__ = "web_login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Job(WebBase):
    """An analysis job: an uploaded clip waiting for, in, or past the worker.

    ``state`` is ``queued``, ``running``, ``done`` or ``failed``; ``error`` says in plain words
    why a job failed; ``session_id`` is the stored session of a finished job. The worker running
    a job refreshes ``heartbeat_at``; a running job whose heartbeat is older than the lease
    belongs to a worker that stopped, and goes back in the queue.
    """

    __tablename__ = "web_jobs"
    __table_args__ = (Index("ix_web_jobs_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    upload_path: Mapped[str] = mapped_column(Text)
    movement: Mapped[str] = mapped_column(String(40), default="auto")
    state: Mapped[str] = mapped_column(String(10), default="queued")
    stage: Mapped[str] = mapped_column(String(40), default="")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey(StoredSession.id, ondelete="SET NULL"), default=None
    )
    output_dir: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)


class Share(WebBase):
    """A session its member shared with their coach(es) for review.

    ``reviewed_at`` and ``reviewed_by`` stay empty until a coach marks the session reviewed;
    sharing it again puts it back in the review queue.
    """

    __tablename__ = "web_shares"

    session_id: Mapped[int] = mapped_column(
        ForeignKey(StoredSession.id, ondelete="CASCADE"), primary_key=True
    )
    shared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    reviewed_by: Mapped[int | None] = mapped_column(
        ForeignKey("web_users.id", ondelete="SET NULL"), default=None
    )


class Comment(WebBase):
    """A coach's comment on a session at a moment (``time_s``) of its video."""

    __tablename__ = "web_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey(StoredSession.id, ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"))
    time_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


def create_web_tables(engine: Engine, /) -> None:
    """Create the web tables that do not exist yet (the store's tables must exist).

    Parameters
    ----------
    engine
        Engine of a database opened with :func:`kneeback.store.open_database`.

    Raises
    ------
    DatabaseError
        When existing web tables lack columns of these models (made by an older version).
    """
    WebBase.metadata.create_all(engine)
    found = inspect(engine)
    for table in WebBase.metadata.sorted_tables:
        have = {c["name"] for c in found.get_columns(table.name)}
        missing = sorted(c.name for c in table.columns if c.name not in have)
        if missing:
            raise DatabaseError(
                f"The table {table.name} of this database was made by an older kneeback and "
                f"lacks {', '.join(missing)}; the web tables have no migrations yet."
            )
