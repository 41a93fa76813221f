"""People, sessions, reps with their metrics, findings and artifacts.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kneeback.store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the first tables."""
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
        sa.UniqueConstraint("uid", name="uq_people_uid"),
        sa.UniqueConstraint("name", name="uq_people_name"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.Column("movement", sa.String(40), nullable=False),
        sa.Column("movement_recognised", sa.String(40), nullable=False),
        sa.Column("view", sa.String(20), nullable=False),
        sa.Column("measurement", sa.String(40), nullable=False),
        sa.Column("capture_verdict", sa.String(20), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("rep_count", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.Column("result_schema_version", sa.Integer(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name="fk_sessions_person_id_people",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("uid", name="uq_sessions_uid"),
    )
    op.create_index("ix_sessions_person_recorded", "sessions", ["person_id", "recorded_at"])
    op.create_table(
        "reps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("start_s", sa.Float(), nullable=False),
        sa.Column("end_s", sa.Float(), nullable=False),
        sa.Column("peak_s", sa.Float(), nullable=False),
        sa.Column("side", sa.String(10), nullable=True),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_reps_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reps"),
        sa.UniqueConstraint("session_id", "index", name="uq_reps_session_index"),
    )
    op.create_index("ix_reps_session_id", "reps", ["session_id"])
    op.create_table(
        "rep_metrics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("flag", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["reps.id"], name="fk_rep_metrics_rep_id_reps", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rep_metrics"),
        sa.UniqueConstraint("rep_id", "name", name="uq_rep_metrics_rep_name"),
    )
    op.create_index("ix_rep_metrics_rep_id", "rep_metrics", ["rep_id"])
    op.create_index("ix_rep_metrics_name", "rep_metrics", ["name"])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(60), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("grade", sa.String(20), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("cue", sa.Text(), nullable=False),
        sa.Column("rep_index", sa.Integer(), nullable=True),
        sa.Column("time_s", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_findings_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_findings"),
    )
    op.create_index("ix_findings_session_id", "findings", ["session_id"])
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_artifacts_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
    )
    op.create_index("ix_artifacts_session_id", "artifacts", ["session_id"])


def downgrade() -> None:
    """Drop the first tables."""
    for table in ("artifacts", "findings", "rep_metrics", "reps", "sessions", "people"):
        op.drop_table(table)
