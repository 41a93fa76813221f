"""The web app through FastAPI's TestClient: accounts, CSRF, rate limits, uploads, jobs, reports,
ownership (another member's ids answer 404, no session answers 401 or a redirect to /login) and the
security headers on every response. Videos are posed by replaying a known pose (no model).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("python_multipart")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2 instead of httpx
    from fastapi.testclient import TestClient

from kneeback.errors import NoPersonError
from kneeback.web import WebSettings, create_app
from kneeback.web.accounts import assign_member, create_user
from kneeback.web.app import CSRF_HEADER
from replay_clip import needs_uiprmd, replaying_pose_video, squat_clip

PASSWORD = "correct horse battery"


# ---- fixtures and helpers ------------------------------------------------------------------------


def make_settings(root: Path, **overrides) -> WebSettings:
    fields = {
        "database_url": f"sqlite:///{root / 'kneeback.db'}",
        "data_dir": root / "data",
        "cookie_secure": False,
        "run_worker": False,
        "secret_key": "k" * 64,
    }
    return WebSettings.model_validate(fields | overrides)


@pytest.fixture
def app(tmp_path):
    return create_app(make_settings(tmp_path))


def client(app) -> TestClient:
    """A browser of its own (cookies); the app's lifespan (worker) is not started."""
    return TestClient(app, base_url="http://testserver")


def page_csrf(c: TestClient, path: str = "/register") -> str:
    r = c.get(path)
    assert r.status_code == 200
    m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert m, f"no CSRF token in the form of {path}"
    return m.group(1)


