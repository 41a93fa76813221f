"""The FastAPI application: :func:`create_app` wires settings, database, worker and routes.

Pages are rendered on the server with Jinja2 (``templates/``) and work on a phone screen; the JSON
API lives under ``/api/`` and its OpenAPI schema at ``/openapi.json``. Routes only orchestrate:
they call the query and command modules (:mod:`kneeback.web.accounts`, ``queries``, ``review``,
``coaching``, ``content``, ``podcast``, ``jobs``). What those refuse reaches the client the same
way everywhere: :class:`~kneeback.web.review.NotAllowedError` as 403 (409 when a session was not
shared), :class:`~kneeback.errors.BadValueError` as 400, with the exception's sentence. A request
the routes' types refuse is 404 when the address names nothing that can exist (``/sessions/abc``,
an id beyond what the database holds), else 422 with the fields' errors from the API (never
echoing what was sent: it may hold a password) and a 400 page naming the fields from a form. When
the database cannot be reached (:class:`~kneeback.errors.DatabaseError`) or the server's disk
refuses a write (full, read-only), the client gets a 503 with a sentence, and the log one line
saying why (no traceback: it is not a bug).
"""

from __future__ import annotations

import errno
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kneeback import __version__
from kneeback.errors import BadValueError, DatabaseError, OutputError
from kneeback.store.db import Database
from kneeback.web.accounts import Account, csrf_token, csrf_valid, session_account
from kneeback.web.findings import group_findings
from kneeback.web.jobs import JobWorker
from kneeback.web.ratelimit import LoginRateLimiter, RegistrationRateLimiter
from kneeback.web.review import NotAllowedError, NotSharedError
from kneeback.web.settings import WebSettings

__all__ = [
    "CSRF_HEADER",
    "LoggedIn",
    "MaybeLoggedIn",
    "NotLoggedInError",
    "RowId",
    "WebContext",
    "create_app",
    "current_account",
    "optional_account",
]

_HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)
#: What a client is told when the database cannot be reached (never its URL or the driver's words).
DATABASE_DOWN = "The service cannot reach its database right now; please try again in a moment."
#: What a client is told when the server cannot write or read its files (disk full, read-only).
STORAGE_DOWN = "The server cannot store files right now; please try again later."
#: The errors of the server's own storage (not a bug: the operator must act), answered 503.
_STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EIO}
)
#: Header carrying the CSRF token on API requests that change something.
CSRF_HEADER = "X-CSRF-Token"
#: Content-Security-Policy of the app's own pages: nothing inline, nothing from elsewhere.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: Content-Security-Policy of a served report.html (inline CSS, inline SVG, a data: video; no
#: script) in a sandbox of its own.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src data:; "
    "frame-ancestors 'none'; sandbox"
)
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
}


class NotLoggedInError(Exception):
    """Raised by :func:`current_account` without a live session (401, or a redirect to login)."""


@dataclass
class WebContext:
    """What the routes share: settings, database, key, rate limiters, templates and worker."""

    settings: WebSettings
    db: Database
    key: bytes
    limiter: LoginRateLimiter
    templates: Jinja2Templates
    worker: JobWorker
    register_limiter: RegistrationRateLimiter

    @property
    def session_cookie(self) -> str:
        """Name of the login cookie (``__Host-`` prefixed when cookies are secure)."""
        return "__Host-kb_session" if self.settings.cookie_secure else "kb_session"

    @property
    def pre_cookie(self) -> str:
        """Name of the cookie that seeds CSRF tokens before login."""
        return "__Host-kb_pre" if self.settings.cookie_secure else "kb_pre"

    def set_cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        """Set a secure (if configured), HTTP-only, SameSite=Lax cookie for the whole site."""
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self.settings.cookie_secure,
            httponly=True,
            samesite="lax",
        )

    def delete_cookie(self, response: Response, name: str) -> None:
        """Delete a cookie set by :meth:`set_cookie` (same attributes, or browsers ignore it)."""
        response.delete_cookie(
            name, path="/", secure=self.settings.cookie_secure, httponly=True, samesite="lax"
        )

    def csrf_for(self, request: Request) -> str:
        """Return the CSRF token of this request's session (or pre-login) cookie; '' if none."""
        cookie = (
            request.cookies.get(self.session_cookie)
            or request.cookies.get(self.pre_cookie)
            or getattr(request.state, "pre", None)
        )
        return csrf_token(self.key, cookie) if cookie else ""

    def require_form_csrf(self, request: Request, token: str | None) -> None:
        """Refuse (403) a form whose ``csrf_token`` field does not match the visitor's cookie."""
        if not self.csrf_ok(request, token):
            raise HTTPException(403, "The form has expired; reload the page and try again.")

    def require_header_csrf(self, request: Request) -> None:
        """Refuse (403) an API request without the right :data:`CSRF_HEADER`."""
        if not self.csrf_ok(request, request.headers.get(CSRF_HEADER)):
            raise HTTPException(403, f"Missing or wrong {CSRF_HEADER} header.")

    def csrf_ok(self, request: Request, token: str | None) -> bool:
        """Whether ``token`` matches the session cookie, or the pre-login cookie."""
        return any(
            csrf_valid(self.key, request.cookies.get(name), token)
            for name in (self.session_cookie, self.pre_cookie)
        )

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        *,
        account: Account | None = None,
        status_code: int = 200,
    ) -> Response:
        """Render a page with the account and a CSRF token for its forms.

        A visitor without any cookie gets a pre-login cookie, so that the login and register
        forms carry a CSRF token too.
        """
        new_pre = None
        if not request.cookies.get(self.session_cookie) and not request.cookies.get(
            self.pre_cookie
        ):
            new_pre = secrets.token_urlsafe(32)
            request.state.pre = new_pre
        ctx = {"account": account, "csrf_token": self.csrf_for(request), "version": __version__}
        response = self.templates.TemplateResponse(
            request, name, ctx | (context or {}), status_code=status_code
        )
        if new_pre is not None:
            self.set_cookie(response, self.pre_cookie, new_pre, None)
        response.headers["Cache-Control"] = "no-store"
        return response


