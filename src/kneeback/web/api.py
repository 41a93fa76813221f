"""The JSON API under ``/api/`` (same cookie session as the pages; its schema at /openapi.json).

Requests that change something carry the CSRF token of the session in the ``X-CSRF-Token`` header
(``GET /api/me`` returns it); logging in and registering need none, as they accept JSON only,
which a cross-site form cannot send.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from kneeback.movements.specs import MOVEMENT_NAMES
from kneeback.web.accounts import Account, end_session
from kneeback.web.app import LoggedIn, RowId, Web, WebContext
from kneeback.web.coaching import MAX_REASON_CHARS, override_member_stage
from kneeback.web.flows import (
    IDEMPOTENCY_HEADER,
    MAX_IDEMPOTENCY_KEY_CHARS,
    accept_keyed_upload,
    accept_upload,
    log_in,
    register_member,
    remove_session,
)
from kneeback.web.jobs import DuplicateUploadError
from kneeback.web.member_schemas import MemberHistory, MemberProgram, MemberProgress
from kneeback.web.openapi import (
    BODY_RESPONSES,
    CSRF_RESPONSES,
    LIST_RESPONSES,
    LOGIN_RESPONSES,
    SERVER_RESPONSES,
    Responses,
    forbidden,
    multipart_form,
    not_found,
    problem,
    rate_limited,
    refusal,
)
from kneeback.web.paging import Page, PageWindow, paged
from kneeback.web.queries import (
    get_job,
    get_session,
    jobs_page,
    member_person,
    members_page,
    sessions_page,
)
from kneeback.web.review import (
    MAX_COMMENT_CHARS,
    add_comment,
    comments_page,
    mark_reviewed,
    review_page,
    share_session,
    share_state,
)

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["api"], responses=SERVER_RESPONSES)

#: The refusals of a route naming a session (or a member) in its path, besides those it adds.
_SESSION_RESPONSES = LOGIN_RESPONSES | not_found("session")
_MEMBER_RESPONSES = LOGIN_RESPONSES | not_found("member")
#: A paged list that needs a login.
_PAGED_LOGIN_RESPONSES = LIST_RESPONSES | LOGIN_RESPONSES
#: The 403 of a change that only coaches and admins make to a session (comment, mark reviewed).
_REVIEWER_ONLY = forbidden("A member's account (coaches and admins do this)")


class Credentials(BaseModel):
    """A username and password."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class Me(BaseModel):
    """The logged-in account and the CSRF token for its requests."""

    username: str
    role: str
    csrf_token: str


class JobOut(BaseModel):
    """An analysis job."""

    id: str
    owner: str
    state: str
    stage: str
    stage_text: str
    done: int = Field(description="Done within the current stage (frames, steps).")
    total: int = Field(description="Total of the current stage; 0 while unknown.")
    fraction: float = Field(
        ge=0, le=1, description="The whole analysis done, 0 to 1, never going back: one bar."
    )
    movement: str
    error: str | None
    session_id: int | None
    created_at: str
    updated_at: str


class _SessionFields(BaseModel):
    """What every listing of a stored session shows."""

    id: int
    owner: str
    recorded_at: str
    movement: str
    view: str
    verdict: str
    reps: int


class SessionOut(_SessionFields):
    """A stored session (summary)."""

    capture: str


class SessionDetail(SessionOut):
    """A stored session with its findings, served files and full analysis result."""

    findings: list[dict[str, Any]] = Field(
        description=(
            "Each with id, severity, title, text, cue, time_s and rep: the index of the "
            "repetition from 0, as in result.reps[].index (pages number them from 1); null "
            "for a finding about the whole clip."
        )
    )
    files: list[str]
    result: dict[str, Any]


class ShareOut(BaseModel):
    """Whether a session is shared with the member's coach(es), and whether it was reviewed.

    ``coaches``: the member's coaches, who see what they share (none yet: only the program's
    admins see it until a coach is assigned).
    """

    shared: bool
    shared_at: str | None
    reviewed_at: str | None
    reviewed_by: str | None
    coaches: list[str]