def api_user(app, name: str, *, role: str = "member") -> tuple[TestClient, str]:
    """A logged-in client and its CSRF token (accounts other than members are made directly)."""
    c = client(app)
    if role == "member":
        r = c.post("/api/register", json={"username": name, "password": PASSWORD})
        assert r.status_code == 201, r.text
    else:
        create_user(app.state.web.db, name, PASSWORD, role=role)
        r = c.post("/api/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


def upload(c: TestClient, csrf: str | None, data: bytes, *, name="clip.mp4", movement="auto"):
    headers = {CSRF_HEADER: csrf} if csrf else {}
    return c.post(
        "/api/uploads",
        files={"file": (name, data, "video/mp4")},
        data={"movement": movement},
        headers=headers,
    )


def tiny_video(path: Path, frames: int = 8) -> Path:
    from videogen import make_video

    return make_video(path, n_frames=frames, fps=30, width=64, height=64)


# ---- a finished job, shared by the ownership tests -----------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An app where alice (member) has one analysed session and bob (member) has none.

    carol coaches alice; dave is a coach without members; an admin exists.
    """
    from replay_clip import SQUAT_FILE

    if not SQUAT_FILE.exists():
        pytest.skip("../shared/data not present")
    root = tmp_path_factory.mktemp("web")
    clip, ds = squat_clip(root, reps=2, metadata={"creation_time": "2025-03-02T09:30:00Z"})
    app = create_app(make_settings(root))
    alice, alice_csrf = api_user(app, "alice")
    bob, bob_csrf = api_user(app, "bob")
    carol, _ = api_user(app, "carol", role="coach")
    dave, _ = api_user(app, "dave", role="coach")
    admin, _ = api_user(app, "root", role="admin")
    assign_member(app.state.web.db, "carol", "alice")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("kneeback.pipeline.pose_video", replaying_pose_video(ds))
        r = upload(alice, alice_csrf, clip.read_bytes(), movement="squat")
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["state"] == "queued"
        assert app.state.web.worker.run_pending() == 1
    done = alice.get(f"/api/jobs/{job['id']}").json()
    assert done["state"] == "done", done
    return {
        "app": app,
        "alice": alice,
        "alice_csrf": alice_csrf,
        "bob": bob,
        "bob_csrf": bob_csrf,
        "carol": carol,
        "dave": dave,
        "admin": admin,
        "anon": client(app),
        "job": done["id"],
        "session": done["session_id"],
        "reps": ds,
    }


# ---- pages and headers ---------------------------------------------------------------------------


def test_pages_for_a_visitor_and_security_headers(app):
    c = client(app)
    for path in ("/", "/login", "/register", "/openapi.json", "/static/style.css", "/nowhere"):
        r = c.get(path)
        assert r.status_code == (404 if path == "/nowhere" else 200), path
        assert "default-src" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-frame-options"] == "DENY"
    assert "Open an account" in c.get("/").text
    assert 'name="viewport"' in c.get("/login").text
    member, _ = api_user(app, "cache")
    assert member.get("/api/me").headers["cache-control"] == "no-store"  # holds the CSRF token
    assert c.get("/api/articles").headers["cache-control"] == "no-store"


#: The first element of a page a keyboard reaches: the first link, button or form field.
_FOCUSABLE = re.compile(
    r'<(a\s[^>]*href|button|input(?![^>]*type="hidden")|select|textarea|video[^>]*controls)\b'
)


def test_every_page_starts_with_a_skip_link_to_main(app):
    """A keyboard or screen reader user can pass the header: "Skip to content" is the first
    focusable element of every page (a visitor's, a member's, an error page) and targets main,
    which can take focus."""
    visitor = client(app)
    member, _ = api_user(app, "skip")
    pages = [(visitor, p) for p in ("/", "/login", "/register", "/rules", "/articles", "/nowhere")]
    pages += [(member, p) for p in ("/", "/podcast", "/members/skip", "/jobs/none")]
    for c, path in pages:
        html = c.get(path).text
        body = html[html.index("<body>") :]
        first = _FOCUSABLE.search(body)
        assert first, path
        assert body[first.start() :].startswith(
            '<a class="skip" href="#main">Skip to content</a>'
        ), (path, body[first.start() : first.start() + 80])
        assert html.count('id="main"') == 1 and '<main id="main" tabindex="-1">' in html, path
    css = visitor.get("/static/style.css").text
    assert re.search(r"\.skip:focus\s*\{[^}]*top:\s*\.5rem", css)  # on screen when focused


def test_the_keyboard_focus_has_a_clear_ring(app):
    """Whatever the keyboard reaches is ringed: 3 px in the accent colour, 2 px away from it."""
    css = client(app).get("/static/style.css").text
    rule = re.search(r"(?m)^:focus-visible\s*\{([^}]*)\}", css)
    assert rule, "no :focus-visible rule for every element"
    assert re.search(r"outline:\s*3px solid var\(--accent\)", rule.group(1)), rule.group(1)
    assert re.search(r"outline-offset:\s*2px", rule.group(1)), rule.group(1)
    assert re.search(r"--accent:\s*#0b6bcb", css)  # the colour tests/test_web_browser.py expects


def test_openapi_schema_names_every_api_route(app):
    paths = client(app).get("/openapi.json").json()["paths"]
    assert {
        "/api/login",
        "/api/register",
        "/api/logout",
        "/api/me",
        "/api/sessions",
        "/api/sessions/{session_id}",
        "/api/uploads",
        "/api/jobs",
        "/api/jobs/{uid}",
        "/api/members",
        "/api/members/{username}/history",
        "/api/members/{username}/progress",
        "/api/members/{username}/program",
        "/api/members/{username}/stage",
    } <= set(paths)
    assert not any(not p.startswith("/api/") for p in paths)  # pages are not API


def test_register_login_logout_with_forms(app):
    c = client(app)
    token = page_csrf(c, "/register")
    r = c.post(
        "/register",
        data={"username": "erin", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers.get_list("set-cookie")[0]
    assert "kb_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    home = c.get("/")
    assert "Upload a clip" in home.text and "erin" in home.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    r = c.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/api/me").status_code == 401
    # log in again with the form; ``next`` is followed only within the site
    token = page_csrf(c, "/login")
    r = c.post(
        "/login",
        data={"username": "erin", "password": PASSWORD, "csrf_token": token, "next": "/jobs/x"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/jobs/x"
    c2 = client(app)
    token = page_csrf(c2, "/login")
    r = c2.post(
        "/login",
        data={
            "username": "erin",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_session_cookie_is_secure_when_configured(tmp_path):
    app = create_app(make_settings(tmp_path, cookie_secure=True))
    c = TestClient(app, base_url="https://testserver")
    r = c.post("/api/register", json={"username": "sec", "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-kb_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_wrong_password_and_bad_registrations(app):
    c = client(app)
    token = page_csrf(c, "/register")
    ok = {"username": "fay", "password": PASSWORD, "csrf_token": token}
    assert c.post("/register", data=ok, follow_redirects=False).status_code == 303
    c = client(app)
    token = page_csrf(c, "/register")
    again = c.post("/register", data=ok | {"csrf_token": token})
    assert again.status_code == 400 and "taken" in again.text
    short = c.post(
        "/register", data=ok | {"username": "gus", "password": "short", "csrf_token": token}
    )
    assert short.status_code == 400 and "10 characters" in short.text
    r = c.post("/api/register", json={"username": "../etc", "password": PASSWORD})
    assert r.status_code == 400
    token = page_csrf(c, "/login")
    r = c.post(
        "/login", data={"username": "fay", "password": "wrong password", "csrf_token": token}
    )
    assert r.status_code == 400 and "wrong" in r.text
    assert (
        c.post("/api/login", json={"username": "nobody", "password": PASSWORD}).status_code == 400
    )


def test_passwords_are_stored_as_argon2_hashes(app):
    from sqlalchemy import select

    from kneeback.web.models import User

    client(app).post("/api/register", json={"username": "hal", "password": PASSWORD})
    stored = app.state.web.db.read(
        lambda s: s.scalar(select(User.password_hash).where(User.username == "hal"))
    )
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# ---- CSRF ----------------------------------------------------------------------------------------


def test_forms_without_or_with_a_wrong_csrf_token_are_refused(app):
    c = client(app)
    page_csrf(c, "/register")  # has the pre-login cookie, but sends no token
    data = {"username": "ivy", "password": PASSWORD}
    assert c.post("/register", data=data).status_code == 403
    assert c.post("/register", data=data | {"csrf_token": "0" * 64}).status_code == 403
    assert c.post("/login", data=data | {"csrf_token": "nope"}).status_code == 403
    # a token of another visitor does not fit this visitor's cookie
    other = client(app)
    foreign = page_csrf(other, "/register")
    assert c.post("/register", data=data | {"csrf_token": foreign}).status_code == 403
    member, csrf = api_user(app, "jon")
    assert member.post("/logout", data={"csrf_token": "x"}).status_code == 403
    assert member.post("/api/logout").status_code == 403
    assert member.post("/api/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    assert member.get("/api/me").status_code == 401


def test_api_login_accepts_json_only(app):
    api_user(app, "kim")
    c = client(app)
    r = c.post(
        "/api/login",
        content=f'{{"username": "kim", "password": "{PASSWORD}"}}',
        headers={"content-type": "text/plain"},
    )
    assert r.status_code == 422
    assert "set-cookie" not in r.headers
    assert PASSWORD not in r.text  # the refused body is not echoed back


def test_a_form_the_routes_refuse_is_a_page_naming_the_field(app):
    """A form post the route's types refuse gets the HTML error page (400), not JSON."""
    c = client(app)
    csrf = page_csrf(c, "/login")
    r = c.post("/login", data={"csrf_token": csrf, "username": "kim"})  # no password
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "password" in r.text and PASSWORD not in r.text
    r = c.post("/login", data={"csrf_token": csrf, "username": "k" * 200, "password": "secret"})
    assert r.status_code == 400 and "username" in r.text and "secret" not in r.text


# ---- rate limiting -------------------------------------------------------------------------------


def test_login_rate_limit_per_account(tmp_path):
    app = create_app(make_settings(tmp_path, login_max_failures_per_account=3))
    api_user(app, "lea")
    c = client(app)
    for _ in range(3):
        assert (
            c.post("/api/login", json={"username": "lea", "password": "x" * 12}).status_code == 400
        )
    r = c.post("/api/login", json={"username": "lea", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    token = page_csrf(c, "/login")
    form = c.post("/login", data={"username": "lea", "password": PASSWORD, "csrf_token": token})
    assert form.status_code == 429 and int(form.headers["retry-after"]) > 0
    # another account from the same address is not locked by lea's failures
    api_user(app, "max")
    assert c.post("/api/login", json={"username": "max", "password": PASSWORD}).status_code == 200


def test_login_rate_limit_per_address(tmp_path):
    app = create_app(make_settings(tmp_path, login_max_failures_per_ip=4))
    api_user(app, "ned")
    c = client(app)
    for i in range(4):
        r = c.post("/api/login", json={"username": f"guess{i}", "password": "x" * 12})
        assert r.status_code == 400
    assert c.post("/api/login", json={"username": "ned", "password": PASSWORD}).status_code == 429


def test_rate_limiter_window_clears():
    from kneeback.web.ratelimit import LoginRateLimiter

    now = [1000.0]
    lim = LoginRateLimiter(max_per_account=2, max_per_ip=10, window_s=60, clock=lambda: now[0])
    assert lim.retry_after("a", "1.2.3.4") is None
    lim.failed("a", "1.2.3.4")
    now[0] += 10
    lim.failed("A", "1.2.3.4")  # usernames count case-insensitively
    assert lim.retry_after("a", "9.9.9.9") == pytest.approx(50)
    now[0] += 50.5
    assert lim.retry_after("a", "9.9.9.9") is None  # the first failure left the window
    lim.failed("a", "1.2.3.4")
    assert lim.retry_after("a", "1.2.3.4") is not None
    lim.succeeded("a")
    assert lim.retry_after("a", "1.2.3.4") is None


# ---- no session ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/me"),
        ("GET", "/api/sessions"),
        ("GET", "/api/sessions/1"),
        ("GET", "/api/jobs"),
        ("GET", "/api/jobs/abc"),
        ("POST", "/api/uploads"),
        ("POST", "/api/logout"),
        ("GET", "/api/members"),
        ("GET", "/api/members/alice/history"),
        ("GET", "/api/members/alice/progress"),
        ("GET", "/api/members/alice/program"),
        ("POST", "/api/members/alice/stage"),
    ],
)
def test_api_without_a_session_is_401(app, method, path):
    r = client(app).request(method, path)
    assert r.status_code == 401
    assert r.json()["detail"] == "Log in first."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/jobs/abc"),
        ("GET", "/sessions/1"),
        ("GET", "/sessions/1/report.html"),
        ("GET", "/sessions/1/annotated.mp4"),
        ("POST", "/uploads"),
        ("POST", "/logout"),
        ("GET", "/members/alice"),
        ("GET", "/members/alice/progress.html"),
        ("POST", "/members/alice/stage"),
    ],
)
def test_pages_without_a_session_redirect_to_login(app, method, path):
    r = client(app).request(method, path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_a_forged_or_expired_session_cookie_is_no_session(app, tmp_path):
    c = client(app)
    c.cookies.set("kb_session", "forged-token")
    assert c.get("/api/me").status_code == 401


# ---- uploads -------------------------------------------------------------------------------------


def test_upload_too_large_is_413_and_leaves_nothing(tmp_path):
    app = create_app(make_settings(tmp_path, max_upload_bytes=2000))
    c, csrf = api_user(app, "ola")
    uploads = app.state.web.settings.upload_dir
    r = upload(c, csrf, b"\0" * 5000)  # caught while streaming
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    r = upload(c, csrf, b"\0" * 200_000)  # caught from Content-Length, before reading
    assert r.status_code == 413
    assert list(uploads.iterdir()) == []
    assert c.get("/api/jobs").json() == []


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("clip.mp4", b"this is not a video at all" * 40),
        ("clip.mp4", b""),
        ("clip.mov", "png"),
        ("clip.mp4", "wav"),
    ],
)
def test_upload_that_is_not_a_video_is_415(app, tmp_path, name, data):
    if data == "png":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        plt.imsave(tmp_path / "x.png", np.zeros((16, 16, 3)))
        data = (tmp_path / "x.png").read_bytes()
    elif data == "wav":
        import wave

        with wave.open(str(tmp_path / "x.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\0\0" * 8000)
        data = (tmp_path / "x.wav").read_bytes()
    c, csrf = api_user(app, "pia")
    r = upload(c, csrf, data, name=name)
    assert r.status_code == 415, r.text
    detail = r.json()["detail"]
    assert detail.endswith(".") and detail.count(". ") == 0  # one sentence
    assert list(app.state.web.settings.upload_dir.iterdir()) == []


def test_upload_needs_csrf_a_member_and_a_known_movement(app, tmp_path):
    clip = tiny_video(tmp_path / "tiny.mp4").read_bytes()
    c, csrf = api_user(app, "quin")
    r = upload(c, None, clip)
    assert r.status_code == 403 and r.json()["detail"] == f"Missing or wrong {CSRF_HEADER} header."
    assert upload(c, "wrong", clip).status_code == 403
    assert upload(c, csrf, clip, movement="cartwheel").status_code == 400
    coach, coach_csrf = api_user(app, "rex", role="coach")
    assert upload(coach, coach_csrf, clip).status_code == 403
    r = c.post("/api/uploads", data={"movement": "auto"}, headers={CSRF_HEADER: csrf})
    assert r.status_code == 400  # no file
    assert list(app.state.web.settings.upload_dir.iterdir()) == []


def test_upload_form_stores_under_a_random_name_inside_the_upload_folder(app, tmp_path):
    clip = tiny_video(tmp_path / "tiny.mp4").read_bytes()
    c = client(app)
    token = page_csrf(c, "/register")
    c.post("/register", data={"username": "sam", "password": PASSWORD, "csrf_token": token})
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").text).group(1)
    r = c.post(
        "/uploads",
        data={"csrf_token": token, "movement": "squat"},
        files={"file": ("../../../../etc/evil.mp4", clip, "video/mp4")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    saved = list(app.state.web.settings.upload_dir.iterdir())
    assert len(saved) == 1 and re.fullmatch(r"[0-9a-f]{32}", saved[0].name)
    assert saved[0].read_bytes() == clip
    page = c.get(r.headers["location"])
    assert page.status_code == 200 and "Waiting for its turn" in page.text
    assert 'http-equiv="refresh"' in page.text
    # a wrong form token is refused before anything is written
    r = c.post(
        "/uploads",
        data={"csrf_token": "bad", "movement": "auto"},
        files={"file": ("clip.mp4", clip, "video/mp4")},
    )
    assert r.status_code == 403
    assert len(list(app.state.web.settings.upload_dir.iterdir())) == 1


# ---- jobs ----------------------------------------------------------------------------------------


def test_the_job_page_follows_the_job_with_a_script_not_reloads(app, tmp_path, monkeypatch):
    """A reload every 3 s throws keyboard focus to the top and restarts a screen reader: the page
    runs /static/job.js (same origin, allowed by the strict CSP) instead, names its progress bar,
    puts the stage in a polite live region and keeps a meta refresh only for browsers without
    scripts."""
    from kneeback.web.app import PAGE_CSP

    c, csrf = api_user(app, "quin")
    job = upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes()).json()
    page = c.get(f"/jobs/{job['id']}")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == PAGE_CSP
    assert "script-src 'self'" in PAGE_CSP and "unsafe-inline" not in PAGE_CSP
    html = page.text
    # the only refresh is inside <noscript>
    refreshes = re.findall(r"<meta http-equiv=\"refresh\"[^>]*>", html)
    assert refreshes == ['<meta http-equiv="refresh" content="3">'], refreshes
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    # a same-origin script file, nothing inline
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/job.js" defer>']
    assert re.search(r"\son[a-z]+=", html) is None
    script = c.get("/static/job.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert all(k in script.text for k in ("/api/jobs/", "fraction", "session_id", "/sessions/"))
    # what the script updates: the job's id, a named progress bar, a polite stage line, an alert
    assert f'id="job" data-job="{job["id"]}"' in html
    progress = re.search(r"<progress[^>]*>", html).group(0)
    assert 'aria-label="Progress of the analysis"' in progress and 'id="job-progress"' in progress
    live = re.search(r'<div aria-live="polite">(.*?)</div>', html, re.S)
    assert live and 'id="job-stage"' in live.group(1) and "Waiting for its turn." in live.group(1)
    assert re.search(r'<p class="error" role="alert" id="job-error"></p>', html)

    # a finished or failed job's page neither reloads nor runs the script
    def nobody(*args, **kwargs):
        raise NoPersonError("Nobody was detected: film the whole body.")

    monkeypatch.setattr("kneeback.pipeline.pose_video", nobody)
    assert app.state.web.worker.run_pending() == 1
    ended = c.get(f"/jobs/{job['id']}").text
    assert "refresh" not in ended and "<script" not in ended


def test_failed_job_says_why_in_plain_words(app, tmp_path, monkeypatch):
    def nobody(video, *args, **kwargs):  # names the file, as the real message does
        raise NoPersonError(f"Nobody was detected in {Path(video).name}: film the whole body.")

    monkeypatch.setattr("kneeback.pipeline.pose_video", nobody)
    c, csrf = api_user(app, "tia")
    job = upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes()).json()
    assert app.state.web.worker.run_pending() == 1
    failed = c.get(f"/api/jobs/{job['id']}").json()
    assert failed["state"] == "failed" and failed["stage_text"] == "Failed"
    # the upload's stored random name means nothing to the member
    assert failed["error"] == "Nobody was detected in your clip: film the whole body."
    page = c.get(f"/jobs/{job['id']}")
    assert "Nobody was detected in your clip" in page.text
    assert 'http-equiv="refresh"' not in page.text
    # The clip, of no more use (the member uploads again), does not stay on the server.
    assert list(app.state.web.settings.upload_dir.iterdir()) == []


def test_unexpected_job_error_is_not_leaked(app, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal path /srv/x")

    monkeypatch.setattr("kneeback.pipeline.pose_video", broken)
    c, csrf = api_user(app, "uma")
    job = upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes()).json()
    app.state.web.worker.run_pending()
    failed = c.get(f"/api/jobs/{job['id']}").json()
    assert failed["state"] == "failed"
    assert "/srv/x" not in failed["error"] and "try again" in failed["error"]


def test_unfinished_jobs_survive_a_restart(tmp_path, monkeypatch):
    import time

    from kneeback.web.jobs import claim_next_job

    settings = make_settings(tmp_path, job_lease_s=0.4, worker_poll_s=0.05)
    app = create_app(settings)
    c, csrf = api_user(app, "vic")
    job = upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes()).json()
    assert claim_next_job(app.state.web.db) == job["id"]  # a worker took it, then the server died
    assert c.get(f"/api/jobs/{job['id']}").json()["state"] == "running"
    app.state.web.db.close()

    ran = []

    def fake(path, **kwargs):
        ran.append(path)
        raise NoPersonError("Nobody was found in the video.")

    monkeypatch.setattr("kneeback.pipeline.pose_video", fake)
    restarted = create_app(settings.model_copy(update={"run_worker": True}))
    with TestClient(restarted) as c2:  # the lifespan starts the worker, which resumes the job
        c2.post("/api/login", json={"username": "vic", "password": PASSWORD})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            state = c2.get(f"/api/jobs/{job['id']}").json()["state"]
            if state in ("done", "failed"):
                break
            time.sleep(0.05)
    assert state == "failed" and len(ran) == 1


def test_a_running_job_with_a_fresh_heartbeat_is_left_to_its_worker(app, tmp_path):
    import datetime as dt

    from sqlalchemy import update

    from kneeback.web.jobs import claim_next_job, heartbeat, resume_unfinished
    from kneeback.web.models import Job

    c, csrf = api_user(app, "val")
    job = upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes()).json()
    db = app.state.web.db
    assert claim_next_job(db) == job["id"]
    assert claim_next_job(db) is None  # never claimed twice
    running = c.get(f"/api/jobs/{job['id']}").json()  # claimed, before its first stage
    assert running["state"] == "running" and running["stage_text"] == "Starting the analysis"
    assert "Starting the analysis." in c.get(f"/jobs/{job['id']}").text
    heartbeat(db, job["id"])
    assert resume_unfinished(db, stale_after_s=60) == 0  # another worker is on it
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=120)
    db.write(lambda s: s.execute(update(Job).values(heartbeat_at=old)))
    assert resume_unfinished(db, stale_after_s=60) == 1  # that worker stopped
    assert c.get(f"/api/jobs/{job['id']}").json()["state"] == "queued"
    assert claim_next_job(db) == job["id"]


