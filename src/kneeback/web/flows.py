"""Steps shared by the pages and the API: log in, register, accept an uploaded clip."""

from __future__ import annotations

import math
from functools import partial

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from kneeback.errors import BadValueError
from kneeback.movements.specs import MOVEMENT_NAMES
from kneeback.web.accounts import Account, authenticate, create_user, start_session
from kneeback.web.app import WebContext
from kneeback.web.jobs import enqueue_job
from kneeback.web.uploads import (
    BadUploadError,
    UnsupportedMediaError,
    UploadTooLargeError,
    check_video,
    receive_upload,
    size_text,
)

__all__ = ["accept_upload", "client_ip", "log_in", "register_member"]

#: Room for the form fields and multipart boundaries around the file itself.
_FORM_OVERHEAD_BYTES = 64 * 1024


def client_ip(request: Request, /) -> str:
    """Return the client's address (as the server sees it: behind a proxy, use --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def log_in(
    ctx: WebContext, request: Request, username: str, password: str, /
) -> tuple[Account, str]:
    """Check credentials under the rate limit; return the account and a new session token.

    Raises
    ------
    fastapi.HTTPException
        429 (with Retry-After) when too many logins failed lately for this account or address;
        400 when the username or password is wrong.
    """
    ip = client_ip(request)
    wait = ctx.limiter.retry_after(username, ip)
    if wait is not None:
        raise HTTPException(
            429,
            "Too many failed logins; try again in a few minutes.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    account = authenticate(ctx.db, username, password)
    if account is None:
        ctx.limiter.failed(username, ip)
        raise HTTPException(400, "The username or password is wrong.")
    ctx.limiter.succeeded(username)
    token = start_session(ctx.db, account, max_age_s=ctx.settings.session_max_age_s)
    return account, token


def register_member(
    ctx: WebContext, request: Request, username: str, password: str, /
) -> tuple[Account, str]:
    """Open a member account under the registration rate limit and log in.

    Returns
    -------
    tuple
        The new account and its session token.

    Raises
    ------
    fastapi.HTTPException
        429 (with Retry-After) when this address registered too often lately; 400 when the
        username is taken or malformed, or the password too weak (the message says which).
    """
    wait = ctx.register_limiter.try_acquire(client_ip(request))
    if wait is not None:
        raise HTTPException(
            429,
            "Too many registrations were tried from this address lately; try again later.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    try:
        create_user(ctx.db, username, password, role="member")
    except BadValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return log_in(ctx, request, username, password)


async def accept_upload(
    ctx: WebContext,
    request: Request,
    account: Account,
    /,
    *,
    csrf_from_form: bool,
) -> str:
    """Receive a clip, check it and queue its analysis; return the job's uid.

    Parameters
    ----------
    ctx
        The app's context.
    request
        A ``multipart/form-data`` request with a ``file`` part and optionally ``movement``
        (``auto`` or a movement name) and ``csrf_token`` fields.
    account
        The uploading member.
    csrf_from_form
        Take the CSRF token from the form's ``csrf_token`` field (pages) rather than the
        ``X-CSRF-Token`` header (API). Either way it is checked before any of the file is written.

    Raises
    ------
    fastapi.HTTPException
        403 for a missing or wrong CSRF token or an account that is not a member, 411/413 for a
        body without a length over the limit, 415 for a file that is not a video, 400 for a
        malformed form or an unknown movement.
    """
    from kneeback.web.app import CSRF_HEADER

    if account.role != "member" or account.person_id is None:
        raise HTTPException(403, "Only members upload clips.")
    if not csrf_from_form and not ctx.csrf_ok(request, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"Missing or wrong {CSRF_HEADER} header.")
    limit = ctx.settings.max_upload_bytes
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit + _FORM_OVERHEAD_BYTES:
        raise HTTPException(413, f"The clip is larger than {size_text(limit)}.")

    def check_fields(fields: dict[str, str]) -> None:
        if csrf_from_form and not ctx.csrf_ok(request, fields.get("csrf_token")):
            raise HTTPException(403, "The form has expired; reload the page and try again.")
        movement = fields.get("movement", "auto") or "auto"
        if movement != "auto" and movement not in MOVEMENT_NAMES:
            raise HTTPException(400, f"Unknown movement {movement!r}.")

    try:
        upload = await receive_upload(
            request.headers.get("content-type", ""),
            request.stream(),
            upload_dir=ctx.settings.upload_dir,
            max_bytes=limit,
            before_file=check_fields,
        )
    except UploadTooLargeError as exc:
        raise HTTPException(413, str(exc)) from None
    except BadUploadError as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        check_fields(upload.fields)  # also when the fields came after the file
        await run_in_threadpool(check_video, upload.path)
    except UnsupportedMediaError as exc:
        upload.path.unlink(missing_ok=True)
        raise HTTPException(415, str(exc)) from None
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise
    movement = upload.fields.get("movement", "auto") or "auto"
    enqueue = partial(enqueue_job, ctx.db, account.id, upload.path, movement=movement)
    uid = await run_in_threadpool(enqueue)
    ctx.worker.wake()
    return uid
