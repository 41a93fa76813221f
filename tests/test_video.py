"""Tests for kneeback.io.video, on clips made with PyAV (tests/videogen.py) and on real clips."""

from __future__ import annotations

import datetime as dt
import gc
import re
import threading
import time
import warnings
import weakref
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from kneeback.errors import InputError
from kneeback.io import video as video_mod
from kneeback.io.recorded import recorded_at
from kneeback.io.video import (
    QUEUE_SIZE,
    Frame,
    VideoInfo,
    VideoReadWarning,
    iter_frames,
    probe_video,
)
from videogen import make_audio_only, make_video, read_tag

VIDEOS = Path(__file__).parents[2] / "shared" / "data" / "videos"
THREAD_NAME = "kneeback-video-reader"


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()]


def wait_for_no_reader(timeout_s: float = 3.0) -> list[threading.Thread]:
    deadline = time.monotonic() + timeout_s
    while reader_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    return reader_threads()


def assert_upright(image: np.ndarray) -> None:
    """The synthetic pattern: red block top-left, blue bar along the bottom."""
    h, w = image.shape[:2]
    top_left = image[: h // 8, : w // 8].reshape(-1, 3).mean(axis=0)
    top_right = image[: h // 8, -(w // 8) :].reshape(-1, 3).mean(axis=0)
    bottom = image[-(h // 16) :, w // 4 : -(w // 4)].reshape(-1, 3).mean(axis=0)
    assert top_left[0] > 180 and top_left[2] < 80, f"no red block top-left: {top_left}"
    assert top_right[0] < 80, f"red block also top-right (mirrored?): {top_right}"
    assert bottom[2] > 180 and bottom[0] < 80, f"no blue bar at the bottom: {bottom}"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small clips shared by several tests: 30 frames at 30 fps, keyframe every 10 frames."""
    d = tmp_path_factory.mktemp("clips")
    return {
        "h264": make_video(d / "h264.mp4", codec="libx264", gop=10),
        "vp9": make_video(d / "vp9.webm", codec="libvpx-vp9", gop=10),
        "mpeg4": make_video(d / "mpeg4.mp4", codec="mpeg4", gop=10),
        "long": make_video(d / "long.mp4", n_frames=150, width=320, height=240, gop=30),
    }


# ------------------------------------------------------------------------------------------------
# Codecs, timestamps, orientation


@pytest.mark.parametrize(
    ("key", "codec", "frame_count"),
    [("h264", "h264", 30), ("vp9", "vp9", None), ("mpeg4", "mpeg4", 30)],
)
def test_probe_synthetic(clips: dict[str, Path], key: str, codec: str, frame_count: int | None):
    info = probe_video(clips[key])
    assert isinstance(info, VideoInfo)
    assert info.codec == codec
    assert (info.width, info.height) == (64, 48)
    assert (info.coded_width, info.coded_height) == (64, 48)
    assert info.rotation == 0 and not info.mirrored
    assert info.fps == pytest.approx(30.0)
    assert info.duration_s == pytest.approx(1.0, abs=0.05)
    assert info.frame_count == frame_count
    assert info.has_audio is False
    assert info.pixel_format == "yuv420p"


@pytest.mark.parametrize("key", ["h264", "vp9", "mpeg4"])
@pytest.mark.parametrize("threaded", [True, False])
def test_decodes_every_frame_with_its_time(clips: dict[str, Path], key: str, threaded: bool):
    frames = list(iter_frames(clips[key], threaded=threaded))
    assert len(frames) == 30
    assert [f.index for f in frames] == list(range(30))
    # WebM stores milliseconds, so 1/30 s is rounded to 33 or 34 ms.
    np.testing.assert_allclose([f.time_s for f in frames], np.arange(30) / 30, atol=1e-3)
    assert [read_tag(f.image) for f in frames] == [i % 20 for i in range(30)]
    for f in frames:
        assert isinstance(f, Frame)
        assert f.image.shape == (48, 64, 3)
        assert f.image.dtype == np.uint8
        assert f.image.flags.c_contiguous and f.image.flags.writeable
        assert f.scale == 1.0
    assert_upright(frames[0].image)


@pytest.mark.parametrize(
    ("rotation_ccw", "hflip", "rotation", "mirrored"),
    [
        (-90, False, 90, False),  # a phone held upright: the old rotate=90 tag
        (90, False, 270, False),
        (180, False, 180, False),
        (0, True, 0, True),
        (-90, True, 90, True),
    ],
)
def test_display_matrix_is_applied(
    tmp_path: Path, rotation_ccw: int, hflip: bool, rotation: int, mirrored: bool
):
    # Coded 64 wide x 32 high; the pattern is drawn upright and stored turned.
    path = make_video(
        tmp_path / "rot.mp4",
        n_frames=3,
        width=64,
        height=32,
        display_rotation_ccw=rotation_ccw,
        hflip=hflip,
    )
    info = probe_video(path)
    assert (info.rotation, info.mirrored) == (rotation, mirrored)
    assert (info.coded_width, info.coded_height) == (64, 32)
    upright_shape = (64, 32) if rotation in (90, 270) else (32, 64)  # (height, width)
    assert (info.height, info.width) == upright_shape
    frames = list(iter_frames(path))
    assert len(frames) == 3
    for f in frames:
        assert f.image.shape == (*upright_shape, 3)
        assert f.image.flags.c_contiguous
        assert_upright(f.image)


def test_rotated_and_downscaled(tmp_path: Path):
    path = make_video(
        tmp_path / "rot.mp4", n_frames=2, width=128, height=64, display_rotation_ccw=-90
    )
    f = next(iter_frames(path, max_side_px=32))
    assert f.image.shape == (32, 16, 3)
    assert f.scale == pytest.approx(4.0)
    assert_upright(f.image)


def test_variable_frame_rate_keeps_real_timestamps(tmp_path: Path):
    pts_ms = [0, 33, 70, 90, 200, 210, 400, 433, 466, 500]
    for suffix, codec in ((".mp4", "libx264"), (".webm", "libvpx-vp9")):
        path = make_video(
            tmp_path / f"vfr{suffix}",
            codec=codec,
            n_frames=len(pts_ms),
            pts=pts_ms,
            time_base=Fraction(1, 1000),
        )
        frames = list(iter_frames(path))
        np.testing.assert_allclose([f.time_s for f in frames], np.array(pts_ms) / 1000, atol=1e-6)
        assert [f.index for f in frames] == list(range(len(pts_ms)))
        assert [read_tag(f.image) for f in frames] == list(range(len(pts_ms)))


def test_times_are_relative_to_the_stream_start(tmp_path: Path):
    pts_ms = [1000 + 40 * i for i in range(5)]
    for suffix, codec in ((".mp4", "libx264"), (".webm", "libvpx-vp9")):
        path = make_video(
            tmp_path / f"late{suffix}",
            codec=codec,
            n_frames=5,
            pts=pts_ms,
            time_base=Fraction(1, 1000),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", VideoReadWarning)  # not mistaken for a truncated file
            times = [f.time_s for f in iter_frames(path)]
        np.testing.assert_allclose(times, np.arange(5) * 0.04, atol=1e-6)


def test_has_audio(tmp_path: Path):
    path = make_video(tmp_path / "with_audio.mp4", n_frames=5, with_audio=True)
    assert probe_video(path).has_audio is True
    assert len(list(iter_frames(path))) == 5


# ------------------------------------------------------------------------------------------------
# Selection and downscaling


@pytest.mark.parametrize("key", ["h264", "vp9", "mpeg4"])  # mp4: seeks by index; webm: scans
@pytest.mark.parametrize(
    ("start_s", "end_s", "expected"),
    [
        (0.5, 0.8, range(15, 24)),  # starts inside a group of pictures
        (0.333, 0.45, range(10, 14)),  # starts on a keyframe (WebM rounds 1/3 s to 333 ms)
        (0.1, None, range(3, 30)),  # inside the first group
        (None, 0.2, range(6)),
        (0.95, None, range(29, 30)),
    ],
)
def test_start_and_end(
    clips: dict[str, Path], key: str, start_s: float | None, end_s: float | None, expected: range
):
    frames = list(iter_frames(clips[key], start_s=start_s, end_s=end_s))
    assert [f.index for f in frames] == list(expected)
    assert [read_tag(f.image) for f in frames] == [i % 20 for i in expected]
    np.testing.assert_allclose([f.time_s for f in frames], np.array(expected) / 30, atol=1e-3)


@pytest.mark.parametrize(("key", "seeks"), [("h264", True), ("mpeg4", True), ("vp9", False)])
def test_mp4_seeks_and_webm_scans(
    clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch, key: str, seeks: bool
):
    scans: list[object] = []
    original = video_mod._scan_to

    def spy(*args: object) -> object:
        scans.append(args[2])
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(video_mod, "_scan_to", spy)
    frames = list(iter_frames(clips[key], start_s=0.7, end_s=0.8))
    assert [f.index for f in frames] == [21, 22, 23]
    assert bool(scans) is not seeks


def test_falls_back_to_scanning_when_a_seek_goes_wrong(
    clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
):
    original = video_mod._locate

    def misled(*args: object) -> None:
        original(*args)  # type: ignore[arg-type]  # seeks and reads a packet...
        return None  # ...then reports that it landed in the wrong place

    monkeypatch.setattr(video_mod, "_locate", misled)
    frames = list(iter_frames(clips["h264"], start_s=0.5, end_s=0.6))
    assert [f.index for f in frames] == [15, 16, 17]
    assert [read_tag(f.image) for f in frames] == [15, 16, 17]


def test_selection_outside_the_video(clips: dict[str, Path]):
    with pytest.raises(InputError, match=r"No frame of .* lies at or after start_s=5\.0 s"):
        list(iter_frames(clips["h264"], start_s=5.0))


@pytest.mark.parametrize(
    "kwargs",
    [dict(start_s=1.0, end_s=0.5), dict(start_s=-1.0), dict(end_s=0.0), dict(max_side_px=0)],
)
def test_bad_arguments(clips: dict[str, Path], kwargs: dict[str, float]):
    with pytest.raises(ValueError):
        iter_frames(clips["h264"], **kwargs)  # type: ignore[arg-type]


def test_downscale_keeps_aspect_and_reports_scale(clips: dict[str, Path]):
    frames = list(iter_frames(clips["long"], max_side_px=160, end_s=0.2))
    assert len(frames) == 6
    for f in frames:
        assert f.image.shape == (120, 160, 3)
        assert f.scale == pytest.approx(2.0)
        assert f.image.flags.c_contiguous
    assert_upright(frames[0].image)
    # Never upscales.
    f = next(iter_frames(clips["h264"], max_side_px=1000))
    assert f.image.shape == (48, 64, 3) and f.scale == 1.0


# ------------------------------------------------------------------------------------------------
# The reader thread


def test_iter_frames_probes_eagerly_and_starts_no_thread_until_iterated(clips: dict[str, Path]):
    gen = iter_frames(clips["long"])
    assert not reader_threads()
    gen.close()
    assert not reader_threads()


def test_closing_early_stops_the_thread(clips: dict[str, Path]):
    gen = iter_frames(clips["long"], threaded=True)
    first = next(gen)
    assert first.index == 0
    assert len(reader_threads()) == 1
    gen.close()
    assert not wait_for_no_reader()


def test_break_out_of_a_for_loop_stops_the_thread(clips: dict[str, Path]):
    for f in iter_frames(clips["long"]):
        if f.index == 3:
            break
    gc.collect()
    assert not wait_for_no_reader()


def test_consumer_exception_stops_the_thread(clips: dict[str, Path]):
    def consume() -> None:
        for f in iter_frames(clips["long"]):
            if f.index == 2:
                raise KeyError("consumer failed")

    with pytest.raises(KeyError):
        consume()
    gc.collect()
    assert not wait_for_no_reader()


def test_queue_is_bounded(clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    converted = 0
    original = video_mod._Converter.__call__

    def counting(self: object, vframe: object) -> np.ndarray:
        nonlocal converted
        converted += 1
        return original(self, vframe)  # type: ignore[arg-type]

    monkeypatch.setattr(video_mod._Converter, "__call__", counting)
    gen = iter_frames(clips["long"], threaded=True)
    next(gen)
    time.sleep(0.5)  # a slow consumer: the reader must wait, not run ahead
    # one consumed, QUEUE_SIZE waiting, one converted and blocked on the full queue
    assert converted <= QUEUE_SIZE + 2
    gen.close()
    assert not wait_for_no_reader()


@pytest.mark.parametrize("threaded", [True, False])
def test_frames_are_not_retained(clips: dict[str, Path], threaded: bool):
    refs: list[weakref.ref[Frame]] = []
    count = 0
    for f in iter_frames(clips["long"], threaded=threaded):
        refs.append(weakref.ref(f))
        count += 1
    del f
    gc.collect()
    assert count == 150
    alive = sum(1 for r in refs if r() is not None)
    assert alive == 0


def test_reader_errors_reach_the_consumer(clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    original = video_mod._Converter.__call__
    calls = 0

    def failing(self: object, vframe: object) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls > 5:
            raise RuntimeError("boom in the reader")
        return original(self, vframe)  # type: ignore[arg-type]

    monkeypatch.setattr(video_mod._Converter, "__call__", failing)
    got: list[int] = []
    with pytest.raises(RuntimeError, match="boom in the reader"):
        for f in iter_frames(clips["long"], threaded=True):
            got.append(f.index)
    assert got == [0, 1, 2, 3, 4]
    assert not wait_for_no_reader()


def test_ffmpeg_errors_in_the_reader_become_input_errors(
    clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
):
    def failing(self: object, vframe: object) -> np.ndarray:
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(video_mod._Converter, "__call__", failing)
    with pytest.raises(InputError, match=r"Converting frame 0 of .* to RGB failed"):
        list(iter_frames(clips["h264"], threaded=True))
    assert not wait_for_no_reader()


# ------------------------------------------------------------------------------------------------
# Bad input


def _both_raise(path: Path, pattern: str) -> None:
    with pytest.raises(InputError, match=pattern) as probe_exc:
        probe_video(path)
    with pytest.raises(InputError, match=pattern):
        iter_frames(path)  # raised at the call, not at the first next()
    message = str(probe_exc.value)
    assert message.endswith(".") and "Traceback" not in message
    assert probe_exc.value.exit_code == 3


def test_missing_file(tmp_path: Path):
    _both_raise(tmp_path / "nope.mp4", r"nope\.mp4 does not exist")


def test_directory(tmp_path: Path):
    _both_raise(tmp_path, r"is a directory, not a video file")


def test_empty_file(tmp_path: Path):
    path = tmp_path / "empty.mp4"
    path.touch()
    _both_raise(path, r"is empty \(0 bytes\)")


def test_text_file_named_mp4(tmp_path: Path):
    path = tmp_path / "notes.mp4"
    path.write_text("these are my squat notes, not a video\n" * 20)
    _both_raise(path, r"notes\.mp4 is not a video file that can be read")


def test_audio_only(tmp_path: Path):
    _both_raise(make_audio_only(tmp_path / "voice.m4a"), r"voice\.m4a has no video stream")


@pytest.mark.parametrize(("name", "kind"), [("photo.jpg", "JPEG"), ("photo.png", "PNG")])
def test_still_picture(tmp_path: Path, name: str, kind: str):
    from PIL import Image

    path = tmp_path / name
    Image.fromarray(np.full((48, 32, 3), 128, np.uint8)).save(path)
    _both_raise(path, re.escape(f"{name} is a still picture ({kind}), not a video"))


def test_audio_with_a_cover_picture(tmp_path: Path):
    path = tmp_path / "song.mp4"
    with av.open(str(path), "w") as container:
        audio = container.add_stream("aac", rate=48000)
        cover = container.add_stream("mjpeg")
        cover.width, cover.height, cover.pix_fmt = 32, 32, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
        picture = picture.reformat(format="yuvj420p")
        picture.pts = 0
        for packet in [*cover.encode(picture), *cover.encode()]:
            container.mux(packet)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts = 48000, 0
        for packet in [*audio.encode(frame), *audio.encode()]:
            container.mux(packet)
    _both_raise(path, r"song\.mp4 has no video stream \(only a still cover picture\)")


def test_unsupported_codec(tmp_path: Path):
    path = make_video(tmp_path / "ok.mp4", n_frames=5)
    data = path.read_bytes()
    assert b"avc1" in data
    bad = tmp_path / "odd_codec.mp4"
    bad.write_bytes(data.replace(b"avc1", b"zzz9"))  # a sample entry FFmpeg does not know
    _both_raise(bad, r"unknown or unsupported video codec")


def test_truncated_mp4_without_front_index(tmp_path: Path):
    # The index (moov) is written last, so a recording cut short cannot be opened at all.
    path = make_video(tmp_path / "cut.mp4", n_frames=60, width=128, height=96)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _both_raise(path, r"looks like an MP4/MOV video but cannot be opened: it is truncated")


@pytest.mark.parametrize(("suffix", "codec"), [(".mp4", "libx264"), (".webm", "libvpx-vp9")])
def test_truncated_in_the_middle_yields_what_decodes_and_warns(
    tmp_path: Path, suffix: str, codec: str
):
    path = make_video(
        tmp_path / f"cut{suffix}", codec=codec, n_frames=60, width=128, height=96, faststart=True
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.warns(VideoReadWarning, match=r"ended early.*probably truncated"):
        frames = list(iter_frames(path))
    assert 5 <= len(frames) < 60
    assert [f.index for f in frames] == list(range(len(frames)))
    assert [read_tag(f.image) for f in frames] == [i % 20 for i in range(len(frames))]


def test_a_selection_after_the_break_is_empty_when_allowed(tmp_path: Path):
    # A part of a longer read (a worker's chunk) that starts after a truncated file breaks off.
    path = make_video(tmp_path / "cut.mp4", n_frames=60, width=128, height=96, faststart=True)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match=r"lies at or after start_s=1\.8 s.*breaks off"):
        list(iter_frames(path, start_s=1.8))
    with pytest.warns(VideoReadWarning, match=r"ended early.*probably truncated"):
        assert list(iter_frames(path, start_s=1.8, empty_ok=True)) == []


def test_truncated_before_the_first_frame(tmp_path: Path):
    path = make_video(tmp_path / "stub.mp4", n_frames=30, width=128, height=96, faststart=True)
    data = path.read_bytes()
    mdat = data.index(b"mdat")
    path.write_bytes(data[: mdat + 40])  # the index survives, the pictures do not
    _both_raise(path, r"No frame of .*stub\.mp4 could be decoded")


def test_corrupt_packets_are_skipped_with_a_warning(tmp_path: Path):
    path = make_video(tmp_path / "corrupt.mp4", n_frames=60, width=128, height=96, faststart=True)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    lo = len(data) // 3
    data[lo : lo + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with pytest.warns(VideoReadWarning, match=r"packets of .* could not be decoded"):
        frames = list(iter_frames(path))
    assert 0 < len(frames) < 60
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices))
    assert indices[-1] == 59  # indices stay those of the source after the skipped packets


# ------------------------------------------------------------------------------------------------
# Real clips (../shared/data/videos)


def _real(name: str) -> Path:
    path = VIDEOS / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


def test_real_front_squat():
    path = _real("front-squat-3reps.mp4")
    info = probe_video(path)
    assert info.codec == "h264"
    assert (info.width, info.height, info.rotation) == (892, 1592, 0)
    assert info.frame_count == 540
    assert info.fps == pytest.approx(60.0)
    assert info.duration_s == pytest.approx(9.0)
    frames = [(f.index, f.time_s, f.image.shape) for f in iter_frames(path, max_side_px=160)]
    assert len(frames) == 540
    assert [i for i, _, _ in frames] == list(range(540))
    times = np.array([t for _, t, _ in frames])
    assert times[0] == 0.0 and np.all(np.diff(times) > 0)
    np.testing.assert_allclose(times, np.arange(540) / 60, atol=1e-6)
    assert {s for _, _, s in frames} == {(160, 90, 3)}  # portrait, upright


@pytest.mark.parametrize(
    "first",
    [
        252,  # seeks to the keyframe at frame 250
        249,  # just before that keyframe: decodes from frame 0
        510,  # seeks to the keyframe at frame 500
    ],
)
def test_real_front_squat_selection_matches_sequential_decoding(first: int):
    # B-frames and a 250-frame GOP: the reader must land on the right frame with the right index.
    path = _real("front-squat-3reps.mp4")
    start_s, end_s = first / 60, (first + 6) / 60 - 0.001
    sought = list(iter_frames(path, start_s=start_s, end_s=end_s, max_side_px=96))
    assert [f.index for f in sought] == list(range(first, first + 6))
    sequential = {
        f.index: f for f in iter_frames(path, end_s=end_s, max_side_px=96) if f.index >= first
    }
    for f in sought:
        assert f.time_s == pytest.approx(f.index / 60)
        np.testing.assert_array_equal(f.image, sequential[f.index].image)


def test_real_lab_portrait():
    path = _real("lab-balance-portrait.mp4")
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (1080, 1920, 0)
    frames = list(iter_frames(path, max_side_px=128))
    assert len(frames) == 100
    assert frames[0].image.shape == (128, 72, 3)
    assert frames[0].scale == pytest.approx(15.0)


def test_real_vp9():
    path = _real("outdoor-multiperson-vp9.mp4")
    info = probe_video(path)
    assert info.codec == "vp9"
    assert (info.width, info.height) == (1768, 994)
    assert info.has_audio is True
    frames = list(iter_frames(path, end_s=0.3))
    assert len(frames) == 9
    assert frames[0].image.shape == (994, 1768, 3)
    assert frames[-1].time_s == pytest.approx(8 / 30)
    assert frames[0].image.std() > 10  # a real picture, not a flat grey frame
    assert info.recorded_at == dt.datetime(2024, 8, 20, 17, 27, 55, tzinfo=dt.UTC)  # phone metadata
    assert probe_video(_real("front-squat-3reps.mp4")).recorded_at is None  # re-encoded: no date


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"creation_time": "2024-05-01T08:00:00.000000Z"}, "2024-05-01T08:00:00+00:00"),
        # Apple's capture time with its offset wins over the container's UTC field.
        (
            {
                "com.apple.quicktime.creationdate": "2024-05-01T10:00:05+0200",
                "creation_time": "2024-05-01T08:00:09.000000Z",
            },
            "2024-05-01T08:00:05+00:00",
        ),
        ({"creation_time": "1904-01-01T00:00:00.000000Z"}, None),  # an unset MP4 field
        ({"creation_time": "1970-01-01T00:00:00Z"}, None),
        ({"creation_time": "2031-01-01T00:00:00Z"}, None),  # a wrong clock
        ({"creation_time": "yesterday"}, None),
        ({}, None),
    ],
)
def test_recording_time_from_metadata(tags: dict[str, str], expected: str | None):
    now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    when = recorded_at(tags, now=now)
    assert (None if when is None else when.isoformat()) == expected


def test_recording_time_of_a_written_clip(tmp_path: Path):
    clip = make_video(tmp_path / "c.mp4", metadata={"creation_time": "2025-02-03T04:05:06Z"})
    assert probe_video(clip).recorded_at == dt.datetime(2025, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