def test_a_job_interrupted_too_often_fails(app, tmp_path, monkeypatch):
    from kneeback.web.jobs import MAX_ATTEMPTS, claim_next_job, resume_unfinished

    monkeypatch.setattr("kneeback.pipeline.pose_video", lambda *a, **k: pytest.fail("ran"))
    c, csrf = api_user(app, "wes")
    job = upload(c, csrf, tiny_video(tmp_path / "tiny.mp4").read_bytes()).json()
    db = app.state.web.db
    for _ in range(MAX_ATTEMPTS):
        assert claim_next_job(db) == job["id"]
        assert resume_unfinished(db, stale_after_s=-1) == 1
    assert app.state.web.worker.run_pending() == 1
    failed = c.get(f"/api/jobs/{job['id']}").json()
    assert failed["state"] == "failed" and "interrupted" in failed["error"]


# ---- a job that runs to a stored session, and who may see it -------------------------------------


@needs_uiprmd
def test_one_progress_bar_never_goes_back_over_the_stages():
    """done/total restart at each stage; fraction is the whole analysis and only grows."""
    import datetime as dt
    from types import SimpleNamespace

    from kneeback.web.jobs import job_view

    now = dt.datetime.now(dt.UTC)
    steps = [("queued", "", 0, 0), ("running", "", 0, 0)]
    steps += [("running", "pose", d, 540) for d in (0, 270, 540)]
    steps += [("running", "analysis", d, 1) for d in (0, 1)]
    steps += [("running", "video", d, 540) for d in (0, 540)]
    steps += [("running", "report", 1, 3), ("running", "store", 0, 1), ("done", "done", 1, 1)]
    fractions = []
    for state, stage, done, total in steps:
        job = SimpleNamespace(
            uid="u", state=state, stage=stage, done=done, total=total, movement="auto",
            error=None, session_id=None, created_at=now, updated_at=now,
        )  # fmt: skip
        fractions.append(job_view(job)["fraction"])  # type: ignore[arg-type]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions[4] == 0.6  # the pose model done: most of the time


