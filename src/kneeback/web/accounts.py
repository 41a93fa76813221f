"""Accounts, passwords, login sessions, CSRF tokens and who may see whose data.

Every function that touches the database is one unit of work on a
:class:`~kneeback.store.db.Database`. Passwords are hashed with argon2id; the session cookie holds
a random token of which only the SHA-256 is stored; a CSRF token is an HMAC of the cookie under the
app's secret key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from kneeback.errors import BadValueError
from kneeback.store.db import Database
from kneeback.store.models import Person, utcnow
from kneeback.web.models import ROLES, CoachMember, LoginSession, User

__all__ = [
    "Account",
    "AccountExistsError",
    "assign_member",
    "authenticate",
    "create_user",
    "csrf_token",
    "csrf_valid",
    "end_session",
    "find_account",
    "session_account",
    "set_password",
    "start_session",
    "unassign_member",
    "visible_user_ids",
]

_HASHER = PasswordHasher()
#: A hash of a random password, checked when the account does not exist, so that a login attempt
#: for an unknown name takes as long as one for a known name.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,31}$")
MIN_PASSWORD_LENGTH = 10


class AccountExistsError(BadValueError):
    """The username (or the person name it would create) is taken."""


@dataclass(frozen=True)
class Account:
    """A logged-in (or looked-up) account.

    Attributes
    ----------
    id, username, role
        The account.
    person_id
        The stored person holding this member's sessions (None until set).
    """

    id: int
    username: str
    role: str
    person_id: int | None


def _account(u: User) -> Account:
    return Account(id=u.id, username=u.username, role=u.role, person_id=u.person_id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_username(username: str, /) -> str:
    """Return the username if valid (2-32 letters, digits, ``_.-``), else raise BadValueError."""
    if not _USERNAME.fullmatch(username):  # match() would let "$" take a final newline
        raise BadValueError(
            "A username is 2 to 32 letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit."
        )
    return username


def check_password(password: str, /) -> str:
    """Return the password if long enough, else raise BadValueError."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadValueError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > 1024:
        raise BadValueError("A password can be at most 1024 characters long.")
    return password


