"""The coach review flow: a member shares a session, coaches comment at moments of its video.

Like :mod:`kneeback.web.queries`, every function takes the asking
:class:`~kneeback.web.accounts.Account` and treats a session it may not see exactly like one that
does not exist (None), so that ids of other people's sessions reveal nothing. A member may share
only their own sessions; a coach comments on and marks reviewed only their assigned members'
sessions (an admin any).
"""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession

from kneeback.errors import BadValueError
from kneeback.store.db import Database
from kneeback.store.models import Finding, utcnow
from kneeback.store.models import Session as StoredSession
from kneeback.web.accounts import Account, visible_user_ids
from kneeback.web.models import CoachMember, Comment, Share, User
from kneeback.web.paging import EVERYTHING, Page, Window, select_page
from kneeback.web.queries import session_summary
from kneeback.web.text import clean_text

__all__ = [
    "MAX_COMMENT_CHARS",
    "NotAllowedError",
    "NotSharedError",
    "add_comment",
    "comments_page",
    "list_comments",
    "mark_reviewed",
    "review_page",
    "review_queue",
    "share_session",
    "share_state",
]

#: Longest comment accepted, in characters.
MAX_COMMENT_CHARS = 2000
#: Latest moment a comment may point at, in seconds (a day: far beyond any clip).
MAX_TIME_S = 86_400.0
#: How far past the clip's recorded length a comment may point (the video player's last frame
#: and rounding to 0.1 s), in seconds.
CLIP_END_SLACK_S = 0.5
#: Finding severities that mean "needs work" in the review queue.
NEEDS_WORK = ("major", "minor")


class NotAllowedError(Exception):
    """The account sees the session but may not do this to it (e.g. a member commenting)."""


class NotSharedError(NotAllowedError):
    """The session was not shared for review, so it cannot be marked reviewed."""


def _visible_session(
    s: OrmSession, visible: set[int] | None, session_id: int
) -> tuple[StoredSession, User] | None:
    q = select(StoredSession, User).join(User, User.person_id == StoredSession.person_id)
    q = q.where(StoredSession.id == session_id)
    if visible is not None:
        q = q.where(User.id.in_(visible))
    hit = s.execute(q).first()
    return None if hit is None else (hit[0], hit[1])


def _share_view(
    share: Share | None, reviewer: str | None = None, *, coaches: list[str]
) -> dict[str, Any]:
    if share is None:
        return {
            "shared": False,
            "shared_at": None,
            "reviewed_at": None,
            "reviewed_by": None,
            "coaches": coaches,
        }
    return {
        "shared": True,
        "shared_at": share.shared_at.isoformat(),
        "reviewed_at": None if share.reviewed_at is None else share.reviewed_at.isoformat(),
        "reviewed_by": reviewer,
        "coaches": coaches,
    }


def _coaches_of(s: OrmSession, member: User) -> list[str]:
    """Return the usernames of the member's coaches (who see what they share), sorted."""
    q = (
        select(User.username)
        .join(CoachMember, CoachMember.coach_id == User.id)
        .where(CoachMember.member_id == member.id)
        .order_by(User.username)
    )
    return list(s.scalars(q))


def _reviewer(s: OrmSession, share: Share | None) -> str | None:
    if share is None or share.reviewed_by is None:
        return None
    return s.scalar(select(User.username).where(User.id == share.reviewed_by))


def share_state(db: Database, account: Account, session_id: int, /) -> dict[str, Any] | None:
    """Whether a visible session is shared and reviewed; None when absent or not visible."""
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> dict[str, Any] | None:
        hit = _visible_session(s, visible, session_id)
        if hit is None:
            return None
        share = s.get(Share, session_id)
        return _share_view(share, _reviewer(s, share), coaches=_coaches_of(s, hit[1]))

    return db.read(work)


def share_session(db: Database, account: Account, session_id: int, /) -> dict[str, Any] | None:
    """Share a member's own session with their coach(es); return its share state.

    Sharing a reviewed session again puts it back in the queue (as newly shared); sharing an
    unreviewed one again changes nothing. None when the session is not the member's own (a coach
    or admin shares nothing: only a member's own sessions are theirs to share).
    """
    if account.role != "member":
        return None

    def work(s: OrmSession) -> dict[str, Any] | None:
        hit = _visible_session(s, {account.id}, session_id)
        if hit is None:
            return None
        share = s.get(Share, session_id)
        if share is None:
            share = Share(session_id=session_id, shared_at=utcnow())
            s.add(share)
        elif share.reviewed_at is not None:
            share.shared_at, share.reviewed_at, share.reviewed_by = utcnow(), None, None
        s.flush()
        return _share_view(share, coaches=_coaches_of(s, hit[1]))

    return db.write(work)


def _may_review(account: Account) -> bool:
    return account.role in ("coach", "admin")