def test_job_runs_to_a_stored_session_with_report(world):
    alice, sid = world["alice"], world["session"]
    sessions = alice.get("/api/sessions").json()
    assert [s["id"] for s in sessions] == [sid]
    # Dated when the clip was recorded (its metadata), not when it was uploaded.
    assert sessions[0]["recorded_at"].startswith("2025-03-02T09:30:00")
    detail = alice.get(f"/api/sessions/{sid}").json()
    assert detail["movement"] == "squat" and detail["reps"] == 2
    assert set(detail["files"]) == {"report.html", "annotated.mp4"}
    assert len(detail["result"]["reps"]) == 2
    page = alice.get(f"/sessions/{sid}")
    assert page.status_code == 200 and "annotated.mp4" in page.text and "2 reps" in page.text
    for rule in {f["id"] for f in detail["result"]["findings"]}:  # each finding links its rule
        assert f'href="/rules#{rule}"' in page.text
        assert f'<h2 id="{rule}">' in alice.get("/rules").text
    report = alice.get(f"/sessions/{sid}/report.html")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    csp = report.headers["content-security-policy"]
    assert "sandbox" in csp and "script-src" not in csp and "default-src 'none'" in csp
    # the served report leads back to its session (the file itself, as written, does not)
    back = f'<a href="/sessions/{sid}">Back to the session</a>'
    assert report.text.count(back) == 1
    assert report.text.index("<body") < report.text.index(back) < report.text.index("<header")
    settings = world["app"].state.web.settings
    stored = (settings.analysis_dir / world["job"] / "report.html").read_text(encoding="utf-8")
    assert back not in stored
    assert report.text.replace(f'<p style="margin:.5rem 1rem">{back}</p>', "") == stored
    video = alice.get(f"/sessions/{sid}/annotated.mp4")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    part = alice.get(f"/sessions/{sid}/annotated.mp4", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    # Personal: not kept in a shared computer's browser cache after logging out.
    assert report.headers["cache-control"] == video.headers["cache-control"] == "private, no-store"
    assert alice.get(f"/sessions/{sid}/pose.nc").status_code == 404
    assert alice.get(f"/sessions/{sid}/..%2F..%2Fkneeback.db").status_code == 404
    home = alice.get("/")
    assert f"/sessions/{sid}" in home.text and f"/jobs/{world['job']}" in home.text
    job_page = alice.get(f"/jobs/{world['job']}")
    assert f"/sessions/{sid}" in job_page.text


@needs_uiprmd
def test_session_page_says_why_there_are_no_reps_and_what_limited_the_clip(tmp_path):
    from kneeback.kinematics import compute_angles

    clip, ds = squat_clip(tmp_path, reps=2)
    app = create_app(make_settings(tmp_path))
    c, csrf = api_user(app, "walter")
    replay = replaying_pose_video(ds)

    def walking_among_others(*args, **kwargs):  # the squats while walking, others in view
        out = replay(*args, **kwargs)
        leg = float(compute_angles(out, source="2d").leg_length)
        t = out["time"]
        out["position"].loc[{"space": "x"}] = out["position"].sel(space="x") + 2.0 * leg * t
        out.attrs.update(max_people_in_frame=2, people_seen=3, subject_track=0)
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("kneeback.pipeline.pose_video", walking_among_others)
        job = upload(c, csrf, clip.read_bytes()).json()
        assert app.state.web.worker.run_pending() == 1
    done = c.get(f"/api/jobs/{job['id']}").json()
    assert done["state"] == "done", done
    page = c.get(f"/sessions/{done['session_id']}").text
    assert "0 reps" in page and "not assessed" in page
    assert "No whole repetition was found (the feet kept moving at the bottom" in page
    assert "About the clip" in page and "Up to 2 people were in view at once" in page
    assert "did not show enough to judge the movement" in page  # the verdict explained
    assert "Nothing was judged in this clip." in page and "Nothing to flag" not in page


@needs_uiprmd
@pytest.mark.parametrize(
    "path",
    [
        "/api/sessions/{sid}",
        "/api/jobs/{job}",
        "/sessions/{sid}",
        "/sessions/{sid}/report.html",
        "/sessions/{sid}/annotated.mp4",
        "/jobs/{job}",
        "/api/members/alice/history",
        "/api/members/alice/progress",
        "/api/members/alice/program",
        "/members/alice",
        "/members/alice/progress.html",
    ],
)
def test_another_member_or_coach_gets_404(world, path):
    url = path.format(sid=world["session"], job=world["job"])
    for who in ("bob", "dave"):
        r = world[who].get(url, follow_redirects=False)
        assert r.status_code == 404, (who, url)
        assert "annotated" not in r.text.replace("/annotated", "")
    assert world["carol"].get(url).status_code == 200  # alice's coach
    assert world["admin"].get(url).status_code == 200
    assert world["alice"].get(url).status_code == 200
    anon = world["anon"].get(url, follow_redirects=False)
    assert anon.status_code == (401 if url.startswith("/api/") else 303)


@needs_uiprmd
def test_lists_show_only_what_is_visible(world):
    sid, job = world["session"], world["job"]
    assert world["bob"].get("/api/sessions").json() == []
    assert world["bob"].get("/api/jobs").json() == []
    assert world["dave"].get("/api/sessions").json() == []
    assert [s["id"] for s in world["carol"].get("/api/sessions").json()] == [sid]
    assert [j["id"] for j in world["carol"].get("/api/jobs").json()] == [job]
    assert world["carol"].get("/api/sessions").json()[0]["owner"] == "alice"
    assert f"/sessions/{sid}" not in world["bob"].get("/").text
    assert f"/sessions/{sid}" in world["carol"].get("/").text


def test_unknown_ids_are_404(app):
    c, _ = api_user(app, "walt")
    assert c.get("/api/sessions/999").status_code == 404
    assert c.get("/api/jobs/nope").status_code == 404
    assert c.get("/sessions/999").status_code == 404
    assert c.get("/sessions/999/report.html").status_code == 404
    for bad in ("notanumber", "0", str(2**63), "9" * 30):  # names nothing: 404, not 422 or 500
        r = c.get(f"/api/sessions/{bad}")
        assert r.status_code == 404 and r.json() == {"detail": "Not found."}, (bad, r.text)
        r = c.get(f"/sessions/{bad}")
        assert r.status_code == 404 and "Not found" in r.text, bad


def test_artifacts_outside_the_analysis_folder_are_never_served(app, tmp_path):
    """A session stored by the command line (files anywhere) is not served by the web app."""
    from kneeback.report.result import AnalysisResult
    from kneeback.store import store_session
    from store_support import DATA, session_result

    if not DATA.is_dir():
        pytest.skip("../shared/data not present")
    c, _ = api_user(app, "xena")
    outside = tmp_path / "report.html"
    outside.write_text("<p>secret</p>")
    result = AnalysisResult.from_json(session_result(1, 1, (1, 2), True))
    sid = store_session(app.state.web.db, "xena", result, artifacts={"report_html": outside})
    assert c.get(f"/api/sessions/{sid}").status_code == 200
    assert c.get(f"/sessions/{sid}/report.html").status_code == 404


def test_logout_ends_the_session_on_the_server_and_sessions_expire(tmp_path):
    import datetime as dt

    from sqlalchemy import select, update

    from kneeback.web.models import LoginSession

    app = create_app(make_settings(tmp_path, session_max_age_s=600))
    c, csrf = api_user(app, "yan")
    stolen = c.cookies.get("kb_session")
    assert c.post("/api/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    replay = client(app)
    replay.cookies.set("kb_session", stolen)
    assert replay.get("/api/me").status_code == 401  # the old cookie is dead on the server too
    c2, _ = api_user(app, "zoe")
    assert c2.get("/api/me").status_code == 200
    db = app.state.web.db
    created, expires = db.read(
        lambda s: s.execute(select(LoginSession.created_at, LoginSession.expires_at)).one()
    )
    assert (expires - created).total_seconds() == pytest.approx(600, abs=1)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.write(lambda s: s.execute(update(LoginSession).values(expires_at=past)))
    assert c2.get("/api/me").status_code == 401  # expired on the server


@needs_uiprmd
@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("alice", "/api/sessions"),
        ("alice", "/api/sessions/{sid}"),
        ("alice", "/api/jobs/{job}"),
        ("bob", "/api/sessions/{sid}"),
        ("anon", "/api/me"),
        ("alice", "/sessions/{sid}"),
        ("alice", "/sessions/{sid}/annotated.mp4"),
        ("anon", "/sessions/{sid}"),
    ],
)
def test_security_headers_on_api_files_errors_and_redirects(world, who, path):
    r = world[who].get(path.format(sid=world["session"], job=world["job"]), follow_redirects=False)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "default-src" in r.headers["content-security-policy"]


