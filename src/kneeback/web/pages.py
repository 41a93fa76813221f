"""Server-rendered pages: home, login, register, logout, upload, jobs, reports and coach review.

The review flow: a member shares a session, coaches see their queue, comment at moments of the
video and mark the session reviewed. A member (or an admin) deletes a session after a
confirmation page that says what goes with it.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from kneeback.errors import BadValueError
from kneeback.movements.specs import MOVEMENT_NAMES
from kneeback.report.html import SEVERITY_LABELS
from kneeback.report.result import MovementInfo
from kneeback.report.rules_doc import rules_markdown
from kneeback.report.verdicts import verdict_sentence
from kneeback.web.accounts import Account, end_session
from kneeback.web.app import (
    REPORT_CSP,
    LoggedIn,
    MaybeLoggedIn,
    RowId,
    Web,
    WebContext,
)
from kneeback.web.coaching import MAX_REASON_CHARS, override_member_stage, stage_choices
from kneeback.web.content import render_markdown
from kneeback.web.deletion import deletion_preview
from kneeback.web.flows import accept_upload, log_in, register_member, remove_session
from kneeback.web.jobs import DuplicateUploadError
from kneeback.web.paging import MAX_OFFSET, Window
from kneeback.web.queries import (
    get_job,
    get_session,
    jobs_page,
    member_person,
    session_file,
    sessions_page,
    visible_members,
)
from kneeback.web.review import (
    MAX_COMMENT_CHARS,
    add_comment,
    list_comments,
    mark_reviewed,
    review_queue,
    share_session,
    share_state,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: Uploads and sessions the home page lists (the newest; a member's page pages through theirs).
HOME_JOBS = 10
HOME_SESSIONS = 20
#: Sessions a member's page lists at a time.
MEMBER_SESSIONS = 25


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/")
def home(request: Request, ctx: Web, account: MaybeLoggedIn) -> Response:
    """Home: the upload form, jobs and sessions when logged in; what kneeback does otherwise."""
    if account is None:
        return ctx.render(request, "welcome.html")
    return ctx.render(
        request,
        "home.html",
        {
            "jobs": jobs_page(ctx.db, account, window=Window(HOME_JOBS)).items,
            "sessions": sessions_page(ctx.db, account, window=Window(HOME_SESSIONS)),
            "movements": MOVEMENT_NAMES,
            "max_mb": ctx.settings.max_upload_bytes // (1024 * 1024),
            "members": visible_members(ctx.db, account) if account.role != "member" else [],
        },
        account=account,
    )


@cache
def _rules_html() -> str:
    """Render the rules page (docs/critique-rules.md, its web version) as HTML.

    Each rule's heading gets the rule's id as its anchor (``/rules#heel_lift``), which the
    findings of a session link to.
    """
    return re.sub(
        r"<h2>(.*?) \(<code>([a-z_]+)</code>\)</h2>",
        r'<h2 id="\2">\1 (<code>\2</code>)</h2>',
        render_markdown(rules_markdown(for_web=True)),
    )


@router.get("/rules")
def rules_page(request: Request, ctx: Web, account: MaybeLoggedIn) -> Response:
    """How kneeback judges: every critique rule with its source, evidence grade and thresholds."""
    return ctx.render(request, "rules.html", {"body_html": _rules_html()}, account=account)


@router.get("/login")
def login_page(request: Request, ctx: Web, account: MaybeLoggedIn, next: str = "/") -> Response:
    """Show the login form."""
    if account is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return ctx.render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    ctx: Web,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Log in; a wrong password shows the form again, too many failures answer 429."""
    ctx.require_form_csrf(request, csrf_token)
    try:
        _, token = log_in(ctx, request, username, password)
    except HTTPException as exc:
        if exc.status_code != 400:
            raise
        return ctx.render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": exc.detail, "username": username},
            status_code=400,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    ctx.set_cookie(response, ctx.session_cookie, token, ctx.settings.session_max_age_s)
    ctx.delete_cookie(response, ctx.pre_cookie)
    return response


@router.get("/register")
def register_page(request: Request, ctx: Web, account: MaybeLoggedIn) -> Response:
    """Show the form to open a member account."""
    if account is not None:
        return RedirectResponse("/", status_code=303)
    return ctx.render(request, "register.html")


@router.post("/register")
def register(
    request: Request,
    ctx: Web,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Open a member account and log in; errors show the form again with the reason."""
    ctx.require_form_csrf(request, csrf_token)
    try:
        _, token = register_member(ctx, request, username, password)
    except HTTPException as exc:
        if exc.status_code not in (400, 429):
            raise
        page = ctx.render(
            request,
            "register.html",
            {"error": exc.detail, "username": username},
            status_code=exc.status_code,
        )
        page.headers.update(exc.headers or {})  # Retry-After on a 429
        return page
    response = RedirectResponse("/", status_code=303)
    ctx.set_cookie(response, ctx.session_cookie, token, ctx.settings.session_max_age_s)
    ctx.delete_cookie(response, ctx.pre_cookie)
    return response


@router.post("/logout")
def logout(
    request: Request, ctx: Web, account: LoggedIn, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Log out (end the server-side session)."""
    ctx.require_form_csrf(request, csrf_token)
    end_session(ctx.db, request.cookies.get(ctx.session_cookie))
    response = RedirectResponse("/", status_code=303)
    ctx.delete_cookie(response, ctx.session_cookie)
    return response


@router.post("/uploads")
async def upload(request: Request, ctx: Web, account: LoggedIn) -> Response:
    """Receive a clip from the upload form and show its job.

    A clip the member uploaded before, whose analysis stands, is not queued again: the page of
    that upload's job opens instead, saying so (``?duplicate=1``).
    """
    try:
        uid = await accept_upload(ctx, request, account, csrf_from_form=True)
    except DuplicateUploadError as earlier:
        return RedirectResponse(f"/jobs/{earlier.uid}?duplicate=1", status_code=303)
    return RedirectResponse(f"/jobs/{uid}", status_code=303)


@router.get("/jobs/{uid}")
def job_page(
    request: Request, ctx: Web, account: LoggedIn, uid: str, duplicate: bool = False
) -> Response:
    """Show the progress of one job (the page refreshes itself until the job ends).

    ``?duplicate=1``: the member just uploaded this job's clip again, and it was not queued.
    """
    job = get_job(ctx.db, account, uid)
    if job is None:
        raise HTTPException(404, "No such job.")
    return ctx.render(request, "job.html", {"job": job, "duplicate": duplicate}, account=account)


@router.get("/sessions/{session_id}")
def session_page(request: Request, ctx: Web, account: LoggedIn, session_id: RowId) -> Response:
    """Show one session: annotated video, verdict, findings, cues and the coach's comments.

    Its member can share it for review; a coach (or admin) can comment at a moment of the video
    and mark it reviewed.
    """
    return _session_response(request, ctx, account, session_id)


def _session_response(
    request: Request,
    ctx: WebContext,
    account: Account,
    session_id: int,
    *,
    comment_error: str | None = None,
    comment_text: str = "",
    comment_time: str = "0",
    status_code: int = 200,
) -> Response:
    """Render the session page; a refused comment comes back with its reason and its text."""
    session = get_session(ctx.db, account, session_id)
    if session is None:
        raise HTTPException(404, "No such session.")
    return ctx.render(
        request,
        "session.html",
        {
            "comment_error": comment_error,
            "comment_text": comment_text,
            "comment_time": comment_time,
            "s": session,
            "verdict_sentence": verdict_sentence(
                session["verdict"],
                ((f["id"], f["severity"], f["title"]) for f in session["findings"]),
                movement=session["movement"],
                reps=session["reps"],
            ),
            "clip": _clip_notes(session["result"], reps=session["reps"]),
            "share": share_state(ctx.db, account, session_id),
            "comments": list_comments(ctx.db, account, session_id) or [],
            "may_review": account.role in ("coach", "admin"),
            "may_delete": account.role in ("member", "admin"),
            "max_comment": MAX_COMMENT_CHARS,
            "severity_labels": SEVERITY_LABELS,
        },
        account=account,
        status_code=status_code,
    )


def _clip_notes(result: dict[str, Any], *, reps: int) -> dict[str, Any]:
    """Collect what the session page says about the clip from its stored result.

    ``no_reps``: why there is no repetition (None when there are some); ``message``: the stated
    movement disagreeing with what was seen; ``recognition``: for a clip that needs work, that
    the movement was recognised (not named) and how to name another; ``length_s``: the clip's
    length; ``issues`` and ``tip``: what limited the clip. Fields of the result may be absent.
    """
    movement = result.get("movement")
    capture = result.get("capture") or {}
    no_reps = None
    if not reps:
        no_reps = (
            MovementInfo.model_validate(movement).no_repetition_text()
            if isinstance(movement, dict) and "used" in movement
            else "No whole repetition was found."
        )
    tips = capture.get("tips") or []
    length = capture.get("duration_s")
    recognition = None
    if result.get("verdict") == "needs_work" and isinstance(movement, dict) and "used" in movement:
        recognition = MovementInfo.model_validate(movement).recognition_note(
            how_to_name="the movement choice of the upload form"
        )
    return {
        "recognition": recognition,
        "length_s": float(length) if isinstance(length, int | float) else None,
        "no_reps": no_reps,
        "message": (movement or {}).get("message"),
        "issues": capture.get("issues") or [],
        "tip": tips[0] if tips else None,
    }


@router.post("/sessions/{session_id}/share")
def share_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    session_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Share the member's own session with their coach(es)."""
    ctx.require_form_csrf(request, csrf_token)
    if share_session(ctx.db, account, session_id) is None:
        raise HTTPException(404, "No such session.")
    return RedirectResponse(f"/sessions/{session_id}", status_code=303)


@router.post("/sessions/{session_id}/comments")
def comment_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    session_id: RowId,
    time_s: Annotated[str, Form(max_length=32)] = "0",
    text: Annotated[str, Form(max_length=MAX_COMMENT_CHARS * 2)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Add a coach's comment at a moment of the session's video."""
    ctx.require_form_csrf(request, csrf_token)
    try:
        seconds = float(time_s.strip() or "0")
    except ValueError:
        seconds = math.nan
    try:
        added = add_comment(ctx.db, account, session_id, seconds, text)
    except BadValueError as exc:  # the form again, with the reason and what was typed
        return _session_response(
            request,
            ctx,
            account,
            session_id,
            comment_error=str(exc),
            comment_text=text[:MAX_COMMENT_CHARS],
            comment_time=time_s.strip()[:32],
            status_code=400,
        )
    if added is None:
        raise HTTPException(404, "No such session.")
    return RedirectResponse(f"/sessions/{session_id}#comment-{added['id']}", status_code=303)


@router.post("/sessions/{session_id}/reviewed")
def reviewed_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    session_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Mark a shared session reviewed and go back to the review queue."""
    ctx.require_form_csrf(request, csrf_token)
    done = mark_reviewed(ctx.db, account, session_id)
    if done is None:
        raise HTTPException(404, "No such session.")
    return RedirectResponse("/review", status_code=303)


@router.get("/sessions/{session_id}/delete")
def delete_page(request: Request, ctx: Web, account: LoggedIn, session_id: RowId) -> Response:
    """Ask before deleting a session: what goes with it, and what stays (its member or an admin)."""
    preview = deletion_preview(
        ctx.db,
        account,
        session_id,
        upload_dir=ctx.settings.upload_dir,
        analysis_dir=ctx.settings.analysis_dir,
    )
    if preview is None:
        raise HTTPException(404, "No such session.")
    return ctx.render(request, "session_delete.html", {"d": preview}, account=account)


@router.post("/sessions/{session_id}/delete")
def delete_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    session_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Delete a session and go to its member's page, which says that it was deleted."""
    ctx.require_form_csrf(request, csrf_token)
    done = remove_session(ctx, account, session_id)
    if done is None:
        raise HTTPException(404, "No such session.")
    return RedirectResponse(f"/members/{quote(done['owner'])}?deleted=1", status_code=303)


@router.get("/review")
def review_page(request: Request, ctx: Web, account: LoggedIn) -> Response:
    """Show the coach's review queue: members' shared, unreviewed sessions, oldest first."""
    if account.role == "member":
        raise HTTPException(403, "Only coaches review sessions.")
    return ctx.render(
        request,
        "review.html",
        {"queue": review_queue(ctx.db, account), "severity_labels": SEVERITY_LABELS},
        account=account,
    )


@router.get("/sessions/{session_id}/{name}")
def session_file_page(ctx: Web, account: LoggedIn, session_id: RowId, name: str) -> Response:
    """Serve a file of one session's analysis: ``report.html`` or ``annotated.mp4``.

    Not kept in the browser's cache (``no-store``), like the other personal pages and the
    downloads: a member's video stays off a shared computer's disk after they log out.
    """
    path = session_file(ctx.db, account, session_id, name, root=ctx.settings.analysis_dir)
    if path is None:
        raise HTTPException(404, "No such file.")
    headers = {"Cache-Control": "private, no-store"}
    if name == "report.html":
        return StreamingResponse(
            _with_back_link(path, f"/sessions/{session_id}"),
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": REPORT_CSP, **headers},
        )
    return FileResponse(path, media_type="video/mp4", headers=headers)


#: The link a served report starts with (the report is a file of its own, with no way back).
_BACK_LINK = '<p style="margin:.5rem 1rem"><a href="{url}">Back to the session</a></p>'


def _with_back_link(path: Path, url: str, /) -> Iterator[bytes]:
    """Yield the report file a megabyte at a time, a link back to ``url`` after its ``<body>``.

    The file stays as the analysis wrote it (the command line's reports have no such link); a
    report without a ``<body>`` tag in its first 64 KiB is sent as it is.
    """
    link = _BACK_LINK.format(url=html.escape(url, quote=True)).encode()
    with path.open("rb") as f:
        head = f.read(64 * 1024)
        start = head.find(b"<body")
        end = head.find(b">", start) if start >= 0 else -1
        yield head if end < 0 else head[: end + 1] + link + head[end + 1 :]
        while chunk := f.read(1024 * 1024):
            yield chunk


def _member(ctx: Web, account: Account, username: str) -> str:
    person = member_person(ctx.db, account, username)
    if person is None:
        raise HTTPException(404, "No such member.")
    return person


@router.get("/members/{username}")
def member_page(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    username: str,
    deleted: bool = False,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """Show a member's program stage with this week's plan, progress and sessions.

    The sessions come :data:`MEMBER_SESSIONS` at a time, newest first; ``?offset=`` skips that
    many (the page links the older and newer ones). ``?deleted=1``: a session was just deleted
    (the page says so).
    """
    return _member_response(request, ctx, account, username, deleted=deleted, offset=offset)


def _member_response(
    request: Request,
    ctx: WebContext,
    account: Account,
    username: str,
    *,
    stage_error: str | None = None,
    stage_form: dict[str, str] | None = None,
    status_code: int = 200,
    deleted: bool = False,
    offset: int = 0,
) -> Response:
    """Render a member's page; a refused stage move comes back with its reason and its text."""
    from kneeback.program import load_program
    from kneeback.progress.report import person_progress
    from kneeback.store import program_status

    person = _member(ctx, account, username)
    program = program_status(ctx.db, person)
    progress = person_progress(ctx.db, person)
    sessions = sessions_page(
        ctx.db, account, owner=username, window=Window(MEMBER_SESSIONS, offset)
    )
    may_override = account.role in ("coach", "admin")
    return ctx.render(
        request,
        "member.html",
        {
            "username": username,
            "program": program,
            "trends": progress.trends,
            # per track, the movements its stages are measured from
            "track_movements": {
                t.id: [st.movement for st in t.stages] for t in load_program().tracks
            },
            "sessions": sessions,
            "offset": offset,
            "per_page": MEMBER_SESSIONS,
            "may_override": may_override,
            "choices": stage_choices() if may_override else [],
            "max_reason": MAX_REASON_CHARS,
            "stage_error": stage_error,
            "stage_form": stage_form or {},
            "deleted": deleted,
        },
        account=account,
        status_code=status_code,
    )


@router.post("/members/{username}/stage")
def stage_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    username: str,
    stage: Annotated[str, Form(max_length=60)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON_CHARS * 2)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Move a member to a program stage by the coach's decision, with the reason."""
    ctx.require_form_csrf(request, csrf_token)
    try:
        done = override_member_stage(ctx.db, account, username, stage, reason)
    except BadValueError as exc:  # the form again, with the reason and what was typed
        return _member_response(  # 404 for a member the account may not see
            request,
            ctx,
            account,
            username,
            stage_error=str(exc),
            stage_form={"stage": stage, "reason": reason[:MAX_REASON_CHARS]},
            status_code=400,
        )
    if done is None:
        raise HTTPException(404, "No such member.")
    return RedirectResponse(f"/members/{quote(username)}#track-{done['track']}", status_code=303)


@router.get("/members/{username}/progress.html")
def member_progress_charts(ctx: Web, account: LoggedIn, username: str) -> Response:
    """Serve a member's progress page with its charts (a self-contained document)."""
    from kneeback.progress.report import person_progress, progress_html

    person = _member(ctx, account, username)
    page = progress_html(person_progress(ctx.db, person), back_url=f"/members/{quote(username)}")
    return HTMLResponse(
        page,
        headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "private, no-store"},
    )
