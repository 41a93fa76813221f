"""Deleting one session from the web app: by the member who owns it, or by an admin.

Like :mod:`kneeback.web.queries`, a session the account may not see is reported exactly like
one that does not exist (None), so that ids of other people's sessions reveal nothing. A coach
sees their members' sessions but may not delete them (:class:`~kneeback.web.review.NotAllowedError`,
403). A session whose analysis job has not finished is not deleted (:class:`SessionBusyError`,
409): the job is about to link it, and the link would name a deleted session.

The deletion itself is :func:`kneeback.store.forget_session`: the session's rows and the files
the analysis wrote go (those inside the data folder only, links resolved: a session stored on
the command line may name files anywhere, and those stay); the database's foreign keys delete
its share and the coaches' comments and unlink its job (whose page then says that the session
was deleted). The clip the member uploaded is deleted too: the web app wrote it, and a member
deletes a session above all for what is in the clip (the wrong clip, someone else in the frame).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession

from kneeback.errors import UnknownSessionError
from kneeback.store import forget_session, session_to_forget
from kneeback.store.db import Database
from kneeback.store.models import Session as StoredSession
from kneeback.web.accounts import Account, visible_user_ids
from kneeback.web.models import Comment, Job, Share, User
from kneeback.web.queries import file_inside, session_summary
from kneeback.web.review import NotAllowedError

__all__ = ["SessionBusyError", "delete_session", "deletion_preview"]

log = logging.getLogger(__name__)

#: Job states of an analysis that has not finished.
_UNFINISHED = ("queued", "running")


class SessionBusyError(Exception):
    """The session's analysis job has not finished yet, so the session cannot be deleted."""


def _owned(
    s: OrmSession, account: Account, session_id: int, visible: set[int] | None
) -> tuple[StoredSession, User] | None:
    """Return the session and its member when the account may delete it; None when unseen.

    ``visible`` is :func:`~kneeback.web.accounts.visible_user_ids` of the account.

    Raises
    ------
    NotAllowedError
        When the account sees the session but may not delete it (a coach).
    """
    q = select(StoredSession, User).join(User, User.person_id == StoredSession.person_id)
    q = q.where(StoredSession.id == session_id)
    if visible is not None:
        q = q.where(User.id.in_(visible))
    hit = s.execute(q).first()
    if hit is None:
        return None
    if account.role not in ("member", "admin"):
        raise NotAllowedError("Only the member whose session it is, or an admin, can delete it.")
    return hit[0], hit[1]


def _busy(s: OrmSession, row: StoredSession, owner: User) -> bool:
    """Whether an unfinished analysis job stored (or is storing) this session.

    A job links its session only when it finishes, a moment after storing it: until then the
    job is found by its uploaded clip, which is the session's source.
    """
    jobs = s.scalars(select(Job).where(Job.user_id == owner.id, Job.state.in_(_UNFINISHED)))
    source = None if row.source_path is None else Path(row.source_path)
    return any(
        job.session_id == row.id
        or (source is not None and Path(job.upload_path).resolve() == source)
        for job in jobs
    )


def _web_rows(s: OrmSession, session_id: int) -> dict[str, int]:
    """Count the web app's rows that go with the session (through the database's foreign keys)."""
    comments = s.scalar(select(func.count(Comment.id)).where(Comment.session_id == session_id))
    return {"comments": int(comments or 0), "shares": 1 if s.get(Share, session_id) else 0}


def deletion_preview(
    db: Database, account: Account, session_id: int, /, *, upload_dir: Path, analysis_dir: Path
) -> dict[str, Any] | None:
    """Describe what deleting a session would delete, for the confirmation page.

    Parameters
    ----------
    db
        The database.
    account
        Who asks.
    session_id
        The session.
    upload_dir
        The web app's upload folder (an uploaded clip there is deleted with the session).
    analysis_dir
        The web app's analysis folder: only the analysis's files there are deleted.

    Returns
    -------
    dict or None
        ``session`` (as listed), ``findings``, ``outcomes`` (those the clip gave),
        ``program_changes_kept``, ``files`` (how many files of the analysis are deleted: those
        inside ``analysis_dir``), ``comments``,
        ``shared``, ``upload`` (whether the uploaded clip goes too) and ``busy`` (an unfinished
        job: it cannot be deleted yet); None when the account does not see the session.

    Raises
    ------
    NotAllowedError
        When the account sees the session but may not delete it (a coach).
    """
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> dict[str, Any] | None:
        hit = _owned(s, account, session_id, visible)
        if hit is None:
            return None
        row, owner = hit
        web = _web_rows(s, row.id)
        source = None if row.source_path is None else Path(row.source_path)
        return {
            "session": session_summary(row, owner.username),
            "busy": _busy(s, row, owner),
            "comments": web["comments"],
            "shared": bool(web["shares"]),
            "upload": source is not None and upload_dir.resolve() in source.parents,
        }

    view = db.read(work)
    if view is None:
        return None
    try:
        plan = session_to_forget(db, session_id)
    except UnknownSessionError:  # deleted in the meantime
        return None
    return view | {
        "findings": plan["rows"]["findings"],
        "outcomes": plan["outcomes"],
        "program_changes_kept": plan["program_changes_kept"],
        "files": sum(file_inside(p, analysis_dir) is not None for p in plan["files"]),
    }


def delete_session(
    db: Database, account: Account, session_id: int, /, *, upload_dir: Path, analysis_dir: Path
) -> dict[str, Any] | None:
    """Delete a session the account owns (an admin: any member's), with its files.

    Parameters
    ----------
    db
        The database.
    account
        Who asks.
    session_id
        The session.
    upload_dir
        The web app's upload folder: the session's uploaded clip there is deleted too.
    analysis_dir
        The web app's analyses: only the session's files inside it are deleted (one stored on
        the command line may name files anywhere; they stay).

    Returns
    -------
    dict or None
        What :func:`kneeback.store.forget_session` returns, with ``owner`` (the member's
        username) and ``web_rows`` (comments and shares deleted with it); None when the account
        does not see the session (or it is gone).

    Raises
    ------
    NotAllowedError
        When the account sees the session but may not delete it (a coach).
    SessionBusyError
        When the session's analysis job has not finished; nothing is deleted.
    """
    visible = visible_user_ids(db, account)
    found: dict[str, Any] = {}

    def check(s: OrmSession, row: StoredSession) -> None:
        hit = _owned(s, account, row.id, visible)
        if hit is None:
            raise UnknownSessionError(f"No session #{row.id} is visible.")
        if _busy(s, row, hit[1]):
            raise SessionBusyError(
                "This session's analysis has not finished yet; delete it once it has."
            )
        found.update(owner=hit[1].username, web_rows=_web_rows(s, row.id))

    try:
        done = forget_session(
            db,
            session_id,
            delete_sources_in=upload_dir,
            delete_files_in=analysis_dir,
            check=check,
        )
    except UnknownSessionError:
        return None
    log.info(
        "session %d of %s deleted by %s: %d files deleted, %d kept",
        session_id,
        found["owner"],
        account.username,
        len(done["files_deleted"]),
        len(done["files_kept"]),
    )
    return done | found
