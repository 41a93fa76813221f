"""Steps shared by the pages and the API: log in, register, accept an uploaded clip.

An API upload sent with an ``Idempotency-Key`` is queued once per key (:func:`accept_keyed_upload`).
A clip the account uploaded before, whose analysis stands, is not queued again: the upload is
deleted and :class:`~kneeback.web.jobs.DuplicateUploadError` names the earlier job (the page
route opens it, the API answers 409).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from kneeback.errors import BadValueError
from kneeback.movements.specs import MOVEMENT_NAMES
from kneeback.web.accounts import Account, authenticate, create_user, start_session
from kneeback.web.app import WebContext
from kneeback.web.deletion import SessionBusyError, delete_session
from kneeback.web.jobs import (
    KeyedJob,
    enqueue_job,
    enqueue_keyed_job,
    find_keyed_job,
)
from kneeback.web.uploads import (
    BadUploadError,
    ReceivedUpload,
    UnsupportedMediaError,
    UploadTooLargeError,
    check_video,
    receive_upload,
    size_text,
)

__all__ = [
    "IDEMPOTENCY_HEADER",
    "MAX_IDEMPOTENCY_KEY_CHARS",
    "accept_keyed_upload",
    "accept_upload",
    "check_idempotency_key",
    "client_ip",
    "log_in",
    "register_member",
    "remove_session",
    "verify_password",
]

#: Room for the form fields and multipart boundaries around the file itself.
_FORM_OVERHEAD_BYTES = 64 * 1024
#: The header that makes an API upload safe to retry.
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Longest Idempotency-Key accepted (the column's size).
MAX_IDEMPOTENCY_KEY_CHARS = 200


def client_ip(request: Request, /) -> str:
    """Return the client's address.

    Behind a reverse proxy this is the address in its ``X-Forwarded-For`` header, which ``kneeback
    serve`` believes only from the addresses in ``FORWARDED_ALLOW_IPS`` (default 127.0.0.1 and
    ::1); from any other proxy it is the proxy's own address.
    """
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
    account = verify_password(
        ctx, request, username, password, wrong="The username or password is wrong."
    )
    token = start_session(ctx.db, account, max_age_s=ctx.settings.session_max_age_s)
    return account, token


def verify_password(
    ctx: WebContext, request: Request, username: str, password: str, /, *, wrong: str
) -> Account:
    """Check an account's password under the rate limit of failed logins.

    Logging in and the account page's changes (a new password, deleting the account) share
    one count: a wrong password in either counts against the account and the client's address.

    Parameters
    ----------
    ctx
        The app's context (its database and login rate limiter).
    request
        The request (for the client's address).
    username, password
        The credentials to check.
    wrong
        What the client is told when they are wrong.

    Returns
    -------
    Account
        The account (its failures are cleared).

    Raises
    ------
    fastapi.HTTPException
        429 (with Retry-After) when too many passwords failed lately for this account or
        address; 400 with ``wrong`` when the username or password is wrong.
    """
    ip = client_ip(request)
    wait = ctx.limiter.retry_after(username, ip)
    if wait is not None:
        raise HTTPException(
            429,
            "Too many wrong passwords lately; try again in a few minutes.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    account = authenticate(ctx.db, username, password)
    if account is None:
        ctx.limiter.failed(username, ip)
        raise HTTPException(400, wrong)
    ctx.limiter.succeeded(username)
    return account


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


def check_idempotency_key(value: str, /) -> str:
    """Return an ``Idempotency-Key`` header's value when it is acceptable.

    Raises
    ------
    fastapi.HTTPException
        400 unless it is 1 to :data:`MAX_IDEMPOTENCY_KEY_CHARS` printable ASCII characters.
    """
    if not 1 <= len(value) <= MAX_IDEMPOTENCY_KEY_CHARS or not all(
        " " <= ch <= "~" for ch in value
    ):
        raise HTTPException(
            400,
            f"The {IDEMPOTENCY_HEADER} header must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable "
            "ASCII characters (a random UUID is a good key).",
        )
    return value


def _check_uploader(
    ctx: WebContext, request: Request, account: Account, csrf_from_form: bool
) -> None:
    """Refuse an upload before any of it is read: not a member, no CSRF header, too long."""
    from kneeback.web.app import CSRF_HEADER

    if account.role != "member" or account.person_id is None:
        raise HTTPException(403, "Only members upload clips.")
    if not csrf_from_form and not ctx.csrf_ok(request, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"Missing or wrong {CSRF_HEADER} header.")
    limit = ctx.settings.max_upload_bytes
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit + _FORM_OVERHEAD_BYTES:
        raise HTTPException(413, f"The clip is larger than {size_text(limit)}.")


async def _receive_clip(ctx: WebContext, request: Request, csrf_from_form: bool) -> ReceivedUpload:
    """Stream the form's clip to the upload folder and check its fields (not yet its content)."""
    limit = ctx.settings.max_upload_bytes

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
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise
    return upload


async def _check_clip(upload: ReceivedUpload) -> None:
    """Check from its content that the clip is a video; delete it when not (415)."""
    try:
        await run_in_threadpool(check_video, upload.path)
    except UnsupportedMediaError as exc:
        upload.path.unlink(missing_ok=True)
        raise HTTPException(415, str(exc)) from None
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise


def _movement(upload: ReceivedUpload) -> str:
    return upload.fields.get("movement", "auto") or "auto"


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
        body without a length over the limit, 415 for a file that is empty or not a video, 400
        for a malformed form or an unknown movement.
    kneeback.web.jobs.DuplicateUploadError
        When the account uploaded the same file (by SHA-256) before and that upload is queued,
        running, or done with a session that still exists; this upload is deleted.
    """
    _check_uploader(ctx, request, account, csrf_from_form)
    upload = await _receive_clip(ctx, request, csrf_from_form)
    await _check_clip(upload)
    enqueue = partial(
        enqueue_job,
        ctx.db,
        account.id,
        upload.path,
        movement=_movement(upload),
        upload_sha256=upload.sha256,
    )
    try:
        uid = await run_in_threadpool(enqueue)
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise
    ctx.worker.wake()
    return uid


async def accept_keyed_upload(
    ctx: WebContext, request: Request, account: Account, /, *, key: str
) -> KeyedJob:
    """Receive a clip sent to the API with an ``Idempotency-Key``; queue it once per key.

    The same account sending the same key again within
    :data:`~kneeback.web.jobs.IDEMPOTENCY_WINDOW` gets the first upload's job back, and the
    file it sent again is not kept; another account's key is another key. A retry must send the
    same file: the SHA-256 of its bytes is compared with the first upload's.

    Parameters
    ----------
    ctx
        The app's context.
    request
        A ``multipart/form-data`` request as for :func:`accept_upload`, with the CSRF header.
    account
        The uploading member.
    key
        The ``Idempotency-Key`` header (see :func:`check_idempotency_key`).

    Returns
    -------
    KeyedJob
        The job, ``created`` when this request queued it.

    Raises
    ------
    fastapi.HTTPException
        As :func:`accept_upload`; 400 for a malformed key (checked before the body is read) and
        422 when the key was used for another file.
    kneeback.web.jobs.DuplicateUploadError
        When the key names no job and the account's earlier upload of the same file stands
        (as :func:`accept_upload`); this upload is deleted.
    """
    _check_uploader(ctx, request, account, False)
    check_idempotency_key(key)
    upload = await _receive_clip(ctx, request, False)
    try:
        job = await run_in_threadpool(find_keyed_job, ctx.db, account.id, key)
        if job is None:
            await _check_clip(upload)
            enqueue = partial(
                enqueue_keyed_job,
                ctx.db,
                account.id,
                upload.path,
                key=key,
                upload_sha256=upload.sha256,
                movement=_movement(upload),
            )
            job = await run_in_threadpool(enqueue)
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise
    if job.created:
        ctx.worker.wake()
        return job
    upload.path.unlink(missing_ok=True)  # a retry: the first upload's file is the one kept
    if job.upload_sha256 != upload.sha256:
        raise HTTPException(
            422,
            f"This {IDEMPOTENCY_HEADER} was used for another upload (a different file) in the "
            "last 24 hours; send a new key with this clip.",
        )
    return job


def remove_session(ctx: WebContext, account: Account, session_id: int, /) -> dict[str, Any] | None:
    """Delete a session for the page and the API alike (see :mod:`kneeback.web.deletion`).

    Returns what was deleted, or None when the account does not see the session; an unfinished
    analysis job is a 409.
    """
    try:
        return delete_session(
            ctx.db,
            account,
            session_id,
            upload_dir=ctx.settings.upload_dir,
            analysis_dir=ctx.settings.analysis_dir,
        )
    except SessionBusyError as exc:
        raise HTTPException(409, str(exc)) from None
