"""Removing an account, by the operator of the service: ``kneeback users remove``.

A member's account goes exactly as when the member deletes it on their account page
(:func:`~kneeback.web.account.delete_member`): their person and history with the files written
for them, their uploads with the clips and output folders inside the data folder, and the
account with its logins, places in coaches' groups and comments on articles. While an analysis
of theirs is running, nothing is deleted.

A coach's or an admin's account goes with what the database deletes with its row (``ON DELETE
CASCADE`` in :mod:`kneeback.web.models`): its logins, the assignments of members to it (the members
and their data stay), and the comments it wrote under articles. What it did to others' data stays,
without its name (``ON DELETE SET NULL``): its comments on members' sessions stay on them (the pages
say "a former coach"), a session it marked reviewed stays reviewed, an article it wrote stays
published, a comment of the week it picked stays picked. A stored person linked to a coach's or
admin's account stays with their history too: that is a person's history, not the account's
(``kneeback forget`` removes it). The last admin is never removed. Coaches and admins never upload,
so they have no files in the data folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from kneeback.errors import BadValueError
from kneeback.store.db import Database
from kneeback.store.models import Person
from kneeback.store.models import Session as StoredSession
from kneeback.web.account import (
    AnalysisRunningError,
    DeletedAccount,
    cascading_rows,
    count_rows,
    delete_member,
    row_phrases,
)
from kneeback.web.accounts import Account, find_account
from kneeback.web.models import Article, Comment, CommentOfTheWeek, Job, Share, User
from kneeback.web.review import NotAllowedError

__all__ = [
    "KEPT_WORDS",
    "AccountBusyError",
    "LastAdminError",
    "RemovalPlan",
    "plan_removal",
    "removal_lines",
    "remove_account",
]

log = logging.getLogger(__name__)

#: What a removed coach or admin did that stays (without their name), in words (one, many).
KEPT_WORDS = {
    "comments": ("comment on a member's session", "comments on members' sessions"),
    "reviews": ("session they marked reviewed", "sessions they marked reviewed"),
    "articles": ("article they wrote", "articles they wrote"),
    "picks": ("comment of the week they picked", "comments of the week they picked"),
}


class LastAdminError(BadValueError):
    """The account is the service's last admin: without one, nobody could run the site."""


class AccountBusyError(BadValueError):
    """An analysis of the member's is running: removing the account now could leave files."""


@dataclass(frozen=True)
class RemovalPlan:
    """What removing an account deletes and keeps, to be confirmed before it is done.

    Attributes
    ----------
    account
        The account.
    person
        The name of the stored person linked to it (None when none): deleted with a member,
        kept with a coach or an admin.
    person_sessions
        How many sessions that person has stored.
    goes
        Rows deleted with the account, by kind (see :data:`~kneeback.web.account.ROW_WORDS`;
        only the kinds with rows; a member's ``sessions`` included).
    kept
        A coach's or admin's work that stays without their name, by kind (see
        :data:`KEPT_WORDS`; only the kinds with rows).
    """

    account: Account
    person: str | None
    person_sessions: int
    goes: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)


def _unknown(username: str) -> BadValueError:
    return BadValueError(f"No account named {username!r}.")


def _busy(username: str) -> AccountBusyError:
    return AccountBusyError(
        f"An analysis of {username}'s is running, so nothing was deleted; try again when it has "
        "finished."
    )


def _refuse(s: OrmSession, account: Account, /, *, lock: bool = False) -> None:
    """Refuse to remove the last admin, or a member while an analysis of theirs is running.

    With ``lock``, the other admins' rows are locked until the transaction ends, so that two
    admins removed at once cannot both see the other one left.
    """
    if account.role == "admin":
        others = select(User.id).where(User.role == "admin", User.id != account.id)
        if s.scalars(others.with_for_update() if lock else others).first() is None:
            raise LastAdminError(
                f"{account.username} is the last admin account, so it was not removed; add "
                "another admin first (kneeback users add NAME --role admin)."
            )
    elif account.role == "member":
        running = (Job.user_id == account.id) & (Job.state == "running")
        if count_rows(s, running):
            raise _busy(account.username)