def review_page(
    db: Database, account: Account, /, *, window: Window = EVERYTHING
) -> Page[dict[str, Any]]:
    """Return a window of the shared, unreviewed sessions of the coach's members (admin: all).

    Oldest share first (ties: the lower session id first). Each has the session summary,
    ``shared_at``, ``severity`` (finding counts by severity) and ``needs_work`` (the major and
    minor findings). A member's queue is empty.
    """
    if not _may_review(account):
        return Page([], 0)
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> Page[dict[str, Any]]:
        q = (
            select(StoredSession, User.username, Share.shared_at)
            .join(Share, Share.session_id == StoredSession.id)
            .join(User, User.person_id == StoredSession.person_id)
            .where(Share.reviewed_at.is_(None))
            .order_by(Share.shared_at, StoredSession.id)
        )
        if visible is not None:
            q = q.where(User.id.in_(visible))
        rows, total = select_page(s, q, window)
        out = []
        for row, owner, shared_at in rows:  # the findings of the page's sessions only
            counts: dict[str, int] = {}
            for sev, n in s.execute(
                select(Finding.severity, func.count())
                .where(Finding.session_id == row.id)
                .group_by(Finding.severity)
            ):
                counts[sev] = n
            flagged = [
                {"id": f.rule_id, "severity": f.severity, "title": f.title, "rep": f.rep_index}
                for f in row.findings
                if f.severity in NEEDS_WORK
            ]
            out.append(
                session_summary(row, owner)
                | {
                    "shared_at": shared_at.isoformat(),
                    "severity": dict(sorted(counts.items())),
                    "needs_work": flagged,
                }
            )
        return Page(out, total)

    return db.read(work)


def review_queue(db: Database, account: Account, /) -> list[dict[str, Any]]:
    """Shared, unreviewed sessions of the coach's members (an admin: all), oldest share first.

    Each has the session summary, ``shared_at``, ``severity`` (finding counts by severity) and
    ``needs_work`` (the major and minor findings). A member's queue is empty.
    """
    return review_page(db, account).items


def _comment_view(c: Comment, author: str | None) -> dict[str, Any]:
    """Return a comment as the API and pages show it (``author`` None: the coach was removed)."""
    return {
        "id": c.id,
        "session_id": c.session_id,
        "author": author,
        "time_s": c.time_s,
        "text": c.text,
        "created_at": c.created_at.isoformat(),
    }


def comments_page(
    db: Database, account: Account, session_id: int, /, *, window: Window = EVERYTHING
) -> Page[dict[str, Any]] | None:
    """Return a window of the comments on a visible session, by moment of the video (then id).

    None when the session is not visible. A comment whose coach's account was removed has the
    ``author`` None.
    """
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> Page[dict[str, Any]] | None:
        if _visible_session(s, visible, session_id) is None:
            return None
        q = (
            select(Comment, User.username)
            .outerjoin(User, User.id == Comment.author_id)
            .where(Comment.session_id == session_id)
            .order_by(Comment.time_s, Comment.id)
        )
        rows, total = select_page(s, q, window)
        return Page([_comment_view(c, author) for c, author in rows], total)

    return db.read(work)


def list_comments(
    db: Database, account: Account, session_id: int, /
) -> list[dict[str, Any]] | None:
    """Comments on a visible session, by moment of the video; None when not visible."""
    page = comments_page(db, account, session_id)
    return None if page is None else page.items


def clip_duration_s(session: StoredSession, /) -> float | None:
    """Return the length of a session's analysed clip in seconds, when its result records it."""
    try:
        value = json.loads(session.result_json).get("capture", {}).get("duration_s")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) and value > 0 else None


def check_comment(time_s: float, text: str, /) -> tuple[float, str]:
    """Return the moment (rounded to 0.1 s) and stripped text of a comment.

    Raises
    ------
    BadValueError
        When the moment is not a number from 0 to a day, or the text is empty or too long.
    """
    if not math.isfinite(time_s) or not 0 <= time_s <= MAX_TIME_S:
        raise BadValueError("The moment of a comment is a number of seconds from 0.")
    text = clean_text(text)
    if not text:
        raise BadValueError("Write something in the comment.")
    if len(text) > MAX_COMMENT_CHARS:
        raise BadValueError(f"A comment has at most {MAX_COMMENT_CHARS} characters.")
    return round(time_s, 1), text


def add_comment(
    db: Database, account: Account, session_id: int, time_s: float, text: str, /
) -> dict[str, Any] | None:
    """Add a coach's comment at ``time_s`` seconds of a visible session's video.

    Returns None when the session is absent or not visible.

    Raises
    ------
    NotAllowedError
        When the account is a member (members read comments; coaches write them).
    BadValueError
        See :func:`check_comment`; also when the moment lies after the end of the clip.
    """
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> dict[str, Any] | None:
        hit = _visible_session(s, visible, session_id)
        if hit is None:
            return None
        if not _may_review(account):  # before the input: a member is refused whatever they wrote
            raise NotAllowedError("Only coaches comment on sessions.")
        moment, said = check_comment(time_s, text)
        length = clip_duration_s(hit[0])
        if length is not None and moment > length + CLIP_END_SLACK_S:
            raise BadValueError(
                f"The moment {moment:g} s is after the end of the clip ({length:.1f} s)."
            )
        c = Comment(
            session_id=session_id,
            author_id=account.id,
            time_s=moment,
            text=said,
            created_at=utcnow(),
        )
        s.add(c)
        s.flush()
        return _comment_view(c, account.username)

    return db.write(work)


def mark_reviewed(db: Database, account: Account, session_id: int, /) -> dict[str, Any] | None:
    """Mark a shared session reviewed (it leaves the queue); return its share state.

    Returns None when the session is absent or not visible.

    Raises
    ------
    NotAllowedError
        When the account is a member, or the session was not shared.
    """
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> dict[str, Any] | None:
        hit = _visible_session(s, visible, session_id)
        if hit is None:
            return None
        if not _may_review(account):
            raise NotAllowedError("Only coaches mark sessions reviewed.")
        share = s.get(Share, session_id)
        if share is None:
            raise NotSharedError("This session was not shared for review.")
        if share.reviewed_at is None:
            share.reviewed_at, share.reviewed_by = utcnow(), account.id
            s.flush()
        return _share_view(share, _reviewer(s, share), coaches=_coaches_of(s, hit[1]))

    return db.write(work)
