"""The account page (``/account``): the account, a new password, a member's download and deletion.

The steps live in :mod:`kneeback.web.account_flows`; these routes read the forms and choose
what to show. A refused form (a wrong password, a weak new one, a running analysis) comes back
with its reason and the status that says why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from kneeback.errors import BadValueError
from kneeback.web.account import STAFF_DELETE_TEXT, account_details, deleted_rows
from kneeback.web.account_flows import (
    change_own_password,
    delete_own_account,
    export_download,
    zip_download,
)
from kneeback.web.account_zip import member_files_bytes
from kneeback.web.accounts import MIN_PASSWORD_LENGTH, Account
from kneeback.web.app import LoggedIn, Web, WebContext
from kneeback.web.uploads import size_text

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_Password = Annotated[str, Form(max_length=1024)]
_Csrf = Annotated[str, Form()]


def _page(
    request: Request,
    ctx: WebContext,
    account: Account,
    *,
    ended: int | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    files = None
    if account.role == "member":
        files = member_files_bytes(
            ctx.db,
            account,
            upload_dir=ctx.settings.upload_dir,
            analysis_dir=ctx.settings.analysis_dir,
        )
    return ctx.render(
        request,
        "account.html",
        {
            "details": account_details(ctx.db, account),
            "files_size": None if not files else size_text(files),
            "ended": ended,
            "errors": errors or {},
            "min_password": MIN_PASSWORD_LENGTH,
            "staff_delete_text": STAFF_DELETE_TEXT,
        },
        account=account,
        status_code=status_code,
    )


def _refused(
    request: Request, ctx: WebContext, account: Account, exc: Exception, *, form: str
) -> Response:
    """Show the page again with why ``form`` was refused, under the status that says why.

    A :class:`~kneeback.errors.BadValueError` is a 400; an HTTPException other than a 400, 409
    or 429 is raised again (for its own error page).
    """
    status = exc.status_code if isinstance(exc, HTTPException) else 400
    if status not in (400, 409, 429):
        raise exc
    detail = str(exc.detail) if isinstance(exc, HTTPException) else str(exc)
    page = _page(request, ctx, account, errors={form: detail}, status_code=status)
    if isinstance(exc, HTTPException):
        page.headers.update(exc.headers or {})  # Retry-After on a 429
    return page


@router.get("/account")
def account_page(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    ended: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
) -> Response:
    """Show the account: username, role, since when; the password, download and delete forms.

    ``ended`` (after a password change) is how many other logins were ended.
    """
    return _page(request, ctx, account, ended=ended)


@router.post("/account/password")
def password_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    current_password: _Password = "",
    new_password: _Password = "",
    new_password_again: _Password = "",
    csrf_token: _Csrf = "",
) -> Response:
    """Change the account's password; its other logins end, this one stays."""
    ctx.require_form_csrf(request, csrf_token)
    try:
        if new_password != new_password_again:
            raise BadValueError("The two new passwords are not the same; type them again.")
        ended = change_own_password(ctx, request, account, current_password, new_password)
    except (BadValueError, HTTPException) as exc:
        return _refused(request, ctx, account, exc, form="password")
    return RedirectResponse(f"/account?ended={ended}#password", status_code=303)


@router.get("/account/export")
def export_page(ctx: Web, account: LoggedIn) -> Response:
    """Download the member's data: the JSON file ``kneeback export`` writes for them."""
    return export_download(ctx, account)


@router.get("/account/export.zip")
def export_zip_page(ctx: Web, account: LoggedIn) -> Response:
    """Download all kept for the member as one zip (see :mod:`kneeback.web.account_zip`)."""
    return zip_download(ctx, account)


@router.post("/account/delete")
def delete_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    password: _Password = "",
    confirm_username: Annotated[str, Form(max_length=64)] = "",
    csrf_token: _Csrf = "",
) -> Response:
    """Delete the member's account and data after their password and username; log them out."""
    ctx.require_form_csrf(request, csrf_token)
    try:
        if confirm_username.strip() != account.username:
            raise HTTPException(
                400, f"Type your username, {account.username}, to confirm the deletion."
            )
        done = delete_own_account(ctx, request, account, password)
    except HTTPException as exc:
        return _refused(request, ctx, account, exc, form="delete")
    page = ctx.render(request, "account_deleted.html", {"done": done, "rows": deleted_rows(done)})
    ctx.delete_cookie(page, ctx.session_cookie)
    return page
