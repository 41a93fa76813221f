"""The JSON API of the weekly content: articles, their comments and the comment of the week.

The same routes as the pages (:mod:`kneeback.web.content_pages`) under ``/api/``: reading needs no
account; writing needs a session and the ``X-CSRF-Token`` header. A draft (an article dated in the
future) exists only for admins; what an account may not see answers 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from kneeback.web.app import (
    LoggedIn,
    MaybeLoggedIn,
    RowId,
    Web,
)
from kneeback.web.content import (
    MAX_ARTICLE_COMMENT_CHARS,
    MAX_BODY_CHARS,
    MAX_NOTE_CHARS,
    MAX_RELATED,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    MAX_URL_CHARS,
    MAX_VIDEOS,
    ArticleInput,
    add_article_comment,
    articles_page,
    create_article,
    current_comment_of_the_week,
    get_article,
    hide_article_comment,
    pick_comment_of_the_week,
    unhide_article_comment,
    update_article,
)
from kneeback.web.openapi import (
    BODY_RESPONSES,
    LIST_RESPONSES,
    LOGIN_RESPONSES,
    SERVER_RESPONSES,
    forbidden,
    not_found,
    refusal,
)
from kneeback.web.paging import PageWindow, paged

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["articles"], responses=SERVER_RESPONSES)

#: What an admin's writing of an article refuses.
_WRITE_RESPONSES = (
    LOGIN_RESPONSES
    | BODY_RESPONSES
    | forbidden("Not an admin's account (admins write articles)")
    | refusal(
        400,
        "A value the article cannot take: the issue number or slug is taken, a related issue "
        "does not exist, a field is blank, a short video's link is not http(s).",
    )
)
#: The refusals of a route that moderates a comment named in its path.
_MODERATE_RESPONSES = (
    LOGIN_RESPONSES
    | not_found("comment")
    | forbidden("A member's account (coaches and admins moderate comments)")
)


class VideoIO(BaseModel):
    """A short video that goes with an article: its title and http(s) link."""

    title: str = Field(max_length=MAX_TITLE_CHARS)
    url: str = Field(max_length=MAX_URL_CHARS)


class ArticleIn(BaseModel):
    """An article as an admin writes it (``slug`` empty or absent: derived from the title)."""

    issue: int = Field(ge=1)
    title: str = Field(max_length=MAX_TITLE_CHARS)
    slug: str = Field(default="", max_length=MAX_TITLE_CHARS)
    summary: str = Field(default="", max_length=MAX_SUMMARY_CHARS)
    body_md: str = Field(max_length=MAX_BODY_CHARS)
    published_on: dt.date
    related: list[int] = Field(default_factory=list, max_length=MAX_RELATED)
    videos: list[VideoIO] = Field(default_factory=list, max_length=MAX_VIDEOS)


class ArticleSummary(BaseModel):
    """An article in the list: ``draft`` is true (for admins only) before its publication day."""

    issue: int
    slug: str
    title: str
    summary: str
    published_on: str
    draft: bool


class ArticleRef(BaseModel):
    """A related article."""

    issue: int
    slug: str
    title: str


class EpisodeOut(BaseModel):
    """The podcast episode of an article (``audio_url`` plays it)."""

    title: str
    audio_url: str
    audio_type: str
    duration_s: float


class ArticleCommentOut(BaseModel):
    """A comment under an article.

    ``picked_week`` is the Monday of the latest week it was the comment of the week, if it was.
    """

    id: int
    author: str
    text: str
    created_at: str
    picked_week: str | None


class ArticleDetail(ArticleSummary):
    """An article with its Markdown and HTML, related articles, videos, episode and comments."""

    body_md: str
    body_html: str
    related: list[ArticleRef]
    videos: list[VideoIO]
    episode: EpisodeOut | None
    comments: list[ArticleCommentOut]


class ArticleCommentIn(BaseModel):
    """A comment under an article."""

    text: str = Field(  # twice the limit parsed, the real one stated (see StageOverrideIn)
        max_length=MAX_ARTICLE_COMMENT_CHARS * 2,
        json_schema_extra={"maxLength": MAX_ARTICLE_COMMENT_CHARS},
    )


class HiddenOut(BaseModel):
    """A comment hidden (kept, no longer shown) or shown again, and the article it is under."""

    id: int
    slug: str
    hidden: bool


class PickIn(BaseModel):
    """An optional short note shown with the comment of the week."""

    note: str = Field(
        default="", max_length=MAX_NOTE_CHARS * 2, json_schema_extra={"maxLength": MAX_NOTE_CHARS}
    )


class CommentOfTheWeekOut(BaseModel):
    """The comment of the week: ``week_of`` is the Monday of its week."""

    week_of: str
    comment_id: int
    text: str
    author: str
    article_title: str
    article_slug: str
    note: str


def _found(value: Any, what: str) -> Any:
    if value is None:
        raise HTTPException(404, f"No such {what}.")
    return value


def _input(body: ArticleIn) -> ArticleInput:
    return ArticleInput(
        issue=body.issue,
        title=body.title,
        body_md=body.body_md,
        published_on=body.published_on,
        summary=body.summary,
        slug=body.slug,
        related=tuple(body.related),
        videos=tuple((v.title, v.url) for v in body.videos),
    )


@router.get("/articles", response_model=list[ArticleSummary], responses=LIST_RESPONSES)
def api_articles(
    request: Request, response: Response, ctx: Web, account: MaybeLoggedIn, window: PageWindow
) -> list[dict[str, Any]]:
    """Return the published articles, newest first (an admin also gets drafts); paged."""
    return paged(request, response, articles_page(ctx.db, account, window=window), window)


@router.post("/articles", response_model=ArticleDetail, status_code=201, responses=_WRITE_RESPONSES)
def api_create_article(
    request: Request, ctx: Web, account: LoggedIn, body: ArticleIn
) -> dict[str, Any]:
    """Add an article (admins). 400 when the issue number or slug is taken or a value is wrong."""
    ctx.require_header_csrf(request)
    return create_article(ctx.db, account, _input(body))


@router.get("/articles/{slug}", response_model=ArticleDetail, responses=not_found("article"))
def api_article(ctx: Web, account: MaybeLoggedIn, slug: str) -> dict[str, Any]:
    """One article with its HTML, related articles, short videos, episode and comments."""
    return _found(get_article(ctx.db, account, slug), "article")


@router.put(
    "/articles/{slug}",
    response_model=ArticleDetail,
    responses=_WRITE_RESPONSES | not_found("article"),
)
def api_update_article(
    request: Request, ctx: Web, account: LoggedIn, slug: str, body: ArticleIn
) -> dict[str, Any]:
    """Replace an article's fields, related articles and short videos (admins)."""
    ctx.require_header_csrf(request)
    return _found(update_article(ctx.db, account, slug, _input(body)), "article")