def plan_removal(db: Database, username: str, /) -> RemovalPlan:
    """Say what removing an account would delete and keep, or why it is refused.

    Raises
    ------
    BadValueError
        When there is no such account.
    LastAdminError
        When it is the last admin's.
    AccountBusyError
        When it is a member's and an analysis of theirs is running.
    """
    account = find_account(db, username)
    if account is None:
        raise _unknown(username)

    def work(s: OrmSession) -> RemovalPlan:
        _refuse(s, account)
        person = None if account.person_id is None else s.get(Person, account.person_id)
        sessions = 0 if person is None else count_rows(s, StoredSession.person_id == person.id)
        goes = cascading_rows(s, account.id)
        kept: dict[str, int] = {}
        if account.role == "member":
            goes = {"sessions": sessions} | goes
        else:
            kept = {
                "comments": count_rows(s, Comment.author_id == account.id),
                "reviews": count_rows(s, Share.reviewed_by == account.id),
                "articles": count_rows(s, Article.author_id == account.id),
                "picks": count_rows(s, CommentOfTheWeek.picked_by == account.id),
            }
        return RemovalPlan(
            account=account,
            person=None if person is None else person.name,
            person_sessions=sessions,
            goes={k: n for k, n in goes.items() if n},
            kept={k: n for k, n in kept.items() if n},
        )

    return db.read(work)


def removal_lines(plan: RemovalPlan, /) -> list[str]:
    """Say, line by line, what removing the account deletes and what stays."""
    a = plan.account
    goes = [f"  {p}" for p in row_phrases(plan.goes)]
    if a.role == "member":
        if plan.person is None:
            history = "  no stored history (it was forgotten already)"
        else:
            history = f"  their person {plan.person} and history, with the files written for them"
        return [
            f"Removing the member account {a.username} deletes what deleting it on its account "
            "page does:",
            history,
            *goes,
            "  their uploaded clips and analysis folders in the data folder, and the shares of "
            "their sessions with coaches' comments on them",
        ]
    lines = [
        f"Removing the {a.role} account {a.username} deletes:",
        *(goes or ["  the account alone (no logins, group or comments)"]),
    ]
    if "group_members" in plan.goes:
        lines.append(
            "The members assigned to them keep their accounts and data; only the assignment goes."
        )
    if plan.kept:
        kept = ", ".join(row_phrases(plan.kept, words=KEPT_WORDS))
        lines.append(f"Kept, without their name: {kept}.")
    if plan.person is not None:
        n = plan.person_sessions
        lines.append(
            f"Kept: the person {plan.person} linked to the account, with their history ({n} session"
            f"{'' if n == 1 else 's'}); kneeback forget removes it."
        )
    return lines


def remove_account(
    db: Database, username: str, /, *, upload_dir: Path, analysis_dir: Path
) -> DeletedAccount:
    """Remove an account, as :func:`plan_removal` says; a member's as deleting it on the web does.

    Parameters
    ----------
    db
        The open database.
    username
        The account.
    upload_dir, analysis_dir
        The service's folders of uploads and analyses: a member's job's file outside them is
        never deleted.

    Returns
    -------
    DeletedAccount
        What was deleted (for a coach or an admin: the rows that went with the account; its
        linked person, if any, is kept).

    Raises
    ------
    BadValueError, LastAdminError, AccountBusyError
        As :func:`plan_removal` says (checked again as it is done); nothing is deleted.
    """
    account = find_account(db, username)
    if account is None:
        raise _unknown(username)
    if account.role == "member":
        try:
            return delete_member(
                db, account, upload_dir=upload_dir, analysis_dir=analysis_dir, by="the operator"
            )
        except AnalysisRunningError:  # started since the plan
            raise _busy(username) from None
        except NotAllowedError:  # removed meanwhile
            raise _unknown(username) from None

    def work(s: OrmSession) -> dict[str, int]:
        user = s.scalar(select(User).where(User.id == account.id).with_for_update())
        if user is None:
            raise _unknown(username)
        if user.role != account.role:  # changed since it was read: the checks were for another
            raise BadValueError(
                f"{username} became {user.role} while it was being removed, so it was not "
                "removed; run the command again."
            )
        _refuse(s, account, lock=True)
        rows = cascading_rows(s, user.id)
        s.delete(user)  # the rows above go with it (ON DELETE CASCADE)
        return rows

    rows = db.write(work)
    done = DeletedAccount(username=username, person=None, rows={k: n for k, n in rows.items() if n})
    log.info(
        "account %s (%s): removed by the operator (%s)",
        username,
        account.role,
        ", ".join(f"{n} {k}" for k, n in done.rows.items()) or "no other rows",
    )
    return done
