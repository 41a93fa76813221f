"""The member and coach flows of the web app, end to end, in headless chromium.

One scenario against a real ``kneeback serve`` (its worker runs the real pose model): a member
registers on a phone, uploads a front-view clip of three squats, follows the job until it is done,
reads the session and its full report and shares it for review before any coach is assigned (the
page says who will see it); the coach (made and assigned with the CLI) logs in on a desktop, finds
the session in the review queue and comments at a moment of the video; the member sees the
comment and its time link seeks the video there; both open their account page from the header.
No page may log a console error, throw or violate its Content-Security-Policy. Screenshots go
to ``test-artifacts/web-*.png``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import launch, open_context, screenshot
from kneeback.report.html import SEVERITY_LABELS
from live_server import LiveServer, live_server

CLIP = Path(__file__).resolve().parents[1].parent / "shared/data/videos/front-squat-3reps.mp4"
MEMBER = "ann.squats"
MEMBER_PASSWORD = "knees-over-toes-ok"
COACH = "coach"
COACH_PASSWORD = "coach-password-1"
COMMENT = "Push your knees out over your toes here."
#: The moment of the video the coach comments on, and how it is written on the page.
MOMENT_S = 4.2
MOMENT_TEXT = "0:04.2"
#: How long the analysis may take (about 25 s on an idle 2-core machine).
ANALYSIS_TIMEOUT_S = 180.0
#: Playwright's default wait for a page or an element, in milliseconds.
WAIT_MS = 20_000
#: The phone's screen width in CSS pixels (tests/browser.py).
PHONE_WIDTH = 390
#: The first focusable element of every page.
SKIP_LINK = '<a class="skip" href="#main">Skip to content</a>'

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CLIP.is_file(), reason=f"{CLIP.name} not present in ../shared/data"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch() as b:
        yield b


#: What every page is checked for, in the page: its first focusable element (the skip link to
#: main, which takes focus), its language, its width against the screen's (a page without a
#: viewport meta is laid out 980 px wide and shrunk on a phone), the form fields, progress bars
#: and videos without an accessible name, the headings that do not follow an h1 in order, and
#: the header's links and buttons less than 44 px high (too small to tap on a phone).
_PAGE_CHECK = """() => {
  const named = (el) => (el.labels && el.labels.length > 0) || el.getAttribute("aria-label")
    || el.getAttribute("aria-labelledby");
  const fields = [...document.querySelectorAll(
    "input:not([type=hidden]), select, textarea, progress, video")];
  const levels = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].map((h) => +h.tagName[1]);
  const first = document.querySelector("a[href], button, input:not([type=hidden]), select, "
    + "textarea, video[controls], [tabindex]:not([tabindex='-1'])");
  return {
    firstFocusable: first && first.outerHTML,
    mainTarget: document.querySelector("main#main[tabindex='-1']") !== null,
    lang: document.documentElement.lang,
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    unnamed: fields.filter((el) => !named(el)).map((el) => el.outerHTML),
    headings: levels.filter((level, i) => level > (i === 0 ? 1 : levels[i - 1] + 1)),
    smallTargets: [...document.querySelectorAll("header a, header button")]
      .filter((el) => el.getBoundingClientRect().height < 44).map((el) => el.outerHTML),
  };
}"""


def _check_page(page: Any, *, width: int | None = None, app_page: bool = True) -> None:
    """The page has a language, named form fields and ordered headings; an ``app_page`` (not a
    self-contained document the app serves) starts with the skip link to main; at a phone's
    ``width``, it is laid out at that width, nothing makes it scroll sideways and the header's
    links and buttons are large enough to tap."""
    found = page.evaluate(_PAGE_CHECK)
    if app_page:
        assert found["firstFocusable"] == SKIP_LINK, (page.url, found["firstFocusable"])
        assert found["mainTarget"], page.url
    assert found["lang"] == "en", page.url
    assert found["unnamed"] == [], (page.url, found["unnamed"])
    assert found["headings"] == [], (page.url, found["headings"])
    if width is not None:
        assert found["innerWidth"] == width, (page.url, found)
        assert found["scrollWidth"] <= width, (page.url, found)
        assert found["smallTargets"] == [], (page.url, found["smallTargets"])


#: The focused element: its HTML, where it is, whether it is in main, its outline.
_FOCUSED = """() => {
  const el = document.activeElement;
  const r = el.getBoundingClientRect();
  const css = getComputedStyle(el);
  return {html: el.outerHTML, top: r.top, left: r.left, bottom: r.bottom, right: r.right,
    width: r.width, height: r.height, inMain: el.closest("main") !== null && el.id !== "main",
    outline: [css.outlineStyle, css.outlineWidth, css.outlineColor, css.outlineOffset]};
}"""
#: The focus ring of whatever the keyboard reaches: 3 px, the accent colour, 2 px off.
FOCUS_RING = ["solid", "3px", "rgb(11, 107, 203)", "2px"]


def _check_skip_link(page: Any) -> None:
    """On a freshly loaded page, the first Tab shows "Skip to content" on screen with the focus
    ring; Enter on it puts the focus in main, and the next Tab goes to main's first control, past
    the header, with the same ring."""
    page.keyboard.press("Tab")
    focused = page.evaluate(_FOCUSED)
    assert focused["outline"] == FOCUS_RING, focused
    assert focused["html"] == SKIP_LINK, focused
    viewport = page.viewport_size
    assert focused["width"] > 0 and focused["height"] > 0, focused
    assert focused["top"] >= 0 and focused["left"] >= 0, focused  # on screen while it has focus
    assert focused["bottom"] <= viewport["height"] and focused["right"] <= viewport["width"]
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'main'", timeout=WAIT_MS)
    skip_bottom = page.evaluate(
        "() => document.querySelector('a.skip').getBoundingClientRect().bottom"
    )
    assert skip_bottom <= 0  # out of sight again
    page.keyboard.press("Tab")
    focused = page.evaluate(_FOCUSED)
    assert focused["inMain"] and focused["outline"] == FOCUS_RING, focused


def _video_state(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            "() => { const v = document.getElementById('session-video');"
            " return {t: v.currentTime, ready: v.readyState, error: v.error && v.error.code}; }"
        )
    )


#: Set on the job page's ``window``: a reload of the page would lose it.
_JOB_MARKER = "__kneebackJobPage"


def _wait_for_job(page: Any) -> None:
    """Follow the job page until its script opens the session; fail if the job fails or stalls.

    The page must follow the job without reloading itself (a reload throws keyboard focus to the
    top and restarts a screen reader): a marker set on its ``window`` must last until the
    session opens, and the job page must load only once. The page is checked and photographed
    the first time it shows a progress bar, or when done if it never did.
    """
    from playwright.sync_api import Error as PlaywrightError

    job_url = page.url
    loads: list[str] = []  # the page's navigations from here on

    def navigated(frame: Any) -> None:
        if frame == page.main_frame:
            loads.append(frame.url)

    page.on("framenavigated", navigated)
    page.evaluate(f"() => {{ window.{_JOB_MARKER} = true; }}")
    # the stage line is in a polite live region (read out when it changes, not the whole page)
    assert page.locator("main [aria-live=polite] #job-stage").count() == 1, page.content()
    deadline = time.monotonic() + ANALYSIS_TIMEOUT_S
    photographed = False
    session = re.compile(r"/sessions/\d+$")
    while time.monotonic() < deadline:
        if session.search(page.url):
            break
        try:
            marked = page.evaluate(f"() => window.{_JOB_MARKER} === true")
            if page.url != job_url:  # the script is opening the session
                page.wait_for_timeout(200)
                continue
            assert marked, f"the job page reloaded itself: {loads}"
            main = page.locator("main").inner_text(timeout=2_000)
            alert = page.locator("main [role=alert]").inner_text(timeout=2_000)
            if not photographed and page.locator("main progress").is_visible():
                _check_page(page, width=PHONE_WIDTH)
                screenshot(page, "web-job-phone.png")
                photographed = True
        except PlaywrightError:  # the script navigated to the session mid-query
            page.wait_for_load_state("load")
            continue
        assert alert.strip() == "", f"the analysis failed: {alert}"
        assert "This page keeps itself up to date" in main, main
        page.wait_for_timeout(500)
    else:
        pytest.fail(f"the job was not done within {ANALYSIS_TIMEOUT_S:.0f} s: {page.url}")
    page.wait_for_load_state("load")
    assert session.search(page.url), page.url
    assert loads.count(job_url) == 0 and loads[-1] == page.url, loads  # no reload on the way
    assert page.evaluate(f"() => window.{_JOB_MARKER}") is None  # a new document: the session
    page.remove_listener("framenavigated", navigated)
    if not photographed:
        screenshot(page, "web-job-phone.png")


def _member_uploads_and_shares(server: LiveServer, page: Any) -> str:
    """Register, upload, wait, read the session and report, share; return the session URL."""
    page.goto(server.url + "/register")
    page.get_by_label("Username").fill(MEMBER)
    page.get_by_label("Password").fill(MEMBER_PASSWORD)
    page.get_by_role("button", name="Register", exact=True).click()
    page.wait_for_url(server.url + "/")
    assert page.locator("header .who").inner_text() == MEMBER
    assert page.get_by_role("heading", name="Upload a clip").is_visible()
    _check_page(page, width=PHONE_WIDTH)
    _check_skip_link(page)
    screenshot(page, "web-member-home-phone.png")

    page.locator("input[type=file][name=file]").set_input_files(str(CLIP))
    page.get_by_role("button", name="Upload and analyse").click()
    page.wait_for_url(re.compile(r"/jobs/[^/]+$"))
    _wait_for_job(page)
    session_url = page.url
    assert "3 reps" in page.locator("main").inner_text()
    page.wait_for_function(
        "() => document.getElementById('session-video').readyState >= 1", timeout=WAIT_MS
    )
    state = _video_state(page)
    assert state["error"] is None, state
    _check_page(page, width=PHONE_WIDTH)
    # Each finding says how much it matters in words, not only by the colour of its title.
    findings = page.locator("ul.findings > li")
    assert findings.count() > 0
    labels = findings.evaluate_all("(lis) => lis.map((li) => li.querySelector('.sev')?.innerText)")
    assert set(labels) <= set(SEVERITY_LABELS.values()), labels
    # Each "how this is judged" link is named after its finding, in words that are not shown.
    titles = findings.evaluate_all("(lis) => lis.map((li) => li.querySelector('strong').innerText)")
    for finding, title in zip(findings.all(), titles, strict=True):
        name = re.compile(rf"^how this is judged \({re.escape(title)}(, reps? \d+(, \d+)*)?\)$")
        link = finding.get_by_role("link", name=name)
        assert link.count() == 1, (title, finding.inner_html())
        hidden = link.locator(".visually-hidden").bounding_box()
        assert hidden is not None and hidden["width"] <= 1 and hidden["height"] <= 1, hidden
    screenshot(page, "web-session-phone.png")

    # The full report: one table row per rep.
    page.get_by_role("link", name="The full report with plots and evidence").click()
    page.wait_for_url(re.compile(r"/sessions/\d+/report\.html$"))
    assert page.locator("table.reps-table tbody tr").count() == 3
    page.go_back()
    page.wait_for_url(session_url)

    # The member's program and the charts of their progress, readable on the phone.
    page.goto(server.url + "/")
    page.get_by_role("link", name="Your program, this week's plan and progress").click()
    page.wait_for_url(re.compile(r"/members/[^/]+$"))
    _check_page(page, width=PHONE_WIDTH)
    page.get_by_role("link", name="Charts of every measurement").click()
    page.wait_for_url(re.compile(r"/progress\.html$"))
    _check_page(page, width=PHONE_WIDTH, app_page=False)
    screenshot(page, "web-progress-phone.png")
    # and back to the member's page (the charts are a sandboxed document of their own)
    member_url = page.url.removesuffix("/progress.html")
    page.get_by_role("link", name="Back to the program").click()
    page.wait_for_url(member_url)
    assert page.get_by_role("link", name="Charts of every measurement").is_visible()
    page.goto(session_url)

    # No coach is assigned yet: the member is told who will see it (the staff, then a coach).
    assert "You have no coach yet" in page.locator("section.review").inner_text()
    page.get_by_role("button", name="Share for review").click()
    page.wait_for_url(session_url)
    assert "the program's staff see it" in page.locator("section.review").inner_text()
    return session_url


def _coach_comments(server: LiveServer, page: Any, session_url: str) -> None:
    """Log in as the coach, open the shared session from the queue, comment at MOMENT_S."""
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill(COACH)
    page.get_by_label("Password").fill(COACH_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(server.url + "/")
    _check_page(page)

    page.get_by_role("link", name="Review", exact=True).click()
    page.wait_for_url(server.url + "/review")
    queued = page.locator("ol.queue > li > a")
    assert queued.count() == 1
    assert queued.first.inner_text().startswith(f"{MEMBER}: ")
    flags = page.locator("ol.queue li.flag")
    assert flags.count() > 0  # the clip's tempo is worth practising
    for flag in flags.all():
        assert flag.inner_text().startswith(tuple(SEVERITY_LABELS.values())), flag.inner_text()
    # The finding counts are in the same words, not the internal severity names.
    counts = page.locator("ol.queue > li .counts").inner_text()
    words = "|".join(re.escape(label.lower()) for label in SEVERITY_LABELS.values())
    assert re.fullmatch(rf"Findings: \d+ ({words})(, \d+ ({words}))*", counts), counts
    _check_page(page)
    screenshot(page, "web-coach-review-desktop.png")

    queued.first.click()
    page.wait_for_url(session_url)
    assert "3 reps" in page.locator("main").inner_text()
    page.wait_for_function(
        "() => document.getElementById('session-video').readyState >= 1", timeout=WAIT_MS
    )
    # Seek the video: review.js puts its moment into the form's time field.
    page.evaluate(f"() => {{ document.getElementById('session-video').currentTime = {MOMENT_S}; }}")
    page.wait_for_function(
        f"() => document.getElementById('comment-time').value === '{MOMENT_S:.1f}'",
        timeout=WAIT_MS,
    )
    page.locator("#comment-form textarea[name=text]").fill(COMMENT)
    page.locator("#comment-form").get_by_role("button", name="Add comment").click()
    page.wait_for_url(re.compile(re.escape(session_url) + r"#comment-\d+$"))
    comment = page.locator("ol.comments > li").filter(has_text=COMMENT)
    assert comment.count() == 1
    assert comment.locator("a.seek").inner_text() == MOMENT_TEXT
    assert COACH in comment.inner_text()
    screenshot(page, "web-coach-comment-desktop.png")


def _member_sees_comment(page: Any, session_url: str) -> None:
    """Reload the session; the coach's comment is there and its time link seeks the video."""
    page.goto(session_url)
    if "Reviewed by" not in page.locator("section.review").inner_text():
        assert f"Shared with your coach ({COACH})" in page.locator("section.review").inner_text()
    comment = page.locator("ol.comments > li").filter(has_text=COMMENT)
    assert comment.count() == 1
    link = comment.locator("a.seek")
    assert link.inner_text() == MOMENT_TEXT
    page.wait_for_function(
        "() => document.getElementById('session-video').readyState >= 1", timeout=WAIT_MS
    )
    link.click()
    assert page.url == session_url  # review.js seeks instead of opening the file
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('session-video').currentTime - {MOMENT_S}) < 0.5",
        timeout=WAIT_MS,
    )
    page.evaluate("() => document.getElementById('session-video').pause()")
    state = _video_state(page)
    assert abs(state["t"] - MOMENT_S) < 0.5 and state["error"] is None, state
    screenshot(page, "web-member-comment-phone.png")


