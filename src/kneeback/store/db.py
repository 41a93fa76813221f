"""Opening the database: URL, engine, migrations on open, one transaction per unit of work.

By default the database is an embedded SQLite file in the user's data directory
(``platformdirs.user_data_dir("kneeback")/kneeback.db``); ``KNEEBACK_DATABASE_URL`` or an explicit
URL (``--db``) selects any SQLAlchemy URL instead, e.g. ``postgresql+psycopg://user@host/db``.

Integrity:

- every unit of work (:meth:`Database.write`, :meth:`Database.read`) is one transaction: it
  commits as a whole or not at all, so a crash in the middle leaves nothing half-written;
- SQLite runs in WAL mode with foreign keys on and a busy timeout, and each transaction starts with
  ``BEGIN IMMEDIATE``: writers queue for the lock instead of failing half-way; a unit of work that
  still meets "database is locked" (or, on PostgreSQL, a serialisation failure or deadlock) is
  retried from the start;
- migrations run on open, inside a transaction that holds the write lock (SQLite) or an advisory
  lock (PostgreSQL), so two processes opening a new database at once do not race.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from kneeback.errors import DatabaseError

__all__ = [
    "DATABASE_URL_ENV",
    "Database",
    "default_database_url",
    "open_database",
    "resolve_database_url",
]

T = TypeVar("T")

#: Environment variable naming the database URL.
DATABASE_URL_ENV = "KNEEBACK_DATABASE_URL"
#: How long a SQLite connection waits for another writer's lock, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: How often a unit of work is tried when the database reports a lock or serialisation conflict.
MAX_ATTEMPTS = 8
#: Arbitrary key of the PostgreSQL advisory lock taken while migrating.
_MIGRATION_LOCK_KEY = 724_515_001
_READ_ONLY = "kneeback_read_only"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_database_url() -> str:
    """Return the SQLite URL of the database in the user's data directory."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('kneeback')) / 'kneeback.db'}"


def resolve_database_url(url: str | None = None, /) -> str:
    """Choose the database URL: the argument, else ``KNEEBACK_DATABASE_URL``, else the default."""
    if url:
        return url
    return os.environ.get(DATABASE_URL_ENV) or default_database_url()


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _is_retryable(exc: BaseException) -> bool:
    """Whether a database error is a lock or serialisation conflict worth retrying."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("40001", "40P01", "55P03"):  # serialisation failure, deadlock, lock not available
        return True
    msg = str(orig).lower()
    return isinstance(exc, OperationalError) and (
        "database is locked" in msg or "database table is locked" in msg or "busy" in msg
    )


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (BEGIN IMMEDIATE below).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front, so a transaction never fails half-way on a lock
        # upgrade; read-only units of work take a plain (deferred) snapshot.
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """An open kneeback database.

    Parameters
    ----------
    engine
        The SQLAlchemy engine (see :func:`open_database`).
    """

    def __init__(self, engine: Engine, /) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return _shown(self.engine.url)

    @property
    def is_sqlite(self) -> bool:
        """True for an embedded SQLite database."""
        return self.engine.dialect.name == "sqlite"

    def write(self, work: Callable[[OrmSession], T], /) -> T:
        """Run ``work`` in one transaction and commit it; retry it whole on lock conflicts.

        ``work`` must do nothing outside the database that cannot be repeated (it may run more
        than once); side effects on files belong after :meth:`write` returns.

        Parameters
        ----------
        work
            Called with an ORM session whose transaction is already begun.

        Returns
        -------
        object
            What ``work`` returned.

        Raises
        ------
        DatabaseError
            When the database fails for any other reason, or stays locked.
        """
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self._sessions() as session, session.begin():
                    return work(session)
            except SQLAlchemyError as exc:
                if _is_retryable(exc) and attempt + 1 < MAX_ATTEMPTS:
                    time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
                    continue
                raise DatabaseError(
                    f"The database at {self.url} could not be written: {_first_line(exc)}."
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def read(self, work: Callable[[OrmSession], T], /) -> T:
        """Run ``work`` in one transaction (a consistent snapshot) and roll it back.

        Parameters
        ----------
        work
            Called with an ORM session.

        Returns
        -------
        object
            What ``work`` returned.
        """
        for attempt in range(MAX_ATTEMPTS):
            try:
                with self._sessions() as session:
                    session.connection(execution_options={_READ_ONLY: True})
                    try:
                        return work(session)
                    finally:
                        session.rollback()
            except SQLAlchemyError as exc:
                if _is_retryable(exc) and attempt + 1 < MAX_ATTEMPTS:
                    time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
                    continue
                raise DatabaseError(
                    f"The database at {self.url} could not be read: {_first_line(exc)}."
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    msg = str(orig if orig is not None else exc).strip().splitlines()
    return (msg[0] if msg else type(exc).__name__).rstrip(".")


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, /, *, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` in one locked transaction.

    Parameters
    ----------
    engine
        Engine of the database.
    revision
        Alembic revision to upgrade to; ``"head"`` for the newest.
    """
    from alembic import command

    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection if sqlite else None
        if raw is not None:
            # SQLite rebuilds tables to alter them ("batch" migrations): dropping the old table
            # must not cascade into its children, so foreign keys are off while migrating (the
            # pragma only works outside a transaction) and checked before the commit.
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY}
                    )
                command.upgrade(_alembic_config(conn), revision)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise DatabaseError("A migration left rows that break a foreign key.")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


