"""A logged-in account's own page: what it is, a new password, a member's data and its deletion.

Every function takes the asking :class:`~kneeback.web.accounts.Account` and acts on that account
only. A member downloads what ``kneeback export`` writes for their person
(:func:`~kneeback.store.export_person`), alone or in a zip with the rest of what is kept for
them (:mod:`kneeback.web.account_zip`), and may delete their account with everything kept for
it: the person and history with the files written for them
(:func:`~kneeback.store.forget_person`), the account's analysis jobs with their uploaded clips
and output folders, and the account row, whose login sessions, coaches' groups and comments go
with it (``ON DELETE CASCADE``). Only files inside the service's data folder are deleted, links
resolved: a session stored on the command line may name files anywhere, and those stay. Coaches
and admins do not delete themselves here, so the last admin is never deleted this way: the
operator removes their accounts (``kneeback users remove``, :mod:`kneeback.web.removal`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession

from kneeback.store.db import Database
from kneeback.store.models import Person
from kneeback.store.models import Session as StoredSession
from kneeback.web.accounts import Account
from kneeback.web.models import ArticleComment, CoachMember, Job, LoginSession, User
from kneeback.web.review import NotAllowedError

__all__ = [
    "AnalysisRunningError",
    "DeletedAccount",
    "account_details",
    "cascading_rows",
    "count_rows",
    "delete_member",
    "deleted_rows",
    "export_filename",
    "member_export",
    "row_phrases",
]

log = logging.getLogger(__name__)

#: Why a coach or an admin cannot delete their own account on its page.
STAFF_DELETE_TEXT = (
    "A coach's or admin's account is not deleted from its own page; ask the operator of the "
    "service to remove it (kneeback users remove USERNAME)."
)


#: What :attr:`DeletedAccount.rows` counts, in words (one, many), in the order they are shown.
ROW_WORDS = {
    "sessions": ("analysed session", "analysed sessions"),
    "reps": ("repetition", "repetitions"),
    "rep_metrics": ("repetition measurement", "repetition measurements"),
    "findings": ("finding", "findings"),
    "artifacts": ("record of a file", "records of files"),
    "outcomes": ("outcome entry", "outcome entries"),
    "program_states": ("program stage", "program stages"),
    "program_events": ("program change", "program changes"),
    "jobs": ("upload and its analysis job", "uploads and their analysis jobs"),
    "article_comments": ("comment on an article", "comments on articles"),
    "coach_groups": ("place in a coach's group", "places in coaches' groups"),
    "group_members": ("member assigned to them", "members assigned to them"),
    "logins": ("login", "logins"),
}


class AnalysisRunningError(Exception):
    """An analysis of the account is running: deleting it now could leave its files behind."""


@dataclass(frozen=True)
class DeletedAccount:
    """What deleting a member's account removed.

    Attributes
    ----------
    username
        The deleted account.
    person
        The name of its stored person (None when it had none).
    rows
        Rows deleted, by kind (``sessions``, ``findings``, ``logins``, ``jobs``, ...; only the
        kinds with rows).
    files_deleted
        Files and folders deleted: the person's analysis files, uploaded clips, job folders.
    files_kept
        Files of the person's sessions left in place, each with why (another person's session
        names it, or its folder holds a later analysis).
    """

    username: str
    person: str | None
    rows: dict[str, int] = field(default_factory=dict)
    files_deleted: int = 0
    files_kept: list[dict[str, str]] = field(default_factory=list)


def account_details(db: Database, account: Account, /) -> dict[str, Any]:
    """Return what the account page shows about an account.

    Returns
    -------
    dict
        ``username``, ``role``, ``created_at`` (ISO 8601), and for a member ``person`` (the name
        of their stored person, or None), ``sessions`` and ``jobs`` (how many are kept).
    """

    def work(s: OrmSession) -> dict[str, Any]:
        user = s.get(User, account.id)
        created = user.created_at if user is not None else None
        out: dict[str, Any] = {
            "username": account.username,
            "role": account.role,
            "created_at": created.isoformat() if created is not None else None,
        }
        if account.role == "member":
            person = None if account.person_id is None else s.get(Person, account.person_id)
            out["person"] = None if person is None else person.name
            out["sessions"] = (
                0 if person is None else count_rows(s, StoredSession.person_id == person.id)
            )
            out["jobs"] = count_rows(s, Job.user_id == account.id)
        return out

    return db.read(work)


def count_rows(s: OrmSession, where: Any) -> int:
    """How many rows the condition ``where`` (on one table) selects."""
    return int(s.scalar(select(func.count()).where(where)) or 0)


def cascading_rows(s: OrmSession, user_id: int, /) -> dict[str, int]:
    """Count the rows that go with an account when its row is deleted (``ON DELETE CASCADE``).

    Returns
    -------
    dict
        By kind (see :data:`ROW_WORDS`): its ``logins``, ``jobs`` (uploads), ``coach_groups``
        (a member's places in coaches' groups), ``group_members`` (a coach's assignments of
        members: the members stay) and ``article_comments``. A coach's comments on members'
        sessions stay, without an author (``ON DELETE SET NULL``).
    """
    return {
        "logins": count_rows(s, LoginSession.user_id == user_id),
        "jobs": count_rows(s, Job.user_id == user_id),
        "coach_groups": count_rows(s, CoachMember.member_id == user_id),
        "group_members": count_rows(s, CoachMember.coach_id == user_id),
        "article_comments": count_rows(s, ArticleComment.author_id == user_id),
    }


def _require_member(account: Account, what: str) -> None:
    if account.role != "member":
        raise NotAllowedError(f"Only a member's account {what}.")


def member_export(db: Database, account: Account, /) -> dict[str, Any] | None:
    """Return everything stored for a member's person, as ``kneeback export`` writes it.

    Without the server's file paths: each session's ``source_path`` is null and its
    ``artifacts`` empty. They name the service's folders, which are not the member's to know
    and mean nothing on another machine; the zip holds the files themselves, and ``kneeback
    import`` reads the file without them.

    Returns
    -------
    dict or None
        The export (:func:`kneeback.store.export_person`; with empty lists when
        nothing is stored yet), or None when the account has no stored person (it was
        forgotten with ``kneeback forget``).

    Raises
    ------
    NotAllowedError
        When the account is not a member's.
    """
    from kneeback.store import export_person

    _require_member(account, "has data to download")
    name = _person_name(db, account)
    if name is None:
        return None
    data = export_person(db, name)
    for session in data["sessions"]:
        session["source_path"] = None
        session["artifacts"] = []
    return data


def _person_name(db: Database, account: Account) -> str | None:
    if account.person_id is None:
        return None
    return db.read(lambda s: s.scalar(select(Person.name).where(Person.id == account.person_id)))


def export_filename(
    account: Account, /, *, today: dt.date | None = None, suffix: str = "json"
) -> str:
    """Return a download's file name, ``kneeback-<username>-<YYYY-MM-DD>.<suffix>``.

    ``suffix`` is ``json`` for the export file, ``zip`` for the whole download. A username
    holds only letters, digits, ``.``, ``_`` and ``-``, so the name is safe in a
    ``Content-Disposition`` header.
    """
    return f"kneeback-{account.username}-{(today or dt.date.today()).isoformat()}.{suffix}"


def delete_member(
    db: Database,
    account: Account,
    /,
    *,
    upload_dir: Path,
    analysis_dir: Path,
    by: str = "its member",
) -> DeletedAccount:
    """Delete a member's account and everything kept for it.

    In one transaction, the account row and with it (``ON DELETE CASCADE``) its login
    sessions, analysis jobs, coaches' groups and comments, and the person with their history
    (:func:`~kneeback.store.forget.forget_person_rows`); after it commits, the files written
    for the person's sessions and the jobs' uploaded clips and output folders. Deleting the jobs
    in the same transaction as the account means that no worker can take one of them
    afterwards; deleting the person in it, that no account is gone while its history stays.

    Parameters
    ----------
    db
        The open database.
    account
        The member deleting their own account.
    upload_dir, analysis_dir
        The service's folders of uploads and analyses: a job's file outside them is never
        deleted.
    by
        Who deletes it, for the log line: the member on the account page, or ``"the
        operator"`` (``kneeback users remove``).

    Returns
    -------
    DeletedAccount
        What was deleted.

    Raises
    ------
    NotAllowedError
        When the account is not a member's (coaches and admins are removed by the operator).
    AnalysisRunningError
        When one of the account's analyses is running; nothing is deleted.
    """
    from kneeback.store.forget import delete_forgotten_files, forget_person_rows

    if account.role != "member":
        raise NotAllowedError(STAFF_DELETE_TEXT)

    def work(
        s: OrmSession,
    ) -> tuple[dict[str, Any] | None, list[tuple[str, str, str | None]], dict[str, int]]:
        # Lock the account, then its jobs: a worker claiming one of them waits, or is waited for.
        user = s.scalar(select(User).where(User.id == account.id).with_for_update())
        if user is None or user.role != "member":
            raise NotAllowedError(STAFF_DELETE_TEXT)
        jobs = list(s.scalars(select(Job).where(Job.user_id == user.id).with_for_update()))
        if any(j.state == "running" for j in jobs):
            raise AnalysisRunningError(
                "An analysis of yours is running; try again when it has finished."
            )
        person = None if user.person_id is None else s.get(Person, user.person_id)
        rows = cascading_rows(s, user.id)
        s.delete(user)  # the rows above go with it (ON DELETE CASCADE)
        s.flush()  # before the person it links to
        forgotten = None if person is None else forget_person_rows(s, person.name)
        files = [(j.uid, j.upload_path, j.output_dir) for j in jobs]
        return forgotten, files, rows

    planned, jobs, rows = db.write(work)
    person = None if planned is None else str(planned["name"])
    forgotten = (
        {} if planned is None else delete_forgotten_files(planned, delete_files_in=analysis_dir)
    )
    kept = list(forgotten.get("files_kept", []))
    removed = _remove_job_files(
        jobs,
        upload_dir=upload_dir,
        analysis_dir=analysis_dir,
        keep={str(Path(k["path"]).resolve()) for k in kept},
    )
    rows |= {k: n for k, n in forgotten.get("rows", {}).items() if k != "people"}
    done = DeletedAccount(
        username=account.username,
        person=person,
        rows={k: n for k, n in rows.items() if n},
        files_deleted=len(forgotten.get("files_deleted", [])) + removed,
        files_kept=kept,
    )
    log.info(
        "account %s: deleted by %s, with person %s (%s), %d files deleted, %d kept",
        done.username,
        by,
        person,
        ", ".join(f"{n} {k}" for k, n in done.rows.items()) or "no rows",
        done.files_deleted,
        len(kept),
    )
    return done


def deleted_rows(done: DeletedAccount, /) -> list[str]:
    """Say what :func:`delete_member` deleted, one phrase per kind of row ("3 findings")."""
    return row_phrases(done.rows)


def row_phrases(
    rows: Mapping[str, int], /, *, words: Mapping[str, tuple[str, str]] = ROW_WORDS
) -> list[str]:
    """Say how many rows of each kind there are, one phrase per kind ("3 findings").

    ``words`` names each kind (one, many); its kinds come first, in its order, then any other
    (named by its key), in their own.
    """
    kinds = [k for k in words if k in rows] + [k for k in rows if k not in words]
    out = []
    for kind in kinds:
        n = rows[kind]
        one, many = words.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
        out.append(f"{n} {one if n == 1 else many}")
    return out


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies strictly inside ``folder`` (links resolved)."""
    inner, outer = path.resolve(), folder.resolve()
    return inner != outer and inner.is_relative_to(outer)


