"""The weekly content end to end in headless chromium, and the podcast feed as podcast apps read it.

Against a real ``kneeback serve`` (no analysis worker: no clip is analysed here): an admin (made
with the CLI) writes the week's article in the Markdown form and attaches a podcast episode with
the upload form; a member reads the article, hears the episode's audio load and comments; a coach
picks that comment as the comment of the week; a visitor sees it on the home page. The feed at
``/podcast.xml`` is fetched by the browser and must parse as RSS 2.0 without errors (feedparser's
strict flag, ``bozo``) with one item whose enclosure downloads the uploaded bytes. No page may log
a console error, throw or violate its Content-Security-Policy. Screenshots go to
``test-artifacts/web-*.png``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import launch, open_context, screenshot
from live_server import LiveServer, live_server

feedparser = pytest.importorskip("feedparser")

ADMIN, COACH, MEMBER = "editor", "coach.kim", "mo.member"
PASSWORD = "correct horse battery"
TITLE = "Knees first: getting up from a chair"
COMMENT = "Week 6 and I stood up from the sofa without my hands!"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch() as b:
        yield b


def _log_in(server: LiveServer, page: Any, name: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(server.url + "/")


def _admin_publishes(server: LiveServer, page: Any, audio: Path) -> str:
    """Write the article and attach the episode through the forms; return the article URL."""
    _log_in(server, page, ADMIN)
    page.goto(server.url + "/admin/articles/new")
    page.locator("input[name=issue]").fill("6")
    page.locator("input[name=title]").fill(TITLE)
    page.locator("input[name=published_on]").fill(dt.date.today().isoformat())
    page.locator("textarea[name=summary]").fill("Why the knees should do the bending.")
    page.locator("textarea[name=body_md]").fill(
        "## Sit, then stand\n\nLet the **knees** travel forward.\n\n<script>alert(1)</script>\n"
    )
    page.locator("textarea[name=videos]").fill("Box squat demo | https://videos.example/box")
    page.locator("form.article-form button[type=submit]").click()
    page.wait_for_url(lambda url: "/admin/articles/new" not in url)
    page.goto(server.url + "/articles")
    page.get_by_role("link", name=TITLE).click()
    article_url = page.url
    body = page.locator("main")
    assert body.locator("h2", has_text="Sit, then stand").count() == 1
    assert "<script>alert(1)</script>" in body.inner_text()  # shown as text, never run
    page.goto(article_url.replace("/articles/", "/admin/articles/") + "/episode")
    page.locator("input[name=title]").fill("Issue 6: knees first")
    page.locator("input[type=file][name=audio]").set_input_files(str(audio))
    page.locator("form[enctype='multipart/form-data'] button[type=submit]").click()
    page.wait_for_load_state("load")
    assert "/episode" not in page.url or page.locator(".error").count() == 0
    return article_url


def _member_listens_and_comments(page: Any, article_url: str) -> None:
    page.goto(article_url)
    audio = page.locator("main audio")
    assert audio.count() == 1
    page.evaluate("() => document.querySelector('main audio').load()")
    page.wait_for_function(
        "() => { const a = document.querySelector('main audio');"
        " return a.readyState >= 1 && a.duration > 1.5; }",
        timeout=WAIT_MS,
    )
    assert page.get_by_role("link", name="Box squat demo").get_attribute("href") == (
        "https://videos.example/box"
    )
    page.locator("#comment-form textarea[name=text]").fill(COMMENT)
    page.locator("#comment-form button[type=submit]").click()
    page.wait_for_load_state("load")
    assert COMMENT in page.locator("main").inner_text()
    screenshot(page, "web-article-phone.png")


def _coach_picks(server: LiveServer, page: Any, article_url: str) -> None:
    _log_in(server, page, COACH)
    page.goto(article_url)
    comment = page.locator("li", has_text=COMMENT)
    comment.get_by_role("button", name="Pick as comment of the week").click()
    page.wait_for_load_state("load")


def _check_feed(server: LiveServer, page: Any, audio: Path) -> None:
    response = page.request.get(server.url + "/podcast.xml")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/rss+xml")
    xml = response.body()
    parsed = feedparser.parse(xml)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.title and parsed.feed.link and parsed.feed.get("subtitle")
    (entry,) = parsed.entries
    assert entry.title == "Issue 6: knees first" and entry.id and entry.published_parsed
    (enclosure,) = entry.enclosures
    assert int(enclosure.length) == audio.stat().st_size
    assert enclosure.type.startswith("audio/")
    channel = ET.fromstring(xml).find("channel")
    assert channel is not None
    for tag in ("author", "category", "explicit", "image"):
        assert channel.find(ITUNES + tag) is not None, tag
    assert channel.find(ITUNES + "owner") is None  # only with --podcast-email (an address)
    assert channel.find("item/" + ITUNES + "duration") is not None
    download = page.request.get(enclosure.href)
    assert download.status == 200 and download.body() == audio.read_bytes()


def test_weekly_content_in_chromium(browser: Any, tmp_path: Path) -> None:
    from test_web_podcast import tone

    audio = tone(tmp_path / "episode", seconds=3.0)
    with (
        live_server(tmp_path / "server", worker=False) as server,
        open_context(browser, "desktop") as (admin_ctx, admin_problems),
        open_context(browser, "phone") as (member_ctx, member_problems),
        open_context(browser, "desktop") as (coach_ctx, coach_problems),
        open_context(browser, "phone") as (visitor_ctx, visitor_problems),
    ):
        for ctx in (admin_ctx, member_ctx, coach_ctx, visitor_ctx):
            ctx.set_default_timeout(WAIT_MS)
        server.add_user(ADMIN, PASSWORD, role="admin")
        server.add_user(COACH, PASSWORD, role="coach")
        server.add_user(MEMBER, PASSWORD)
        server.cli("users", "assign", COACH, MEMBER)

        article_url = _admin_publishes(server, admin_ctx.new_page(), audio)
        member = member_ctx.new_page()
        _log_in(server, member, MEMBER)
        _member_listens_and_comments(member, article_url)
        _coach_picks(server, coach_ctx.new_page(), article_url)

        visitor = visitor_ctx.new_page()
        visitor.goto(server.url + "/")
        home = visitor.locator("main").inner_text()
        assert "Comment of the week" in home and COMMENT in home and MEMBER in home
        screenshot(visitor, "web-home-comment-of-the-week-phone.png")
        visitor.goto(server.url + "/podcast")
        assert visitor.locator("main audio").count() == 1
        screenshot(visitor, "web-podcast-phone.png")
        _check_feed(server, visitor, audio)

        for problems in (admin_problems, member_problems, coach_problems, visitor_problems):
            problems.check()
