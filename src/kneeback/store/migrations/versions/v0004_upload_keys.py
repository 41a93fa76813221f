"""The Idempotency-Key of an API upload and the SHA-256 of its file, on its job.

Existing jobs get NULL in both (uploads without a key); a key is unique per account. Like
revision 0003, it adds only what the table lacks (a ``web_jobs`` table that an old web app made
itself from newer models may have some of it already).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEX = "ix_web_jobs_user_idempotency_key"


def upgrade() -> None:
    """Add the upload's key and file hash to the jobs, and the unique index on (account, key)."""
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("web_jobs")}
    indexes = {i["name"] for i in inspector.get_indexes("web_jobs")}
    with op.batch_alter_table("web_jobs") as batch:
        if "idempotency_key" not in columns:
            batch.add_column(sa.Column("idempotency_key", sa.String(200), nullable=True))
        if "upload_sha256" not in columns:
            batch.add_column(sa.Column("upload_sha256", sa.String(64), nullable=True))
        if _INDEX not in indexes:
            batch.create_index(_INDEX, ["user_id", "idempotency_key"], unique=True)


def downgrade() -> None:
    """Drop the index and the two columns."""
    with op.batch_alter_table("web_jobs") as batch:
        batch.drop_index(_INDEX)
        batch.drop_column("upload_sha256")
        batch.drop_column("idempotency_key")
