"""A coach's comments on members' sessions outlive the coach's account.

``web_comments.author_id`` becomes nullable, and its foreign key ``ON DELETE SET NULL`` (it was
``CASCADE``): removing a coach's account keeps their comments on members' sessions, without an
author. The comments still go with their session. Like revisions 0003 and 0004, it changes only
what the table lacks (a ``web_comments`` table that an old web app made itself from newer models
may have the new rule already).

SQLite rebuilds the table to change a foreign key ("batch" mode). The foreign key is found by the
inspector; one reflected without a name (SQLite) is named by :data:`NAMING_CONVENTION`, so that it
can be dropped.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kneeback.store.models import NAMING_CONVENTION

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLE = "web_comments"
#: The foreign key's name as the models name it (:data:`NAMING_CONVENTION`).
_FK = "fk_web_comments_author_id_web_users"


def _author_key() -> tuple[str, str | None, bool]:
    """Return the author foreign key's name, its ``ON DELETE`` rule and the column's nullability.

    A key reflected without a name gets the one :data:`NAMING_CONVENTION` gives it.
    """
    inspector = sa.inspect(op.get_bind())
    nullable = next(
        bool(c["nullable"]) for c in inspector.get_columns(_TABLE) if c["name"] == "author_id"
    )
    for fk in inspector.get_foreign_keys(_TABLE):
        if fk["constrained_columns"] == ["author_id"]:
            ondelete = (fk.get("options") or {}).get("ondelete")
            return fk.get("name") or _FK, None if ondelete is None else ondelete.upper(), nullable
    return _FK, None, nullable


def _set_author_rule(*, ondelete: str, nullable: bool) -> None:
    """Make ``author_id`` ``nullable`` with its foreign key ``ON DELETE ondelete``."""
    name, _, _ = _author_key()
    with op.batch_alter_table(_TABLE, naming_convention=NAMING_CONVENTION) as batch:
        batch.drop_constraint(name, type_="foreignkey")
        batch.alter_column("author_id", existing_type=sa.Integer(), nullable=nullable)
        batch.create_foreign_key(_FK, "web_users", ["author_id"], ["id"], ondelete=ondelete)


def upgrade() -> None:
    """Make a comment's author nullable, set to NULL when the author's account is deleted."""
    _, ondelete, nullable = _author_key()
    if ondelete != "SET NULL" or not nullable:
        _set_author_rule(ondelete="SET NULL", nullable=True)


def downgrade() -> None:
    """Delete the comments without an author, then restore ``NOT NULL`` and ``CASCADE``.

    The comments of removed coaches' accounts cannot be kept under ``NOT NULL``: they are
    deleted, as they would have been with the account before this revision.
    """
    op.execute(sa.text(f"DELETE FROM {_TABLE} WHERE author_id IS NULL"))
    _set_author_rule(ondelete="CASCADE", nullable=False)
