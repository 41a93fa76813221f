"""Run a pose estimator over a video, in parallel chunks, and build the pose dataset.

Long videos are split in time into one chunk per worker process. Each worker decodes its chunk
(decoding in a thread of its own, overlapping with inference) and starts ``warmup_s`` seconds
early, so that the landmarker's tracking and smoothing have settled by the first frame it keeps;
the frames of the warm-up belong to the previous chunk and are dropped. The people found are then
linked into tracks over the whole video and the main subject is kept.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from kneeback.errors import NoPersonError
from kneeback.io.video import VideoInfo, iter_frames, probe_video
from kneeback.pose.estimator import PersonPose, PoseEstimator
from kneeback.pose.tracking import TrackingSummary, track_people
from kneeback.schema import coverage, make_pose_dataset
from kneeback.settings import PoseSettings

__all__ = ["ChunkPlan", "EstimatorFactory", "estimate_video", "plan_chunks"]

EstimatorFactory = Callable[[], PoseEstimator]
ProgressCallback = Callable[[int, int], None]

_counter: Any = None  # shared frame counter, set in each worker by _init_worker


@dataclass(frozen=True)
class ChunkPlan:
    """Frames with ``start_s <= t < end_s`` are kept; decoding starts at ``decode_from_s``."""

    start_s: float
    end_s: float
    decode_from_s: float


@dataclass(frozen=True)
class _FrameResult:
    index: int
    time_s: float
    people: list[PersonPose]


@dataclass(frozen=True)
class _ChunkResult:
    keypoints: tuple[str, ...]
    description: str
    frames: list[_FrameResult]


def plan_chunks(
    start_s: float, end_s: float, /, *, workers: int, warmup_s: float, min_chunk_s: float
) -> list[ChunkPlan]:
    """Split ``[start_s, end_s)`` into at most ``workers`` chunks of at least ``min_chunk_s``.

    Parameters
    ----------
    start_s, end_s
        The time span to cover, in seconds.
    workers
        Upper bound on the number of chunks.
    warmup_s
        How long before its start each chunk (but the first) begins decoding.
    min_chunk_s
        Chunks shorter than this are not worth a process: fewer chunks are made.

    Returns
    -------
    list of ChunkPlan
        Contiguous chunks covering the span, in order.
    """
    span = max(end_s - start_s, 0.0)
    n = 1 if math.isinf(span) else max(1, min(workers, int(span // min_chunk_s)))
    edges = np.linspace(start_s, start_s + span if n > 1 else start_s, n + 1)
    edges[-1] = math.inf
    return [
        ChunkPlan(float(a), float(b), float(a if i == 0 else max(start_s, a - warmup_s)))
        for i, (a, b) in enumerate(itertools.pairwise(edges))
    ]


def _init_worker(counter: Any) -> None:
    global _counter
    _counter = counter
    if not os.environ.get("KNEEBACK_DEBUG"):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)


def _run_chunk(
    path: str,
    chunk: ChunkPlan,
    factory: EstimatorFactory,
    full_size: tuple[int, int],
    max_side_px: int | None,
) -> _ChunkResult:
    estimator = factory()
    out: list[_FrameResult] = []
    try:
        end = None if math.isinf(chunk.end_s) else chunk.end_s
        for frame in iter_frames(
            path, start_s=chunk.decode_from_s, end_s=end, max_side_px=max_side_px
        ):
            if end is not None and frame.time_s >= end:
                break
            people = estimator.estimate(frame.image, time_s=frame.time_s, full_size=full_size)
            if frame.time_s >= chunk.start_s:
                out.append(_FrameResult(frame.index, frame.time_s, people))
                if _counter is not None:
                    with _counter.get_lock():
                        _counter.value += 1
    finally:
        estimator.close()
    return _ChunkResult(tuple(estimator.keypoints), estimator.description, out)


def _expected_frames(info: VideoInfo, start_s: float, end_s: float) -> int:
    """Frames expected in the span, for the progress bar (0 if unknown)."""
    duration = info.duration_s or 0.0
    if info.frame_count and start_s <= 0 and end_s >= duration:
        return int(info.frame_count)
    if info.fps and np.isfinite(end_s):
        return max(1, round((end_s - start_s) * info.fps))
    return 0


def _run_all(
    path: str,
    chunks: Sequence[ChunkPlan],
    factory: EstimatorFactory,
    full_size: tuple[int, int],
    max_side_px: int | None,
    total: int,
    progress: ProgressCallback | None,
) -> list[_ChunkResult]:
    # Always in worker processes, even for one chunk: the model's native libraries log to the
    # process's stderr, which the workers send to /dev/null (see _init_worker).
    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    with ProcessPoolExecutor(
        max_workers=len(chunks), mp_context=ctx, initializer=_init_worker, initargs=(counter,)
    ) as pool:
        futures = [
            pool.submit(_run_chunk, path, c, factory, full_size, max_side_px) for c in chunks
        ]
        stop = threading.Event()
        watcher = threading.Thread(
            target=_watch, args=(counter, total, progress, stop), daemon=True
        )
        watcher.start()
        try:
            return [f.result() for f in futures]
        finally:
            stop.set()
            watcher.join()


def _watch(
    counter: Any, total: int, progress: ProgressCallback | None, stop: threading.Event
) -> None:
    if progress is None:
        return
    while not stop.wait(0.2):
        progress(int(counter.value), total)
    progress(int(counter.value), total)


def estimate_video(
    path: str | Path,
    /,
    *,
    factory: EstimatorFactory,
    settings: PoseSettings | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    workers: int | None = None,
    warmup_s: float = 1.0,
    min_chunk_s: float = 3.0,
    progress: ProgressCallback | None = None,
) -> xr.Dataset:
    """Estimate the main subject's pose in every frame of a video.

    Parameters
    ----------
    path
        The video file.
    factory
        A picklable callable returning a fresh estimator (one per worker process).
    settings
        Pose settings (frame size handed to the model, subject override).
    start_s, end_s
        Optional time span in seconds.
    workers
        Worker processes; default one per CPU core. 1 runs in this process.
    warmup_s
        Seconds each chunk after the first decodes before its start (tracking settles).
    min_chunk_s
        Shortest chunk worth its own process.
    progress
        Called with (frames done, frames expected) a few times per second.

    Returns
    -------
    xarray.Dataset
        The pose dataset (see :mod:`kneeback.schema`), one individual: the main subject.

    Raises
    ------
    kneeback.errors.InputError
        If the video cannot be read.
    kneeback.errors.NoPersonError
        If nobody is detected in any frame.
    """
    settings = settings or PoseSettings()
    info = probe_video(path)
    t0 = max(0.0, start_s or 0.0)
    # A file that states no duration is read in one chunk to its end.
    duration = info.duration_s if info.duration_s is not None else math.inf
    t1 = min(duration, end_s) if end_s is not None else duration
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    chunks = plan_chunks(t0, t1, workers=n_workers, warmup_s=warmup_s, min_chunk_s=min_chunk_s)
    if end_s is not None:
        last = chunks[-1]
        chunks[-1] = ChunkPlan(last.start_s, float(end_s), last.decode_from_s)
    full_size = (info.width, info.height)
    started = time.perf_counter()
    parts = _run_all(
        str(path),
        chunks,
        factory,
        full_size,
        settings.max_side_px,
        _expected_frames(info, t0, t1),
        progress,
    )
    frames = sorted((r for part in parts for r in part.frames), key=lambda r: r.index)
    if not frames:
        raise NoPersonError(f"No video frames were decoded from {path} in the requested span.")
    summary = track_people([r.people for r in frames])
    if not summary.tracks:
        raise NoPersonError(
            f"Nobody was detected in {Path(path).name}: film the whole body, in good light, "
            "with the camera still and the person filling at least a third of the frame."
        )
    elapsed = time.perf_counter() - started
    return _build_dataset(frames, summary, info, parts[0], settings, elapsed)


def _build_dataset(
    frames: Sequence[_FrameResult],
    summary: TrackingSummary,
    info: VideoInfo,
    source: _ChunkResult,
    settings: PoseSettings,
    elapsed_s: float,
) -> xr.Dataset:
    index = settings.subject if settings.subject is not None else 0
    if index >= len(summary.tracks):
        raise NoPersonError(
            f"Subject {index} was requested but only {len(summary.tracks)} people were tracked."
        )
    subject = summary.tracks[index]
    first = next(iter(subject.poses.values()))
    k = first.position_px.shape[0]
    n = len(frames)
    pos = np.full((n, 2, k, 1), np.nan)
    conf = np.full((n, k, 1), np.nan)
    world = np.full((n, 3, k, 1), np.nan)
    for i, _ in enumerate(frames):
        pose = subject.poses.get(i)
        if pose is None:
            continue
        pos[i, :, :, 0] = pose.position_px.T
        conf[i, :, 0] = pose.confidence
        if pose.position_world is not None:
            world[i, :, :, 0] = pose.position_world.T
    ds = make_pose_dataset(
        pos,
        time_s=np.array([r.time_s for r in frames]),
        confidence=conf,
        position_world=world,
        keypoints=source.keypoints,
        individuals=("subject",),
        fps=info.fps,  # None: make_pose_dataset uses the median rate of the timestamps
        source_software="kneeback (MediaPipe PoseLandmarker)",
        attrs={
            "model": source.description,
            "video": str(info.path),
            "width": info.width,
            "height": info.height,
            "rotation": info.rotation,
            "codec": info.codec,
            "people_seen": summary.people_seen,
            "max_people_in_frame": summary.max_people_in_frame,
            "subject_track": index,
            "frame_index_first": frames[0].index,
            "processing_s": round(elapsed_s, 3),
        },
    )
    ds.attrs["coverage"] = coverage(ds)
    return ds
