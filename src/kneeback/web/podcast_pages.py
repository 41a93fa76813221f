"""The podcast's pages: the episode list, the RSS feed, the audio files and the admins' form.

``/podcast`` lists the episodes of published articles with players; ``/podcast.xml`` is the feed
podcast apps subscribe to; ``/podcast/audio/{name}`` serves an episode's file (with Range
requests, which players use to seek); ``/admin/articles/{slug}/episode`` is where an admin
uploads or replaces an article's episode, or changes only its title (``.../episode/title``).
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kneeback.errors import BadValueError
from kneeback.web.accounts import Account
from kneeback.web.app import LoggedIn, MaybeLoggedIn, Web
from kneeback.web.podcast import (
    MAX_TITLE_CHARS,
    ArticleRef,
    NoSuchArticleError,
    episode_by_audio,
    episode_for_article,
    find_article,
    list_episodes,
    podcast_dir,
    rename_episode,
)
from kneeback.web.podcast_api import accept_episode
from kneeback.web.podcast_feed import PODCAST_DESCRIPTION, PODCAST_TITLE, build_feed, cover_png
from kneeback.web.uploads import size_text

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


#: Media types the episode form's file picker offers (the server checks the content anyway).
AUDIO_ACCEPT = "audio/mpeg,audio/mp4,audio/x-m4a,audio/ogg,audio/wav,.mp3,.m4a,.ogg,.opus,.wav"
_PUBLIC_CACHE = "public, max-age=300"


@router.get("/podcast")
def podcast_page(request: Request, ctx: Web, account: MaybeLoggedIn) -> Response:
    """List the episodes of published articles, newest first, with players."""
    return ctx.render(
        request,
        "podcast.html",
        {
            "episodes": list_episodes(ctx.db),
            "podcast_title": PODCAST_TITLE,
            "podcast_description": PODCAST_DESCRIPTION,
        },
        account=account,
    )


@router.api_route("/podcast.xml", methods=["GET", "HEAD"])
def podcast_feed(request: Request, ctx: Web) -> Response:
    """Serve the RSS 2.0 feed of the published episodes.

    It carries an ``ETag``: an app that polls with ``If-None-Match`` gets ``304 Not Modified``
    and no body while the feed is unchanged.
    """
    feed = build_feed(list_episodes(ctx.db), str(request.base_url), ctx.settings)
    etag = f'"{hashlib.sha256(feed).hexdigest()[:32]}"'
    headers = {"Cache-Control": _PUBLIC_CACHE, "ETag": etag}
    asked = {
        tag.strip().removeprefix("W/")
        for tag in request.headers.get("if-none-match", "").split(",")
    }
    if etag in asked or "*" in asked:
        return Response(status_code=304, headers=headers)
    return Response(feed, media_type="application/rss+xml; charset=utf-8", headers=headers)


@router.api_route("/podcast/cover.png", methods=["GET", "HEAD"])
def podcast_cover() -> Response:
    """Serve the podcast's cover image (1400 x 1400 PNG)."""
    return Response(
        cover_png(), media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.api_route("/podcast/audio/{audio_name}", methods=["GET", "HEAD"])
def podcast_audio(ctx: Web, account: MaybeLoggedIn, audio_name: str) -> Response:
    """Serve an episode's audio file (Range requests answer 206).

    Only names of stored episodes are served; a draft article's episode only to admins.
    """
    episode = episode_by_audio(ctx.db, audio_name)
    is_admin = account is not None and account.role == "admin"
    if episode is None or not (is_admin or episode.article.is_published()):
        raise HTTPException(404, "No such episode.")
    path = podcast_dir(ctx.settings.data_dir) / episode.audio_name
    if not path.is_file():
        raise HTTPException(404, "No such episode.")
    cache = _PUBLIC_CACHE if episode.article.is_published() else "private, no-store"
    return FileResponse(path, media_type=episode.audio_type, headers={"Cache-Control": cache})


def _admin_article(ctx: Web, account: Account, slug: str) -> ArticleRef:
    if account.role != "admin":
        raise HTTPException(403, "Only admins attach podcast episodes.")
    article = find_article(ctx.db, slug)
    if article is None:
        raise HTTPException(404, "No such article.")
    return article


def _form(
    request: Request,
    ctx: Web,
    account: Account,
    slug: str,
    *,
    saved: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    article = _admin_article(ctx, account, slug)
    episode = episode_for_article(ctx.db, slug)
    return ctx.render(
        request,
        "episode_form.html",
        {
            "article": article,
            "draft": not article.is_published(),
            "episode": episode,
            "episode_size": "" if episode is None else size_text(episode.audio_bytes),
            "max_mb": ctx.settings.max_audio_bytes // (1024 * 1024),
            "accept": AUDIO_ACCEPT,
            "saved": saved,
            "error": error,
        },
        account=account,
        status_code=status_code,
    )


@router.get("/admin/articles/{slug}/episode")
def episode_form(
    request: Request, ctx: Web, account: LoggedIn, slug: str, saved: bool = False
) -> Response:
    """Show the form that uploads (or replaces) an article's podcast episode (admins only)."""
    return _form(request, ctx, account, slug, saved=saved)


@router.post("/admin/articles/{slug}/episode")
async def episode_upload(request: Request, ctx: Web, account: LoggedIn, slug: str) -> Response:
    """Receive an episode's audio from the form; a refused file shows the form again with why."""
    try:
        await accept_episode(ctx, request, account, slug, csrf_from_form=True)
    except HTTPException as exc:
        if exc.status_code not in (400, 413, 415):
            raise
        show = partial(
            _form, request, ctx, account, slug, error=str(exc.detail), status_code=exc.status_code
        )
        return await run_in_threadpool(show)
    target = f"/admin/articles/{quote(slug, safe='')}/episode?saved=true"
    return RedirectResponse(target, status_code=303)


@router.post("/admin/articles/{slug}/episode/title")
def episode_rename(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    slug: str,
    title: Annotated[str, Form(max_length=MAX_TITLE_CHARS * 2)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Change an episode's title without uploading its audio again (its file and guid stay)."""
    ctx.require_form_csrf(request, csrf_token)
    _admin_article(ctx, account, slug)
    try:
        rename_episode(ctx.db, account, slug, title)
    except NoSuchArticleError:
        raise HTTPException(404, "This article has no episode yet.") from None
    except BadValueError as exc:
        return _form(request, ctx, account, slug, error=str(exc), status_code=400)
    target = f"/admin/articles/{quote(slug, safe='')}/episode?saved=true"
    return RedirectResponse(target, status_code=303)
