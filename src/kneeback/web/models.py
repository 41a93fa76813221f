"""Tables of the web app: accounts, coaches, login sessions, jobs, reviews and weekly content.

They share the store's :class:`~sqlalchemy.MetaData` (``kneeback.store.models.Base``) and are
created and upgraded by the same Alembic migrations (revision 0003 onwards), so
:func:`kneeback.store.open_database` makes a database ready for the web app too. They refer to the
store's ``people`` and ``sessions`` tables by foreign key.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kneeback.store.models import Base, Person, UTCDateTime, utcnow
from kneeback.store.models import Session as StoredSession

__all__ = [
    "ROLES",
    "Article",
    "ArticleComment",
    "ArticleLink",
    "CoachMember",
    "Comment",
    "CommentOfTheWeek",
    "Episode",
    "Job",
    "LoginSession",
    "Share",
    "ShortVideo",
    "User",
    "WebBase",
]

#: Account roles: a member owns their data, a coach reads their assigned members', an admin all.
ROLES = ("member", "coach", "admin")
#: Job states, in order.
JOB_STATES = ("queued", "running", "done", "failed")


#: Declarative base of the web tables: the store's, so that one migration chain covers both.
WebBase = Base


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
    belongs to a worker that stopped, and goes back in the queue. ``idempotency_key`` is the
    ``Idempotency-Key`` an API upload was sent with (unique per account; cleared when it
    expires) and ``upload_sha256`` the SHA-256 of the uploaded file, which a retry must match;
    both are NULL for uploads without a key (revision 0004).
    """

    __tablename__ = "web_jobs"
    __table_args__ = (
        Index("ix_web_jobs_state_created", "state", "created_at"),
        Index("ix_web_jobs_user_idempotency_key", "user_id", "idempotency_key", unique=True),
    )

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
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    upload_sha256: Mapped[str | None] = mapped_column(String(64), default=None)


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
    """A coach's comment on a session at a moment (``time_s``) of its video.

    The comment is the member's as much as the coach's: it goes with the session, and stays
    without an author (``author_id`` None) when the coach's account is removed.
    """

    __tablename__ = "web_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey(StoredSession.id, ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("web_users.id", ondelete="SET NULL"), nullable=True
    )
    time_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Article(WebBase):
    """A weekly article, written by an admin in Markdown.

    ``issue`` is the program's issue number (unique); ``published_on`` the date it appears on
    (an article dated in the future is a draft until then); ``slug`` its address
    (``/articles/<slug>``).
    """

    __tablename__ = "web_articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue: Mapped[int] = mapped_column(Integer, unique=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    body_md: Mapped[str] = mapped_column(Text)
    published_on: Mapped[dt.date] = mapped_column(Date, index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("web_users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ArticleLink(WebBase):
    """A related article: ``article_id`` lists ``related_id`` among its related articles."""

    __tablename__ = "web_article_links"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("web_articles.id", ondelete="CASCADE"), primary_key=True
    )
    related_id: Mapped[int] = mapped_column(
        ForeignKey("web_articles.id", ondelete="CASCADE"), primary_key=True
    )


class Episode(WebBase):
    """A podcast episode: an audio file attached to a weekly article.

    ``audio_name`` is the random file name in the data folder's ``podcast/`` (never the
    uploader's name); ``audio_bytes`` and ``audio_type`` go into the feed's enclosure;
    ``duration_s`` is read from the file; ``guid`` never changes once published.
    """

    __tablename__ = "web_episodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guid: Mapped[str] = mapped_column(String(64), unique=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("web_articles.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(String(200))
    audio_name: Mapped[str] = mapped_column(String(80), unique=True)
    audio_bytes: Mapped[int] = mapped_column(BigInteger)
    audio_type: Mapped[str] = mapped_column(String(40))
    duration_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ShortVideo(WebBase):
    """A link to a short video that goes with a weekly article."""

    __tablename__ = "web_short_videos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("web_articles.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)


class ArticleComment(WebBase):
    """A member's comment under a weekly article (public to logged-in readers).

    ``hidden`` is set by an admin or coach who takes a comment down; hidden comments are kept
    (and can no longer be picked as comment of the week).
    """

    __tablename__ = "web_article_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("web_articles.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CommentOfTheWeek(WebBase):
    """A member's article comment picked by a coach as the comment of the week.

    ``week_of`` is the Monday of the ISO week it is featured in (one pick per week; picking
    again that week replaces it).
    """

    __tablename__ = "web_comments_of_the_week"

    week_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("web_article_comments.id", ondelete="CASCADE"), index=True
    )
    picked_by: Mapped[int | None] = mapped_column(
        ForeignKey("web_users.id", ondelete="SET NULL"), default=None
    )
    note: Mapped[str] = mapped_column(Text, default="")
    picked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
