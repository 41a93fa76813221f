"""The web app's rows about a member that ``account.json`` lists, read all at once.

:func:`member_records` reads the member's coaches, the share and review state of and coaches'
comments on each of their sessions, and their comments under articles in one transaction and a
fixed number of queries, however many sessions the member has: the zip of a member with hundreds
of sessions starts without a round of queries per session. What it gives for a session is what
:func:`~kneeback.web.review.share_state` and :func:`~kneeback.web.review.comments_page` give the
member for it (``tests/test_web_account_zip.py`` checks it against them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from kneeback.store.db import Database
from kneeback.store.models import Session as StoredSession
from kneeback.web.accounts import Account
from kneeback.web.models import Article, ArticleComment, CoachMember, Comment, Share, User

__all__ = ["MemberRecords", "member_records"]

#: The share state of a session its member never shared.
_NOT_SHARED: Mapping[str, Any] = MappingProxyType(
    {"shared": False, "shared_at": None, "reviewed_at": None, "reviewed_by": None}
)


@dataclass(frozen=True)
class MemberRecords:
    """A member's coaches, reviews and comments, as ``account.json`` lists them.

    Attributes
    ----------
    coaches
        The usernames of the member's coaches, sorted.
    shares
        By session id, for each shared session: ``shared`` (True), ``shared_at``,
        ``reviewed_at`` (None until reviewed), ``reviewed_by`` (the reviewing coach's username;
        None when not reviewed or their account is gone). A session not in it was not shared.
    comments
        By session id, the coaches' comments on it by moment of the video (then id), each with
        ``time_s``, ``text``, ``author`` (None when the coach's account is gone) and
        ``created_at``. A session not in it has none.
    article_comments
        The member's comments under articles, oldest first, hidden ones too: ``article``
        (``title``, ``slug``), ``text``, ``created_at``, ``hidden``.
    """

    coaches: list[str] = field(default_factory=list)
    shares: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    article_comments: list[dict[str, Any]] = field(default_factory=list)

    def share(self, session_id: int, /) -> Mapping[str, Any]:
        """Return a session's share state (``shared`` False and the rest None if never shared)."""
        return self.shares.get(session_id, _NOT_SHARED)


def member_records(db: Database, account: Account, /) -> MemberRecords:
    """Read what ``account.json`` lists of a member's web app rows, in four queries.

    Parameters
    ----------
    db
        The database.
    account
        The member.

    Returns
    -------
    MemberRecords
        The coaches and article comments of the account, and the shares and comments of the
        sessions of its stored person (none when it has none).
    """

    def work(s: OrmSession) -> MemberRecords:
        shares: dict[int, dict[str, Any]] = {}
        comments: dict[int, list[dict[str, Any]]] = {}
        if account.person_id is not None:
            shares = _shares(s, account.person_id)
            comments = _comments(s, account.person_id)
        return MemberRecords(
            coaches=_coaches(s, account.id),
            shares=shares,
            comments=comments,
            article_comments=_article_comments(s, account.id),
        )

    return db.read(work)


def _coaches(s: OrmSession, member_id: int) -> list[str]:
    q = select(User.username).join(CoachMember, CoachMember.coach_id == User.id)
    return list(s.scalars(q.where(CoachMember.member_id == member_id).order_by(User.username)))


def _shares(s: OrmSession, person_id: int) -> dict[int, dict[str, Any]]:
    """Return the share state of each shared session of the person, by session id."""
    q = (
        select(Share.session_id, Share.shared_at, Share.reviewed_at, User.username)
        .join(StoredSession, StoredSession.id == Share.session_id)
        .outerjoin(User, User.id == Share.reviewed_by)
        .where(StoredSession.person_id == person_id)
    )
    return {
        session_id: {
            "shared": True,
            "shared_at": shared_at.isoformat(),
            "reviewed_at": None if reviewed_at is None else reviewed_at.isoformat(),
            "reviewed_by": reviewer,
        }
        for session_id, shared_at, reviewed_at, reviewer in s.execute(q)
    }


def _comments(s: OrmSession, person_id: int) -> dict[int, list[dict[str, Any]]]:
    """Return the comments on each of the person's sessions, by moment (then id)."""
    q = (
        select(Comment.session_id, Comment.time_s, Comment.text, User.username, Comment.created_at)
        .join(StoredSession, StoredSession.id == Comment.session_id)
        .outerjoin(User, User.id == Comment.author_id)
        .where(StoredSession.person_id == person_id)
        .order_by(Comment.session_id, Comment.time_s, Comment.id)
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for session_id, time_s, text, author, created_at in s.execute(q):
        out.setdefault(session_id, []).append(
            {"time_s": time_s, "text": text, "author": author, "created_at": created_at.isoformat()}
        )
    return out


def _article_comments(s: OrmSession, author_id: int) -> list[dict[str, Any]]:
    """Return the account's comments under articles, oldest first, hidden ones too."""
    q = (
        select(ArticleComment, Article.title, Article.slug)
        .join(Article, Article.id == ArticleComment.article_id)
        .where(ArticleComment.author_id == author_id)
        .order_by(ArticleComment.created_at, ArticleComment.id)
    )
    return [
        {
            "article": {"title": title, "slug": slug},
            "text": c.text,
            "created_at": c.created_at.isoformat(),
            "hidden": c.hidden,
        }
        for c, title, slug in s.execute(q)
    ]
