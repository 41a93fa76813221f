"""The admin's view of the accounts: who is a member, a coach or an admin, and who coaches whom.

Every function takes the asking :class:`~kneeback.web.accounts.Account` and refuses anyone but an
admin (:class:`~kneeback.web.review.NotAllowedError`, answered 403). Accounts are made with
:func:`~kneeback.web.accounts.create_user` and coaches' groups changed with
:func:`~kneeback.web.accounts.assign_member` and :func:`~kneeback.web.accounts.unassign_member`,
the same functions ``kneeback users`` calls.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from kneeback.store.db import Database
from kneeback.web.accounts import (
    Account,
    assign_member,
    create_user,
    unassign_member,
)
from kneeback.web.models import CoachMember, User
from kneeback.web.review import NotAllowedError

__all__ = ["add_account", "list_people", "set_assignment"]


def _require_admin(account: Account) -> None:
    if account.role != "admin":
        raise NotAllowedError("Only an admin manages accounts.")


def list_people(db: Database, account: Account, /) -> list[dict[str, Any]]:
    """Return every account with its role and, for members and coaches, their groups.

    Returns
    -------
    list of dict
        Per account, by username: ``username``, ``role``, ``created_at``, ``coaches`` (of a
        member) and ``members`` (of a coach).
    """
    _require_admin(account)

    def work(s: OrmSession) -> list[dict[str, Any]]:
        users = {u.id: u for u in s.scalars(select(User).order_by(User.username))}
        coaches: dict[int, list[str]] = {i: [] for i in users}
        members: dict[int, list[str]] = {i: [] for i in users}
        for link in s.scalars(select(CoachMember)):
            coaches[link.member_id].append(users[link.coach_id].username)
            members[link.coach_id].append(users[link.member_id].username)
        return [
            {
                "username": u.username,
                "role": u.role,
                "created_at": u.created_at.isoformat(),
                "coaches": sorted(coaches[u.id]),
                "members": sorted(members[u.id]),
            }
            for u in users.values()
        ]

    return db.read(work)


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