class ReviewItem(_SessionFields):
    """A shared session waiting for review, with its findings flagged."""

    shared_at: str
    severity: dict[str, int]
    needs_work: list[dict[str, Any]] = Field(
        description=(
            "The major and minor findings; rep is the repetition's index from 0, as in "
            "result.reps[].index (pages number them from 1)."
        )
    )


class CommentIn(BaseModel):
    """A comment at a moment of a session's video."""

    time_s: float = Field(ge=0, le=86_400)
    text: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS)


class CommentOut(BaseModel):
    """A coach's comment at a moment (seconds) of a session's video."""

    id: int
    session_id: int
    author: str | None = Field(description="None: the coach's account was removed.")
    time_s: float
    text: str
    created_at: str


def _me(ctx: Web, account: Account, cookie: str) -> Me:
    from kneeback.web.accounts import csrf_token

    return Me(username=account.username, role=account.role, csrf_token=csrf_token(ctx.key, cookie))


@router.post(
    "/login",
    response_model=Me,
    responses=BODY_RESPONSES
    | refusal(400, "The username or password is wrong.")
    | rate_limited("Too many wrong passwords lately, for this username or from this address."),
)
def api_login(request: Request, ctx: Web, body: Credentials) -> Response:
    """Log in; sets the session cookie. 400 for wrong credentials, 429 when rate-limited."""
    account, token = log_in(ctx, request, body.username, body.password)
    response = JSONResponse(_me(ctx, account, token).model_dump())
    ctx.set_cookie(response, ctx.session_cookie, token, ctx.settings.session_max_age_s)
    return response


@router.post(
    "/register",
    response_model=Me,
    status_code=201,
    responses=BODY_RESPONSES
    | refusal(400, "The username is taken or malformed, or the password too short or too long.")
    | rate_limited("Too many registrations from this address lately."),
)
def api_register(request: Request, ctx: Web, body: Credentials) -> Response:
    """Open a member account and log in (429 when this address registered too often lately)."""
    account, token = register_member(ctx, request, body.username, body.password)
    response = JSONResponse(_me(ctx, account, token).model_dump(), status_code=201)
    ctx.set_cookie(response, ctx.session_cookie, token, ctx.settings.session_max_age_s)
    return response


@router.post("/logout", status_code=204, responses=LOGIN_RESPONSES | CSRF_RESPONSES)
def api_logout(request: Request, ctx: Web, account: LoggedIn) -> Response:
    """End the session."""
    ctx.require_header_csrf(request)
    end_session(ctx.db, request.cookies.get(ctx.session_cookie))
    response = Response(status_code=204)
    ctx.delete_cookie(response, ctx.session_cookie)
    return response


@router.get("/me", response_model=Me, responses=LOGIN_RESPONSES)
def api_me(request: Request, ctx: Web, account: LoggedIn) -> Me:
    """Return the logged-in account and the CSRF token to send with changes."""
    return _me(ctx, account, request.cookies.get(ctx.session_cookie, ""))


@router.get("/sessions", response_model=list[SessionOut], responses=_PAGED_LOGIN_RESPONSES)
def api_sessions(
    request: Request, response: Response, ctx: Web, account: LoggedIn, window: PageWindow
) -> list[dict[str, Any]]:
    """Sessions the account may see (its own; a coach's members'), newest first; paged."""
    return paged(request, response, sessions_page(ctx.db, account, window=window), window)


@router.get("/sessions/{session_id}", response_model=SessionDetail, responses=_SESSION_RESPONSES)
def api_session(ctx: Web, account: LoggedIn, session_id: RowId) -> dict[str, Any]:
    """One session; 404 when it does not exist or is not the account's to see."""
    session = get_session(ctx.db, account, session_id)
    if session is None:
        raise HTTPException(404, "No such session.")
    return session


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    responses=_SESSION_RESPONSES
    | {204: {"description": "Deleted, with its files, share, comments and uploaded clip."}}
    | forbidden("A coach's account (only the member or an admin deletes a session)")
    | refusal(409, "Its analysis job has not finished yet; nothing was deleted."),
)
def api_delete_session(
    request: Request, ctx: Web, account: LoggedIn, session_id: RowId
) -> Response:
    """Delete one of the member's sessions (an admin: anyone's); progress stops counting it.

    Stage changes that the session already led to stay in the program (its history; a coach
    can set the stage again); its analysis job stays, without a session.
    """
    ctx.require_header_csrf(request)
    _found(remove_session(ctx, account, session_id))
    return Response(status_code=204)


