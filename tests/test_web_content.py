"""The weekly content through FastAPI's TestClient: articles (drafts only for admins, admin-only
writing, related articles, short videos, the podcast episode's player), Markdown and comments
escaped, comments hidden by coaches, and the comment of the week on the home page.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("python_multipart")
pytest.importorskip("markdown_it")

from sqlalchemy import func, select

from kneeback.errors import BadValueError
from kneeback.web import create_app
from kneeback.web.accounts import Account
from kneeback.web.app import CSRF_HEADER
from kneeback.web.content import (
    MAX_URL_CHARS,
    ArticleInput,
    check_article,
    current_comment_of_the_week,
    list_articles,
    pick_comment_of_the_week,
    render_markdown,
    slugify,
    week_of,
)
from kneeback.web.content_pages import parse_related, parse_videos
from kneeback.web.models import Article, ArticleComment, CommentOfTheWeek, Episode, User
from test_web import api_user, client, make_settings

TODAY = dt.date.today()
PAST = TODAY - dt.timedelta(days=7)
FUTURE = TODAY + dt.timedelta(days=30)


# ---- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def w(tmp_path):
    """An app with an admin, a coach, two members (mia, noa) and a visitor."""
    app = create_app(make_settings(tmp_path))
    admin, admin_csrf = api_user(app, "root", role="admin")
    coach, coach_csrf = api_user(app, "carol", role="coach")
    mia, mia_csrf = api_user(app, "mia")
    noa, noa_csrf = api_user(app, "noa")
    return {
        "app": app,
        "db": app.state.web.db,
        "admin": (admin, admin_csrf),
        "coach": (coach, coach_csrf),
        "mia": (mia, mia_csrf),
        "noa": (noa, noa_csrf),
        "anon": client(app),
    }


def api(w, who: str, method: str, path: str, json=None, *, csrf: bool = True):
    c, token = w[who]
    headers = {CSRF_HEADER: token} if csrf else {}
    return c.request(method, path, json=json, headers=headers)


def form(w, who: str, path: str, data: dict | None = None, *, csrf: bool = True):
    c, token = w[who]
    fields = dict(data or {})
    if csrf:
        fields["csrf_token"] = token
    return c.post(path, data=fields, follow_redirects=False)


def article(w, issue: int, title: str, *, day: dt.date = PAST, **more) -> dict:
    body = {"issue": issue, "title": title, "body_md": f"Text of {title}.", "summary": ""}
    r = api(w, "admin", "POST", "/api/articles", body | {"published_on": day.isoformat()} | more)
    assert r.status_code == 201, r.text
    return r.json()


def comment(w, who: str, slug: str, text: str) -> int:
    r = api(w, who, "POST", f"/api/articles/{slug}/comments", {"text": text})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def new_article_form(**fields) -> dict:
    base = {
        "issue": "1",
        "title": "Knees over toes?",
        "slug": "",
        "summary": "Why knees may pass the toes.",
        "body_md": "They may.",
        "published_on": PAST.isoformat(),
        "related": "",
        "videos": "",
    }
    return base | fields


# ---- reading: drafts exist only for admins -------------------------------------------------------


def test_visitors_and_members_see_published_articles_and_admins_drafts(w):
    article(w, 1, "Hinge at the hips", summary="The hip hinge, step by step.")
    article(w, 2, "Next week", day=FUTURE)
    page = w["anon"].get("/articles")
    assert page.status_code == 200
    assert "Hinge at the hips" in page.text and "The hip hinge, step by step." in page.text
    assert "Issue 1" in page.text and PAST.isoformat() in page.text
    assert "Next week" not in page.text
    assert w["anon"].get("/articles/hinge-at-the-hips").status_code == 200
    for who in ("anon", "mia", "coach"):
        c = w[who] if who == "anon" else w[who][0]
        assert c.get("/articles/next-week").status_code == 404, who
        assert "Next week" not in c.get("/articles").text, who
        assert c.get("/api/articles/next-week").status_code == 404, who
        assert [a["issue"] for a in c.get("/api/articles").json()] == [1], who
    admin = w["admin"][0]
    listed = admin.get("/api/articles").json()
    assert [(a["issue"], a["draft"]) for a in listed] == [(2, True), (1, False)]  # newest first
    assert "draft" in admin.get("/articles").text
    assert admin.get("/articles/next-week").status_code == 200
    assert w["anon"].get("/articles/nothing-here").status_code == 404


def test_a_draft_is_published_on_its_day(w):
    db = w["db"]
    article(w, 3, "Soon", day=FUTURE)
    assert list_articles(db, None) == []
    later = list_articles(db, None, today=FUTURE)
    assert [(a["slug"], a["draft"]) for a in later] == [("soon", False)]


# ---- writing: admins only, with the form and the API ---------------------------------------------


def test_admin_writes_and_edits_an_article_with_the_forms(w):
    anon = w["anon"]
    r = anon.get("/admin/articles/new", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    for who in ("mia", "coach"):
        assert w[who][0].get("/admin/articles/new").status_code == 403, who
        assert form(w, who, "/admin/articles/new", new_article_form()).status_code == 403, who
    page = w["admin"][0].get("/admin/articles/new")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    assert (
        form(w, "admin", "/admin/articles/new", new_article_form(), csrf=False).status_code == 403
    )
    r = form(w, "admin", "/admin/articles/new", new_article_form())
    assert r.status_code == 303 and r.headers["location"] == "/articles/knees-over-toes"
    shown = w["anon"].get("/articles/knees-over-toes").text
    assert "Knees over toes?" in shown and "<p>They may.</p>" in shown

    edit = w["admin"][0].get("/admin/articles/knees-over-toes/edit")
    assert edit.status_code == 200
    assert 'href="/admin/articles/knees-over-toes/episode"' in edit.text
    assert 'value="Knees over toes?"' in edit.text
    assert w["mia"][0].get("/admin/articles/knees-over-toes/edit").status_code == 403
    assert w["admin"][0].get("/admin/articles/nope/edit").status_code == 404
    changed = new_article_form(title="Knees past toes", slug="knees-past-toes", body_md="Yes.")
    r = form(w, "admin", "/admin/articles/knees-over-toes/edit", changed)
    assert r.status_code == 303 and r.headers["location"] == "/articles/knees-past-toes"
    assert anon.get("/articles/knees-over-toes").status_code == 404
    assert "<p>Yes.</p>" in anon.get("/articles/knees-past-toes").text
    assert form(w, "admin", "/admin/articles/nope/edit", changed).status_code == 404
    assert form(w, "mia", "/admin/articles/knees-past-toes/edit", changed).status_code == 403


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"issue": "1"}, "Issue 1 already exists"),
        ({"issue": "x"}, "The issue number is a whole number"),
        ({"issue": "0"}, "The issue number is a whole number from 1"),
        ({"title": "  "}, "The article needs a title."),
        ({"body_md": ""}, "The article needs a body."),
        ({"published_on": "soon"}, "The publication date is a day"),
        ({"slug": "Bad Slug"}, "A slug is lowercase letters"),
        ({"slug": "first"}, "The address &#39;first&#39; is taken by issue 1"),
        ({"related": "1, 99"}, "No article has the issue number 99"),
        ({"related": "one"}, "Related articles are issue numbers"),
        ({"related": "2"}, "An article cannot be related to itself."),
        ({"videos": "Clip | javascript:alert(1)"}, "A short video link starts with https://"),
        ({"videos": "Clip | ftp://example.org/a.mp4"}, "A short video link starts with https://"),
    ],
)
def test_a_refused_article_form_comes_back_with_the_reason(w, fields, message):
    article(w, 1, "First")
    data = new_article_form(issue="2", title="Second") | fields
    r = form(w, "admin", "/admin/articles/new", data)
    assert r.status_code == 400
    assert message in r.text
    assert 'role="alert"' in r.text and 'name="csrf_token"' in r.text
    if fields.get("title") != "  ":
        assert f'value="{data["title"]}"' in r.text  # what was typed is kept
    assert [a["issue"] for a in w["admin"][0].get("/api/articles").json()] == [1]


def test_the_api_writes_articles_for_admins_only(w):
    body = {"issue": 4, "title": "Brace", "body_md": "Breathe.", "published_on": PAST.isoformat()}
    assert w["anon"].post("/api/articles", json=body).status_code == 401
    assert api(w, "mia", "POST", "/api/articles", body).status_code == 403
    assert api(w, "coach", "POST", "/api/articles", body).status_code == 403
    assert api(w, "admin", "POST", "/api/articles", body, csrf=False).status_code == 403
    r = api(w, "admin", "POST", "/api/articles", body)
    assert r.status_code == 201 and r.json()["slug"] == "brace"
    again = api(w, "admin", "POST", "/api/articles", body | {"title": "Other"})
    assert again.status_code == 400
    assert (
        again.json()["detail"] == "Issue 4 already exists ('Brace'); choose another issue number."
    )
    put = api(w, "admin", "PUT", "/api/articles/brace", body | {"summary": "Ribs down."})
    assert put.status_code == 200 and put.json()["summary"] == "Ribs down."
    assert api(w, "mia", "PUT", "/api/articles/brace", body).status_code == 403
    assert api(w, "admin", "PUT", "/api/articles/nope", body).status_code == 404
    unknown = api(
        w, "admin", "POST", "/api/articles", body | {"issue": 5, "title": "B", "related": [9]}
    )
    assert unknown.status_code == 400 and "issue number 9" in unknown.json()["detail"]
    huge = api(
        w, "admin", "POST", "/api/articles", body | {"issue": 5, "title": "B", "related": [2**63]}
    )
    assert huge.status_code == 400 and "from 1 to" in huge.json()["detail"]  # not a 500
    # a new title without a slug keeps the article's address
    renamed = api(w, "admin", "PUT", "/api/articles/brace", body | {"title": "Brace, again"})
    assert renamed.status_code == 200 and renamed.json()["slug"] == "brace"
    assert api(w, "mia", "GET", "/api/articles/brace", None).status_code == 200


# ---- related articles, short videos and the episode ----------------------------------------------


def test_related_articles_link_only_the_way_they_were_set(w):
    article(w, 1, "Alpha")
    article(w, 2, "Beta", related=[1])
    article(w, 3, "Gamma", day=FUTURE)
    anon = w["anon"]
    beta = anon.get("/articles/beta").text
    assert "Related articles" in beta and 'href="/articles/alpha"' in beta
    alpha = anon.get("/articles/alpha").text
    assert "Related articles" not in alpha and 'href="/articles/beta"' not in alpha
    # set both ways, and to a draft: the draft stays hidden from visitors
    body = {"issue": 1, "title": "Alpha", "body_md": "A.", "published_on": PAST.isoformat()}
    r = api(w, "admin", "PUT", "/api/articles/alpha", body | {"related": [2, 3]})
    assert [x["issue"] for x in r.json()["related"]] == [2, 3]
    alpha = anon.get("/articles/alpha").text
    assert 'href="/articles/beta"' in alpha and 'href="/articles/gamma"' not in alpha
    assert [x["slug"] for x in anon.get("/api/articles/alpha").json()["related"]] == ["beta"]
    assert 'href="/articles/gamma"' in w["admin"][0].get("/articles/alpha").text
    edit = w["admin"][0].get("/admin/articles/alpha/edit").text
    assert 'name="related" value="2, 3"' in edit


def test_short_videos_and_the_podcast_player(w):
    videos = [
        {"title": "Hinge drill", "url": "https://video.example.org/hinge"},
        {"title": "Wall test", "url": "http://example.org/wall?t=3"},
    ]
    a = article(w, 7, "Hinge", videos=videos)
    page = w["anon"].get("/articles/hinge").text
    assert 'href="https://video.example.org/hinge"' in page and "Hinge drill" in page
    assert 'href="http://example.org/wall?t=3"' in page
    assert "<audio" not in page and a["episode"] is None

    def add_episode(s):
        s.add(
            Episode(
                guid="g-7",
                article_id=s.scalar(select(Article.id).where(Article.slug == "hinge")),
                title="Episode 7: Hinge",
                audio_name="ab12cd.mp3",
                audio_bytes=1000,
                audio_type="audio/mpeg",
                duration_s=754.4,
            )
        )

    w["db"].write(add_episode)
    page = w["anon"].get("/articles/hinge").text
    assert '<audio controls preload="none" src="/podcast/audio/ab12cd.mp3">' in page
    assert "12:34" in page
    ep = w["anon"].get("/api/articles/hinge").json()["episode"]
    assert ep == {
        "title": "Episode 7: Hinge",
        "audio_url": "/podcast/audio/ab12cd.mp3",
        "audio_type": "audio/mpeg",
        "duration_s": 754.4,
    }
    edit = w["admin"][0].get("/admin/articles/hinge/edit").text
    assert "Hinge drill | https://video.example.org/hinge" in edit


# ---- nothing the authors write runs in the page --------------------------------------------------


def test_markdown_and_comments_are_escaped(w):
    body = (
        "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) and **bold**\n\n"
        '<img src=x onerror="alert(3)">'
    )
    article(w, 1, "Safe", body_md=body)
    comment(w, "mia", "safe", "<script>alert(2)</script> & [y](javascript:alert(4))")
    r = w["anon"].get("/articles/safe")
    page = r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt; &amp;" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert 'href="javascript:' not in page.lower()
    assert "<strong>bold</strong>" in page and "<h1>Title</h1>" in page
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert " style=" not in page and "<style" not in page
    assert render_markdown("[x](JaVaScRiPt:alert(1))").count("<a") == 0
    api_html = w["anon"].get("/api/articles/safe").json()["body_html"]
    assert "&lt;script&gt;" in api_html and "<script>" not in api_html


# ---- comments ------------------------------------------------------------------------------------


def test_logged_in_accounts_comment_on_published_articles(w):
    article(w, 1, "Open")
    article(w, 2, "Draft", day=FUTURE)
    anon = w["anon"]
    assert "Log in</a> to comment" in anon.get("/articles/open").text
    r = anon.post("/articles/open/comments", data={"text": "hi"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert anon.post("/api/articles/open/comments", json={"text": "hi"}).status_code == 401
    r = form(w, "mia", "/articles/open/comments", {"text": "  Felt it in my hips!  "})
    assert r.status_code == 303
    assert re.fullmatch(r"/articles/open#comment-\d+", r.headers["location"])
    assert form(w, "mia", "/articles/open/comments", {"text": "x"}, csrf=False).status_code == 403
    coach_said = api(w, "coach", "POST", "/api/articles/open/comments", {"text": "Nice work"})
    assert coach_said.status_code == 201 and coach_said.json()["author"] == "carol"
    page = anon.get("/articles/open").text
    assert "Felt it in my hips!</p>" in page and "mia" in page and "Nice work" in page
    assert "Add comment" in w["noa"][0].get("/articles/open").text
    # refused: empty, too long, unknown article, a draft
    empty = form(w, "mia", "/articles/open/comments", {"text": "   "})
    assert empty.status_code == 400 and "Write something in the comment." in empty.text
    assert 'role="alert"' in empty.text
    assert api(w, "mia", "POST", "/api/articles/open/comments", {"text": " "}).status_code == 400
    long = api(w, "mia", "POST", "/api/articles/open/comments", {"text": "a" * 2001})
    assert long.status_code == 400 and "at most 2000" in long.json()["detail"]
    assert form(w, "mia", "/articles/nope/comments", {"text": "hi"}).status_code == 404
    assert form(w, "mia", "/articles/draft/comments", {"text": "hi"}).status_code == 404
    assert form(w, "admin", "/articles/draft/comments", {"text": "hi"}).status_code == 403
    listed = anon.get("/api/articles/open").json()["comments"]
    assert [(c["author"], c["text"]) for c in listed] == [
        ("mia", "Felt it in my hips!"),
        ("carol", "Nice work"),
    ]


def test_coaches_hide_comments_members_may_not(w):
    article(w, 1, "Open")
    first = comment(w, "mia", "open", "Spam spam")
    second = comment(w, "mia", "open", "Useful")
    page = w["coach"][0].get("/articles/open").text
    assert f'action="/article-comments/{first}/hide"' in page
    assert f'action="/article-comments/{first}/pick"' in page
    assert "Pick as comment of the week" in page
    member_view = w["noa"][0].get("/articles/open").text
    assert "/hide" not in member_view and "Pick as comment of the week" not in member_view
    r = w["anon"].post(f"/article-comments/{first}/hide", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert w["anon"].post(f"/api/article-comments/{first}/hide").status_code == 401
    for who in ("noa", "mia"):  # another member, and the author too
        assert form(w, who, f"/article-comments/{first}/hide").status_code == 403, who
        assert form(w, who, f"/article-comments/{first}/pick").status_code == 403, who
        assert api(w, who, "POST", f"/api/article-comments/{first}/hide").status_code == 403
        assert api(w, who, "POST", f"/api/article-comments/{first}/pick").status_code == 403
    assert form(w, "coach", f"/article-comments/{first}/hide", csrf=False).status_code == 403
    r = form(w, "coach", f"/article-comments/{first}/hide")
    assert r.status_code == 303 and r.headers["location"] == "/articles/open#comments"
    assert "Spam spam" not in w["anon"].get("/articles/open").text
    assert "Useful" in w["anon"].get("/articles/open").text
    kept = w["db"].read(
        lambda s: (s.get(ArticleComment, first).hidden, s.get(ArticleComment, first).text)
    )
    assert kept == (True, "Spam spam")
    # hidden: gone for members, not pickable for coaches, hiding again changes nothing
    assert form(w, "noa", f"/article-comments/{first}/hide").status_code == 404
    refused = form(w, "coach", f"/article-comments/{first}/pick")
    assert refused.status_code == 400 and "This comment is hidden" in refused.text
    assert api(w, "admin", "POST", f"/api/article-comments/{first}/pick").status_code == 400
    again = api(w, "admin", "POST", f"/api/article-comments/{first}/hide")
    assert again.status_code == 200 and again.json() == {
        "id": first,
        "slug": "open",
        "hidden": True,
    }
    assert api(w, "coach", "POST", f"/api/article-comments/{second}/hide").status_code == 200
    assert form(w, "coach", "/article-comments/9999/hide").status_code == 404
    assert form(w, "coach", "/article-comments/9999/pick").status_code == 404


def test_coaches_show_a_hidden_comment_again(w):
    article(w, 1, "Open")
    first = comment(w, "mia", "open", "Hidden by mistake")
    assert form(w, "coach", f"/article-comments/{first}/hide").status_code == 303
    page = w["coach"][0].get("/articles/open").text
    assert "Hidden comments (1)" in page and "Hidden by mistake" in page
    assert f'action="/article-comments/{first}/unhide"' in page and "Show again" in page
    assert "mia," in page.split("Hidden comments (1)", 1)[1]  # who wrote it
    assert form(w, "coach", f"/article-comments/{first}/unhide", csrf=False).status_code == 403
    assert "Hidden by mistake" not in w["anon"].get("/articles/open").text
    r = form(w, "coach", f"/article-comments/{first}/unhide")
    assert r.status_code == 303 and r.headers["location"] == "/articles/open#comments"
    assert w["db"].read(lambda s: s.get(ArticleComment, first).hidden) is False
    for who in ("anon", "noa"):
        c = w[who] if who == "anon" else w[who][0]
        assert "Hidden by mistake" in c.get("/articles/open").text, who
        listed = c.get("/api/articles/open").json()["comments"]
        assert [x["text"] for x in listed] == ["Hidden by mistake"], who
    page = w["admin"][0].get("/articles/open").text
    assert "Hidden comments" not in page and f'action="/article-comments/{first}/hide"' in page
    # an admin shows again too; showing a shown comment changes nothing
    form(w, "coach", f"/article-comments/{first}/hide")
    assert form(w, "admin", f"/article-comments/{first}/unhide").status_code == 303
    assert form(w, "admin", f"/article-comments/{first}/unhide").status_code == 303
    assert "Hidden by mistake" in w["anon"].get("/articles/open").text
    assert form(w, "coach", "/article-comments/9999/unhide").status_code == 404


def test_members_and_visitors_may_not_show_hidden_comments_again(w):
    article(w, 1, "Open")
    shown = comment(w, "mia", "open", "Still here")
    hidden = comment(w, "mia", "open", "Gone for now")
    api(w, "coach", "POST", f"/api/article-comments/{hidden}/hide")
    r = w["anon"].post(f"/article-comments/{hidden}/unhide", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert w["anon"].post(f"/api/article-comments/{hidden}/unhide").status_code == 401
    for who in ("noa", "mia"):  # another member, and the author too
        # refused on a comment they see, and a hidden one does not exist for them
        assert form(w, who, f"/article-comments/{shown}/unhide").status_code == 403, who
        assert api(w, who, "POST", f"/api/article-comments/{shown}/unhide").status_code == 403
        assert form(w, who, f"/article-comments/{hidden}/unhide").status_code == 404, who
        assert api(w, who, "POST", f"/api/article-comments/{hidden}/unhide").status_code == 404
    assert w["db"].read(lambda s: s.get(ArticleComment, hidden).hidden) is True
    assert "Hidden comments (1)" in w["coach"][0].get("/articles/open").text
    for who in ("anon", "mia", "noa"):
        c = w[who] if who == "anon" else w[who][0]
        page = c.get("/articles/open").text
        assert "Still here" in page, who
        assert "Gone for now" not in page and "Hidden comments" not in page, who
        assert "/unhide" not in page, who
        assert "Gone for now" not in c.get("/api/articles/open").text, who


def test_the_api_shows_a_hidden_comment_again(w):
    article(w, 1, "Open")
    first = comment(w, "noa", "open", "Back again")
    api(w, "admin", "POST", f"/api/article-comments/{first}/hide")
    refused = api(w, "coach", "POST", f"/api/article-comments/{first}/unhide", csrf=False)
    assert refused.status_code == 403
    assert w["db"].read(lambda s: s.get(ArticleComment, first).hidden) is True
    r = api(w, "coach", "POST", f"/api/article-comments/{first}/unhide")
    assert r.status_code == 200 and r.json() == {"id": first, "slug": "open", "hidden": False}
    listed = w["anon"].get("/api/articles/open").json()["comments"]
    assert [c["text"] for c in listed] == ["Back again"]
    again = api(w, "admin", "POST", f"/api/article-comments/{first}/unhide")
    assert again.status_code == 200 and again.json()["hidden"] is False
    missing = api(w, "coach", "POST", "/api/article-comments/9999/unhide")
    assert missing.status_code == 404 and missing.json() == {"detail": "No such comment."}


def test_showing_a_picked_comment_again_undoes_the_hide_whole(w):
    """Hiding passes the pick over and keeps it; showing the comment again brings it back."""
    article(w, 1, "Open")
    first = comment(w, "mia", "open", "Stairs without pain.")
    assert api(w, "coach", "POST", f"/api/article-comments/{first}/pick").status_code == 200
    api(w, "coach", "POST", f"/api/article-comments/{first}/hide")
    assert w["anon"].get("/api/comment-of-the-week").json() is None
    page = w["coach"][0].get("/articles/open").text
    assert "comment of the week of" in page and "Show again" in page
    assert api(w, "coach", "POST", f"/api/article-comments/{first}/unhide").status_code == 200
    assert w["anon"].get("/api/comment-of-the-week").json()["comment_id"] == first
    assert "Stairs without pain." in w["anon"].get("/").text
    assert w["db"].read(lambda s: s.scalar(select(func.count()).select_from(CommentOfTheWeek))) == 1


# ---- the comment of the week ---------------------------------------------------------------------


def test_the_comment_of_the_week_shows_on_the_home_page(w):
    article(w, 1, "Open")
    first = comment(w, "mia", "open", "Three weeks in, no pain on stairs.")
    second = comment(w, "noa", "open", "The hinge finally clicked.")
    coachs = comment(w, "coach", "open", "Keep going!")
    anon = w["anon"]
    assert "Comment of the week" not in anon.get("/").text
    assert anon.get("/api/comment-of-the-week").json() is None
    r = form(w, "coach", f"/article-comments/{first}/pick", {"note": "Stairs matter."})
    assert r.status_code == 303 and r.headers["location"] == f"/articles/open#comment-{first}"
    for page in (anon.get("/").text, w["mia"][0].get("/").text, w["admin"][0].get("/").text):
        assert "Comment of the week" in page
        assert "Three weeks in, no pain on stairs." in page and "Stairs matter." in page
        assert f'href="/articles/open#comment-{first}"' in page
    assert "comment of the week of" in anon.get("/articles/open").text
    # a second pick the same week replaces the first
    r = api(w, "admin", "POST", f"/api/article-comments/{second}/pick", {"note": ""})
    assert r.status_code == 200
    monday = week_of(TODAY).isoformat()
    assert r.json() == {
        "week_of": monday,
        "comment_id": second,
        "text": "The hinge finally clicked.",
        "author": "noa",
        "article_title": "Open",
        "article_slug": "open",
        "note": "",
    }
    home = anon.get("/").text
    assert "The hinge finally clicked." in home and "no pain on stairs" not in home
    assert "Stairs matter." not in home
    assert w["db"].read(lambda s: s.scalar(select(func.count()).select_from(CommentOfTheWeek))) == 1
    assert anon.get("/api/comment-of-the-week").json() == r.json()
    # only a member's comment; a note has a limit
    not_member = form(w, "coach", f"/article-comments/{coachs}/pick")
    assert not_member.status_code == 400 and "Only a member&#39;s comment" in not_member.text
    long = api(w, "coach", "POST", f"/api/article-comments/{first}/pick", {"note": "n" * 281})
    assert long.status_code == 400
    # hiding the pick takes it off the home page
    api(w, "coach", "POST", f"/api/article-comments/{second}/hide")
    assert "Comment of the week" not in anon.get("/").text


def test_picks_are_per_iso_week(w):
    db = w["db"]
    article(w, 1, "Open", day=dt.date(2020, 1, 1))
    first = comment(w, "mia", "open", "one")
    second = comment(w, "noa", "open", "two")
    coach_id = db.read(lambda s: s.scalar(select(User.id).where(User.username == "carol")))
    carol = Account(id=coach_id, username="carol", role="coach", person_id=None)
    sunday, monday = dt.date(2026, 3, 8), dt.date(2026, 3, 9)
    assert week_of(sunday) == dt.date(2026, 3, 2) and week_of(monday) == monday
    pick_comment_of_the_week(db, carol, first, "week 10", today=sunday)
    pick_comment_of_the_week(db, carol, second, "week 11", today=monday + dt.timedelta(days=2))
    assert current_comment_of_the_week(db, today=sunday)["text"] == "one"
    later = current_comment_of_the_week(db, today=monday)
    assert (later["text"], later["week_of"], later["note"]) == ("two", "2026-03-09", "week 11")
    assert current_comment_of_the_week(db, today=dt.date(2026, 3, 1)) is None


# ---- the rules, without the web ------------------------------------------------------------------


def test_slugs_and_article_input_rules():
    assert slugify("Genoux fléchis, dos droit!") == "genoux-flechis-dos-droit"
    assert slugify("  --Knees   over_toes?? ") == "knees-over-toes"
    assert slugify("!!!") == ""
    assert len(slugify("word " * 100)) <= 120
    base = ArticleInput(issue=3, title=" Hello ", body_md=" Body ", published_on=PAST)
    checked = check_article(base)
    assert (checked.title, checked.body_md, checked.slug) == ("Hello", "Body", "hello")
    no_letters = ArticleInput(issue=3, title="?!", body_md="b", published_on=PAST)
    assert check_article(no_letters).slug == "issue-3"
    dedup = check_article(ArticleInput(3, "t", "b", PAST, related=(1, 2, 1)))
    assert dedup.related == (1, 2)
    for url in (
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://example.org",
        "https://",
        "https://exa mple.org",
        "//example.org/x",
        "https://example.org/" + "a" * MAX_URL_CHARS,
    ):
        with pytest.raises(BadValueError):
            check_article(ArticleInput(3, "t", "b", PAST, videos=(("clip", url),)))
    with pytest.raises(BadValueError, match="needs a title"):
        check_article(ArticleInput(3, "t", "b", PAST, videos=((" ", "https://a.org"),)))
    with pytest.raises(BadValueError, match="from 1"):
        check_article(ArticleInput(-1, "t", "b", PAST))
    assert parse_related(" 3, 7 ;12\n#4") == (3, 7, 12, 4)
    assert parse_related("") == ()
    assert parse_videos("A | https://a.org/x\n\n https://b.org \nC|D | https://c.org") == (
        ("A", "https://a.org/x"),
        ("https://b.org", "https://b.org"),
        ("C|D", "https://c.org"),
    )


def test_nav_links_and_openapi_name_the_content_routes(w):
    page = w["anon"].get("/").text
    assert 'href="/articles"' in page and 'href="/podcast"' in page
    assert 'href="/articles"' in w["mia"][0].get("/").text
    paths = w["anon"].get("/openapi.json").json()["paths"]
    assert {
        "/api/articles",
        "/api/articles/{slug}",
        "/api/articles/{slug}/comments",
        "/api/article-comments/{comment_id}/hide",
        "/api/article-comments/{comment_id}/unhide",
        "/api/article-comments/{comment_id}/pick",
        "/api/comment-of-the-week",
    } <= set(paths)
    assert not any(p.startswith(("/articles", "/admin")) for p in paths)


def test_anyone_can_read_how_kneeback_judges(w):
    page = w["anon"].get("/rules")
    assert page.status_code == 200
    assert '<h2 id="heel_lift">Heels (<code>heel_lift</code>)</h2>' in page.text
    assert "grade C; FMS scoring" in page.text and "heel_lift_tolerance" in page.text
    assert "&lt;!--" not in page.text and "<!--" not in page.text  # no note to editors
    assert 'href="/rules"' in w["mia"][0].get("/").text  # linked from every page
