"""Podcast episodes through FastAPI's TestClient: the audio check by content, admins' uploads
(streamed, size-limited, CSRF-checked), who may do what, the served files (Range requests), the
public episode page and the RSS feed (parsed with ElementTree: RSS 2.0, iTunes tags, drafts left
out, enclosures that download exactly the uploaded bytes). Audio is a sine tone made with PyAV;
articles are rows written with the ORM.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("python_multipart")
pytest.importorskip("av")

import av
import numpy as np
from sqlalchemy import func, select

from kneeback.web import create_app
from kneeback.web.accounts import Account
from kneeback.web.app import CSRF_HEADER
from kneeback.web.models import Article, Episode
from kneeback.web.podcast import (
    NoSuchArticleError,
    NotAllowedError,
    NotAudioError,
    attach_episode,
    check_audio,
    format_duration,
    is_audio_name,
)
from kneeback.web.podcast_feed import ITUNES_NS
from test_web import api_user, client, make_settings

IT = f"{{{ITUNES_NS}}}"
ATOM = "{http://www.w3.org/2005/Atom}"
MP3_ENCODER = next((c for c in ("libmp3lame", "mp3") if c in av.codecs_available), None)


# ---- audio made for the tests --------------------------------------------------------------------


def tone(path: Path, *, seconds: float = 2.0, freq_hz: float = 440.0, codec: str = "auto") -> Path:
    """Write a sine tone; ``auto`` is MP3 when PyAV's FFmpeg can encode it, else AAC in .m4a."""
    if codec == "auto":
        codec = MP3_ENCODER or "aac"
    fmt, suffix, rate = {
        "libmp3lame": ("mp3", ".mp3", 44100),
        "mp3": ("mp3", ".mp3", 44100),
        "aac": ("ipod", ".m4a", 44100),
        "pcm_s16le": ("wav", ".wav", 44100),
        "libopus": ("ogg", ".ogg", 48000),
    }[codec]
    path = path.with_suffix(suffix)
    n = round(rate * seconds)
    wave = (0.3 * np.sin(2 * np.pi * freq_hz * np.arange(n) / rate)).astype(np.float32)
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        for i in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(
                wave[None, i : i + 1024], format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = rate, i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def video_with_sound(path: Path) -> Path:
    """An MP4 with a video stream and an AAC sound track."""
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        sound = container.add_stream("aac", rate=44100)
        sound.layout = "mono"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 20, np.uint8), "rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        for i in range(0, 44100, 1024):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 44100, i
            for packet in sound.encode(frame):
                container.mux(packet)
        for packet in sound.encode(None):
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> bytes:
    """Two seconds of 440 Hz, as MP3 (or AAC/M4A without an MP3 encoder)."""
    return tone(tmp_path_factory.mktemp("audio") / "a").read_bytes()


@pytest.fixture(scope="module")
def other_audio(tmp_path_factory) -> bytes:
    """Three seconds of 660 Hz as WAV: a different file of another type."""
    root = tmp_path_factory.mktemp("audio")
    return tone(root / "b", seconds=3.0, freq_hz=660.0, codec="pcm_s16le").read_bytes()


# ---- the app, its articles and uploads -----------------------------------------------------------


@pytest.fixture
def app(tmp_path):
    return create_app(make_settings(tmp_path))


@pytest.fixture
def admin(app):
    return api_user(app, "root", role="admin")


def add_article(
    app, slug: str, issue: int, *, days_ago: int = 1, title: str | None = None, summary: str = ""
) -> None:
    """Store an article dated ``days_ago`` days before today (negative: a draft)."""

    def work(s):
        s.add(
            Article(
                issue=issue,
                slug=slug,
                title=title or f"Issue {issue}",
                summary=summary or f"What issue {issue} is about.",
                body_md="Text.",
                published_on=dt.date.today() - dt.timedelta(days=days_ago),
            )
        )

    app.state.web.db.write(work)


