"""A deleted session's id is never given to another session (SQLite ``AUTOINCREMENT``).

SQLite gives a new row the largest id in use plus one, so the id of the newest session, once
that session was deleted, went to the next one stored: a link to ``/sessions/ID`` or an id noted
from ``kneeback history`` for a later ``forget --session`` then named another session. Declared
``AUTOINCREMENT``, SQLite keeps the largest id ever given (``sqlite_sequence``) and never hands it
out again; PostgreSQL's sequences never did, so nothing changes there.

SQLite rebuilds the table to declare it ("batch" mode, the rows, indexes and foreign keys kept;
:func:`kneeback.store.db.migrate` turns foreign keys off meanwhile, so its children stay). A
table that already has it (made by an old web app from newer models) is left as it is.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kneeback.store.models import NAMING_CONVENTION

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TABLE = "sessions"


def _declared_autoincrement() -> bool | None:
    """Whether SQLite's ``sessions`` is declared ``AUTOINCREMENT``; None on another database."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return None
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": _TABLE}
    ).scalar()
    return "AUTOINCREMENT" in str(sql or "").upper()


def _rebuild(*, autoincrement: bool) -> None:
    """Rebuild ``sessions`` with or without ``AUTOINCREMENT``, its rows and ids as they are."""
    with op.batch_alter_table(
        _TABLE,
        recreate="always",
        naming_convention=NAMING_CONVENTION,
        table_kwargs={"sqlite_autoincrement": autoincrement},
    ):
        pass


def upgrade() -> None:
    """Declare the session ids ``AUTOINCREMENT`` on SQLite."""
    if _declared_autoincrement() is False:
        _rebuild(autoincrement=True)


def downgrade() -> None:
    """Drop ``AUTOINCREMENT`` again (ids of deleted newest sessions may be reused then)."""
    if _declared_autoincrement():
        _rebuild(autoincrement=False)
