"""Database fixtures for the store, progress and program tests (a pytest plugin: test modules
load it with ``pytest_plugins = ["store_fixtures"]``).

PostgreSQL: ``KNEEBACK_TEST_POSTGRES_URL`` names a server (CI starts one with
``scripts/postgres-test-server.sh``); without it a private server is started with that script
when PostgreSQL is installed (or installable); the PostgreSQL half of the suite is skipped only
when neither works (or ``KNEEBACK_TEST_NO_POSTGRES`` is set). Each test gets its own database.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "postgres-test-server.sh"
POSTGRES_ENV = "KNEEBACK_TEST_POSTGRES_URL"


# ---- databases -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | None]:
    """Admin URL of a PostgreSQL server, or None when none can be had."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        yield url
        return
    if os.environ.get("KNEEBACK_TEST_NO_POSTGRES"):
        yield None
        return
    try:
        proc = subprocess.run(
            ["bash", str(SCRIPT), "--env"], capture_output=True, text=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired):
        yield None
        return
    env = dict(
        line.removeprefix("export ").split("=", 1)
        for line in proc.stdout.splitlines()
        if line.startswith("export ")
    )
    if proc.returncode != 0 or POSTGRES_ENV not in env:
        yield None
        return
    try:
        yield env[POSTGRES_ENV]
    finally:
        subprocess.run(
            ["bash", str(SCRIPT), "stop", env["KNEEBACK_TEST_POSTGRES_DIR"]],
            capture_output=True,
            timeout=120,
        )


def _pg_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"kb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def backend_database(
    backend: str, root: Path, postgres_server: str | None
) -> tuple[str, Callable[[], None] | None]:
    """A fresh database of ``backend`` (``sqlite`` in ``root``, or ``postgresql``) and its drop.

    For fixtures wider than a test (``scope="module"``), which cannot take :func:`db_factory`;
    skips when no PostgreSQL server is available.
    """
    if backend == "sqlite":
        return f"sqlite:///{root / 'kneeback.db'}", None
    if postgres_server is None:
        pytest.skip("no PostgreSQL server")
    return _pg_database(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_factory(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: str | None
) -> Iterator[Callable[[], str]]:
    """Make fresh, empty databases of the parametrised backend; return their URLs."""
    drops: list[Callable[[], None]] = []
    if request.param == "postgresql" and postgres_server is None:
        pytest.skip(f"no PostgreSQL: set {POSTGRES_ENV} or install PostgreSQL")

    def make() -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / f'kb-{uuid.uuid4().hex[:8]}.db'}"
        assert postgres_server is not None
        url, drop = _pg_database(postgres_server)
        drops.append(drop)
        return url

    yield make
    for drop in drops:
        drop()


@pytest.fixture
def db_url(db_factory: Callable[[], str]) -> str:
    """URL of one fresh database of the parametrised backend."""
    return db_factory()


@pytest.fixture
def db(db_url: str) -> Iterator[object]:
    """The open database (migrated to head)."""
    from kneeback.store import open_database

    database = open_database(db_url)
    try:
        yield database
    finally:
        database.close()