_UPLOAD_RESPONSES: Responses = (
    LOGIN_RESPONSES
    | {
        200: {
            "model": JobOut,
            "description": (
                f"A retry: the account sent this {IDEMPOTENCY_HEADER} with the same file within "
                "24 hours; the first upload's job as it is now (Location: its address). Nothing "
                "new is stored or queued."
            ),
        },
        202: {"description": "The clip is stored and its analysis queued (Location: the job)."},
    }
    | refusal(
        400,
        "A malformed form (no file part), an unknown movement or a malformed "
        f"{IDEMPOTENCY_HEADER}.",
    )
    | forbidden("Not a member's account (members upload)")
    | {
        409: problem(
            "The account uploaded the same file (by SHA-256) before, and that upload's job is "
            "queued, running, or done with a session that still exists: nothing is stored or "
            f"queued (detail: when, and the job; Location: its address). Without an "
            f"{IDEMPOTENCY_HEADER} that names a job; a failed job or a deleted session does not "
            "count."
        )
        | {
            "headers": {
                "Location": {
                    "description": "The earlier upload's job: /api/jobs/{uid}.",
                    "schema": {"type": "string"},
                }
            }
        }
    }
    | refusal(413, "The clip is larger than the server's limit (from Content-Length or streamed).")
    | refusal(
        415, "An empty file, or not an MP4, MOV or WebM video with frames (from its content)."
    )
    | refusal(422, f"The {IDEMPOTENCY_HEADER} was used for another file.")
    | refusal(503, "The server cannot store the clip now (its disk is full or read-only).")
)

#: The form :func:`~kneeback.web.flows.accept_upload` streams (the route reads it itself).
_UPLOAD_FORM = multipart_form(
    {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The clip: an MP4, MOV or WebM video.",
        },
        "movement": {
            "type": "string",
            "enum": ["auto", *MOVEMENT_NAMES],
            "default": "auto",
            "description": (
                "The movement in the clip; auto (or absent, or empty) lets the analysis "
                "recognise it."
            ),
        },
    },
    required=["file"],
)


@router.post(
    "/uploads",
    response_model=JobOut,
    status_code=202,
    responses=_UPLOAD_RESPONSES,
    openapi_extra=_UPLOAD_FORM,
)
async def api_upload(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_HEADER,
            description=(
                "Optional: makes the upload safe to retry. The same account sending the same "
                "key within 24 hours gets the first upload's job back (200); a key sent with "
                "another file is refused (422)."
            ),
            # checked by the route, which answers a bad key with a sentence (400)
            json_schema_extra={
                "minLength": 1,
                "maxLength": MAX_IDEMPOTENCY_KEY_CHARS,
                "pattern": "^[ -~]+$",
            },
        ),
    ] = None,
) -> Response:
    """Upload a clip (multipart field ``file``, optional ``movement``); its analysis is queued.

    413 over the size limit, 415 when the file is empty or not a video, 403 without the CSRF
    header. With an ``Idempotency-Key`` header, a retry of the same upload returns its job (200).
    A file the account uploaded before, whose analysis stands, is a 409 naming that job.
    """
    from starlette.concurrency import run_in_threadpool

    try:
        if idempotency_key is None:
            uid = await accept_upload(ctx, request, account, csrf_from_form=False)
            status = 202
        else:
            keyed = await accept_keyed_upload(ctx, request, account, key=idempotency_key)
            uid, status = keyed.uid, 202 if keyed.created else 200
    except DuplicateUploadError as earlier:
        raise HTTPException(
            409,
            f"You uploaded this clip on {earlier.created_at:%Y-%m-%d} (job {earlier.uid}), so "
            "it was not queued again (to analyse it again, delete that job's session first).",
            headers={"Location": f"/api/jobs/{earlier.uid}"},
        ) from None
    job = await run_in_threadpool(get_job, ctx.db, account, uid)
    return JSONResponse(job, status_code=status, headers={"Location": f"/api/jobs/{uid}"})


