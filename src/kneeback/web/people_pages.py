"""The admin's page of accounts (``/admin/people``): open accounts, put members in coaches' groups.

The rules live in :mod:`kneeback.web.people`; these routes only read forms and choose what to
show. A refused form (a taken username, a weak password) is shown again with the reason; a done
one redirects to the page with a query naming what was done, and the page confirms it in a
``role=status`` line (only when the accounts as they stand agree: a made-up link shows nothing).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kneeback.errors import BadValueError
from kneeback.web.app import LoggedIn, Web
from kneeback.web.models import ROLES
from kneeback.web.people import add_account, list_people, set_assignment

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_Name = Annotated[str, Form(max_length=64)]


def _notice(
    people: list[dict[str, Any]], /, *, opened: str, assigned: str, removed: str, coach: str
) -> str:
    """Return the sentence confirming what the query says was done, if the accounts agree."""
    by_name = {p["username"]: p for p in people}
    if opened in by_name:
        return f"Account {opened} opened ({by_name[opened]['role']})."
    member = by_name.get(assigned or removed)
    if member is None or member["role"] != "member" or coach not in by_name:
        return ""
    if assigned and coach in member["coaches"]:
        return f"{assigned} is now in {coach}'s group."
    if removed and coach not in member["coaches"]:
        return f"{removed} is no longer in {coach}'s group."
    return ""


def _page(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    *,
    error: str = "",
    status_code: int = 200,
    done: dict[str, str] | None = None,
) -> Response:
    people = list_people(ctx.db, account)
    empty = {"opened": "", "assigned": "", "removed": "", "coach": ""}
    return ctx.render(
        request,
        "people.html",
        {
            "people": people,
            "roles": ROLES,
            "coaches": [p["username"] for p in people if p["role"] == "coach"],
            "members": [p["username"] for p in people if p["role"] == "member"],
            "error": error,
            "notice": _notice(people, **(empty | (done or {}))),
        },
        account=account,
        status_code=status_code,
    )


@router.get("/admin/people")
def people_page(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    opened: str = "",
    assigned: str = "",
    removed: str = "",
    coach: str = "",
) -> Response:
    """List the accounts with their roles and coaches' groups (admins).

    ``?opened=NAME``, ``?assigned=MEMBER&coach=COACH``, ``?removed=MEMBER&coach=COACH``: the form
    just did that, and the page says so.
    """
    done = {"opened": opened, "assigned": assigned, "removed": removed, "coach": coach}
    return _page(request, ctx, account, done=done)


@router.post("/admin/people")
def add_account_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    username: _Name = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    role: Annotated[str, Form(max_length=10)] = "coach",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Open an account (admins); a refused one shows the form again with the reason."""
    ctx.require_form_csrf(request, csrf_token)
    try:
        opened = add_account(ctx.db, account, username, password, role)
    except BadValueError as exc:
        return _page(request, ctx, account, error=str(exc), status_code=400)
    return RedirectResponse(
        f"/admin/people?{urlencode({'opened': opened.username})}", status_code=303
    )


@router.post("/admin/assignments")
def assignment_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    coach: _Name = "",
    member: _Name = "",
    action: Annotated[str, Form(pattern="^(assign|remove)$")] = "assign",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Put a member in a coach's group, or take them out (admins)."""
    ctx.require_form_csrf(request, csrf_token)
    try:
        set_assignment(ctx.db, account, coach, member, assigned=action == "assign")
    except BadValueError as exc:
        return _page(request, ctx, account, error=str(exc), status_code=400)
    done = {"assigned" if action == "assign" else "removed": member, "coach": coach}
    return RedirectResponse(f"/admin/people?{urlencode(done)}", status_code=303)