def _member_uploads_a_clip_with_nobody(server: LiveServer, page: Any, folder: Path) -> None:
    """Upload a clip with nobody in it; the job page shows why it failed, without a reload."""
    from videogen import make_video

    clip = make_video(folder / "nobody.mp4", n_frames=90, fps=30, width=320, height=240)
    page.goto(server.url + "/")
    page.locator("input[type=file][name=file]").set_input_files(str(clip))
    page.get_by_role("button", name="Upload and analyse").click()
    page.wait_for_url(re.compile(r"/jobs/[^/]+$"))
    job_url = page.url
    assert page.locator("#job").count() == 1  # still running: the script follows it
    page.evaluate(f"() => {{ window.{_JOB_MARKER} = true; }}")
    alert = page.locator("main [role=alert]")
    page.wait_for_function(
        "() => document.querySelector('main [role=alert]').innerText.trim() !== ''",
        timeout=int(ANALYSIS_TIMEOUT_S * 1000),
    )
    assert page.url == job_url and page.evaluate(f"() => window.{_JOB_MARKER}") is True
    assert alert.count() == 1 and "detected" in alert.inner_text().lower(), alert.inner_text()
    assert page.locator("#job-stage").inner_text() == "Failed."
    assert not page.locator("main progress").is_visible()
    assert page.get_by_role("link", name="Upload another clip").is_visible()
    screenshot(page, "web-job-failed-phone.png")