@router.get("/jobs", response_model=list[JobOut], responses=_PAGED_LOGIN_RESPONSES)
def api_jobs(
    request: Request, response: Response, ctx: Web, account: LoggedIn, window: PageWindow
) -> list[dict[str, Any]]:
    """Analysis jobs the account may see, newest first; paged."""
    return paged(request, response, jobs_page(ctx.db, account, window=window), window)


@router.get("/jobs/{uid}", response_model=JobOut, responses=LOGIN_RESPONSES | not_found("job"))
def api_job(ctx: Web, account: LoggedIn, uid: str) -> dict[str, Any]:
    """One job's state and progress; 404 when it is not the account's to see."""
    job = get_job(ctx.db, account, uid)
    if job is None:
        raise HTTPException(404, "No such job.")
    return job


def _person(ctx: WebContext, account: Account, username: str) -> str:
    person = member_person(ctx.db, account, username)
    if person is None:
        raise HTTPException(404, "No such member.")
    return person


@router.get("/members", response_model=list[str], responses=_PAGED_LOGIN_RESPONSES)
def api_members(
    request: Request, response: Response, ctx: Web, account: LoggedIn, window: PageWindow
) -> list[str]:
    """Return the usernames of the members the account may see (a member: only themself); paged."""
    return paged(request, response, members_page(ctx.db, account, window=window), window)


@router.get(
    "/members/{username}/history",
    response_model=MemberHistory,
    response_model_exclude_unset=True,
    responses=_MEMBER_RESPONSES
    | LIST_RESPONSES
    | {
        200: LIST_RESPONSES[200]
        | {"description": "The history with one page of its sessions (X-Total-Count: all)."}
    },
)
def api_history(
    request: Request,
    response: Response,
    ctx: Web,
    account: LoggedIn,
    username: str,
    window: PageWindow,
) -> dict[str, Any]:
    """Return a member's sessions with key values, outcomes and program changes; sessions paged.

    The window counts back from the newest session, as ``/api/sessions`` does: the first page
    holds the newest sessions and ``rel="next"`` goes back in time. A page's sessions are listed
    oldest first, ready to plot. Outcomes and program changes come whole with every page.
    """
    from kneeback.store import person_history

    person = _person(ctx, account, username)
    history = person_history(ctx.db, person, limit=window.limit, offset=window.offset)
    total = history.pop("session_total")
    for s in history["sessions"]:  # server paths are not for the browser
        s.pop("source_path", None)
        s.pop("artifacts", None)
    paged(request, response, Page(history["sessions"], total), window)
    return history | {"name": username}


@router.get(
    "/members/{username}/progress",
    response_model=MemberProgress,
    response_model_exclude_unset=True,
    responses=_MEMBER_RESPONSES,
)
def api_progress(ctx: Web, account: LoggedIn, username: str) -> dict[str, Any]:
    """Return a member's progress: trends against the smallest detectable change, outcomes."""
    from kneeback.progress.report import person_progress, progress_to_dict

    data = progress_to_dict(person_progress(ctx.db, _person(ctx, account, username)))
    return data | {"name": username}


@router.get(
    "/members/{username}/program",
    response_model=MemberProgram,
    response_model_exclude_unset=True,
    responses=_MEMBER_RESPONSES,
)
def api_program(ctx: Web, account: LoggedIn, username: str) -> dict[str, Any]:
    """Return a member's program stage per track, why, the next targets and this week's plan."""
    from kneeback.store import program_status

    return program_status(ctx.db, _person(ctx, account, username)) | {"name": username}


class StageOverrideIn(BaseModel):
    """A coach's decision to put a member on a stage, and why."""

    stage: str = Field(max_length=60, description="A stage id of the program.")
    # Accepted up to twice the limit so that the server answers a long reason with a sentence
    # (400); the schema states the real limit.
    reason: str = Field(
        max_length=MAX_REASON_CHARS * 2,
        json_schema_extra={"maxLength": MAX_REASON_CHARS},
        description="Why; the member reads it.",
    )


