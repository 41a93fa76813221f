"""The work one process does: decode a chunk of video and run the pose estimator over it.

Kept apart from :mod:`kneeback.pose.video_pose` so that worker processes import little (no xarray).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kneeback.io.video import iter_frames
from kneeback.pose.estimator import PersonPose, PoseEstimator
from kneeback.pose.native_logs import native_stderr_captured

__all__ = [
    "ChunkPlan",
    "ChunkResult",
    "EstimatorFactory",
    "FrameResult",
    "init_worker",
    "run_chunk",
]

EstimatorFactory = Callable[[], PoseEstimator]

_counter: Any = None  # shared frame counter, set in each worker by _init_worker


@dataclass(frozen=True)
class ChunkPlan:
    """Frames with ``start_s <= t < end_s`` are kept; decoding starts at ``decode_from_s``.

    ``may_be_empty`` marks a chunk after the first: the video may end (or break off, when the file
    is truncated) before it starts, and the chunk then simply has no frames.
    """

    start_s: float
    end_s: float
    decode_from_s: float
    may_be_empty: bool = False


@dataclass(frozen=True)
class FrameResult:
    """The people found in one frame."""

    index: int
    time_s: float
    people: list[PersonPose]


@dataclass(frozen=True)
class ChunkResult:
    """What one worker found over its chunk, and which estimator found it."""

    keypoints: tuple[str, ...]
    description: str
    frames: list[FrameResult]
    warnings: list[str] = field(default_factory=list)


def init_worker(counter: Any) -> None:
    """Set up a worker process: the shared frame counter."""
    global _counter
    _counter = counter


def run_chunk(
    path: str,
    chunk: ChunkPlan,
    factory: EstimatorFactory,
    full_size: tuple[int, int],
    max_side_px: int | None,
) -> ChunkResult:
    """Run a fresh estimator over one chunk; keep the frames from ``chunk.start_s`` on.

    Warnings raised meanwhile (e.g. a video that ends early) are returned, not printed.
    """
    with native_stderr_captured(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _run(path, chunk, factory, full_size, max_side_px)
    result.warnings.extend(str(w.message) for w in caught)
    return result


def _run(
    path: str,
    chunk: ChunkPlan,
    factory: EstimatorFactory,
    full_size: tuple[int, int],
    max_side_px: int | None,
) -> ChunkResult:
    estimator = factory()
    out: list[FrameResult] = []
    try:
        end = None if math.isinf(chunk.end_s) else chunk.end_s
        for frame in iter_frames(
            path,
            start_s=chunk.decode_from_s,
            end_s=end,
            max_side_px=max_side_px,
            empty_ok=chunk.may_be_empty,
        ):
            if end is not None and frame.time_s >= end:
                break
            people = estimator.estimate(frame.image, time_s=frame.time_s, full_size=full_size)
            if frame.time_s >= chunk.start_s:
                out.append(FrameResult(frame.index, frame.time_s, people))
                if _counter is not None:
                    with _counter.get_lock():
                        _counter.value += 1
    finally:
        estimator.close()
    return ChunkResult(tuple(estimator.keypoints), estimator.description, out)