def _newer_schema(engine: Engine, /) -> str | None:
    """Return the database's schema revision when this kneeback does not know it (a newer one's)."""
    from alembic.script import ScriptDirectory

    try:
        revision = current_revision(engine)
    except SQLAlchemyError:
        return None
    if revision is None:
        return None
    scripts = ScriptDirectory(str(_MIGRATIONS))
    known = {script.revision for script in scripts.walk_revisions()}
    return None if revision in known else revision


def current_revision(engine: Engine, /) -> str | None:
    """Return the schema revision of the database (None when it has no kneeback tables)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_database(url: str | None = None, /, *, upgrade: bool = True) -> Database:
    """Open (and create and upgrade, by default) the kneeback database.

    Parameters
    ----------
    url
        SQLAlchemy URL; None for ``KNEEBACK_DATABASE_URL`` or the default SQLite file.
    upgrade
        Run the migrations up to the newest schema (``alembic upgrade head``).

    Returns
    -------
    Database
        The open database.

    Raises
    ------
    DatabaseError
        When the URL is malformed, its driver is missing, the server cannot be reached, the
        schema cannot be upgraded or it is newer than this kneeback knows (a newer version made
        it).
    """
    raw = resolve_database_url(url)
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise DatabaseError(
            f"{raw!r} is not a database URL; use e.g. sqlite:///path/kneeback.db or "
            "postgresql+psycopg://user@host/dbname."
        ) from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            path = Path(db).expanduser()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"Cannot create the folder for the database {path}: {exc.strerror}."
                ) from None
            parsed = parsed.set(database=str(path))
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise DatabaseError(
            f"No database driver for {parsed.drivername!r}; for PostgreSQL use "
            "postgresql+psycopg://... with psycopg installed."
        ) from None
    except (ArgumentError, ImportError) as exc:
        raise DatabaseError(f"Cannot use the database URL {_shown(parsed)}: {exc}.") from None
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    if upgrade:
        newer = _newer_schema(engine)
        if newer is not None:
            from alembic.script import ScriptDirectory

            head = ScriptDirectory(str(_MIGRATIONS)).get_current_head()
            engine.dispose()
            raise DatabaseError(
                f"The database at {_shown(parsed)} has schema revision {newer}, made by a newer "
                f"kneeback (this one knows up to {head}): upgrade kneeback, or restore a backup "
                "made with this version."
            )
        for attempt in range(MAX_ATTEMPTS):
            try:
                migrate(engine)
                break
            except SQLAlchemyError as exc:
                if _is_retryable(exc) and attempt + 1 < MAX_ATTEMPTS:
                    time.sleep(0.1 * (attempt + 1))
                    continue
                engine.dispose()
                raise DatabaseError(
                    f"Cannot open the database at {_shown(parsed)}: {_first_line(exc)}."
                ) from None
    return Database(engine)