@router.post(
    "/members/{username}/stage",
    response_model=MemberProgram,
    response_model_exclude_unset=True,
    responses=_MEMBER_RESPONSES
    | BODY_RESPONSES
    | forbidden("A member's account (a member reads their program; a coach changes it)")
    | refusal(400, "An unknown stage, or a reason that is blank or too long."),
)
def api_override_stage(
    request: Request, ctx: Web, account: LoggedIn, username: str, body: StageOverrideIn
) -> dict[str, Any]:
    """Put a member on a program stage (coach or admin); return the program as it now stands."""
    from kneeback.store import program_status

    ctx.require_header_csrf(request)
    done = override_member_stage(ctx.db, account, username, body.stage, body.reason)
    person = _found(done and member_person(ctx.db, account, username), "member")
    return program_status(ctx.db, person) | {"name": username, "override": done}


# ---- coach review --------------------------------------------------------------------------------


def _found(value: Any, what: str = "session") -> Any:
    if value is None:
        raise HTTPException(404, f"No such {what}.")
    return value


@router.get("/sessions/{session_id}/share", response_model=ShareOut, responses=_SESSION_RESPONSES)
def api_share_state(ctx: Web, account: LoggedIn, session_id: RowId) -> dict[str, Any]:
    """Return whether a session is shared for review and reviewed, without changing it."""
    return _found(share_state(ctx.db, account, session_id))


@router.post(
    "/sessions/{session_id}/share",
    response_model=ShareOut,
    responses=LOGIN_RESPONSES
    | CSRF_RESPONSES
    | refusal(404, "No such session of the member's own (coaches and admins share none)."),
)
def api_share(request: Request, ctx: Web, account: LoggedIn, session_id: RowId) -> dict[str, Any]:
    """Share one of the member's own sessions with their coach(es) for review."""
    ctx.require_header_csrf(request)
    return _found(share_session(ctx.db, account, session_id))


@router.get(
    "/review",
    response_model=list[ReviewItem],
    responses=_PAGED_LOGIN_RESPONSES
    | forbidden("A member's account (coaches and admins review)", csrf=False),
)
def api_review(
    request: Request, response: Response, ctx: Web, account: LoggedIn, window: PageWindow
) -> list[dict[str, Any]]:
    """Return the coach's review queue: members' shared, unreviewed sessions, oldest first."""
    if account.role == "member":
        raise HTTPException(403, "Only coaches review sessions.")
    return paged(request, response, review_page(ctx.db, account, window=window), window)


@router.get(
    "/sessions/{session_id}/comments",
    response_model=list[CommentOut],
    responses=_PAGED_LOGIN_RESPONSES | not_found("session"),
)
def api_comments(
    request: Request,
    response: Response,
    ctx: Web,
    account: LoggedIn,
    session_id: RowId,
    window: PageWindow,
) -> list[dict[str, Any]]:
    """Comments on a session, by moment of its video; paged."""
    page = _found(comments_page(ctx.db, account, session_id, window=window))
    return paged(request, response, page, window)


@router.post(
    "/sessions/{session_id}/comments",
    response_model=CommentOut,
    status_code=201,
    responses=_SESSION_RESPONSES
    | BODY_RESPONSES
    | _REVIEWER_ONLY
    | refusal(400, "A blank comment, or a moment after the end of the clip."),
)
def api_add_comment(
    request: Request, ctx: Web, account: LoggedIn, session_id: RowId, body: CommentIn
) -> dict[str, Any]:
    """Add a coach's comment at ``time_s`` seconds of the session's video."""
    ctx.require_header_csrf(request)
    return _found(add_comment(ctx.db, account, session_id, body.time_s, body.text))


@router.post(
    "/sessions/{session_id}/reviewed",
    response_model=ShareOut,
    responses=_SESSION_RESPONSES
    | _REVIEWER_ONLY
    | refusal(409, "The session was not shared for review."),
)
def api_reviewed(
    request: Request, ctx: Web, account: LoggedIn, session_id: RowId
) -> dict[str, Any]:
    """Mark a shared session reviewed: it leaves the review queue."""
    ctx.require_header_csrf(request)
    return _found(mark_reviewed(ctx.db, account, session_id))
