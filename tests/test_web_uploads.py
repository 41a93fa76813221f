"""The streaming multipart receiver and the content check of uploads, without the app."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

pytest.importorskip("python_multipart")

from kneeback.web.uploads import (
    BadUploadError,
    UnsupportedMediaError,
    UploadTooLargeError,
    check_video,
    receive_upload,
    size_text,
)

BOUNDARY = "XyZzy0123"


def form(*parts: tuple[str, bytes, str | None]) -> bytes:
    """A multipart body of (name, content, filename or None) parts."""
    out = b""
    for name, content, filename in parts:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disp}\r\n".encode()
        if filename:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def receive(body: bytes, tmp_path: Path, *, chunk: int = 7, max_bytes: int = 10_000, **kw):
    async def chunks():
        for i in range(0, len(body), chunk):
            yield body[i : i + chunk]

    return asyncio.run(
        receive_upload(
            f"multipart/form-data; boundary={BOUNDARY}",
            chunks(),
            upload_dir=tmp_path / "up",
            max_bytes=max_bytes,
            **kw,
        )
    )


def test_fields_and_file_arrive_in_small_chunks(tmp_path):
    data = bytes(range(256)) * 10 + b"\r\n--not-the-boundary\r\n"
    got = receive(
        form(
            ("csrf_token", b"abc", None), ("file", data, "../x.mp4"), ("movement", b"squat", None)
        ),
        tmp_path,
    )
    assert got.path.read_bytes() == data and got.size == len(data)
    assert got.fields == {"csrf_token": "abc", "movement": "squat"}
    assert got.path.parent == tmp_path / "up" and len(got.path.name) == 32
    assert [p.name for p in (tmp_path / "up").iterdir()] == [got.path.name]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_the_sha256_of_the_file_is_counted_as_it_arrives(tmp_path, chunk):
    data = bytes(range(256)) * 3 + b"\r\n--not-the-boundary\r\n"
    body = form(("movement", b"squat", None), ("file", data, "x.mp4"), ("note", b"zz", None))
    got = receive(body, tmp_path / str(chunk), chunk=chunk)
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert receive(form(("file", b"", "e.mp4")), tmp_path).sha256 == hashlib.sha256().hexdigest()


def test_before_file_sees_the_fields_sent_before_the_file_and_can_refuse(tmp_path):
    seen = []

    class RefusedError(Exception):
        pass

    def check(fields):
        seen.append(fields)
        raise RefusedError()

    with pytest.raises(RefusedError):
        receive(
            form(("csrf_token", b"t", None), ("file", b"v" * 100, "a.mp4")),
            tmp_path,
            before_file=check,
        )
    assert seen == [{"csrf_token": "t"}]
    assert list((tmp_path / "up").iterdir()) == []


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (form(("file", b"v" * 20_001, "a.mp4")), UploadTooLargeError, "larger than 10 kB"),
        (form(("movement", b"squat", None)), BadUploadError, "holds no clip"),
        (form(("file", b"v", "a.mp4"), ("file", b"w", "b.mp4")), BadUploadError, "one clip"),
        (
            form(("movement", b"x" * 5000, None), ("file", b"v", "a.mp4")),
            BadUploadError,
            "too long",
        ),
        (form(("file", b"v" * 50, "a.mp4"))[:-30], BadUploadError, "ended before"),
        (b"garbage without boundaries", BadUploadError, "well-formed|no clip"),
    ],
)
def test_bad_bodies_leave_nothing_behind(tmp_path, body, error, message):
    with pytest.raises(error, match=message):
        receive(body, tmp_path)
    assert list((tmp_path / "up").iterdir()) == []


def test_not_multipart_is_refused(tmp_path):
    async def empty():
        yield b""

    with pytest.raises(BadUploadError, match="multipart"):
        asyncio.run(receive_upload("application/json", empty(), upload_dir=tmp_path, max_bytes=1))


def test_check_video_accepts_a_clip_and_refuses_other_files(tmp_path):
    from videogen import make_video

    clip = make_video(tmp_path / "ok.mp4", n_frames=5, fps=30, width=32, height=32)
    check_video(clip.rename(tmp_path / "no-suffix"))  # the name plays no part
    (tmp_path / "text.mp4").write_text("hello " * 100)
    with pytest.raises(UnsupportedMediaError, match="not a video kneeback can read"):
        check_video(tmp_path / "text.mp4")
    one = make_video(tmp_path / "one.mp4", n_frames=1, fps=30, width=32, height=32)
    with pytest.raises(UnsupportedMediaError, match="single picture"):
        check_video(one)


def test_size_text():
    assert size_text(200 * 1024 * 1024) == "200 MB"
    assert size_text(2000) == "2 kB"
    assert size_text(10) == "1 kB"
