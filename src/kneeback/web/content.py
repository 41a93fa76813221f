"""The weekly content: articles, the comments under them and the comment of the week.

An article comes with related articles, short-video links and (see :mod:`kneeback.web.podcast`)
a podcast episode. Like :mod:`kneeback.web.review`, every function takes the asking
:class:`~kneeback.web.accounts.Account` (None for a visitor) and treats what that account may not
see exactly like what does not exist (None): an article dated in the future is a draft that only
admins see, and a hidden comment is shown to nobody but coaches and admins, who may show it again.
Only an admin writes articles; any logged-in account comments on a published article; a coach or
admin hides comments (and shows them again) and picks a member's comment as the comment of the week.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as OrmSession

from kneeback.errors import BadValueError
from kneeback.store.db import Database
from kneeback.store.models import utcnow
from kneeback.web.accounts import Account
from kneeback.web.models import (
    Article,
    ArticleComment,
    ArticleLink,
    CommentOfTheWeek,
    Episode,
    ShortVideo,
    User,
)
from kneeback.web.paging import EVERYTHING, Page, Window, select_page
from kneeback.web.review import NotAllowedError
from kneeback.web.text import clean_text

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = [
    "MAX_ARTICLE_COMMENT_CHARS",
    "MAX_BODY_CHARS",
    "MAX_NOTE_CHARS",
    "MAX_RELATED",
    "MAX_SUMMARY_CHARS",
    "MAX_TITLE_CHARS",
    "MAX_URL_CHARS",
    "MAX_VIDEOS",
    "ArticleInput",
    "NotAllowedError",
    "add_article_comment",
    "articles_page",
    "check_article",
    "check_article_comment",
    "create_article",
    "current_comment_of_the_week",
    "get_article",
    "hide_article_comment",
    "list_articles",
    "pick_comment_of_the_week",
    "render_markdown",
    "slugify",
    "unhide_article_comment",
    "update_article",
    "week_of",
]

#: Highest issue number accepted (the column is a 32-bit integer).
MAX_ISSUE = 1_000_000
#: Longest title of an article or a short video, in characters.
MAX_TITLE_CHARS = 200
#: Longest slug (the article's address), in characters.
MAX_SLUG_CHARS = 120
#: Longest summary, in characters.
MAX_SUMMARY_CHARS = 1000
#: Longest Markdown body, in characters.
MAX_BODY_CHARS = 100_000
#: Most related articles one article lists.
MAX_RELATED = 20
#: Most short videos one article links to.
MAX_VIDEOS = 10
#: Longest short-video URL, in characters.
MAX_URL_CHARS = 500
#: Longest comment under an article, in characters.
MAX_ARTICLE_COMMENT_CHARS = 2000
#: Longest note of a comment-of-the-week pick, in characters.
MAX_NOTE_CHARS = 280

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# ---- input ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleInput:
    """What an admin writes for an article (see :func:`check_article` for the rules).

    Attributes
    ----------
    issue
        The program's issue number (positive, unique).
    title, summary, body_md
        The article; the body is Markdown (raw HTML in it is shown as text).
    published_on
        The day it appears; before that day it is a draft only admins see.
    slug
        Its address, ``/articles/<slug>``; empty to derive it from the title.
    related
        Issue numbers of the articles it lists as related.
    videos
        Short videos that go with it, as (title, http or https URL) pairs, in order.
    """

    issue: int
    title: str
    body_md: str
    published_on: dt.date
    summary: str = ""
    slug: str = ""
    related: tuple[int, ...] = ()
    videos: tuple[tuple[str, str], ...] = ()


def slugify(title: str, /) -> str:
    """Return the address derived from a title: ASCII lowercase words joined by hyphens.

    Accents are dropped (``"Genoux fléchis"`` gives ``"genoux-flechis"``); anything else that is
    not a letter or digit separates words. The result may be empty (a title without any).
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:MAX_SLUG_CHARS].rstrip("-")


