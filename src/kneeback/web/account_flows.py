"""Steps of the account page shared by its forms and the API: a new password, a download, deletion.

Each checks the account's password under the same rate limit as logging in
(:func:`~kneeback.web.flows.verify_password`) and writes one line to the service's log (never a
password).
"""

from __future__ import annotations

import logging

from fastapi import HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from kneeback.store import export_text
from kneeback.web.account import (
    STAFF_DELETE_TEXT,
    AnalysisRunningError,
    DeletedAccount,
    delete_member,
    export_filename,
    member_export,
)
from kneeback.web.account_zip import member_archive, zip_chunks
from kneeback.web.accounts import Account, check_password, set_password
from kneeback.web.app import WebContext
from kneeback.web.flows import verify_password
from kneeback.web.review import NotAllowedError
from kneeback.web.uploads import size_text

__all__ = ["change_own_password", "delete_own_account", "export_download", "zip_download"]

log = logging.getLogger(__name__)


def _checked(ctx: WebContext, request: Request, account: Account, password: str, why: str) -> None:
    """Check the account's own password (rate-limited); log a wrong one with what it was for."""
    try:
        verify_password(ctx, request, account.username, password, wrong=f"The {why} is wrong.")
    except HTTPException as exc:
        log.warning("account %s: %s refused (%s)", account.username, why, exc.status_code)
        raise


def change_own_password(
    ctx: WebContext, request: Request, account: Account, current: str, new: str, /
) -> int:
    """Give the logged-in account a new password; end its other logins, keep this one.

    Parameters
    ----------
    ctx
        The app's context.
    request
        The request, whose session cookie names the login that stays.
    account
        The logged-in account.
    current, new
        Its current password and the new one (see :func:`~kneeback.web.accounts.check_password`).

    Returns
    -------
    int
        How many other logins were ended.

    Raises
    ------
    BadValueError
        When the new password is not acceptable (checked first, not counted as a failure).
    fastapi.HTTPException
        400 when the current password is wrong, 429 (with Retry-After) when too many passwords
        failed lately for this account or address.
    """
    check_password(new)
    _checked(ctx, request, account, current, "current password")
    ended = set_password(
        ctx.db, account.username, new, keep_token=request.cookies.get(ctx.session_cookie)
    )
    log.info("account %s: password changed, %d other login(s) ended", account.username, ended)
    return ended


def export_download(ctx: WebContext, account: Account, /) -> Response:
    """Return a member's data as a JSON download, ``kneeback-<username>-<YYYY-MM-DD>.json``.

    The file is what ``kneeback export`` writes for the member's person, which ``kneeback
    import`` reads back.

    Raises
    ------
    NotAllowedError
        For a coach or an admin (403).
    fastapi.HTTPException
        404 when the account has no stored person (it was forgotten on the command line).
    """
    data = member_export(ctx.db, account)
    if data is None:
        raise HTTPException(
            404, "No history is stored for this account, so there is nothing to download."
        )
    log.info(
        "account %s: downloaded their data (%d sessions)", account.username, len(data["sessions"])
    )
    return Response(
        export_text(data),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(account)}"',
            "Cache-Control": "private, no-store",
        },
    )


def zip_download(ctx: WebContext, account: Account, /) -> StreamingResponse:
    """Return all kept for a member as a zip, ``kneeback-<username>-<YYYY-MM-DD>.zip``.

    See :mod:`kneeback.web.account_zip`: the database is read now, the files while the zip is
    sent, so that it starts at once and is never held whole in memory or on disk.

    Raises
    ------
    NotAllowedError
        For a coach or an admin (403).
    """
    archive = member_archive(
        ctx.db,
        account,
        upload_dir=ctx.settings.upload_dir,
        analysis_dir=ctx.settings.analysis_dir,
    )
    log.info(
        "account %s: downloading their data as a zip (%d sessions, %d files, %s)",
        account.username,
        archive.sessions,
        len(archive.files),
        size_text(archive.files_bytes),
    )
    return StreamingResponse(
        zip_chunks(archive),
        media_type="application/zip",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{export_filename(account, suffix="zip")}"'
            ),
            "Cache-Control": "private, no-store",
        },
    )


def delete_own_account(
    ctx: WebContext, request: Request, account: Account, password: str, /
) -> DeletedAccount:
    """Delete the logged-in member's account and everything kept for it.

    See :func:`kneeback.web.account.delete_member`; the caller ends the login (its cookie).

    Raises
    ------
    NotAllowedError
        For a coach or an admin (403), before the password is looked at.
    fastapi.HTTPException
        400 when the password is wrong, 429 when too many passwords failed lately, 409 when one
        of the member's analyses is running (nothing is deleted).
    """
    if account.role != "member":
        raise NotAllowedError(STAFF_DELETE_TEXT)
    _checked(ctx, request, account, password, "password")
    try:
        return delete_member(
            ctx.db,
            account,
            upload_dir=ctx.settings.upload_dir,
            analysis_dir=ctx.settings.analysis_dir,
        )
    except AnalysisRunningError as exc:
        log.info("account %s: not deleted, an analysis of theirs is running", account.username)
        raise HTTPException(409, str(exc)) from None
