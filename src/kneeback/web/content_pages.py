"""Pages of the weekly content: the articles, their comments and the comment of the week.

Anyone reads the published articles (``/articles``, ``/articles/<slug>``); an admin writes them
(``/admin/articles/new``, ``/admin/articles/<slug>/edit``); a logged-in account comments; a coach
or admin hides a comment (or shows it again) or picks it as the comment of the week. The rules
live in :mod:`kneeback.web.content`; these routes only read forms and choose what to show.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from kneeback.errors import BadValueError
from kneeback.web.accounts import Account
from kneeback.web.app import LoggedIn, MaybeLoggedIn, RowId, Web
from kneeback.web.content import (
    MAX_ARTICLE_COMMENT_CHARS,
    MAX_NOTE_CHARS,
    ArticleInput,
    add_article_comment,
    create_article,
    get_article,
    hide_article_comment,
    list_articles,
    pick_comment_of_the_week,
    unhide_article_comment,
    update_article,
)

__all__ = ["parse_related", "parse_videos", "router", "videos_text"]

router = APIRouter(include_in_schema=False)


#: Most characters a form field of the article form may carry (the rules cut far shorter).
_FORM_MAX = 200_000


def _require_admin(account: Account) -> None:
    if account.role != "admin":
        raise HTTPException(403, "Only an admin writes articles.")


def parse_related(text: str, /) -> tuple[int, ...]:
    """Return the issue numbers in ``"3, 7 12"`` (commas or spaces between them).

    Raises
    ------
    BadValueError
        When something else than whole numbers is written.
    """
    words = [w for w in re.split(r"[\s,;]+", text.strip()) if w]
    try:
        return tuple(int(w.removeprefix("#")) for w in words)
    except ValueError:
        raise BadValueError(
            "Related articles are issue numbers separated by commas, like 3, 7."
        ) from None


def parse_videos(text: str, /) -> tuple[tuple[str, str], ...]:
    """Return the (title, URL) pairs of the lines ``Title | https://...`` (blank lines skipped).

    A line with a link only gets the link as its title. The pairs are checked by
    :func:`kneeback.web.content.check_article`.
    """
    videos = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        title, sep, url = line.rpartition("|")
        videos.append((title.strip(), url.strip()) if sep else (line, line))
    return tuple(videos)


def videos_text(videos: list[dict[str, str]], /) -> str:
    """Return short videos as the lines that :func:`parse_videos` reads."""
    return "\n".join(f"{v['title']} | {v['url']}" for v in videos)


def _article_input(form: dict[str, str]) -> ArticleInput:
    try:
        issue = int(form["issue"].strip())
    except ValueError:
        raise BadValueError("The issue number is a whole number, like 12.") from None
    try:
        published_on = dt.date.fromisoformat(form["published_on"].strip())
    except ValueError:
        raise BadValueError("The publication date is a day, like 2026-03-02.") from None
    return ArticleInput(
        issue=issue,
        title=form["title"],
        body_md=form["body_md"],
        published_on=published_on,
        summary=form["summary"],
        slug=form["slug"],
        related=parse_related(form["related"]),
        videos=parse_videos(form["videos"]),
    )


def _article_form(
    request: Request,
    ctx: Web,
    account: Account,
    form: dict[str, str],
    *,
    editing: str | None = None,
    error: str | None = None,
) -> Response:
    return ctx.render(
        request,
        "article_form.html",
        {"form": form, "editing": editing, "error": error},
        account=account,
        status_code=400 if error else 200,
    )


class ArticleFields(BaseModel):
    """The fields of the article form, as typed (checked by :func:`_article_input`)."""

    issue: str = Field(default="", max_length=32)
    title: str = Field(default="", max_length=_FORM_MAX)
    slug: str = Field(default="", max_length=_FORM_MAX)
    summary: str = Field(default="", max_length=_FORM_MAX)
    body_md: str = Field(default="", max_length=_FORM_MAX)
    published_on: str = Field(default="", max_length=32)
    related: str = Field(default="", max_length=_FORM_MAX)
    videos: str = Field(default="", max_length=_FORM_MAX)
    csrf_token: str = ""

    def values(self) -> dict[str, str]:
        """Return the article's fields (no CSRF token), for the form and the checks."""
        return self.model_dump(exclude={"csrf_token"})


@router.get("/articles")
def articles_page(request: Request, ctx: Web, account: MaybeLoggedIn) -> Response:
    """List the published weekly articles, newest first (an admin sees drafts too)."""
    return ctx.render(
        request, "articles.html", {"articles": list_articles(ctx.db, account)}, account=account
    )