def _check_url(url: str, /) -> str:
    url = url.strip()
    if not url:
        raise BadValueError("A short video needs a link.")
    if len(url) > MAX_URL_CHARS:
        raise BadValueError(f"A short video link has at most {MAX_URL_CHARS} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise BadValueError("A short video link cannot contain spaces.")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        raise BadValueError(f"A short video link starts with https:// or http:// (not {url!r}).")
    return url


def _check_text(value: str, what: str, limit: int, *, required: bool = True) -> str:
    value = clean_text(value)
    if required and not value:
        raise BadValueError(f"The article needs a {what}.")
    if len(value) > limit:
        raise BadValueError(f"The {what} has at most {limit} characters.")
    return value


def check_article(data: ArticleInput, /) -> ArticleInput:
    """Return the article input checked and tidied (text stripped, slug set, duplicates dropped).

    Raises
    ------
    BadValueError
        When the issue number is not a positive whole number, the title or body is empty or too
        long, the slug is not lowercase ASCII words joined by hyphens, the article lists itself
        or too many related articles, or a short video has no title or no http(s) link.
    """
    if isinstance(data.issue, bool) or not isinstance(data.issue, int):
        raise BadValueError("The issue number is a whole number.")
    if not 1 <= data.issue <= MAX_ISSUE:
        raise BadValueError(f"The issue number is a whole number from 1 to {MAX_ISSUE}.")
    title = _check_text(data.title, "title", MAX_TITLE_CHARS)
    summary = _check_text(data.summary, "summary", MAX_SUMMARY_CHARS, required=False)
    body = _check_text(data.body_md, "body", MAX_BODY_CHARS)
    slug = data.slug.strip()
    if not slug:
        slug = slugify(title) or f"issue-{data.issue}"
    elif len(slug) > MAX_SLUG_CHARS or not _SLUG.match(slug):
        raise BadValueError(
            "A slug is lowercase letters and digits in words joined by single hyphens "
            f"(at most {MAX_SLUG_CHARS} characters), like 'knees-over-toes'."
        )
    related = tuple(dict.fromkeys(data.related))
    if any(isinstance(r, bool) or not 1 <= r <= MAX_ISSUE for r in related):
        raise BadValueError(f"Related articles are issue numbers from 1 to {MAX_ISSUE}.")
    if data.issue in related:
        raise BadValueError("An article cannot be related to itself.")
    if len(related) > MAX_RELATED:
        raise BadValueError(f"An article lists at most {MAX_RELATED} related articles.")
    if len(data.videos) > MAX_VIDEOS:
        raise BadValueError(f"An article links at most {MAX_VIDEOS} short videos.")
    videos = []
    for video_title, url in data.videos:
        video_title = clean_text(video_title)
        if not video_title:
            raise BadValueError("Each short video needs a title.")
        if len(video_title) > MAX_TITLE_CHARS:
            raise BadValueError(f"A short video title has at most {MAX_TITLE_CHARS} characters.")
        videos.append((video_title, _check_url(url)))
    return ArticleInput(
        issue=data.issue,
        title=title,
        body_md=body,
        published_on=data.published_on,
        summary=summary,
        slug=slug,
        related=related,
        videos=tuple(videos),
    )


# ---- Markdown ------------------------------------------------------------------------------------


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def render_markdown(text: str, /) -> str:
    """Return the HTML of a Markdown text, safe to put in a page.

    CommonMark (with tables and strikethrough); raw HTML is escaped and shown as text, and
    links to ``javascript:``, ``vbscript:``, ``file:`` or ``data:`` addresses are not made
    links.
    """
    return _markdown().render(text)


# ---- reading -------------------------------------------------------------------------------------


def _today(today: dt.date | None) -> dt.date:
    return dt.date.today() if today is None else today


def week_of(day: dt.date, /) -> dt.date:
    """Return the Monday of the ISO week of ``day``."""
    return day - dt.timedelta(days=day.weekday())


def _is_admin(account: Account | None) -> bool:
    return account is not None and account.role == "admin"


def _may_moderate(account: Account | None) -> bool:
    return account is not None and account.role in ("coach", "admin")


def _visible_articles(account: Account | None, today: dt.date) -> Any:  # a Select of Article
    q = select(Article)
    if not _is_admin(account):
        q = q.where(Article.published_on <= today)
    return q


def _summary(a: Article, today: dt.date) -> dict[str, Any]:
    return {
        "issue": a.issue,
        "slug": a.slug,
        "title": a.title,
        "summary": a.summary,
        "published_on": a.published_on.isoformat(),
        "draft": a.published_on > today,
    }


def articles_page(
    db: Database,
    account: Account | None,
    /,
    *,
    today: dt.date | None = None,
    window: Window = EVERYTHING,
) -> Page[dict[str, Any]]:
    """Return a window of the published articles, newest first (ties: the higher issue first).

    An admin's list has drafts too. Each article is as in :func:`list_articles`.
    """
    day = _today(today)

    def work(s: OrmSession) -> Page[dict[str, Any]]:
        q = _visible_articles(account, day).order_by(
            Article.published_on.desc(), Article.issue.desc()
        )
        rows, total = select_page(s, q, window)
        return Page([_summary(a, day) for (a,) in rows], total)

    return db.read(work)


def list_articles(
    db: Database, account: Account | None, /, *, today: dt.date | None = None
) -> list[dict[str, Any]]:
    """Return the published articles, newest first (an admin's list has drafts too).

    Each has ``issue``, ``slug``, ``title``, ``summary``, ``published_on`` (ISO date) and
    ``draft``.
    """
    return articles_page(db, account, today=today).items


def _find(s: OrmSession, account: Account | None, slug: str, today: dt.date) -> Article | None:
    found: Article | None = s.scalar(_visible_articles(account, today).where(Article.slug == slug))
    return found


def _comment_view(
    c: ArticleComment, author: str, role: str, picked: dt.date | None
) -> dict[str, Any]:
    return {
        "id": c.id,
        "author": author,
        "author_role": role,
        "text": c.text,
        "created_at": c.created_at.isoformat(),
        "picked_week": None if picked is None else picked.isoformat(),
    }


def _comments(s: OrmSession, article_id: int, /, *, hidden: bool = False) -> list[dict[str, Any]]:
    """Return the article's comments, oldest first: the shown ones, or the hidden ones."""
    picks = (
        select(CommentOfTheWeek.comment_id, func.max(CommentOfTheWeek.week_of).label("week"))
        .group_by(CommentOfTheWeek.comment_id)
        .subquery()
    )
    q = (
        select(ArticleComment, User.username, User.role, picks.c.week)
        .join(User, User.id == ArticleComment.author_id)
        .outerjoin(picks, picks.c.comment_id == ArticleComment.id)
        .where(ArticleComment.article_id == article_id, ArticleComment.hidden.is_(hidden))
        .order_by(ArticleComment.created_at, ArticleComment.id)
    )
    return [_comment_view(c, name, role, week) for c, name, role, week in s.execute(q)]


def _episode(s: OrmSession, article_id: int) -> dict[str, Any] | None:
    ep = s.scalar(select(Episode).where(Episode.article_id == article_id))
    if ep is None:
        return None
    return {
        "title": ep.title,
        "audio_url": f"/podcast/audio/{quote(ep.audio_name, safe='')}",
        "audio_type": ep.audio_type,
        "duration_s": ep.duration_s,
    }


def _detail(s: OrmSession, account: Account | None, a: Article, today: dt.date) -> dict[str, Any]:
    related_q = (
        _visible_articles(account, today)
        .join(ArticleLink, ArticleLink.related_id == Article.id)
        .where(ArticleLink.article_id == a.id)
        .order_by(Article.issue)
    )
    videos_q = (
        select(ShortVideo)
        .where(ShortVideo.article_id == a.id)
        .order_by(ShortVideo.position, ShortVideo.id)
    )
    return _summary(a, today) | {
        "body_md": a.body_md,
        "body_html": render_markdown(a.body_md),
        "related": [
            {"issue": r.issue, "slug": r.slug, "title": r.title} for r in s.scalars(related_q)
        ],
        "videos": [{"title": v.title, "url": v.url} for v in s.scalars(videos_q)],
        "episode": _episode(s, a.id),
        "comments": _comments(s, a.id),
        "hidden_comments": _comments(s, a.id, hidden=True) if _may_moderate(account) else [],
    }


def get_article(
    db: Database, account: Account | None, slug: str, /, *, today: dt.date | None = None
) -> dict[str, Any] | None:
    """One article with its HTML, related articles, short videos, episode and comments.

    Returns None when there is no such article or it is a draft and the account not an admin.
    Besides the fields of :func:`list_articles`: ``body_md``, ``body_html`` (see
    :func:`render_markdown`), ``related`` (those the account may see, by issue: ``issue``,
    ``slug``, ``title``), ``videos`` (``title``, ``url``), ``episode`` (None, or ``title``,
    ``audio_url``, ``audio_type``, ``duration_s``) and ``comments`` (the visible ones, oldest
    first: ``id``, ``author``, ``author_role``, ``text``, ``created_at`` and ``picked_week``, the
    latest week it was comment of the week or None) and ``hidden_comments`` (the same for the
    hidden ones, for a coach or admin; empty for anyone else).
    """
    day = _today(today)

    def work(s: OrmSession) -> dict[str, Any] | None:
        a = _find(s, account, slug, day)
        return None if a is None else _detail(s, account, a, day)

    return db.read(work)


# ---- writing articles ----------------------------------------------------------------------------


def _require_admin(account: Account) -> None:
    if account.role != "admin":
        raise NotAllowedError("Only an admin writes articles.")


def _save(s: OrmSession, a: Article, data: ArticleInput) -> None:
    """Write the checked ``data`` into ``a`` with its links and videos (after uniqueness checks)."""
    others = select(Article) if a.id is None else select(Article).where(Article.id != a.id)
    clash = s.scalar(others.where(Article.issue == data.issue))
    if clash is not None:
        raise BadValueError(
            f"Issue {data.issue} already exists ({clash.title!r}); choose another issue number."
        )
    clash = s.scalar(others.where(Article.slug == data.slug))
    if clash is not None:
        raise BadValueError(
            f"The address {data.slug!r} is taken by issue {clash.issue}; choose another slug."
        )
    related_ids: dict[int, int] = {}
    if data.related:
        found = s.execute(
            select(Article.issue, Article.id).where(Article.issue.in_(data.related))
        ).all()
        related_ids = {issue: article_id for issue, article_id in found}
        unknown = [n for n in data.related if n not in related_ids]
        if unknown:
            listed = ", ".join(str(n) for n in unknown)
            raise BadValueError(f"No article has the issue number {listed} (related articles).")
        if a.id is not None and a.id in related_ids.values():
            raise BadValueError("An article cannot be related to itself.")
    a.issue, a.title, a.slug = data.issue, data.title, data.slug
    a.summary, a.body_md, a.published_on = data.summary, data.body_md, data.published_on
    a.updated_at = utcnow()
    s.add(a)
    s.flush()
    s.execute(delete(ArticleLink).where(ArticleLink.article_id == a.id))
    s.execute(delete(ShortVideo).where(ShortVideo.article_id == a.id))
    for issue in data.related:
        s.add(ArticleLink(article_id=a.id, related_id=related_ids[issue]))
    for position, (title, url) in enumerate(data.videos):
        s.add(ShortVideo(article_id=a.id, title=title, url=url, position=position))
    s.flush()


def create_article(
    db: Database, account: Account, data: ArticleInput, /, *, today: dt.date | None = None
) -> dict[str, Any]:
    """Add an article (admins only); return it as :func:`get_article` does.

    Raises
    ------
    NotAllowedError
        When the account is not an admin.
    BadValueError
        See :func:`check_article`; also when the issue number or slug is taken or a related
        issue number does not exist.
    """
    _require_admin(account)
    data = check_article(data)
    day = _today(today)

    def work(s: OrmSession) -> dict[str, Any]:
        a = Article(author_id=account.id, created_at=utcnow())
        _save(s, a, data)
        return _detail(s, account, a, day)

    return db.write(work)


def update_article(
    db: Database,
    account: Account,
    slug: str,
    data: ArticleInput,
    /,
    *,
    today: dt.date | None = None,
) -> dict[str, Any] | None:
    """Replace an article's fields, related articles and short videos (admins only).

    Returns the article as :func:`get_article` does, or None when there is no article at
    ``slug``. Without a new slug in ``data`` the article keeps its address.

    Raises
    ------
    NotAllowedError
        When the account is not an admin.
    BadValueError
        As for :func:`create_article`.
    """
    _require_admin(account)
    if not data.slug.strip():  # an article keeps its address unless a new one is given
        data = dataclasses.replace(data, slug=slug)
    data = check_article(data)
    day = _today(today)

    def work(s: OrmSession) -> dict[str, Any] | None:
        a = _find(s, account, slug, day)
        if a is None:
            return None
        _save(s, a, data)
        return _detail(s, account, a, day)

    return db.write(work)


# ---- comments ------------------------------------------------------------------------------------


def check_article_comment(text: str, /) -> str:
    """Return the cleaned text of a comment; raise BadValueError when empty or too long."""
    text = clean_text(text)
    if not text:
        raise BadValueError("Write something in the comment.")
    if len(text) > MAX_ARTICLE_COMMENT_CHARS:
        raise BadValueError(f"A comment has at most {MAX_ARTICLE_COMMENT_CHARS} characters.")
    return text


def add_article_comment(
    db: Database, account: Account, slug: str, text: str, /, *, today: dt.date | None = None
) -> dict[str, Any] | None:
    """Add the account's comment under a published article; None when the article is not seen.

    Returns the comment (``id``, ``author``, ``author_role``, ``text``, ``created_at``,
    ``picked_week``) with the article's ``slug``.

    Raises
    ------
    NotAllowedError
        When the article is an admin's draft (comments open on its publication day).
    BadValueError
        See :func:`check_article_comment`.
    """
    text = check_article_comment(text)
    day = _today(today)

    def work(s: OrmSession) -> dict[str, Any] | None:
        a = _find(s, account, slug, day)
        if a is None:
            return None
        if a.published_on > day:
            raise NotAllowedError("Comments open when the article is published.")
        c = ArticleComment(article_id=a.id, author_id=account.id, text=text, created_at=utcnow())
        s.add(c)
        s.flush()
        return _comment_view(c, account.username, account.role, None) | {"slug": a.slug}

    return db.write(work)


def _comment(
    s: OrmSession, account: Account, comment_id: int, today: dt.date
) -> tuple[ArticleComment, Article, User] | None:
    """Return the comment with its article and author, if the account sees it.

    It does when the account sees its article and the comment is not hidden (coaches and admins
    see hidden comments too, to show them again or be told they cannot be picked).
    """
    q = (
        select(ArticleComment, Article, User)
        .join(Article, Article.id == ArticleComment.article_id)
        .join(User, User.id == ArticleComment.author_id)
        .where(ArticleComment.id == comment_id)
    )
    if not _is_admin(account):
        q = q.where(Article.published_on <= today)
    if not _may_moderate(account):
        q = q.where(ArticleComment.hidden.is_(False))
    hit = s.execute(q).first()
    return None if hit is None else (hit[0], hit[1], hit[2])


def _comment_to_moderate(
    s: OrmSession, account: Account, comment_id: int, today: dt.date, /, *, refusal: str
) -> tuple[ArticleComment, Article, User] | None:
    """Return the comment as :func:`_comment`; a member who sees it is refused (``refusal``)."""
    hit = _comment(s, account, comment_id, today)
    if hit is not None and not _may_moderate(account):
        raise NotAllowedError(refusal)
    return hit


def hide_article_comment(
    db: Database, account: Account, comment_id: int, /, *, today: dt.date | None = None
) -> dict[str, Any] | None:
    """Hide a comment (coach or admin): it stays stored but is no longer shown or pickable.

    Returns ``{"id", "slug", "hidden": True}`` (hiding twice changes nothing), or None when the
    account does not see the comment.

    Raises
    ------
    NotAllowedError
        When the account is a member.
    """
    return _set_hidden(db, account, comment_id, True, "Only coaches hide comments.", today)


def unhide_article_comment(
    db: Database, account: Account, comment_id: int, /, *, today: dt.date | None = None
) -> dict[str, Any] | None:
    """Show a hidden comment again (coach or admin), undoing :func:`hide_article_comment`.

    Hiding kept the comment's comment-of-the-week picks but passed over them; showing it again
    undoes the hide whole: a pick that is still its week's is shown again, and nothing stored is
    lost. Returns ``{"id", "slug", "hidden": False}`` (showing a shown comment changes nothing),
    or None when the account does not see the comment.

    Raises
    ------
    NotAllowedError
        When the account is a member.
    """
    return _set_hidden(
        db, account, comment_id, False, "Only coaches show hidden comments again.", today
    )


def _set_hidden(
    db: Database,
    account: Account,
    comment_id: int,
    hidden: bool,
    refusal: str,
    today: dt.date | None,
    /,
) -> dict[str, Any] | None:
    """Hide or show a comment the account moderates (see the two callers)."""
    day = _today(today)

    def work(s: OrmSession) -> dict[str, Any] | None:
        hit = _comment_to_moderate(s, account, comment_id, day, refusal=refusal)
        if hit is None:
            return None
        c, a, _ = hit
        if c.hidden != hidden:
            c.hidden = hidden
            s.flush()
        return {"id": c.id, "slug": a.slug, "hidden": hidden}

    return db.write(work)


def _pick_view(p: CommentOfTheWeek, c: ArticleComment, author: str, a: Article) -> dict[str, Any]:
    return {
        "week_of": p.week_of.isoformat(),
        "comment_id": c.id,
        "text": c.text,
        "author": author,
        "article_title": a.title,
        "article_slug": a.slug,
        "note": p.note,
    }


def pick_comment_of_the_week(
    db: Database,
    account: Account,
    comment_id: int,
    /,
    note: str = "",
    *,
    today: dt.date | None = None,
) -> dict[str, Any] | None:
    """Make a member's visible comment the comment of this ISO week (coach or admin).

    Picking again in the same week replaces the week's pick. Returns the pick (``week_of``, the
    week's Monday as an ISO date; ``comment_id``, ``text``, ``author``, ``article_title``,
    ``article_slug``, ``note``), or None when the account does not see the comment.

    Raises
    ------
    NotAllowedError
        When the account is a member.
    BadValueError
        When the comment is hidden or not a member's, or the note is too long.
    """
    note = clean_text(note)
    if len(note) > MAX_NOTE_CHARS:
        raise BadValueError(f"A note has at most {MAX_NOTE_CHARS} characters.")
    day = _today(today)

    def work(s: OrmSession) -> dict[str, Any] | None:
        hit = _comment_to_moderate(
            s, account, comment_id, day, refusal="Only coaches pick the comment of the week."
        )
        if hit is None:
            return None
        c, a, author = hit
        if c.hidden:
            raise BadValueError("This comment is hidden; it cannot be the comment of the week.")
        if a.published_on > day:
            raise BadValueError("The article is not published yet; pick a comment once it is.")
        if author.role != "member":
            raise BadValueError("Only a member's comment can be the comment of the week.")
        monday = week_of(day)
        pick = s.get(CommentOfTheWeek, monday)
        if pick is None:
            pick = CommentOfTheWeek(week_of=monday)
            s.add(pick)
        pick.comment_id, pick.picked_by = c.id, account.id
        pick.note, pick.picked_at = note, utcnow()
        s.flush()
        return _pick_view(pick, c, author.username, a)

    return db.write(work)


def current_comment_of_the_week(
    db: Database, /, *, today: dt.date | None = None
) -> dict[str, Any] | None:
    """Return the newest pick of a week that has begun (as :func:`pick_comment_of_the_week`).

    Picks whose comment was hidden since are passed over. None when there is no pick.
    """
    day = _today(today)

    def work(s: OrmSession) -> dict[str, Any] | None:
        q = (
            select(CommentOfTheWeek, ArticleComment, User.username, Article)
            .join(ArticleComment, ArticleComment.id == CommentOfTheWeek.comment_id)
            .join(User, User.id == ArticleComment.author_id)
            .join(Article, Article.id == ArticleComment.article_id)
            .where(
                CommentOfTheWeek.week_of <= day,
                ArticleComment.hidden.is_(False),
                Article.published_on <= day,
            )
            .order_by(CommentOfTheWeek.week_of.desc())
            .limit(1)
        )
        hit = s.execute(q).first()
        return None if hit is None else _pick_view(hit[0], hit[1], hit[2], hit[3])

    return db.read(work)
