"""Write browser-playable H.264 MP4 videos with PyAV, frame by frame, keeping each frame's time.

:class:`VideoWriter` is a context manager in the style of ``supervision.VideoSink``::

    with VideoWriter("out.mp4", width=720, height=1280, fps=60) as sink:
        for frame in iter_frames("in.mp4"):
            sink.write(frame.image, time_s=frame.time_s)

The file is H.264 (``libx264``), ``yuv420p``, in an MP4 container with its index at the front
(``movflags=+faststart``), which is what every browser plays, progressive download included. Frame
times are kept as given (phones record variable frame rate), on a 1/90000 s clock. Odd widths and
heights (which ``yuv420p`` cannot hold) are cropped by one pixel at the right or bottom edge.
If the ``with`` block raises, the partial file is deleted.

Each RGB frame is converted to ``yuv420p`` (BT.601, limited range, as FFmpeg's own conversion
does) by OpenCV's vectorised converter before it reaches the encoder: about 1 ms a frame at
720x1280 against 6 ms for PyAV's ``rgb24`` frames converted by FFmpeg's software scaler, which
was a third of the encoding time (``bench/encode.py`` measures both).
"""

from __future__ import annotations

import contextlib
import math
import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import cv2
import numpy as np

__all__ = ["TIME_BASE", "VideoWriter", "even_size"]

TIME_BASE = Fraction(1, 90000)
"""Clock of the written timestamps: the MPEG 90 kHz clock, exact for 24, 25, 30, 50, 60 and
30000/1001 frames per second."""


def even_size(width: int, height: int, /) -> tuple[int, int]:
    """Return the largest even size not above ``(width, height)`` (``yuv420p`` needs even sides).

    Parameters
    ----------
    width, height
        Size in pixels.

    Returns
    -------
    tuple of int
        ``(width, height)`` rounded down to even numbers (at least 2).
    """
    return max(2, width - width % 2), max(2, height - height % 2)


class VideoWriter:
    """An H.264 MP4 file written frame by frame; use it as a context manager.

    Parameters
    ----------
    path
        The ``.mp4`` file to write (replaced if it exists).
    width, height
        Size of the images that will be written, in pixels (after the even-size crop, see
        :func:`even_size`, the file may be one pixel narrower or shorter).
    fps
        Nominal frame rate: it guides the encoder's rate control and is the rate recorded in the
        file; frame times come from :meth:`write`.
    crf
        x264 constant rate factor (lower = better quality and larger files; 23 is x264's default).
    preset
        x264 speed preset (``"ultrafast"`` ... ``"veryslow"``).
    threads
        Encoder threads (0 = as many as FFmpeg chooses).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        /,
        *,
        width: int,
        height: int,
        fps: float,
        crf: int = 23,
        preset: str = "veryfast",
        threads: int = 0,
    ) -> None:
        if width < 2 or height < 2:
            raise ValueError(f"A video must be at least 2x2 pixels, not {width}x{height}.")
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, not {fps!r}.")
        self.path = Path(path)
        self.width, self.height = even_size(width, height)
        self.fps = fps
        self.crf = crf
        self.preset = preset
        self.threads = threads
        self.frames_written = 0
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None
        self._last_pts = -1

    # ----------------------------------------------------------------------------------------------
    def __enter__(self) -> VideoWriter:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def open(self) -> None:
        """Create the file and set up the encoder (done by ``with``)."""
        if self._container is not None:
            raise RuntimeError("The video writer is already open.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(
            str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"}
        )
        try:
            rate = Fraction(self.fps).limit_denominator(1001)
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height = self.width, self.height
            stream.pix_fmt = "yuv420p"
            stream.time_base = TIME_BASE
            cc = stream.codec_context
            cc.time_base = TIME_BASE
            cc.thread_count = self.threads
            cc.options = {"crf": str(self.crf), "preset": self.preset}
        except BaseException:
            container.close()
            self.path.unlink(missing_ok=True)
            raise
        self._container, self._stream = container, stream

    def write(self, image: np.ndarray, /, *, time_s: float) -> None:
        """Encode one RGB image shown from ``time_s`` seconds on.

        Parameters
        ----------
        image
            ``uint8`` RGB image of shape ``(height, width, 3)`` as given to the constructor (an
            odd last row or column is dropped).
        time_s
            Presentation time in seconds; must increase from frame to frame (a time that would
            repeat the previous timestamp is moved one tick later).
        """
        if self._container is None or self._stream is None:
            raise RuntimeError("Open the video writer first (use it in a `with` block).")
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"Expected a uint8 RGB image, got {image.dtype} {image.shape}.")
        h, w = image.shape[:2]
        if even_size(w, h) != (self.width, self.height):
            raise ValueError(
                f"Image is {w}x{h} but the video is {self.width}x{self.height} pixels."
            )
        if (w, h) != (self.width, self.height):
            image = image[: self.height, : self.width]
        yuv = np.asarray(
            cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2YUV_I420), dtype=np.uint8
        )
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        pts = max(round(time_s / TIME_BASE), self._last_pts + 1)
        frame.pts = pts
        frame.time_base = TIME_BASE
        self._last_pts = pts
        self._container.mux(self._stream.encode(frame))
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and finish the file (done by ``with``)."""
        if self._container is None or self._stream is None:
            return
        container, stream = self._container, self._stream
        self._container = self._stream = None
        try:
            container.mux(stream.encode(None))
        finally:
            container.close()

    def abort(self) -> None:
        """Close without finishing and delete the partial file."""
        container = self._container
        self._container = self._stream = None
        if container is not None:
            with contextlib.suppress(av.FFmpegError, OSError):
                container.close()
        self.path.unlink(missing_ok=True)