@router.post(
    "/articles/{slug}/comments",
    response_model=ArticleCommentOut,
    status_code=201,
    responses=LOGIN_RESPONSES
    | BODY_RESPONSES
    | not_found("article")
    | forbidden("An admin commenting on a draft (comments open when it is published)")
    | refusal(400, "A blank comment, or one that is too long."),
)
def api_add_comment(
    request: Request, ctx: Web, account: LoggedIn, slug: str, body: ArticleCommentIn
) -> dict[str, Any]:
    """Add the account's comment under a published article."""
    ctx.require_header_csrf(request)
    return _found(add_article_comment(ctx.db, account, slug, body.text), "article")


@router.post(
    "/article-comments/{comment_id}/hide", response_model=HiddenOut, responses=_MODERATE_RESPONSES
)
def api_hide_comment(
    request: Request, ctx: Web, account: LoggedIn, comment_id: RowId
) -> dict[str, Any]:
    """Hide a comment (coaches and admins): kept, but no longer shown or pickable."""
    ctx.require_header_csrf(request)
    return _found(hide_article_comment(ctx.db, account, comment_id), "comment")


@router.post(
    "/article-comments/{comment_id}/unhide",
    response_model=HiddenOut,
    responses=_MODERATE_RESPONSES,
)
def api_unhide_comment(
    request: Request, ctx: Web, account: LoggedIn, comment_id: RowId
) -> dict[str, Any]:
    """Show a hidden comment again (coaches and admins), undoing the hide, its pick included."""
    ctx.require_header_csrf(request)
    return _found(unhide_article_comment(ctx.db, account, comment_id), "comment")


@router.post(
    "/article-comments/{comment_id}/pick",
    response_model=CommentOfTheWeekOut,
    responses=_MODERATE_RESPONSES
    | BODY_RESPONSES
    | refusal(
        400,
        "A hidden comment, one under a draft or by a coach or an admin, or a note that is too "
        "long.",
    ),
)
def api_pick_comment(
    request: Request, ctx: Web, account: LoggedIn, comment_id: RowId, body: PickIn | None = None
) -> dict[str, Any]:
    """Make a member's comment the comment of this week (coaches and admins; replaces a pick)."""
    ctx.require_header_csrf(request)
    note = "" if body is None else body.note
    return _found(pick_comment_of_the_week(ctx.db, account, comment_id, note), "comment")


@router.get("/comment-of-the-week", response_model=CommentOfTheWeekOut | None)
def api_comment_of_the_week(ctx: Web) -> dict[str, Any] | None:
    """Return the newest comment of the week (null when none was picked yet)."""
    return current_comment_of_the_week(ctx.db)
