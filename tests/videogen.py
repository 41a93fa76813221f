"""Synthesise small test videos with PyAV.

Every frame carries two things a test can check after decoding:

* an *orientation mark*: a red block in the upright image's top-left corner and a blue bar along its
  bottom edge, so a test can tell whether a decoded frame is upright, rotated or mirrored;
* a *frame tag*: a flat grey block whose level encodes the frame number (``tag_level``), so a test
  can tell which source frame it got back, through lossy compression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = [
    "TAG_STEP",
    "make_audio_only",
    "make_video",
    "read_tag",
    "tag_level",
    "upright_pattern",
]

TAG_STEP = 12
"""Grey-level step between consecutive frame tags (large enough to survive compression)."""

# Per-codec encoder options that keep synthesis fast and deterministic.
_ENCODER_OPTIONS: dict[str, dict[str, str]] = {
    "libx264": {"preset": "ultrafast", "crf": "18"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "crf": "20", "b": "0"},
    "mpeg4": {"b": "4M"},
}


def tag_level(index: int, /) -> int:
    """Grey level that tags frame ``index`` (cycles every 20 frames)."""
    return 16 + TAG_STEP * (index % 20)


def read_tag(image: np.ndarray, /) -> int:
    """Recover ``index % 20`` from a decoded upright frame made by :func:`upright_pattern`."""
    h, w = image.shape[:2]
    block = image[h // 4 : h // 2, w // 2 : w - w // 8].astype(float)
    level = float(np.median(block))
    return round((level - 16) / TAG_STEP) % 20


def upright_pattern(index: int, /, *, width: int, height: int) -> np.ndarray:
    """Return the upright RGB image of frame ``index`` (``height`` x ``width`` x 3, uint8).

    Dark background; red block in the top-left corner; blue bar along the bottom edge; a grey block
    in the upper right quarter whose level is :func:`tag_level` of ``index``.
    """
    img = np.full((height, width, 3), 40, dtype=np.uint8)
    img[: height // 4, : width // 4] = (230, 20, 20)  # red: top-left
    img[height - height // 8 :, :] = (20, 20, 230)  # blue: bottom
    lvl = tag_level(index)
    img[height // 4 : height // 2, width // 2 : width - width // 8] = lvl
    return img


def make_video(
    path: Path,
    /,
    *,
    codec: str = "libx264",
    n_frames: int = 30,
    fps: int = 30,
    width: int = 64,
    height: int = 48,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    display_rotation_ccw: float | None = None,
    hflip: bool = False,
    faststart: bool = False,
    gop: int | None = None,
    with_audio: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Encode a synthetic clip and return its path.

    Parameters
    ----------
    path
        Output file; the container follows the suffix (``.mp4``, ``.webm``, ``.mkv``...).
    codec
        Encoder name: ``libx264``, ``libvpx-vp9`` or ``mpeg4``.
    n_frames, fps
        Number of frames and nominal rate.
    width, height
        *Coded* size. With a display rotation of +-90 deg the upright picture is ``height`` wide;
        the pattern is drawn upright and rotated so that applying the display matrix restores it.
    pts
        Presentation timestamps in ``time_base`` units, one per frame (variable frame rate);
        default ``0, 1, 2, ...`` in units of ``1/fps``.
    time_base
        Time base of ``pts``; default ``1/fps``.
    display_rotation_ccw
        Written as the stream's display matrix (PyAV's ``set_display_rotation``: counter-clockwise
        degrees, as FFmpeg's ``av_display_rotation_get`` reads it back). A phone held upright
        records ``-90`` here (the old ``rotate=90`` tag: turn 90 deg clockwise to view).
    hflip
        Also mirror horizontally in the display matrix.
    faststart
        Put the MP4 index at the front (so a truncated file still opens).
    gop
        Keyframe interval in frames.
    with_audio
        Add a short silent AAC track.
    metadata
        Container metadata to write (e.g. ``{"creation_time": "2024-05-01T08:00:00Z"}``).
    """
    if pts is not None and len(pts) != n_frames:
        raise ValueError("pts needs one value per frame")
    tb = time_base if time_base is not None else Fraction(1, fps)
    rot = 0 if display_rotation_ccw is None else round(display_rotation_ccw) % 360
    up_w, up_h = (height, width) if rot in (90, 270) else (width, height)
    muxer_options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=muxer_options) as container:
        container.metadata.update(metadata or {})
        stream = container.add_stream(
            codec, rate=fps, options=dict(_ENCODER_OPTIONS.get(codec, {}))
        )
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.time_base = tb
        stream.codec_context.time_base = tb
        if gop is not None:
            stream.codec_context.gop_size = gop
        if display_rotation_ccw is not None or hflip:
            stream.set_display_rotation(display_rotation_ccw or 0.0, hflip=hflip)
        audio = None
        if with_audio:
            audio = container.add_stream("aac", rate=48000)
        for i in range(n_frames):
            img = upright_pattern(i, width=up_w, height=up_h)
            coded = _undo_display(img, rot=rot, hflip=hflip)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(coded), format="rgb24")
            frame.pts = int(pts[i]) if pts is not None else i
            frame.time_base = tb
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio is not None:
            _write_silence(container, audio, seconds=n_frames / fps)
    return path


def _undo_display(img: np.ndarray, *, rot: int, hflip: bool) -> np.ndarray:
    """Coded image that the display matrix ``rotation ccw = rot, then hflip`` turns into ``img``.

    In image coordinates (y down) a counter-clockwise angle of FFmpeg's display matrix turns the
    picture clockwise on screen (``-90`` = ``rotate=90`` = turn 90 deg clockwise to view).
    """
    # On screen: shown = mirror(rot90(coded, k=rot / 90)) (np.rot90 turns counter-clockwise for
    # positive k); undo the mirror, then the turn.
    out = img[:, ::-1] if hflip else img
    return np.rot90(out, k=-(rot // 90))


def _write_silence(
    container: av.container.OutputContainer, stream: av.AudioStream, *, seconds: float
) -> None:
    n = max(1, int(seconds * 48000) // 1024)
    for i in range(n):
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate = 48000
        frame.pts = i * 1024
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def make_audio_only(path: Path, /, *, seconds: float = 0.5) -> Path:
    """Write an AAC file with no video stream."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        _write_silence(container, stream, seconds=seconds)
    return path