def web(request: Request) -> WebContext:
    """Return the app's :class:`WebContext` (a dependency)."""
    ctx: WebContext = request.app.state.web
    return ctx


Web = Annotated[WebContext, Depends(web)]


def optional_account(request: Request, ctx: Web) -> Account | None:
    """Return the logged-in account, or None (a dependency)."""
    return session_account(ctx.db, request.cookies.get(ctx.session_cookie))


def current_account(account: Annotated[Account | None, Depends(optional_account)]) -> Account:
    """Return the logged-in account (a dependency); raise :class:`NotLoggedInError` if none."""
    if account is None:
        raise NotLoggedInError()
    return account


#: A route parameter: the logged-in account (401, or a redirect to login, without one).
LoggedIn = Annotated[Account, Depends(current_account)]
#: A route parameter: the logged-in account, or None for a visitor.
MaybeLoggedIn = Annotated[Account | None, Depends(optional_account)]
#: The largest row id the databases hold (a signed 64-bit integer).
MAX_ROW_ID = 2**63 - 1
#: A path parameter naming a row (a session, a comment): an id outside 1..MAX_ROW_ID names
#: nothing, and is answered 404 like an id that does not exist.
RowId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID)]


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response.

    A response that sets its own Content-Security-Policy (a served report) keeps it. API
    responses (a member's data, the CSRF token) are not kept by caches unless they say so.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        api = str(scope.get("path", "")).startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for k, v in SECURITY_HEADERS.items():
                    if k not in present:
                        headers.append((k, v))
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                if api and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _back_to(request: Request) -> str:
    """Where to go after logging in: this page, or for a form post the page the form was on."""
    if request.method in ("GET", "HEAD"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/"


def create_app(settings: WebSettings | None = None, /) -> FastAPI:
    """Build the web app.

    Parameters
    ----------
    settings
        Database, data folder, upload limit, secret key, cookie and worker settings.

    Returns
    -------
    fastapi.FastAPI
        The app. The database is opened (created and upgraded) here; the in-process worker
        (when ``settings.run_worker``) starts with the app's lifespan and resumes unfinished jobs.

    Raises
    ------
    OutputError
        When the data folder cannot be created or written.
    DatabaseError
        When the database cannot be opened or upgraded.
    """
    from kneeback.store import open_database
    from kneeback.web.account_api import router as account_api_router
    from kneeback.web.account_pages import router as account_page_router
    from kneeback.web.api import router as api_router
    from kneeback.web.content import current_comment_of_the_week
    from kneeback.web.content_api import router as content_api_router
    from kneeback.web.content_pages import router as content_page_router
    from kneeback.web.pages import router as page_router
    from kneeback.web.people_api import router as people_api_router
    from kneeback.web.people_pages import router as people_page_router
    from kneeback.web.podcast_api import router as podcast_api_router
    from kneeback.web.podcast_pages import router as podcast_page_router

    settings = settings or WebSettings()
    settings.make_folders()
    db = open_database(settings.database_url)
    ctx = WebContext(
        settings=settings,
        db=db,
        key=settings.key(),
        limiter=LoginRateLimiter(
            max_per_account=settings.login_max_failures_per_account,
            max_per_ip=settings.login_max_failures_per_ip,
            window_s=settings.login_window_s,
        ),
        templates=Jinja2Templates(directory=str(_HERE / "templates")),
        worker=JobWorker(
            db,
            analysis_dir=settings.analysis_dir,
            poll_s=settings.worker_poll_s,
            pose_variant=settings.pose_variant,
            lease_s=settings.job_lease_s,
            upload_dir=settings.upload_dir,
        ),
        register_limiter=RegistrationRateLimiter(
            max_per_ip=settings.register_max_per_ip, window_s=settings.register_window_s
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_worker:
            ctx.worker.start()
        try:
            yield
        finally:
            ctx.worker.stop()
            db.close()

    app = FastAPI(
        title="kneeback",
        version=__version__,
        summary="Movement critique from a phone video: uploads, reports and history.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = ctx

    @app.exception_handler(NotLoggedInError)
    async def not_logged_in(request: Request, exc: NotLoggedInError) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": "Log in first."}, status_code=401, headers={"WWW-Authenticate": "Cookie"}
            )
        return RedirectResponse(f"/login?next={quote(_back_to(request), safe='')}", 303)

    @app.exception_handler(NotAllowedError)
    async def not_allowed(request: Request, exc: NotAllowedError) -> Response:
        status = 409 if isinstance(exc, NotSharedError) else 403
        return await http_error(request, HTTPException(status, str(exc)))

    @app.exception_handler(BadValueError)
    async def bad_value(request: Request, exc: BadValueError) -> Response:
        return await http_error(request, HTTPException(400, str(exc)))

    @app.exception_handler(DatabaseError)
    async def database_down(request: Request, exc: DatabaseError) -> Response:
        # One line for the operator (the URL, password hidden, and why); a sentence for the client.
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return await http_error(
            request, HTTPException(503, DATABASE_DOWN, headers={"Retry-After": "5"})
        )

    @app.exception_handler(OSError)
    async def storage_down(request: Request, exc: OSError) -> Response:
        if exc.errno not in _STORAGE_ERRNOS:
            raise exc  # a bug: the traceback goes to the log, the client gets a 500
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return await http_error(request, HTTPException(503, STORAGE_DOWN))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if any(e.get("loc", ("",))[0] == "path" for e in errors):
            return await http_error(request, HTTPException(404, "Not found."))
        if _is_api(request):
            shown = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in errors]
            return JSONResponse({"detail": shown}, status_code=422)
        return await http_error(request, HTTPException(400, _form_problem(errors)))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        account = await _maybe_account(request, ctx)
        page = ctx.render(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            account=account,
            status_code=exc.status_code,
        )
        page.headers.update(exc.headers or {})  # e.g. Retry-After on a 429
        return page

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        """200 when the app can reach its database and write its data folder, else 503.

        For a load balancer or a process supervisor; says what is wrong, never where.
        """
        problems = []
        try:
            db.read(lambda s: s.execute(text("SELECT 1")))
        except DatabaseError:
            problems.append("database")
        try:
            settings.make_folders()
        except OutputError:
            problems.append("storage")
        body = {"status": "unavailable", "problems": problems} if problems else {"status": "ok"}
        return JSONResponse(
            body, status_code=503 if problems else 200, headers={"Cache-Control": "no-store"}
        )

    app.add_middleware(SecurityHeaders)
    app.include_router(api_router)
    app.include_router(page_router)
    app.include_router(content_api_router)
    app.include_router(content_page_router)
    app.include_router(podcast_api_router)
    app.include_router(podcast_page_router)
    app.include_router(people_api_router)
    app.include_router(people_page_router)
    app.include_router(account_api_router)
    app.include_router(account_page_router)
    # home.html and welcome.html show the comment of the week: read when they are rendered
    ctx.templates.env.globals["comment_of_the_week"] = lambda: current_comment_of_the_week(db)
    # session.html and review.html list each rule's findings once, with their reps
    ctx.templates.env.filters["group_findings"] = group_findings
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    return app


def _form_problem(errors: list[Any]) -> str:
    """One sentence naming the form fields the route refused, and why."""
    parts = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query")]
        field = (loc[-1] if loc else "form").replace("_", " ")
        parts.append(f"{field}: {str(e.get('msg', 'not valid')).lower()}")
    return "The form was not filled in as expected (" + "; ".join(dict.fromkeys(parts)) + ")."


async def _maybe_account(request: Request, ctx: WebContext) -> Account | None:
    from starlette.concurrency import run_in_threadpool

    try:
        return await run_in_threadpool(
            session_account, ctx.db, request.cookies.get(ctx.session_cookie)
        )
    except Exception:  # an error page must render even when the database is down
        return None
