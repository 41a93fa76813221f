"""The admin's JSON API for accounts: list them, open one, change coaches' groups."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from kneeback.web.app import LoggedIn, Web
from kneeback.web.openapi import (
    BODY_RESPONSES,
    LIST_RESPONSES,
    LOGIN_RESPONSES,
    SERVER_RESPONSES,
    forbidden,
    refusal,
)
from kneeback.web.paging import PageWindow, paged
from kneeback.web.people import add_account, list_people, people_page, set_assignment

__all__ = ["router"]

#: Every route is an admin's (401 without a session).
router = APIRouter(
    prefix="/api/admin", tags=["admin"], responses=SERVER_RESPONSES | LOGIN_RESPONSES
)
#: What the routes that change accounts refuse, besides their own.
_CHANGE_RESPONSES = BODY_RESPONSES | forbidden("Not an admin's account (admins manage accounts)")


class Person(BaseModel):
    """An account with its role and groups."""

    username: str
    role: str
    created_at: str
    coaches: list[str]
    members: list[str]


class NewAccount(BaseModel):
    """An account an admin opens for someone."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    role: Literal["member", "coach", "admin"] = "coach"


class Assignment(BaseModel):
    """A member in a coach's group."""

    coach: str = Field(max_length=64)
    member: str = Field(max_length=64)


class Changed(BaseModel):
    """Whether a request changed anything."""

    changed: bool


@router.get(
    "/people",
    response_model=list[Person],
    responses=LIST_RESPONSES
    | forbidden("Not an admin's account (admins manage accounts)", csrf=False),
)
def api_people(
    request: Request, response: Response, ctx: Web, account: LoggedIn, window: PageWindow
) -> list[dict[str, Any]]:
    """List the accounts by username with their roles and coaches' groups (admins); paged."""
    return paged(request, response, people_page(ctx.db, account, window=window), window)


@router.post(
    "/people",
    response_model=Person,
    status_code=201,
    responses=_CHANGE_RESPONSES
    | refusal(400, "The username is taken or malformed, or the password too short or too long."),
)
def api_add_account(
    request: Request, ctx: Web, account: LoggedIn, body: NewAccount
) -> dict[str, object]:
    """Open an account of any role (admins); 400 when the username is taken or the password weak."""
    ctx.require_header_csrf(request)
    made = add_account(ctx.db, account, body.username, body.password, body.role)
    return next(p for p in list_people(ctx.db, account) if p["username"] == made.username)


@router.post(
    "/assignments",
    response_model=Changed,
    responses=_CHANGE_RESPONSES
    | refusal(400, "No coach account has that username, or no member account this one."),
)
def api_assign(request: Request, ctx: Web, account: LoggedIn, body: Assignment) -> Changed:
    """Put a member in a coach's group (admins); 400 for an unknown coach or member."""
    ctx.require_header_csrf(request)
    return Changed(changed=set_assignment(ctx.db, account, body.coach, body.member, assigned=True))


@router.post("/assignments/remove", response_model=Changed, responses=_CHANGE_RESPONSES)
def api_unassign(request: Request, ctx: Web, account: LoggedIn, body: Assignment) -> Changed:
    """Take a member out of a coach's group (admins); ``changed`` is false if not in it."""
    ctx.require_header_csrf(request)
    done = set_assignment(ctx.db, account, body.coach, body.member, assigned=False)
    return Changed(changed=done)