def _remove_job_files(
    jobs: list[tuple[str, str, str | None]], *, upload_dir: Path, analysis_dir: Path, keep: set[str]
) -> int:
    """Delete the jobs' uploaded clips and output folders inside the service's folders.

    A file in ``keep`` (resolved paths: another person's session names it) stays, with its
    folder. Returns how many files were deleted.
    """
    removed = 0
    for uid, upload_path, output_dir in jobs:
        upload = Path(upload_path)
        if _inside(upload, upload_dir) and upload.is_file():
            upload.unlink()
            removed += 1
        outputs = [analysis_dir / uid, *analysis_dir.glob(f".{uid}.*.partial")]
        for folder in outputs + ([Path(output_dir)] if output_dir else []):
            if _inside(folder, analysis_dir) and folder.is_dir():
                removed += _remove_tree(folder, keep)
    return removed


def _remove_tree(folder: Path, keep: set[str]) -> int:
    """Delete a folder's files but those in ``keep``, then its emptied folders (file count)."""
    removed = 0
    for p in sorted(folder.rglob("*"), key=lambda q: len(q.parts), reverse=True):
        if p.is_dir() and not p.is_symlink():
            if not any(p.iterdir()):
                p.rmdir()
        elif str(p.resolve()) not in keep:
            p.unlink()
            removed += 1
    if not any(folder.iterdir()):
        folder.rmdir()
    return removed
