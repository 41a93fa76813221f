"""The account's own JSON API under ``/api/me``: a new password, a member's data, deletion.

The twins of the account page's forms (:mod:`kneeback.web.account_pages`), with the CSRF token
in the ``X-CSRF-Token`` header (``GET /api/me`` returns it).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from kneeback.web.account_flows import (
    change_own_password,
    delete_own_account,
    export_download,
    zip_download,
)
from kneeback.web.app import LoggedIn, Web
from kneeback.web.openapi import (
    BODY_RESPONSES,
    CSRF_RESPONSES,
    LOGIN_RESPONSES,
    SERVER_RESPONSES,
    Responses,
    forbidden,
    rate_limited,
    refusal,
)

__all__ = ["router"]

#: Every route is the logged-in account's (401 without a session).
router = APIRouter(prefix="/api/me", tags=["account"], responses=SERVER_RESPONSES | LOGIN_RESPONSES)

#: The refusals of the routes that take the account's password, besides their own.
_REFUSALS: Responses = (
    BODY_RESPONSES
    | CSRF_RESPONSES
    | rate_limited("Too many wrong passwords lately, for this account or from this address.")
)
#: What the downloads refuse: they are a member's data.
_MEMBERS_ONLY = forbidden(
    "A coach's or an admin's account (members download their data)", csrf=False
)


class PasswordChange(BaseModel):
    """The account's current password and the new one."""

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class PasswordIn(BaseModel):
    """The account's password, to confirm a deletion."""

    password: str = Field(max_length=1024)


@router.post(
    "/password",
    status_code=204,
    responses=_REFUSALS
    | refusal(400, "The current password is wrong, or the new one too short or too long."),
)
def api_change_password(
    request: Request, ctx: Web, account: LoggedIn, body: PasswordChange
) -> Response:
    """Change the account's password; its other logins end, this one stays.

    400 when the current password is wrong or the new one too short or too long; a wrong one
    counts against the same limit as failed logins (429 past it).
    """
    ctx.require_header_csrf(request)
    change_own_password(ctx, request, account, body.current_password, body.new_password)
    return Response(status_code=204)


@router.get(
    "/export",
    response_class=Response,
    responses=_MEMBERS_ONLY
    | refusal(404, "No history is stored for this account (it was forgotten).")
    | {
        200: {
            "content": {"application/json": {}},
            "description": "The file `kneeback export` writes for the member's person.",
        },
    },
)
def api_export(ctx: Web, account: LoggedIn) -> Response:
    """Download the member's data as ``kneeback-<username>-<YYYY-MM-DD>.json`` (members).

    The same JSON ``kneeback export`` writes, which ``kneeback import`` reads.
    """
    return export_download(ctx, account)


@router.get(
    "/export.zip",
    response_class=Response,
    responses=_MEMBERS_ONLY
    | {
        200: {
            "content": {"application/zip": {}},
            "description": (
                "`kneeback-export.json` (the file of `GET /api/me/export`), `account.json` (the "
                "account, its coaches, uploads, share state of and coaches' comments on each "
                "session, comments under articles), each session's report, annotated video and "
                "uploaded clip, and `README.txt`."
            ),
        },
    },
)
def api_export_zip(ctx: Web, account: LoggedIn) -> Response:
    """Download all kept for the member as ``kneeback-<username>-<YYYY-MM-DD>.zip`` (members).

    Sent while it is written (no ``Content-Length``): videos as they are, the rest deflated.
    """
    return zip_download(ctx, account)


@router.delete(
    "",
    status_code=204,
    responses=_REFUSALS
    | refusal(400, "The password is wrong.")
    | forbidden("A coach's or an admin's account (the operator removes those)")
    | refusal(409, "An analysis of the member's is running; nothing was deleted."),
)
def api_delete_me(request: Request, ctx: Web, account: LoggedIn, body: PasswordIn) -> Response:
    """Delete the member's account, history, uploads and files, and end the login (members).

    400 when the password is wrong (it counts against the limit of failed logins, 429 past it);
    409 while one of the member's analyses is running; 403 for a coach or an admin.
    """
    ctx.require_header_csrf(request)
    delete_own_account(ctx, request, account, body.password)
    response = Response(status_code=204)
    ctx.delete_cookie(response, ctx.session_cookie)
    return response