@needs_uiprmd
def test_member_pages_show_program_progress_and_history(world):
    alice, carol = world["alice"], world["carol"]
    assert alice.get("/api/members").json() == ["alice"]
    assert carol.get("/api/members").json() == ["alice"]
    assert world["bob"].get("/api/members").json() == ["bob"]
    assert world["dave"].get("/api/members").json() == []
    assert world["admin"].get("/api/members").json() == ["alice", "bob"]
    history = alice.get("/api/members/alice/history").json()
    assert [s["id"] for s in history["sessions"]] == [world["session"]]
    assert "source_path" not in history["sessions"][0] and "artifacts" not in history["sessions"][0]
    program = alice.get("/api/members/alice/program").json()
    assert program["tracks"] and all(t["plan"] for t in program["tracks"])
    progress = carol.get("/api/members/alice/progress").json()
    assert progress["name"] == "alice" and "trends" in progress
    page = alice.get("/members/alice")
    assert page.status_code == 200 and "This week" in page.text
    assert f"/sessions/{world['session']}" in page.text
    # targets and trends in people's words, never the metrics' code names
    targets = [c["text"] for t in program["tracks"] for c in t["targets"]]
    assert targets and all(text in page.text for text in targets)
    assert "Time down at least 1 s" in page.text
    shown = re.sub(r"<[^>]+>", " ", page.text.split("<h1>")[1].split("<h2>Sessions</h2>")[0])
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", shown), shown
    assert "/members/alice" in carol.get("/").text  # the coach's list of members
    charts = carol.get("/members/alice/progress.html")
    assert "sandbox" in charts.headers["content-security-policy"]
    assert "<a href='/members/alice'>Back to the program</a>" in charts.text
    # coaches and admins are not members: nobody reads them as one
    assert world["admin"].get("/api/members/carol/history").status_code == 404
    assert alice.get("/api/members/nobody/program").status_code == 404
