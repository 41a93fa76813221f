"""The database tables, as typed SQLAlchemy 2 models.

One analysed clip or pose file is one :class:`Session`. Its reps are rows of :class:`Rep`, and every
per-rep metric is a row of :class:`RepMetric` (``value`` for numbers, ``flag`` for yes/no metrics,
both NULL when the clip could not measure it): a progress query is a plain join filtered by metric
name, and "not measured" stays visible instead of disappearing into a JSON blob. The complete
:class:`~kneeback.report.result.AnalysisResult` is also kept, as JSON text, so that export and
import are lossless.

The schema is created and upgraded only by the Alembic migrations in
``kneeback/store/migrations``; a test checks that these models and the migrations agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Artifact",
    "Base",
    "Finding",
    "OutcomeEntry",
    "Person",
    "ProgramEvent",
    "ProgramState",
    "Rep",
    "RepMetric",
    "Session",
    "UTCDateTime",
    "utcnow",
]

#: Constraint names fixed by convention so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamp with time zone``; SQLite has no time zones, so values are
    stored as naive UTC and given back aware. Naive inputs are taken to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        """Convert to UTC before storing."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if not isinstance(value, dt.datetime):  # pragma: no cover - drivers return datetimes
            value = dt.datetime.fromisoformat(str(value))
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Person(Base):
    """Someone whose sessions are stored."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sex: Mapped[str | None] = mapped_column(String(10), default=None)
    age_years: Mapped[int | None] = mapped_column(Integer, default=None)
    age_given_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)

    sessions: Mapped[list[Session]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )
    outcomes: Mapped[list[OutcomeEntry]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )
    program_states: Mapped[list[ProgramState]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    program_events: Mapped[list[ProgramEvent]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )


class Session(Base):
    """One analysed clip or pose file."""

    __tablename__ = "sessions"
    # SQLite: a deleted session's id is never reused (revision 0006).
    __table_args__ = (
        Index("ix_sessions_person_recorded", "person_id", "recorded_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    movement: Mapped[str] = mapped_column(String(40))
    movement_recognised: Mapped[str] = mapped_column(String(40))
    view: Mapped[str] = mapped_column(String(20))
    measurement: Mapped[str] = mapped_column(String(40))
    capture_verdict: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str] = mapped_column(String(20))
    rep_count: Mapped[int] = mapped_column(Integer)
    source_path: Mapped[str | None] = mapped_column(Text, default=None)
    result_schema_version: Mapped[int] = mapped_column(Integer)
    result_json: Mapped[str] = mapped_column(Text)

    person: Mapped[Person] = relationship(back_populates="sessions")
    reps: Mapped[list[Rep]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Rep.index",
    )
    findings: Mapped[list[Finding]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="Finding.id"
    )
    artifacts: Mapped[list[Artifact]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="Artifact.id"
    )


class Rep(Base):
    """One repetition of a session."""

    __tablename__ = "reps"
    __table_args__ = (UniqueConstraint("session_id", "index", name="uq_reps_session_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    peak_s: Mapped[float] = mapped_column(Float)
    side: Mapped[str | None] = mapped_column(String(10), default=None)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    verdict: Mapped[str] = mapped_column(String(20))

    session: Mapped[Session] = relationship(back_populates="reps")
    metrics: Mapped[list[RepMetric]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="RepMetric.id"
    )


class RepMetric(Base):
    """One metric of one rep: ``value`` (numbers) or ``flag`` (yes/no); both NULL if unmeasured."""

    __tablename__ = "rep_metrics"
    __table_args__ = (
        UniqueConstraint("rep_id", "name", name="uq_rep_metrics_rep_name"),
        Index("ix_rep_metrics_name", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    value: Mapped[float | None] = mapped_column(Float, default=None)
    flag: Mapped[bool | None] = mapped_column(Boolean, default=None)


class Finding(Base):
    """One critique finding of a session."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    cue: Mapped[str] = mapped_column(Text, default="")
    rep_index: Mapped[int | None] = mapped_column(Integer, default=None)
    time_s: Mapped[float | None] = mapped_column(Float, default=None)
    value: Mapped[float | None] = mapped_column(Float, default=None)
    threshold: Mapped[float | None] = mapped_column(Float, default=None)


class Artifact(Base):
    """A file that ``analyze`` wrote for a session (report, plot, annotated video)."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(60))
    path: Mapped[str] = mapped_column(Text)


class OutcomeEntry(Base):
    """One outcome measure: an ODI questionnaire, a five-times sit-to-stand or a 30-s chair stand.

    ``kind`` is ``"odi"`` (``value`` the 0-100 score, ``answers`` the ten section answers when
    given), ``"five_sts"`` (seconds) or ``"chair_stand_30s"`` (count). ``source`` is ``"entered"``
    or ``"clip"`` (taken from a sit-to-stand session, which ``session_id`` names).
    """

    __tablename__ = "outcomes"
    __table_args__ = (Index("ix_outcomes_person_kind", "person_id", "kind", "recorded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    value: Mapped[float] = mapped_column(Float)
    answers: Mapped[list[int | None] | None] = mapped_column(JSON, default=None)
    age_years: Mapped[int | None] = mapped_column(Integer, default=None)
    sex: Mapped[str | None] = mapped_column(String(10), default=None)
    source: Mapped[str] = mapped_column(String(20), default="entered")

    person: Mapped[Person] = relationship(back_populates="outcomes")


class ProgramState(Base):
    """Where a person stands in one track of the program.

    ``since`` is when the stage began counting sessions: the recorded time of the session that
    moved the person here, the time of a coach override, or NULL for a track's first stage.
    """

    __tablename__ = "program_states"
    __table_args__ = (
        UniqueConstraint("person_id", "track", name="uq_program_states_person_track"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    track: Mapped[str] = mapped_column(String(60))
    stage: Mapped[str] = mapped_column(String(60))
    since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProgramEvent(Base):
    """A change of stage: ``kind`` is ``start``, ``advance``, ``regress`` or ``override``."""

    __tablename__ = "program_events"
    __table_args__ = (Index("ix_program_events_person_at", "person_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    track: Mapped[str] = mapped_column(String(60))
    from_stage: Mapped[str | None] = mapped_column(String(60), default=None)
    to_stage: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    coach: Mapped[str | None] = mapped_column(String(200), default=None)
    program: Mapped[str] = mapped_column(String(200), default="")
