"""Reads for the web app, each filtered by who is asking.

Every function takes the asking :class:`~kneeback.web.accounts.Account` and returns only what that
account may see: a member their own sessions and jobs, a coach also those of their assigned
members, an admin everything. Something that exists but may not be seen is reported exactly like
something that does not exist (None), so that ids of other people's data reveal nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from kneeback.store.db import Database
from kneeback.store.models import Person
from kneeback.store.models import Session as StoredSession
from kneeback.web.accounts import Account, visible_user_ids
from kneeback.web.jobs import job_view
from kneeback.web.models import Job, User
from kneeback.web.paging import EVERYTHING, Page, Window, select_page

__all__ = [
    "SERVED_FILES",
    "file_inside",
    "get_job",
    "get_session",
    "jobs_page",
    "member_person",
    "members_page",
    "session_file",
    "session_summary",
    "sessions_page",
    "visible_members",
]


def _sessions_query(visible: set[int] | None) -> Any:  # a Select of (session, owner) rows
    q = select(StoredSession, User.username).join(User, User.person_id == StoredSession.person_id)
    if visible is not None:
        q = q.where(User.id.in_(visible))
    return q


def session_summary(row: StoredSession, owner: str, /) -> dict[str, Any]:
    """Describe a stored session as the API and the pages list it (``SessionOut``)."""
    return {
        "id": row.id,
        "owner": owner,
        "recorded_at": row.recorded_at.isoformat(),
        "movement": row.movement,
        "view": row.view,
        "verdict": row.verdict,
        "reps": row.rep_count,
        "capture": row.capture_verdict,
    }


def sessions_page(
    db: Database,
    account: Account,
    /,
    *,
    window: Window = EVERYTHING,
    owner: str | None = None,
) -> Page[dict[str, Any]]:
    """Return a window of the sessions the account may see, newest first (ties: newest id).

    With ``owner``, only that member's (an owner the account may not see has none).
    """
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> Page[dict[str, Any]]:
        q = _sessions_query(visible).order_by(
            StoredSession.recorded_at.desc(), StoredSession.id.desc()
        )
        if owner is not None:
            q = q.where(User.username == owner)
        rows, total = select_page(s, q, window)
        return Page([session_summary(row, owner) for row, owner in rows], total)

    return db.read(work)


def get_session(db: Database, account: Account, session_id: int, /) -> dict[str, Any] | None:
    """One session with its findings and result, or None when absent or not visible."""
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> dict[str, Any] | None:
        hit = s.execute(_sessions_query(visible).where(StoredSession.id == session_id)).first()
        if hit is None:
            return None
        row, owner = hit
        out = session_summary(row, owner)
        out["findings"] = [
            {
                "id": f.rule_id,
                "severity": f.severity,
                "title": f.title,
                "text": f.text,
                "cue": f.cue,
                "rep": f.rep_index,
                "time_s": f.time_s,
            }
            for f in row.findings
        ]
        kinds = {a.kind for a in row.artifacts}
        out["files"] = sorted(name for name, kind in SERVED_FILES.items() if kind in kinds)
        out["result"] = json.loads(row.result_json)
        return out

    return db.read(work)


#: Files of a session the web app serves: name in the URL -> artifact kind.
SERVED_FILES = {"report.html": "report_html", "annotated.mp4": "annotated_mp4"}


def session_file(
    db: Database, account: Account, session_id: int, name: str, /, *, root: Path
) -> Path | None:
    """Path of a served file of a visible session, or None.

    Only ``report.html`` and ``annotated.mp4`` are served, and only when the stored path lies
    inside ``root`` (the analysis folder of the web app) and exists.
    """
    kind = SERVED_FILES.get(name)
    if kind is None:
        return None
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> str | None:
        hit = s.execute(_sessions_query(visible).where(StoredSession.id == session_id)).first()
        if hit is None:
            return None
        return next((a.path for a in hit[0].artifacts if a.kind == kind), None)

    return file_inside(db.read(work), root)


def file_inside(stored: str | None, root: Path, /) -> Path | None:
    """Return a stored path, resolved, when it names a file strictly inside ``root``; else None.

    Links are resolved first, so a link inside ``root`` to a file elsewhere is refused too.
    """
    if stored is None:
        return None
    path = Path(stored).resolve()
    if root.resolve() not in path.parents or not path.is_file():
        return None
    return path


def _visible_jobs(visible: set[int] | None) -> Any:  # a Select of (job, owner) rows
    q = select(Job, User.username).join(User, User.id == Job.user_id)
    if visible is not None:
        q = q.where(Job.user_id.in_(visible))
    return q


def jobs_page(
    db: Database, account: Account, /, *, window: Window = EVERYTHING
) -> Page[dict[str, Any]]:
    """Return a window of the jobs the account may see, newest first (ties: newest id)."""
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> Page[dict[str, Any]]:
        q = _visible_jobs(visible).order_by(Job.created_at.desc(), Job.id.desc())
        rows, total = select_page(s, q, window)
        return Page([job_view(j) | {"owner": owner} for j, owner in rows], total)

    return db.read(work)


def get_job(db: Database, account: Account, uid: str, /) -> dict[str, Any] | None:
    """One job, or None when absent or not visible."""
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> dict[str, Any] | None:
        hit = s.execute(_visible_jobs(visible).where(Job.uid == uid)).first()
        return None if hit is None else job_view(hit[0]) | {"owner": hit[1]}

    return db.read(work)


def member_person(db: Database, account: Account, username: str, /) -> str | None:
    """Name of the stored person of a member the account may see, or None.

    A member may name only themself; a coach their assigned members; an admin any member.
    """
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> str | None:
        q = select(Person.name).join(User, User.person_id == Person.id)
        q = q.where(User.username == username, User.role == "member")
        if visible is not None:
            q = q.where(User.id.in_(visible))
        return s.scalar(q)

    return db.read(work)


def members_page(db: Database, account: Account, /, *, window: Window = EVERYTHING) -> Page[str]:
    """Return a window of the usernames of the members the account may see, sorted."""
    visible = visible_user_ids(db, account)

    def work(s: OrmSession) -> Page[str]:
        q = select(User.username).where(User.role == "member", User.person_id.is_not(None))
        if visible is not None:
            q = q.where(User.id.in_(visible))
        rows, total = select_page(s, q.order_by(User.username), window)
        return Page([name for (name,) in rows], total)

    return db.read(work)


def visible_members(db: Database, account: Account, /) -> list[str]:
    """Usernames of the members whose data the account may see, sorted."""
    return members_page(db, account).items