def create_user(
    db: Database,
    username: str,
    password: str,
    /,
    *,
    role: str = "member",
    person: str | None = None,
) -> Account:
    """Add an account; a member gets a stored person of the same name (or ``person``).

    Parameters
    ----------
    db
        The open database (with the web tables).
    username, password
        The new account's credentials (see :func:`check_username`, :func:`check_password`).
    role
        ``"member"``, ``"coach"`` or ``"admin"``.
    person
        For a member: link to this stored person (created if new, e.g. one analysed with the
        command line before); by default a new person named like the account.

    Returns
    -------
    Account
        The new account.

    Raises
    ------
    AccountExistsError
        When the username is taken, or (without ``person``) a stored person has that name, or
        the person is already linked to another account.
    BadValueError
        When the username, password or role is not acceptable.
    """
    check_username(username)
    check_password(password)
    if role not in ROLES:
        raise BadValueError(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
    hashed = _HASHER.hash(password)

    def work(s: OrmSession) -> Account:
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise AccountExistsError(f"The username {username!r} is taken.")
        person_id = None
        if role == "member" or person is not None:
            name = person or username
            row = s.scalar(select(Person).where(Person.name == name))
            if row is not None and person is None:
                raise AccountExistsError(f"The username {username!r} is taken.")
            if row is None:
                row = Person(uid=secrets.token_hex(16), name=name, created_at=utcnow())
                s.add(row)
                s.flush()
            elif s.scalar(select(User.id).where(User.person_id == row.id)) is not None:
                raise AccountExistsError(f"{name!r} already belongs to another account.")
            person_id = row.id
        user = User(username=username, password_hash=hashed, role=role, person_id=person_id)
        s.add(user)
        try:
            s.flush()
        except IntegrityError:
            raise AccountExistsError(f"The username {username!r} is taken.") from None
        return _account(user)

    return db.write(work)


def authenticate(db: Database, username: str, password: str, /) -> Account | None:
    """Return the account if the password is right, else None (in about the same time)."""

    def work(s: OrmSession) -> tuple[Account, str] | None:
        row = s.scalar(select(User).where(User.username == username))
        return None if row is None else (_account(row), row.password_hash)

    found = db.read(work)
    try:
        _HASHER.verify(found[1] if found is not None else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if found is None:
        return None
    account, stored = found
    if _HASHER.check_needs_rehash(stored):
        new = _HASHER.hash(password)

        def rehash(s: OrmSession) -> None:
            user = s.get(User, account.id)
            if user is not None:
                user.password_hash = new

        db.write(rehash)
    return account


def set_password(
    db: Database, username: str, password: str, /, *, keep_token: str | None = None
) -> int:
    """Give an account a new password and end its login sessions (e.g. a forgotten password).

    Parameters
    ----------
    db
        The open database.
    username, password
        The account and its new password (see :func:`check_password`).
    keep_token
        The session token of a login to keep (the one changing its own password); every
        other login of the account ends. None ends them all.

    Returns
    -------
    int
        How many login sessions were ended.

    Raises
    ------
    BadValueError
        When there is no such account or the password is not acceptable.
    """
    check_password(password)
    hashed = _HASHER.hash(password)

    def work(s: OrmSession) -> int:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise BadValueError(f"No account named {username!r}.")
        user.password_hash = hashed
        ending = delete(LoginSession).where(LoginSession.user_id == user.id)
        if keep_token:
            ending = ending.where(LoginSession.token_hash != _token_hash(keep_token))
        ended = s.execute(ending)
        return int(getattr(ended, "rowcount", 0) or 0)

    return db.write(work)


def start_session(db: Database, account: Account, /, *, max_age_s: int) -> str:
    """Open a login session; return the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()

    def work(s: OrmSession) -> None:
        s.execute(delete(LoginSession).where(LoginSession.expires_at < now))
        s.add(
            LoginSession(
                token_hash=_token_hash(token),
                user_id=account.id,
                created_at=now,
                expires_at=now + dt.timedelta(seconds=max_age_s),
            )
        )

    db.write(work)
    return token


def session_account(db: Database, token: str | None, /) -> Account | None:
    """Return the account of a live session token, or None."""
    if not token or len(token) > 200:
        return None
    digest = _token_hash(token)

    def work(s: OrmSession) -> Account | None:
        row = s.scalar(select(LoginSession).where(LoginSession.token_hash == digest))
        if row is None or row.expires_at <= utcnow():
            return None
        user = s.get(User, row.user_id)
        return None if user is None else _account(user)

    return db.read(work)


def find_account(db: Database, username: str, /) -> Account | None:
    """Return the account of a username, or None when there is none."""

    def work(s: OrmSession) -> Account | None:
        user = s.scalar(select(User).where(User.username == username))
        return None if user is None else _account(user)

    return db.read(work)


def end_session(db: Database, token: str | None, /) -> None:
    """Delete the session of this token (nothing happens for an unknown token)."""
    if not token:
        return
    digest = _token_hash(token)
    db.write(lambda s: s.execute(delete(LoginSession).where(LoginSession.token_hash == digest)))


def csrf_token(key: bytes, cookie: str, /) -> str:
    """Return the CSRF token that goes with a cookie value (an HMAC under the secret key)."""
    return hmac.new(key, b"csrf:" + cookie.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_valid(key: bytes, cookie: str | None, token: str | None, /) -> bool:
    """Whether ``token`` is the CSRF token of ``cookie`` (compared in constant time)."""
    if not cookie or not token:
        return False
    return hmac.compare_digest(csrf_token(key, cookie), token)


def assign_member(db: Database, coach: str, member: str, /) -> None:
    """Assign a member to a coach (by username); assigning twice is harmless.

    Raises
    ------
    BadValueError
        When either account does not exist or has the wrong role.
    """

    def work(s: OrmSession) -> None:
        c = s.scalar(select(User).where(User.username == coach))
        m = s.scalar(select(User).where(User.username == member))
        if c is None or c.role != "coach":
            raise BadValueError(f"No coach account named {coach!r}.")
        if m is None or m.role != "member":
            raise BadValueError(f"No member account named {member!r}.")
        if s.get(CoachMember, (c.id, m.id)) is None:
            s.add(CoachMember(coach_id=c.id, member_id=m.id))

    db.write(work)


def unassign_member(db: Database, coach: str, member: str, /) -> bool:
    """Take a member out of a coach's group (by username); return whether they were in it."""

    def work(s: OrmSession) -> bool:
        c = s.scalar(select(User.id).where(User.username == coach))
        m = s.scalar(select(User.id).where(User.username == member))
        row = None if c is None or m is None else s.get(CoachMember, (c, m))
        if row is None:
            return False
        s.delete(row)
        return True

    return db.write(work)


def visible_user_ids(db: Database, account: Account, /) -> set[int] | None:
    """Return the ids of the accounts whose data ``account`` may read; None means everyone (admin).

    A member sees only themself; a coach themself and their assigned members.
    """
    if account.role == "admin":
        return None
    if account.role == "member":
        return {account.id}
    ids = db.read(
        lambda s: set(
            s.scalars(select(CoachMember.member_id).where(CoachMember.coach_id == account.id))
        )
    )
    return ids | {account.id}
