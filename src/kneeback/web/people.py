"""The admin's view of the accounts: who is a member, a coach or an admin, and who coaches whom.

Every function takes the asking :class:`~kneeback.web.accounts.Account` and refuses anyone but an
admin (:class:`~kneeback.web.review.NotAllowedError`, answered 403). Accounts are made with
:func:`~kneeback.web.accounts.create_user` and coaches' groups changed with
:func:`~kneeback.web.accounts.assign_member` and :func:`~kneeback.web.accounts.unassign_member`,
the same functions ``kneeback users`` calls.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import aliased

from kneeback.store.db import Database
from kneeback.web.accounts import (
    Account,
    assign_member,
    create_user,
    unassign_member,
)
from kneeback.web.models import CoachMember, User
from kneeback.web.paging import EVERYTHING, Page, Window, select_page
from kneeback.web.review import NotAllowedError

__all__ = ["add_account", "all_accounts", "list_people", "people_page", "set_assignment"]


def _require_admin(account: Account) -> None:
    if account.role != "admin":
        raise NotAllowedError("Only an admin manages accounts.")


def people_page(
    db: Database, account: Account, /, *, window: Window = EVERYTHING
) -> Page[dict[str, Any]]:
    """Return a window of the accounts, by username, each with its role and groups.

    Returns
    -------
    Page
        Per account: ``username``, ``role``, ``created_at``, ``coaches`` (of a member) and
        ``members`` (of a coach); and how many accounts exist.
    """
    _require_admin(account)
    return db.read(lambda s: _people(s, window))


def all_accounts(db: Database, /) -> list[dict[str, Any]]:
    """Return every account as :func:`people_page` does, for the operator's command line.

    Returns
    -------
    list of dict
        Per account, by username: ``username``, ``role``, ``created_at``, ``coaches`` (of a
        member) and ``members`` (of a coach).
    """
    return db.read(lambda s: _people(s, EVERYTHING)).items


def _people(s: OrmSession, window: Window, /) -> Page[dict[str, Any]]:
    """Return a window of the accounts with their groups (no permission check: see callers)."""
    rows, total = select_page(s, select(User).order_by(User.username), window)
    users = [u for (u,) in rows]
    coach, member = aliased(User), aliased(User)
    q = (
        select(CoachMember.coach_id, CoachMember.member_id, coach.username, member.username)
        .join(coach, coach.id == CoachMember.coach_id)
        .join(member, member.id == CoachMember.member_id)
    )
    if window != EVERYTHING:  # only the groups of the page's accounts
        ids = [u.id for u in users]
        q = q.where(or_(CoachMember.coach_id.in_(ids), CoachMember.member_id.in_(ids)))
    coaches: dict[int, list[str]] = {u.id: [] for u in users}
    members: dict[int, list[str]] = {u.id: [] for u in users}
    for coach_id, member_id, coach_name, member_name in s.execute(q):
        if member_id in coaches:
            coaches[member_id].append(coach_name)
        if coach_id in members:
            members[coach_id].append(member_name)
    items = [
        {
            "username": u.username,
            "role": u.role,
            "created_at": u.created_at.isoformat(),
            "coaches": sorted(coaches[u.id]),
            "members": sorted(members[u.id]),
        }
        for u in users
    ]
    return Page(items, total)


def list_people(db: Database, account: Account, /) -> list[dict[str, Any]]:
    """Return every account with its role and, for members and coaches, their groups.

    Returns
    -------
    list of dict
        Per account, by username: ``username``, ``role``, ``created_at``, ``coaches`` (of a
        member) and ``members`` (of a coach).
    """
    return people_page(db, account).items


def add_account(
    db: Database, account: Account, username: str, password: str, role: str, /
) -> Account:
    """Open an account of any role for someone (e.g. a coach); admins only.

    Raises
    ------
    NotAllowedError
        When the asking account is not an admin.
    kneeback.errors.BadValueError
        When the username is taken or malformed, the password too weak or the role unknown.
    """
    _require_admin(account)
    return create_user(db, username, password, role=role)


def set_assignment(
    db: Database, account: Account, coach: str, member: str, /, *, assigned: bool
) -> bool:
    """Put a member in a coach's group (``assigned``) or take them out; admins only.

    Returns
    -------
    bool
        Whether anything changed when taking out (always True when putting in).

    Raises
    ------
    NotAllowedError
        When the asking account is not an admin.
    kneeback.errors.BadValueError
        When putting in and either account does not exist or has the wrong role.
    """
    _require_admin(account)
    if assigned:
        assign_member(db, coach, member)
        return True
    return unassign_member(db, coach, member)
