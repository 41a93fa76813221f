"""What the pages tell people while they wait and after they act (the browser audit's findings).

The upload form says that a clip is on its way (a script; without it the form posts as before),
the home page says how to film, the member page says why sessions of another movement do not
count for a stage, times say they are UTC, the admin's actions are confirmed, the job page says
what it counts and that it may be closed, and an error page's title is words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import launch, open_context
from kneeback.assess.capture import TIP_FRONT, TIP_SIDE
from kneeback.web import create_app
from kneeback.web.accounts import create_user
from live_server import live_server
from test_web import (
    PASSWORD,
    api_user,
    client,
    make_settings,
    page_csrf,
    tiny_video,
    upload,
    world,  # noqa: F401  (alice's analysed squat session)
)

#: Playwright's wait for a page or an element, in milliseconds.
WAIT_MS = 20_000


@pytest.fixture
def app(tmp_path):
    return create_app(make_settings(tmp_path))


def _form(html: str, action: str) -> str:
    m = re.search(rf'<form[^>]*action="{action}"[^>]*>.*?</form>', html, re.S)
    assert m, f"no form posting to {action}"
    return m.group(0)


# ---- the upload form -----------------------------------------------------------------------------


def test_the_upload_form_loads_its_script_and_still_posts_without_it(app):
    c, _ = api_user(app, "mia")
    home = c.get("/")
    assert '<script src="/static/upload.js" defer></script>' in home.text
    form = _form(home.text, "/uploads")
    # Without scripts the browser posts the form itself, as before.
    assert 'method="post"' in form and 'enctype="multipart/form-data"' in form
    assert 'id="upload-form"' in form and 'name="csrf_token"' in form
    assert '<p id="upload-status" role="status" hidden></p>' in form
    script = c.get("/static/upload.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    for needed in ("upload-form", "upload-status", "Uploading…", "disabled", "progress"):
        assert needed in script.text
    # The CSP lets it run: same-origin scripts only, nothing inline.
    assert "script-src 'self'" in home.headers["content-security-policy"]
    coach, _ = api_user(app, "cora", role="coach")  # no upload form, no script
    assert "upload.js" not in coach.get("/").text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch() as b:
        yield b


@pytest.mark.slow
def test_the_button_says_uploading_and_a_second_tap_does_not_resend(
    browser: Any, tmp_path: Path
) -> None:
    """Held on its way, the upload shows a disabled "Uploading…" button and a status line; a
    refused file's reason appears there and the button works again; a video opens its job."""
    video = tiny_video(tmp_path / "clip.mp4")
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    with (
        live_server(tmp_path / "server", worker=False) as server,
        open_context(browser, "phone") as (ctx, problems),
    ):
        ctx.set_default_timeout(WAIT_MS)
        server.add_user("mia", PASSWORD)
        page = ctx.new_page()
        page.goto(server.url + "/login")
        page.get_by_label("Username").fill("mia")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        page.wait_for_url(server.url + "/")

        held: list[Any] = []
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        page.route("**/uploads", lambda route: held.append(route))
        page.locator("input[type=file]").set_input_files(str(not_video))
        button = page.locator("#upload-form button[type=submit]")
        button.click()
        page.wait_for_function("() => document.querySelector('#upload-form button').disabled")
        assert button.inner_text() == "Uploading…"
        status = page.locator("#upload-status")
        assert status.is_visible() and "mobile data" in status.inner_text()
        page.locator("#upload-form").dispatch_event("submit")  # a second tap: nothing more sent
        page.wait_for_timeout(300)
        assert len(held) == 1 and len(posts) == 1
        held[0].continue_()
        page.wait_for_function("() => !document.querySelector('#upload-form button').disabled")
        assert "not a video" in status.inner_text() and page.url == server.url + "/"
        assert button.inner_text() == "Upload and analyse"

        page.unroute("**/uploads")
        page.locator("input[type=file]").set_input_files(str(video))
        button.click()
        page.wait_for_url(re.compile(r".*/jobs/[0-9a-f]+$"))
        assert page.get_by_role("heading", level=1).inner_text() == "Analysis of your clip"
        assert problems.page_errors == [] and problems.csp_violations == []


# ---- how to film, times in UTC, error titles -----------------------------------------------------


def test_the_home_page_says_how_to_film_with_the_analysis_own_words(app):
    c, _ = api_user(app, "mia")
    text = " ".join(c.get("/").text.split())
    m = re.search(r'<p class="muted" id="how-to-film">(.*?)</p>', text)
    assert m, "no filming line under the movement"
    line = m.group(1)
    assert 'aria-describedby="how-to-film"' in text
    # The words of the capture check's own tips (kneeback.assess.capture), not others.
    side = TIP_SIDE.removeprefix("Film from the side, ").rstrip(".")
    front = TIP_FRONT.removeprefix("Film from the front, ").rstrip(".")
    assert side in line and front in line
    assert "from the side" in line and "depth" in line and "from the front" in line
    assert "knees" in line and "nobody else in the picture" in line


