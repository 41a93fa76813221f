"""The podcast's JSON API (``/api/podcast/...``, ``/api/articles/{slug}/episode``).

Anyone may list the episodes of published articles; admins attach an episode's audio to an
article with a ``multipart/form-data`` upload (fields ``audio`` and ``title``), which
:func:`accept_episode` streams to disk under the size limit. The episode form of the pages
(:mod:`kneeback.web.podcast_pages`) uses the same function.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from kneeback.web.accounts import Account
from kneeback.web.app import (
    CSRF_HEADER,
    LoggedIn,
    MaybeLoggedIn,
    Web,
    WebContext,
)
from kneeback.web.openapi import (
    LIST_RESPONSES,
    LOGIN_RESPONSES,
    SERVER_RESPONSES,
    Responses,
    forbidden,
    multipart_form,
    not_found,
    refusal,
)
from kneeback.web.paging import Page, PageWindow, paged
from kneeback.web.podcast import (
    MAX_TITLE_CHARS,
    EpisodeInfo,
    NoSuchArticleError,
    NotAudioError,
    attach_episode,
    episode_for_article,
    episodes_page,
    find_article,
    podcast_dir,
)
from kneeback.web.uploads import BadUploadError, UploadTooLargeError, receive_upload, size_text

__all__ = ["PodcastEpisodeOut", "accept_episode", "router"]

router = APIRouter(prefix="/api", tags=["podcast"], responses=SERVER_RESPONSES)


#: Room for the form fields and multipart boundaries around the audio file itself.
_FORM_OVERHEAD_BYTES = 64 * 1024
_EXPIRED = "The form has expired; reload the page and try again."


class PodcastEpisodeOut(BaseModel):
    """A podcast episode and the article it belongs to."""

    guid: str
    title: str
    article_slug: str
    article_title: str
    issue: int
    published_on: str
    audio_url: str
    audio_bytes: int
    audio_type: str
    duration_s: float
    created_at: str


async def accept_episode(
    ctx: WebContext,
    request: Request,
    account: Account,
    slug: str,
    /,
    *,
    csrf_from_form: bool,
) -> EpisodeInfo:
    """Receive an episode's audio for the article ``slug``, check it and store it.

    Who may upload, and to which article, is checked before any of the body is read; the CSRF
    token before any of the file is written.

    Parameters
    ----------
    ctx
        The app's context.
    request
        A ``multipart/form-data`` request with an ``audio`` file part and the text fields
        ``title`` (blank for the article's title) and, from the pages, ``csrf_token``.
    account
        The uploading account (an admin).
    slug
        The article's slug.
    csrf_from_form
        Take the CSRF token from the form's ``csrf_token`` field (pages) rather than the
        ``X-CSRF-Token`` header (API).

    Returns
    -------
    EpisodeInfo
        The stored episode.

    Raises
    ------
    fastapi.HTTPException
        403 for an account that is not an admin or a missing or wrong CSRF token, 404 for an
        unknown article, 413 for a file over ``max_audio_bytes``, 415 for a file that is not
        accepted audio, 400 for a malformed form or a title that is too long.
    """
    if account.role != "admin":
        raise HTTPException(403, "Only admins attach podcast episodes.")
    if not csrf_from_form and not ctx.csrf_ok(request, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"Missing or wrong {CSRF_HEADER} header.")
    if await run_in_threadpool(find_article, ctx.db, slug) is None:
        raise HTTPException(404, "No such article.")
    limit = ctx.settings.max_audio_bytes
    too_large = f"The audio file is larger than {size_text(limit)}."
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit + _FORM_OVERHEAD_BYTES:
        raise HTTPException(413, too_large)

    def check_fields(fields: dict[str, str]) -> None:
        if csrf_from_form and not ctx.csrf_ok(request, fields.get("csrf_token")):
            raise HTTPException(403, _EXPIRED)
        if len(fields.get("title", "")) > MAX_TITLE_CHARS * 2:
            raise HTTPException(400, f"The title is longer than {MAX_TITLE_CHARS} characters.")

    folder = podcast_dir(ctx.settings.data_dir)
    try:
        upload = await receive_upload(
            request.headers.get("content-type", ""),
            request.stream(),
            upload_dir=folder,
            max_bytes=limit,
            file_field="audio",
            before_file=check_fields,
            noun="audio file",
        )
    except UploadTooLargeError:
        raise HTTPException(413, too_large) from None
    except BadUploadError as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        check_fields(upload.fields)  # also when the fields came after the file
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise
    attach = partial(
        attach_episode,
        ctx.db,
        account,
        slug,
        upload.path,
        upload.fields.get("title", ""),
        folder=folder,
    )
    try:
        return await run_in_threadpool(attach)
    except NotAudioError as exc:
        raise HTTPException(415, str(exc)) from None
    except NoSuchArticleError:
        raise HTTPException(404, "No such article.") from None


@router.get("/podcast/episodes", response_model=list[PodcastEpisodeOut], responses=LIST_RESPONSES)
def api_episodes(
    request: Request, response: Response, ctx: Web, window: PageWindow
) -> list[dict[str, Any]]:
    """Return the episodes of the published articles, newest first (no login needed); paged."""
    page = episodes_page(ctx.db, window=window)
    return paged(request, response, Page([e.to_dict() for e in page.items], page.total), window)


@router.get(
    "/articles/{slug}/episode", response_model=PodcastEpisodeOut, responses=not_found("episode")
)
def api_episode(ctx: Web, account: MaybeLoggedIn, slug: str) -> dict[str, Any]:
    """Return an article's episode; 404 when it has none, or it is a draft and you no admin."""
    episode = episode_for_article(ctx.db, slug)
    is_admin = account is not None and account.role == "admin"
    if episode is None or not (is_admin or episode.article.is_published()):
        raise HTTPException(404, "No such episode.")
    return episode.to_dict()


_UPLOAD_SCHEMA = multipart_form(
    {
        "title": {"type": "string", "maxLength": MAX_TITLE_CHARS},
        "audio": {"type": "string", "format": "binary"},
    },
    required=["audio"],
)


#: What the episode upload refuses (see :func:`accept_episode`).
_UPLOAD_RESPONSES: Responses = (
    LOGIN_RESPONSES
    | not_found("article")
    | refusal(400, "A malformed form (no audio part) or a title that is too long.")
    | forbidden("Not an admin's account (admins attach episodes)")
    | refusal(413, "The audio file is larger than the server's limit.")
    | refusal(415, "Not an MP3, M4A (AAC), Ogg (Opus or Vorbis) or WAV file.")
    | refusal(503, "The server cannot store the file now (its disk is full or read-only).")
)


@router.post(
    "/articles/{slug}/episode",
    response_model=PodcastEpisodeOut,
    status_code=201,
    responses=_UPLOAD_RESPONSES,
    openapi_extra=_UPLOAD_SCHEMA,
)
async def api_attach_episode(request: Request, ctx: Web, account: LoggedIn, slug: str) -> Response:
    """Attach (or replace) an article's podcast episode: multipart ``audio`` and ``title``.

    Admins only, with the ``X-CSRF-Token`` header. An MP3, M4A (AAC), Ogg (Opus or Vorbis) or
    WAV file; 413 over the size limit, 415 for anything else. A replaced episode keeps its guid.
    """
    episode = await accept_episode(ctx, request, account, slug, csrf_from_form=False)
    return JSONResponse(
        episode.to_dict(), status_code=201, headers={"Location": f"/api/articles/{slug}/episode"}
    )