def _article_page(
    request: Request,
    ctx: Web,
    account: Account | None,
    slug: str,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    article = get_article(ctx.db, account, slug)
    if article is None:
        raise HTTPException(404, "No such article.")
    return ctx.render(
        request,
        "article.html",
        {
            "a": article,
            "may_moderate": account is not None and account.role in ("coach", "admin"),
            "max_comment": MAX_ARTICLE_COMMENT_CHARS,
            "max_note": MAX_NOTE_CHARS,
        }
        | extra,
        account=account,
        status_code=status_code,
    )


@router.get("/articles/{slug}")
def article_page(request: Request, ctx: Web, account: MaybeLoggedIn, slug: str) -> Response:
    """Show one article: its text, related articles, short videos, episode and comments."""
    return _article_page(request, ctx, account, slug)


@router.get("/admin/articles/new")
def new_article_page(request: Request, ctx: Web, account: LoggedIn) -> Response:
    """Show the form for a new article (admins)."""
    _require_admin(account)
    form = dict.fromkeys(("issue", "title", "slug", "summary", "body_md", "related", "videos"), "")
    form["published_on"] = dt.date.today().isoformat()
    return _article_form(request, ctx, account, form)


@router.post("/admin/articles/new")
def new_article(
    request: Request, ctx: Web, account: LoggedIn, fields: Annotated[ArticleFields, Form()]
) -> Response:
    """Add an article (admins); show the form again with the reason when it is refused."""
    ctx.require_form_csrf(request, fields.csrf_token)
    _require_admin(account)
    form = fields.values()
    try:
        article = create_article(ctx.db, account, _article_input(form))
    except BadValueError as exc:
        return _article_form(request, ctx, account, form, error=str(exc))
    return RedirectResponse(f"/articles/{article['slug']}", status_code=303)


@router.get("/admin/articles/{slug}/edit")
def edit_article_page(request: Request, ctx: Web, account: LoggedIn, slug: str) -> Response:
    """Show the form to change an article (admins), with a link to its podcast episode."""
    _require_admin(account)
    article = get_article(ctx.db, account, slug)
    if article is None:
        raise HTTPException(404, "No such article.")
    form = {
        "issue": str(article["issue"]),
        "title": article["title"],
        "slug": article["slug"],
        "summary": article["summary"],
        "body_md": article["body_md"],
        "published_on": article["published_on"],
        "related": ", ".join(str(r["issue"]) for r in article["related"]),
        "videos": videos_text(article["videos"]),
    }
    return _article_form(request, ctx, account, form, editing=slug)


@router.post("/admin/articles/{slug}/edit")
def edit_article(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    slug: str,
    fields: Annotated[ArticleFields, Form()],
) -> Response:
    """Change an article (admins); show the form again with the reason when it is refused."""
    ctx.require_form_csrf(request, fields.csrf_token)
    _require_admin(account)
    form = fields.values()
    try:
        article = update_article(ctx.db, account, slug, _article_input(form))
    except BadValueError as exc:
        return _article_form(request, ctx, account, form, editing=slug, error=str(exc))
    if article is None:
        raise HTTPException(404, "No such article.")
    return RedirectResponse(f"/articles/{article['slug']}", status_code=303)


@router.post("/articles/{slug}/comments")
def comment_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    slug: str,
    text: Annotated[str, Form(max_length=MAX_ARTICLE_COMMENT_CHARS * 2)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Add the account's comment under a published article."""
    ctx.require_form_csrf(request, csrf_token)
    try:
        added = add_article_comment(ctx.db, account, slug, text)
    except BadValueError as exc:
        return _article_page(
            request,
            ctx,
            account,
            slug,
            status_code=400,
            comment_error=str(exc),
            comment_text=text,
        )
    if added is None:
        raise HTTPException(404, "No such article.")
    return RedirectResponse(f"/articles/{added['slug']}#comment-{added['id']}", status_code=303)


@router.post("/article-comments/{comment_id}/hide")
def hide_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    comment_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Hide a comment (coaches and admins): it is kept but no longer shown."""
    ctx.require_form_csrf(request, csrf_token)
    hidden = hide_article_comment(ctx.db, account, comment_id)
    if hidden is None:
        raise HTTPException(404, "No such comment.")
    return RedirectResponse(f"/articles/{hidden['slug']}#comments", status_code=303)


@router.post("/article-comments/{comment_id}/unhide")
def unhide_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    comment_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Show a hidden comment again (coaches and admins), undoing the hide, its pick included."""
    ctx.require_form_csrf(request, csrf_token)
    shown = unhide_article_comment(ctx.db, account, comment_id)
    if shown is None:
        raise HTTPException(404, "No such comment.")
    return RedirectResponse(f"/articles/{shown['slug']}#comments", status_code=303)


@router.post("/article-comments/{comment_id}/pick")
def pick_form(
    request: Request,
    ctx: Web,
    account: LoggedIn,
    comment_id: RowId,
    note: Annotated[str, Form(max_length=MAX_NOTE_CHARS * 2)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Make a member's comment the comment of this week (coaches and admins); show it home."""
    ctx.require_form_csrf(request, csrf_token)
    picked = pick_comment_of_the_week(ctx.db, account, comment_id, note)
    if picked is None:
        raise HTTPException(404, "No such comment.")
    return RedirectResponse(f"/articles/{picked['article_slug']}#comment-{comment_id}", 303)