def test_upload_times_and_review_times_say_utc(world):  # noqa: F811
    home = world["alice"].get("/").text
    assert re.search(r'<time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>', home)
    csrf = page_csrf(world["alice"], f"/sessions/{world['session']}")
    r = world["alice"].post(
        f"/sessions/{world['session']}/share", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    queue = world["carol"].get("/review").text
    assert re.search(r'shared <time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>', queue)


def test_an_error_page_title_is_words_not_a_status_code(app):
    c, csrf = api_user(app, "mia")
    r = upload(c, csrf, b"not a video at all")
    assert r.status_code == 415
    page = c.post(
        "/uploads",
        files={"file": ("clip.mp4", b"not a video at all", "video/mp4")},
        data={"movement": "auto", "csrf_token": page_csrf(c, "/")},
    )
    assert page.status_code == 415
    assert "<title>Not a video we can read - kneeback</title>" in page.text
    missing = c.get("/jobs/nothing-here")
    assert missing.status_code == 404 and "<title>Not found - kneeback</title>" in missing.text
    assert not re.search(r"<title>\d{3}", page.text + missing.text)


# ---- the member page: why another movement's sessions do not count -------------------------------


def test_the_program_says_a_squat_does_not_count_for_a_sit_to_stand_stage(world):  # noqa: F811
    page = " ".join(world["alice"].get("/members/alice").text.split())
    squat = page.split('<section id="track-squat">')[1].split("</section>")[0]
    assert "Stage 1 of 4" in squat
    assert (
        "Your squat sessions do not count for this stage: it is measured from sit to stand "
        "sessions, filmed from the side, camera at hip height, whole body and the box in frame."
    ) in squat
    # The lunge and hinge tracks are not measured from squats: nothing said there.
    for track in ("lunge", "hinge"):
        part = page.split(f'<section id="track-{track}">')[1].split("</section>")[0]
        assert "do not count for this stage" not in part
    coach = " ".join(world["carol"].get("/members/alice").text.split())
    assert "alice&#39;s squat sessions do not count for this stage" in coach


# ---- the admin's actions are confirmed -----------------------------------------------------------


def test_the_people_page_confirms_each_admin_action(app):
    admin, _ = api_user(app, "root", role="admin")
    api_user(app, "mia")
    token = page_csrf(admin, "/admin/people")
    r = admin.post(
        "/admin/people",
        data={"username": "kim", "password": PASSWORD, "role": "coach", "csrf_token": token},
    )
    assert r.status_code == 200 and str(r.url).endswith("/admin/people?opened=kim")
    assert '<p class="notice" role="status">Account kim opened (coach).</p>' in r.text
    for action, said in (
        ("assign", "mia is now in kim&#39;s group."),
        ("remove", "mia is no longer in kim&#39;s group."),
    ):
        r = admin.post(
            "/admin/assignments",
            data={"coach": "kim", "member": "mia", "action": action, "csrf_token": token},
        )
        assert r.status_code == 200 and f'<p class="notice" role="status">{said}</p>' in r.text
    # A made-up link confirms nothing: the accounts as they stand do not agree with it.
    for query in ("opened=nobody", "assigned=mia&coach=kim", "removed=kim&coach=mia"):
        assert 'class="notice"' not in admin.get(f"/admin/people?{query}").text
    assert 'class="notice"' not in admin.get("/admin/people").text


# ---- the job page --------------------------------------------------------------------------------


def _job_at(app, stage: str, done: int, total: int) -> str:
    from sqlalchemy import select

    from kneeback.web.jobs import enqueue_job
    from kneeback.web.models import Job

    ctx = app.state.web
    user = create_user(ctx.db, f"m{stage}{total}", PASSWORD)
    clip = ctx.settings.upload_dir / f"{stage}{total}.mp4"
    clip.parent.mkdir(parents=True, exist_ok=True)
    clip.write_bytes(b"clip")
    uid = enqueue_job(ctx.db, user.id, clip, movement="squat")

    def work(s):
        row = s.scalar(select(Job).where(Job.uid == uid))
        row.state, row.stage, row.done, row.total = "running", stage, done, total

    ctx.db.write(work)
    return uid


@pytest.mark.parametrize(
    ("stage", "done", "total", "shown"),
    [
        ("pose", 447, 540, "Frame 447 of 540."),
        ("video", 12, 540, "Frame 12 of 540."),
        ("report", 1, 3, "1 of 3 in this step."),
        ("analysis", 0, 1, ""),
        ("store", 0, 2, ""),
    ],
)
def test_the_job_page_counts_frames_and_says_it_may_be_closed(app, stage, done, total, shown):
    uid = _job_at(app, stage, done, total)
    c = client(app)
    r = c.post("/api/login", json={"username": f"m{stage}{total}", "password": PASSWORD})
    assert r.status_code == 200
    page = c.get(f"/jobs/{uid}").text
    assert f'<p class="muted" id="job-count">{shown}</p>' in page
    assert "You can close this page: the analysis goes on and appears under your sessions." in page


def test_the_job_script_counts_as_the_page_does():
    script = (Path(__file__).resolve().parents[1] / "src/kneeback/web/static/job.js").read_text()
    assert '"Frame " + job.done + " of " + job.total' in script
    assert "in this step." in script and "job.total > 2" in script
    assert '["pose", "video"]' in script