def post_episode(c, csrf, slug: str, data: bytes, *, title: str = "An episode", name="ep.mp3"):
    return c.post(
        f"/api/articles/{slug}/episode",
        data={"title": title},
        files={"audio": (name, data, "audio/mpeg")},
        headers={CSRF_HEADER: csrf} if csrf else {},
    )


def podcast_files(app) -> list[Path]:
    folder = app.state.web.settings.data_dir / "podcast"
    return sorted(folder.iterdir()) if folder.exists() else []


def episode_rows(app) -> int:
    return app.state.web.db.read(lambda s: s.scalar(select(func.count()).select_from(Episode)))


def form_token(c, path: str) -> str:
    r = c.get(path)
    assert r.status_code == 200, r.text
    m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert m, f"no CSRF token in {path}"
    return m.group(1)


def feed(c) -> ET.Element:
    r = c.get("/podcast.xml")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/rss+xml; charset=utf-8"
    return ET.fromstring(r.content)


# ---- the audio check -----------------------------------------------------------------------------


def test_check_audio_reads_type_and_duration_from_content(tmp_path):
    cases = [("aac", "audio/x-m4a"), ("pcm_s16le", "audio/wav")]
    cases += [(c, "audio/mpeg") for c in [MP3_ENCODER] if c]
    cases += [("libopus", "audio/ogg")] if "libopus" in av.codecs_available else []
    for codec, mime in cases:
        made = tone(tmp_path / codec, seconds=2.0, codec=codec)
        renamed = made.rename(tmp_path / f"{codec}.bin")  # the name says nothing
        got_mime, duration_s = check_audio(renamed)
        assert got_mime == mime, codec
        assert duration_s == pytest.approx(2.0, abs=0.1), codec


def test_check_audio_refuses_text_video_and_empty_files(tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("ID3 this is not sound\n" * 100)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for path in (text, empty):
        with pytest.raises(NotAudioError, match="not an audio file"):
            check_audio(path)
    with pytest.raises(NotAudioError, match="video file"):
        check_audio(video_with_sound(tmp_path / "clip.mp4"))


@pytest.mark.skipif(MP3_ENCODER is None, reason="no MP3 encoder in PyAV's FFmpeg")
def test_check_audio_accepts_an_mp3_with_a_cover_picture(tmp_path):
    from kneeback.web.podcast_feed import cover_png

    path = tmp_path / "with_cover.mp3"
    with av.open(str(path), "w", format="mp3") as container:
        sound = container.add_stream(MP3_ENCODER, rate=44100)
        sound.layout = "mono"
        picture = container.add_stream("png")
        picture.width = picture.height = 1400
        picture.pix_fmt = "rgb24"
        picture.disposition = av.stream.Disposition.attached_pic
        packet = av.Packet(cover_png())
        packet.stream = picture
        container.mux(packet)
        for i in range(0, 44100, 1152):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1152), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 44100, i
            for p in sound.encode(frame):
                container.mux(p)
        for p in sound.encode(None):
            container.mux(p)
    assert check_audio(path)[0] == "audio/mpeg"


def test_durations_and_stored_names():
    assert format_duration(2.04) == "00:00:02"
    assert format_duration(3661) == "01:01:01"
    assert format_duration(-1) == "00:00:00"
    assert is_audio_name("0123456789abcdef0123456789abcdef.mp3")
    for bad in (
        "../0123456789abcdef0123456789abcdef.mp3",
        "0123456789abcdef0123456789abcdef",
        "0123456789ABCDEF0123456789abcdef.mp3",
        "0123456789abcdef0123456789abcdef.mp3/x",
        "secret_key",
    ):
        assert not is_audio_name(bad), bad


def test_attach_episode_takes_the_upload_over_and_deletes_it_when_refused(app, tmp_path, audio):
    add_article(app, "sitting", 1)
    db = app.state.web.db
    folder = tmp_path / "pod"
    member = Account(id=99, username="m", role="member", person_id=None)
    admin = Account(id=98, username="a", role="admin", person_id=None)
    for account, slug, error in (
        (member, "sitting", NotAllowedError),
        (admin, "nowhere", NoSuchArticleError),
    ):
        upload = tmp_path / "upload"
        upload.write_bytes(audio)
        with pytest.raises(error):
            attach_episode(db, account, slug, upload, "t", folder=folder)
        assert not upload.exists()
    upload.write_bytes(audio)
    info = attach_episode(db, admin, "sitting", upload, "  ", folder=folder)
    assert info.title == "Issue 1"  # a blank title is the article's
    assert not upload.exists() and (folder / info.audio_name).read_bytes() == audio