def _account_page(page: Any, *, width: int | None = None) -> None:
    """Open the account page from the header's link; check it as every page."""
    page.get_by_role("link", name="Account", exact=True).click()
    page.wait_for_url(re.compile(r"/account$"))
    assert page.get_by_role("heading", name="Change your password").is_visible()
    assert page.get_by_label("Current password").is_visible()
    _check_page(page, width=width)


def test_member_and_coach_in_chromium(browser: Any, tmp_path: Path, model_dir_full: Path) -> None:
    with (
        live_server(tmp_path / "server", env={"KNEEBACK_MODEL_DIR": str(model_dir_full)}) as server,
        open_context(browser, "phone") as (member_ctx, member_problems),
        open_context(browser, "desktop") as (coach_ctx, coach_problems),
    ):
        member_ctx.set_default_timeout(WAIT_MS)
        coach_ctx.set_default_timeout(WAIT_MS)
        member = member_ctx.new_page()
        session_url = _member_uploads_and_shares(server, member)

        server.add_user(COACH, COACH_PASSWORD, role="coach")
        server.cli("users", "assign", COACH, MEMBER)
        coach = coach_ctx.new_page()
        _coach_comments(server, coach, session_url)
        _account_page(coach)

        _member_sees_comment(member, session_url)
        _account_page(member, width=PHONE_WIDTH)
        assert member.get_by_role("button", name="Delete my account and data").is_visible()
        screenshot(member, "web-account-phone.png")
        _member_uploads_a_clip_with_nobody(server, member, tmp_path)

        member_problems.check()
        coach_problems.check()
        assert all(u.startswith((server.url, "data:")) for u in member_problems.requests)
        assert all(u.startswith((server.url, "data:")) for u in coach_problems.requests)
