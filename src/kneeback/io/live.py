"""Read a live source: a camera or a network stream, newest frame first.

A live source does not wait for its reader. :class:`LiveSource` decodes in a background thread
that keeps up with the source and holds only the newest decoded frame; :meth:`LiveSource.frames`
hands out each new frame once, so that a slow consumer (the pose model) skips frames instead of
falling further and further behind. Frame times come from the stream's timestamps (seconds from
the first frame), or from the clock when the source has none.

Sources, as FFmpeg opens them:

- a network stream: ``rtsp://``, ``rtmp://``, ``srt://``, ``udp://``, ``tcp://``, ``http(s)://``
  (RTSP over TCP, which passes firewalls and loses nothing);
- a camera: its number (``0``) or ``/dev/videoN`` on Linux (``v4l2``), ``avfoundation`` on macOS,
  ``dshow`` on Windows (``video=NAME``).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import av
import numpy as np

from kneeback.errors import InputError

__all__ = ["LiveFrame", "LiveSource", "describe_source"]

_NETWORK = ("rtsp://", "rtsps://", "rtmp://", "srt://", "udp://", "tcp://", "http://", "https://")


@dataclass(frozen=True, eq=False)
class LiveFrame:
    """One frame of a live source.

    Attributes
    ----------
    index
        Position among the frames the source delivered (skipped ones count).
    time_s
        Seconds since the first frame.
    image
        RGB ``uint8`` picture, possibly downscaled (see :attr:`LiveSource.scale`).
    """

    index: int
    time_s: float
    image: np.ndarray = field(repr=False)


def describe_source(source: str, /) -> tuple[str, str | None, dict[str, str]]:
    """Turn a user's source into FFmpeg's (file or URL, input format, options).

    Parameters
    ----------
    source
        A stream URL, a camera number or a device path.

    Returns
    -------
    tuple
        What :func:`av.open` takes: the file or URL, the input format (None for URLs) and
        options.
    """
    if source.startswith(_NETWORK):
        options = {"rtsp_transport": "tcp"} if source.startswith(("rtsp://", "rtsps://")) else {}
        return source, None, options
    if sys.platform == "darwin":
        return (source if not source.isdigit() else f"{source}:none"), "avfoundation", {}
    if sys.platform == "win32":
        return (source if source.startswith("video=") else f"video={source}"), "dshow", {}
    device = f"/dev/video{source}" if source.isdigit() else source
    return device, "v4l2", {}


class LiveSource:
    """A camera or stream, read in a background thread; use it as a context manager.

    Parameters
    ----------
    source
        See :func:`describe_source`.
    max_side_px
        Downscale so that the longer side is at most this many pixels (never upscales).
    open_timeout_s, read_timeout_s
        How long to wait for the source to answer, and for each next packet.
    """

    def __init__(
        self,
        source: str,
        /,
        *,
        max_side_px: int | None = 960,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 5.0,
    ) -> None:
        self.source = source
        self._max_side = max_side_px
        self._timeouts = (open_timeout_s, read_timeout_s)
        self._container: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Condition()
        self._latest: LiveFrame | None = None
        self._ended = False
        self._error: BaseException | None = None
        self.width = self.height = 0
        self.scale = 1.0
        self.fps: float | None = None
        self.delivered = 0

    def __enter__(self) -> LiveSource:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Connect to the source and start reading.

        Raises
        ------
        InputError
            If the source cannot be opened or has no video.
        """
        url, fmt, options = describe_source(self.source)
        try:
            self._container = av.open(url, format=fmt, options=options, timeout=self._timeouts)
        except (av.error.FFmpegError, OSError) as exc:
            raise InputError(f"The live source {self.source} cannot be opened ({exc}).") from None
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"The live source {self.source} has no video.")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        cc = stream.codec_context
        self.width, self.height = int(cc.width or 0), int(cc.height or 0)
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else None
        self._thread = threading.Thread(target=self._read, name="kneeback-live", daemon=True)
        self._thread.start()

    def _size(self, width: int, height: int) -> tuple[int, int]:
        side = max(width, height)
        if self._max_side is None or side <= self._max_side:
            return width, height
        k = self._max_side / side
        return max(2, round(width * k / 2) * 2), max(2, round(height * k / 2) * 2)

    def _read(self) -> None:
        t0: float | None = None
        clock0 = time.monotonic()
        index = 0
        try:
            for frame in self._container.decode(video=0):
                if self._stop.is_set():
                    break
                t = frame.time if frame.time is not None else time.monotonic() - clock0
                t0 = t if t0 is None else t0
                w, h = self._size(frame.width, frame.height)
                self.width, self.height = frame.width, frame.height
                self.scale = frame.width / w
                image = np.ascontiguousarray(frame.to_ndarray(width=w, height=h, format="rgb24"))
                with self._ready:
                    self._latest = LiveFrame(index, float(t - t0), image)
                    self._ready.notify_all()
                index += 1
        except (av.error.FFmpegError, OSError) as exc:
            if not self._stop.is_set():
                self._error = exc
        finally:
            with self._ready:
                self._ended = True
                self._ready.notify_all()

    def frames(self, *, stop: threading.Event | None = None) -> Iterator[LiveFrame]:
        """Yield each newest frame once, until the source ends or ``stop`` is set.

        Parameters
        ----------
        stop
            Ends the iteration within half a second of being set, even while the source is
            silent.

        Raises
        ------
        InputError
            If reading failed before any frame arrived (a stream that drops later simply ends).
        """
        last = -1
        while True:
            with self._ready:
                while not self._ended and (self._latest is None or self._latest.index == last):
                    if stop is not None and stop.is_set():
                        return
                    self._ready.wait(timeout=0.5)
                frame = self._latest
                if frame is None or frame.index == last:
                    break
            last = frame.index
            self.delivered += 1
            yield frame
        if self._error is not None and last < 0:
            raise InputError(f"The live source {self.source} sent no picture ({self._error}).")

    def close(self) -> None:
        """Stop reading and disconnect."""
        self._stop.set()
        if self._container is not None:
            if self._thread is not None:
                self._thread.join(timeout=self._timeouts[1] + 1.0)
            self._container.close()
            self._container = None