# ---- uploads and serving -------------------------------------------------------------------------


def test_admin_uploads_an_episode_and_its_file_is_served_with_ranges(app, admin, audio):
    add_article(app, "sitting-well", 7)
    c, csrf = admin
    r = post_episode(c, csrf, "sitting-well", audio, title="Sitting well", name="../../x.mp3")
    assert r.status_code == 201, r.text
    ep = r.json()
    assert ep["title"] == "Sitting well" and ep["issue"] == 7
    assert ep["audio_bytes"] == len(audio) and ep["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert ep["audio_type"] in ("audio/mpeg", "audio/x-m4a")
    (stored,) = podcast_files(app)
    assert stored.name == ep["audio_url"].rsplit("/", 1)[1]  # a random name, not the client's
    assert re.fullmatch(r"[0-9a-f]{32}\.(mp3|m4a)", stored.name)
    assert stored.read_bytes() == audio

    anon = client(app)
    whole = anon.get(ep["audio_url"])
    assert whole.status_code == 200 and whole.content == audio
    assert whole.headers["content-type"] == ep["audio_type"]
    assert whole.headers["accept-ranges"] == "bytes"
    part = anon.get(ep["audio_url"], headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.content == audio[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(audio)}"
    tail = anon.get(ep["audio_url"], headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == audio[-10:]
    head = anon.head(ep["audio_url"])
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(audio)

    assert anon.get("/api/podcast/episodes").json() == [ep]
    assert anon.get("/api/articles/sitting-well/episode").json() == ep


def test_replacing_an_episode_keeps_its_guid_and_removes_the_old_file(
    app, admin, audio, other_audio
):
    add_article(app, "breathing", 3)
    c, csrf = admin
    first = post_episode(c, csrf, "breathing", audio).json()
    (old_file,) = podcast_files(app)
    second = post_episode(c, csrf, "breathing", other_audio, title="Breathing, again", name="b.wav")
    assert second.status_code == 201, second.text
    second = second.json()
    assert second["guid"] == first["guid"]
    assert second["audio_url"] != first["audio_url"]
    assert second["audio_type"] == "audio/wav" and second["audio_bytes"] == len(other_audio)
    assert not old_file.exists()
    (new_file,) = podcast_files(app)
    assert new_file.suffix == ".wav" and new_file.read_bytes() == other_audio
    assert episode_rows(app) == 1
    assert client(app).get(first["audio_url"]).status_code == 404


def test_a_text_file_named_mp3_is_refused_and_nothing_is_stored(app, admin):
    add_article(app, "posture", 2)
    c, csrf = admin
    r = post_episode(c, csrf, "posture", b"just some words\n" * 500, name="episode.mp3")
    assert r.status_code == 415
    assert "not an audio file" in r.json()["detail"]
    assert podcast_files(app) == [] and episode_rows(app) == 0
    # the form shows why, on the form again
    token = form_token(c, "/admin/articles/posture/episode")
    r = c.post(
        "/admin/articles/posture/episode",
        data={"csrf_token": token, "title": "Posture"},
        files={"audio": ("episode.mp3", b"just some words\n" * 500, "audio/mpeg")},
    )
    assert r.status_code == 415
    assert "not an audio file" in r.text and 'name="audio"' in r.text
    assert re.search(r'<p class="error" role="alert">[^<]*not an audio file', r.text)
    assert podcast_files(app) == [] and episode_rows(app) == 0


def test_a_video_is_refused(app, admin, tmp_path):
    add_article(app, "lifting", 4)
    c, csrf = admin
    clip = video_with_sound(tmp_path / "clip.mp4").read_bytes()
    r = post_episode(c, csrf, "lifting", clip, name="clip.m4a")
    assert r.status_code == 415 and "video file" in r.json()["detail"]
    assert podcast_files(app) == []


def test_too_large_an_upload_is_refused_and_nothing_is_left_on_disk(tmp_path, audio):
    app = create_app(make_settings(tmp_path, max_audio_bytes=4096))
    add_article(app, "walking", 5)
    c, csrf = api_user(app, "root", role="admin")
    assert len(audio) > 4096
    r = post_episode(c, csrf, "walking", audio)  # refused while it streams in
    assert r.status_code == 413
    assert r.json()["detail"] == "The audio file is larger than 4 kB."
    r = post_episode(c, csrf, "walking", b"\0" * 200_000)  # refused from its Content-Length
    assert r.status_code == 413
    token = form_token(c, "/admin/articles/walking/episode")
    r = c.post(
        "/admin/articles/walking/episode",
        data={"csrf_token": token, "title": "Walking"},
        files={"audio": ("walk.mp3", audio, "audio/mpeg")},
    )
    assert r.status_code == 413 and "larger than 4 kB" in r.text
    assert podcast_files(app) == [] and episode_rows(app) == 0


def test_the_episode_form_uploads_for_an_admin(app, admin, audio):
    add_article(app, "hinge", 6, title="The hip hinge")
    c, _ = admin
    page = c.get("/admin/articles/hinge/episode")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'name="audio"' in page.text
    assert 'value="The hip hinge"' in page.text  # the title defaults to the article's
    token = form_token(c, "/admin/articles/hinge/episode")
    r = c.post(
        "/admin/articles/hinge/episode",
        data={"csrf_token": token, "title": "Hinge & hold"},
        files={"audio": ("hinge.mp3", audio, "audio/mpeg")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/articles/hinge/episode?saved=true"
    page = c.get(r.headers["location"])
    assert "The episode is saved." in page.text
    assert "Hinge &amp; hold" in page.text and '<audio controls preload="none"' in page.text
    assert "Replace the audio" in page.text
    (stored,) = podcast_files(app)
    assert stored.read_bytes() == audio


def test_the_episode_title_changes_without_uploading_the_audio_again(app, admin, audio):
    add_article(app, "brace", 7, title="Brace & breathe")
    c, csrf = admin
    ep = post_episode(c, csrf, "brace", audio, title="Brase and breathe").json()
    (stored,) = podcast_files(app)
    path = "/admin/articles/brace/episode/title"
    page = c.get("/admin/articles/brace/episode").text
    assert f'action="{path}"' in page  # the form offers it
    token = form_token(c, "/admin/articles/brace/episode")
    r = c.post(path, data={"csrf_token": token, "title": "Brace <and> breathe"})
    assert r.status_code == 200 and "The episode is saved." in r.text
    item = feed(client(app)).find("channel/item")
    assert item.findtext("title") == "Brace <and> breathe"
    assert item.findtext("guid") == ep["guid"]  # the same episode for podcast apps
    assert item.find("enclosure").get("url") == f"http://testserver{ep['audio_url']}"
    assert podcast_files(app) == [stored] and stored.read_bytes() == audio
    # blank: the article's title; too long: the form again with why
    c.post(path, data={"csrf_token": token, "title": " "})
    assert client(app).get("/api/articles/brace/episode").json()["title"] == "Brace & breathe"
    r = c.post(path, data={"csrf_token": token, "title": "x" * 300})
    assert r.status_code == 400 and "longer than 200 characters" in r.text
    # only admins, with the form's token, and only an episode that exists
    assert c.post(path, data={"csrf_token": "wrong", "title": "No"}).status_code == 403
    member, _ = api_user(app, "a_member")
    r = member.post(path, data={"csrf_token": form_token(member, "/podcast"), "title": "No"})
    assert r.status_code == 403
    add_article(app, "silent", 17)
    r = c.post("/admin/articles/silent/episode/title", data={"csrf_token": token, "title": "x"})
    assert r.status_code == 404
    assert client(app).get("/api/articles/brace/episode").json()["title"] == "Brace & breathe"


def test_the_episode_form_warns_that_apple_podcasts_does_not_take_wav(
    app, admin, audio, other_audio
):
    add_article(app, "wav", 18)
    c, csrf = admin
    warning = "Apple Podcasts does not take Ogg or WAV episodes"
    assert post_episode(c, csrf, "wav", other_audio, name="b.wav").status_code == 201
    assert warning in c.get("/admin/articles/wav/episode").text
    assert post_episode(c, csrf, "wav", audio).status_code == 201  # MP3 (or M4A)
    assert warning not in c.get("/admin/articles/wav/episode").text


def test_who_may_upload_episodes(app, admin, audio):
    add_article(app, "squat", 8)
    path = "/admin/articles/squat/episode"
    files = {"audio": ("a.mp3", audio, "audio/mpeg")}
    # a visitor goes to the login page, or gets 401 from the API
    anon = client(app)
    for r in (
        anon.get(path, follow_redirects=False),
        anon.post(path, files=files, follow_redirects=False),
    ):
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login?next=")
    assert post_episode(anon, None, "squat", audio).status_code == 401
    # members and coaches may not
    for role in ("member", "coach"):
        c, csrf = api_user(app, f"a_{role}", role=role)
        assert c.get(path).status_code == 403, role
        token = form_token(c, "/podcast")
        r = c.post(path, data={"csrf_token": token}, files=files)
        assert r.status_code == 403, role
        assert post_episode(c, csrf, "squat", audio).status_code == 403, role
    # an admin: unknown articles are 404; the API wants the CSRF header, the form its token
    c, csrf = admin
    assert c.get("/admin/articles/nowhere/episode").status_code == 404
    token = form_token(c, path)
    assert (
        c.post(
            "/admin/articles/nowhere/episode", data={"csrf_token": token}, files=files
        ).status_code
        == 404
    )
    assert post_episode(c, csrf, "nowhere", audio).status_code == 404
    assert post_episode(c, None, "squat", audio).status_code == 403
    assert post_episode(c, "wrong", "squat", audio).status_code == 403
    r = c.post(path, data={"csrf_token": "wrong"}, files=files)
    assert r.status_code == 403
    assert podcast_files(app) == [] and episode_rows(app) == 0


def test_audio_names_are_checked_and_drafts_stay_private(app, admin, audio):
    add_article(app, "soon", 9, days_ago=-7)  # a draft
    c, csrf = admin
    ep = post_episode(c, csrf, "soon", audio).json()
    anon = client(app)
    assert anon.get(ep["audio_url"]).status_code == 404
    assert c.get(ep["audio_url"]).content == audio  # admins hear drafts
    assert anon.get("/api/articles/soon/episode").status_code == 404
    assert c.get("/api/articles/soon/episode").status_code == 200
    assert anon.get("/api/podcast/episodes").json() == []
    stray = app.state.web.settings.data_dir / "podcast" / ("ab" * 16 + ".mp3")
    stray.write_bytes(audio)  # a file with a valid name but no episode
    for name in (
        stray.name,
        "..%2Fkneeback.db",
        "..%2F..%2Fkneeback.db",
        "%2E%2E%2Fsecret_key",
        "x.mp3",
        ep["audio_url"].rsplit("/", 1)[1].removesuffix(".mp3").removesuffix(".m4a"),
    ):
        assert c.get(f"/podcast/audio/{name}").status_code == 404, name
    assert c.get("/podcast/audio/../../kneeback.db").status_code == 404


# ---- the feed and the page -----------------------------------------------------------------------


def test_the_feed_lists_published_episodes_with_itunes_tags(app, admin, audio, other_audio):
    add_article(app, "older", 10, days_ago=14, summary="Why sitting hurts.")
    add_article(app, "newer", 11, days_ago=7, summary="How to stand up.")
    add_article(app, "today", 12, days_ago=0, summary="No episode for this one.")
    add_article(app, "draft", 13, days_ago=-7, summary="Not out yet.")
    c, csrf = admin
    sent = {
        "older": post_episode(c, csrf, "older", audio, title="Sitting").json(),
        "newer": post_episode(c, csrf, "newer", other_audio, title="Standing").json(),
        "draft": post_episode(c, csrf, "draft", audio, title="Secret").json(),
    }
    anon = client(app)
    rss = feed(anon)
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    channel = rss.find("channel")
    assert channel.findtext("title") == "kneeback weekly"
    assert channel.findtext("link") == "http://testserver/podcast"
    assert channel.findtext("description") and channel.findtext("language") == "en"
    parsedate_to_datetime(channel.findtext("lastBuildDate"))
    self_link = channel.find(f"{ATOM}link")
    assert self_link.get("rel") == "self"
    assert self_link.get("href") == "http://testserver/podcast.xml"
    assert channel.findtext(f"{IT}author") and channel.findtext(f"{IT}summary")
    assert channel.find(f"{IT}category").get("text") == "Health & Fitness"
    assert channel.findtext(f"{IT}explicit") == "false"
    assert channel.find(f"{IT}owner") is None  # no address given: no owner without an email
    cover_url = channel.find(f"{IT}image").get("href")
    assert cover_url == "http://testserver/podcast/cover.png"
    cover = anon.get(cover_url)
    assert cover.status_code == 200 and cover.headers["content-type"] == "image/png"
    with av.open(io.BytesIO(cover.content)) as container:
        picture = next(container.decode(video=0))
    assert (picture.width, picture.height) == (1400, 1400)

    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["Standing", "Sitting"]  # newest first
    for item, slug, issue, days_ago, summary in (
        (items[0], "newer", 11, 7, "How to stand up."),
        (items[1], "older", 10, 14, "Why sitting hurts."),
    ):
        ep = sent[slug]
        assert item.findtext("link") == f"http://testserver/articles/{slug}"
        guid = item.find("guid")
        assert guid.text == ep["guid"] and guid.get("isPermaLink") == "false"
        published = parsedate_to_datetime(item.findtext("pubDate"))
        assert published.date() == dt.date.today() - dt.timedelta(days=days_ago)
        assert item.findtext("description") == summary
        enclosure = item.find("enclosure")
        assert enclosure.get("type") == ep["audio_type"]
        stored = app.state.web.settings.data_dir / "podcast" / ep["audio_url"].rsplit("/", 1)[1]
        assert int(enclosure.get("length")) == stored.stat().st_size
        download = anon.get(enclosure.get("url"))
        assert download.status_code == 200
        assert download.content == stored.read_bytes()
        assert len(download.content) == int(enclosure.get("length"))
        assert item.findtext(f"{IT}episode") == str(issue)
    assert items[0].findtext(f"{IT}duration") == "00:00:03"
    assert items[1].findtext(f"{IT}duration") == "00:00:02"
    assert b"Secret" not in anon.get("/podcast.xml").content


def test_the_feed_answers_a_poll_of_an_unchanged_feed_with_304(app, admin, audio):
    add_article(app, "first", 1, days_ago=3, summary="One.")
    anon = client(app)
    first = anon.get("/podcast.xml")
    etag = first.headers["etag"]
    same = anon.get("/podcast.xml", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag
    assert anon.get("/podcast.xml", headers={"If-None-Match": '"other"'}).status_code == 200
    c, csrf = admin
    post_episode(c, csrf, "first", audio, title="New")  # the feed changes
    changed = anon.get("/podcast.xml", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert b"New" in changed.content


def test_an_episode_is_dated_by_the_servers_own_day_not_ahead_of_it(app, admin, audio, monkeypatch):
    """East of UTC, midnight UTC of the publication day lies hours in the future."""
    import time

    monkeypatch.setenv("TZ", "EAST-14")  # POSIX: 14 hours ahead of UTC, no zone files needed
    time.tzset()
    try:
        add_article(app, "today", 12, days_ago=0, summary="Out today.")
        c, csrf = admin
        post_episode(c, csrf, "today", audio, title="Today")
        item = feed(client(app)).find("channel").find("item")
        published = parsedate_to_datetime(item.findtext("pubDate"))
        assert published.utcoffset() == dt.timedelta(hours=14)
        assert published <= dt.datetime.now(dt.UTC)
        assert published.astimezone().date() == dt.date.today()
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_feed_escapes_titles_and_summaries(app, admin, audio):
    add_article(app, "amp", 20, summary="Knees < toes & other myths")
    c, csrf = admin
    title = "Sit & stand <better> </title><script>x</script>"
    assert post_episode(c, csrf, "amp", audio, title=title).status_code == 201
    raw = client(app).get("/podcast.xml").content
    assert b"<script>" not in raw and b"Sit &amp; stand &lt;better&gt;" in raw
    item = ET.fromstring(raw).find("channel/item")
    assert item.findtext("title") == title
    assert item.findtext("description") == "Knees < toes & other myths"
    page = client(app).get("/podcast").text
    assert "Sit &amp; stand &lt;better&gt;" in page and "<script>x" not in page


def test_an_article_without_a_summary_still_gives_its_episode_notes(app, admin, audio):
    def work(s):
        s.add(
            Article(
                issue=21,
                slug="bare",
                title="Hinge & brace",
                summary="",
                body_md="Text.",
                published_on=dt.date.today() - dt.timedelta(days=1),
            )
        )

    app.state.web.db.write(work)
    c, csrf = admin
    assert post_episode(c, csrf, "bare", audio).status_code == 201
    item = feed(client(app)).find("channel/item")
    for tag in ("description", f"{IT}summary"):  # podcast apps show these as the notes
        notes = item.findtext(tag)
        assert notes and "Hinge & brace" in notes and "http://testserver/articles/bare" in notes


def test_the_feed_uses_the_public_url_and_owner_email_when_set(tmp_path, audio):
    app = create_app(
        make_settings(
            tmp_path, public_url="https://kneeback.example/", podcast_email="pod@kneeback.example"
        )
    )
    add_article(app, "here", 30)
    c, csrf = api_user(app, "root", role="admin")
    post_episode(c, csrf, "here", audio)
    channel = feed(client(app)).find("channel")
    assert channel.findtext("link") == "https://kneeback.example/podcast"
    url = channel.find("item/enclosure").get("url")
    assert url.startswith("https://kneeback.example/podcast/audio/")
    assert channel.findtext(f"{IT}owner/{IT}email") == "pod@kneeback.example"
    assert channel.findtext(f"{IT}owner/{IT}name")


def test_an_empty_feed_is_still_a_valid_feed(app):
    channel = feed(client(app)).find("channel")
    assert channel.findall("item") == [] and channel.findtext("title")
    assert channel.find(f"{IT}owner/{IT}email") is None  # no address configured


def test_the_podcast_page_has_players_and_links(app, admin, audio):
    add_article(app, "listen", 40, title="Listen to your back", summary="A short one.")
    add_article(app, "later", 41, days_ago=-3)
    c, csrf = admin
    ep = post_episode(c, csrf, "listen", audio, title="Episode forty").json()
    post_episode(c, csrf, "later", audio, title="Not yet")
    r = client(app).get("/podcast")
    assert r.status_code == 200
    html = r.text
    assert f'<audio controls preload="none" src="{ep["audio_url"]}">' in html
    assert "Episode forty" in html and "Not yet" not in html
    assert 'href="/articles/listen"' in html and 'href="/podcast.xml"' in html
    assert 'type="application/rss+xml"' in html
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_openapi_lists_the_podcast_api_and_not_its_pages(app):
    paths = client(app).get("/openapi.json").json()["paths"]
    assert {"/api/podcast/episodes", "/api/articles/{slug}/episode"} <= set(paths)
    assert (
        "multipart/form-data"
        in paths["/api/articles/{slug}/episode"]["post"]["requestBody"]["content"]
    )
    assert not any(p.startswith("/podcast") or p.startswith("/admin") for p in paths)
