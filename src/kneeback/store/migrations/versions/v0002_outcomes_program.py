"""Outcome entries, program state and history, and age and sex of people.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kneeback.store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add outcomes and program tables; add age and sex to people (existing rows get NULL)."""
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("sex", sa.String(10), nullable=True))
        batch.add_column(sa.Column("age_years", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("age_given_at", UTCDateTime(), nullable=True))
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("age_years", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(10), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_outcomes_person_id_people", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_outcomes_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outcomes"),
        sa.UniqueConstraint("uid", name="uq_outcomes_uid"),
    )
    op.create_index("ix_outcomes_session_id", "outcomes", ["session_id"])
    op.create_index("ix_outcomes_person_kind", "outcomes", ["person_id", "kind", "recorded_at"])
    op.create_table(
        "program_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("track", sa.String(60), nullable=False),
        sa.Column("stage", sa.String(60), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name="fk_program_states_person_id_people",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_program_states"),
        sa.UniqueConstraint("person_id", "track", name="uq_program_states_person_track"),
    )
    op.create_table(
        "program_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("track", sa.String(60), nullable=False),
        sa.Column("from_stage", sa.String(60), nullable=True),
        sa.Column("to_stage", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("coach", sa.String(200), nullable=True),
        sa.Column("program", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name="fk_program_events_person_id_people",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_program_events"),
        sa.UniqueConstraint("uid", name="uq_program_events_uid"),
    )
    op.create_index("ix_program_events_person_at", "program_events", ["person_id", "at"])


def downgrade() -> None:
    """Drop outcomes and program tables and the new people columns."""
    for table in ("program_events", "program_states", "outcomes"):
        op.drop_table(table)
    with op.batch_alter_table("people") as batch:
        batch.drop_column("age_given_at")
        batch.drop_column("age_years")
        batch.drop_column("sex")
