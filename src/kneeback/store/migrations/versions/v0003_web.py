"""The web app's tables: accounts, login sessions, jobs, reviews and the weekly content.

Until this revision the web app created its tables itself (``create_web_tables``); a database
made that way keeps those tables and their rows, and gets only the tables it lacks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kneeback.store.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: The tables of this revision, parents first.
WEB_TABLES = (
    "web_users",
    "web_articles",
    "web_coach_members",
    "web_comments",
    "web_jobs",
    "web_login_sessions",
    "web_shares",
    "web_article_comments",
    "web_article_links",
    "web_episodes",
    "web_short_videos",
    "web_comments_of_the_week",
)


def upgrade() -> None:
    """Create the web tables that do not exist yet (older web apps made some of them)."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "web_users" not in existing:
        op.create_table(
            "web_users",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("username", sa.String(length=64), nullable=False),
            sa.Column("password_hash", sa.Text(), nullable=False),
            sa.Column("role", sa.String(length=10), nullable=False),
            sa.Column("person_id", sa.Integer(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["person_id"],
                ["people.id"],
                name=op.f("fk_web_users_person_id_people"),
                ondelete="SET NULL",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_web_users")),
            sa.UniqueConstraint("person_id", name=op.f("uq_web_users_person_id")),
            sa.UniqueConstraint("username", name=op.f("uq_web_users_username")),
        )
    if "web_articles" not in existing:
        op.create_table(
            "web_articles",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("issue", sa.Integer(), nullable=False),
            sa.Column("slug", sa.String(length=120), nullable=False),
            sa.Column("title", sa.String(length=200), nullable=False),
            sa.Column("summary", sa.Text(), nullable=False),
            sa.Column("body_md", sa.Text(), nullable=False),
            sa.Column("published_on", sa.Date(), nullable=False),
            sa.Column("author_id", sa.Integer(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("updated_at", UTCDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["author_id"],
                ["web_users.id"],
                name=op.f("fk_web_articles_author_id_web_users"),
                ondelete="SET NULL",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_web_articles")),
            sa.UniqueConstraint("issue", name=op.f("uq_web_articles_issue")),
            sa.UniqueConstraint("slug", name=op.f("uq_web_articles_slug")),
        )
        op.create_index(
            op.f("ix_web_articles_published_on"), "web_articles", ["published_on"], unique=False
        )
    if "web_coach_members" not in existing:
        op.create_table(
            "web_coach_members",
            sa.Column("coach_id", sa.Integer(), nullable=False),
            sa.Column("member_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["coach_id"],
                ["web_users.id"],
                name=op.f("fk_web_coach_members_coach_id_web_users"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["member_id"],
                ["web_users.id"],
                name=op.f("fk_web_coach_members_member_id_web_users"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("coach_id", "member_id", name=op.f("pk_web_coach_members")),
        )
    if "web_comments" not in existing:
        op.create_table(
            "web_comments",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("session_id", sa.Integer(), nullable=False),
            sa.Column("author_id", sa.Integer(), nullable=False),
            sa.Column("time_s", sa.Float(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["author_id"],
                ["web_users.id"],
                name=op.f("fk_web_comments_author_id_web_users"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["session_id"],
                ["sessions.id"],
                name=op.f("fk_web_comments_session_id_sessions"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_web_comments")),
        )
        op.create_index(
            op.f("ix_web_comments_session_id"), "web_comments", ["session_id"], unique=False
        )
    if "web_jobs" not in existing:
        op.create_table(
            "web_jobs",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("uid", sa.String(length=32), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("upload_path", sa.Text(), nullable=False),
            sa.Column("movement", sa.String(length=40), nullable=False),
            sa.Column("state", sa.String(length=10), nullable=False),
            sa.Column("stage", sa.String(length=40), nullable=False),
            sa.Column("done", sa.Integer(), nullable=False),
            sa.Column("total", sa.Integer(), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("session_id", sa.Integer(), nullable=True),
            sa.Column("output_dir", sa.Text(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("updated_at", UTCDateTime(), nullable=False),
            sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
            sa.ForeignKeyConstraint(
                ["session_id"],
                ["sessions.id"],
                name=op.f("fk_web_jobs_session_id_sessions"),
                ondelete="SET NULL",
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["web_users.id"],
                name=op.f("fk_web_jobs_user_id_web_users"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_web_jobs")),
            sa.UniqueConstraint("uid", name=op.f("uq_web_jobs_uid")),
        )
        op.create_index(
            "ix_web_jobs_state_created", "web_jobs", ["state", "created_at"], unique=False
        )
        op.create_index(op.f("ix_web_jobs_user_id"), "web_jobs", ["user_id"], unique=False)
    if "web_login_sessions" not in existing:
        op.create_table(
            "web_login_sessions",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("expires_at", UTCDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["web_users.id"],
                name=op.f("fk_web_login_sessions_user_id_web_users"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_web_login_sessions")),
            sa.UniqueConstraint("token_hash", name=op.f("uq_web_login_sessions_token_hash")),
        )
        op.create_index(
            op.f("ix_web_login_sessions_user_id"), "web_login_sessions", ["user_id"], unique=False
        )
    if "web_shares" not in existing:
        op.create_table(
            "web_shares",
            sa.Column("session_id", sa.Integer(), nullable=False),
            sa.Column("shared_at", UTCDateTime(), nullable=False),
            sa.Column("reviewed_at", UTCDateTime(), nullable=True),
            sa.Column("reviewed_by", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(
                ["reviewed_by"],
                ["web_users.id"],
                name=op.f("fk_web_shares_reviewed_by_web_users"),
                ondelete="SET NULL",
            ),
            sa.ForeignKeyConstraint(
                ["session_id"],
                ["sessions.id"],
                name=op.f("fk_web_shares_session_id_sessions"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("session_id", name=op.f("pk_web_shares")),
        )
        op.create_index(op.f("ix_web_shares_shared_at"), "web_shares", ["shared_at"], unique=False)
    if "web_article_comments" not in existing:
        op.create_table(
            "web_article_comments",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("article_id", sa.Integer(), nullable=False),
            sa.Column("author_id", sa.Integer(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("hidden", sa.Boolean(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["article_id"],
                ["web_articles.id"],
                name=op.f("fk_web_article_comments_article_id_web_articles"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["author_id"],
                ["web_users.id"],
                name=op.f("fk_web_article_comments_author_id_web_users"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_web_article_comments")),
        )
        op.create_index(
            op.f("ix_web_article_comments_article_id"),
            "web_article_comments",
            ["article_id"],
            unique=False,
        )
    if "web_article_links" not in existing:
        op.create_table(
            "web_article_links",
            sa.Column("article_id", sa.Integer(), nullable=False),
            sa.Column("related_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["article_id"],
                ["web_articles.id"],
                name=op.f("fk_web_article_links_article_id_web_articles"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["related_id"],
                ["web_articles.id"],
                name=op.f("fk_web_article_links_related_id_web_articles"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("article_id", "related_id", name=op.f("pk_web_article_links")),
        )
    if "web_episodes" not in existing:
        op.create_table(
            "web_episodes",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("guid", sa.String(length=64), nullable=False),
            sa.Column("article_id", sa.Integer(), nullable=False),
            sa.Column("title", sa.String(length=200), nullable=False),
            sa.Column("audio_name", sa.String(length=80), nullable=False),
            sa.Column("audio_bytes", sa.BigInteger(), nullable=False),
            sa.Column("audio_type", sa.String(length=40), nullable=False),
            sa.Column("duration_s", sa.Float(), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["article_id"],
                ["web_articles.id"],
                name=op.f("fk_web_episodes_article_id_web_articles"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_web_episodes")),
            sa.UniqueConstraint("article_id", name=op.f("uq_web_episodes_article_id")),
            sa.UniqueConstraint("audio_name", name=op.f("uq_web_episodes_audio_name")),
            sa.UniqueConstraint("guid", name=op.f("uq_web_episodes_guid")),
        )
    if "web_short_videos" not in existing:
        op.create_table(
            "web_short_videos",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("article_id", sa.Integer(), nullable=False),
            sa.Column("title", sa.String(length=200), nullable=False),
            sa.Column("url", sa.String(length=500), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["article_id"],
                ["web_articles.id"],
                name=op.f("fk_web_short_videos_article_id_web_articles"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_web_short_videos")),
        )
        op.create_index(
            op.f("ix_web_short_videos_article_id"), "web_short_videos", ["article_id"], unique=False
        )
    if "web_comments_of_the_week" not in existing:
        op.create_table(
            "web_comments_of_the_week",
            sa.Column("week_of", sa.Date(), nullable=False),
            sa.Column("comment_id", sa.Integer(), nullable=False),
            sa.Column("picked_by", sa.Integer(), nullable=True),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("picked_at", UTCDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["comment_id"],
                ["web_article_comments.id"],
                name=op.f("fk_web_comments_of_the_week_comment_id_web_article_comments"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["picked_by"],
                ["web_users.id"],
                name=op.f("fk_web_comments_of_the_week_picked_by_web_users"),
                ondelete="SET NULL",
            ),
            sa.PrimaryKeyConstraint("week_of", name=op.f("pk_web_comments_of_the_week")),
        )
        op.create_index(
            op.f("ix_web_comments_of_the_week_comment_id"),
            "web_comments_of_the_week",
            ["comment_id"],
            unique=False,
        )


def downgrade() -> None:
    """Drop the web tables (children first)."""
    for name in reversed(WEB_TABLES):
        op.drop_table(name)
