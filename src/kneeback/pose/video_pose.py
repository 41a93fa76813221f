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
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from kneeback.errors import NoPersonError
from kneeback.io.video import VideoInfo, VideoReadWarning, probe_video, refuse_single_picture
from kneeback.pose.tracking import TrackingSummary, track_people
from kneeback.pose.worker import (
    ChunkPlan,
    ChunkResult,
    EstimatorFactory,
    FrameResult,
    init_worker,
    run_chunk,
)
from kneeback.schema import coverage, make_pose_dataset
from kneeback.settings import PoseSettings

__all__ = [
    "ChunkPlan",
    "EstimatorFactory",
    "build_pose_dataset",
    "estimate_video",
    "plan_chunks",
]

ProgressCallback = Callable[[int, int], None]


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
        ChunkPlan(
            float(a),
            float(b),
            float(a if i == 0 else max(start_s, a - warmup_s)),
            may_be_empty=i > 0,
        )
        for i, (a, b) in enumerate(itertools.pairwise(edges))
    ]


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
) -> list[ChunkResult]:
    """Run the first chunk in this process and each other chunk in a worker process of its own."""
    # "spawn", not "fork": the parent may hold threads and native model state.
    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(counter, total, progress, stop))
    pool = None
    try:
        if len(chunks) > 1:
            pool = ProcessPoolExecutor(
                max_workers=len(chunks) - 1,
                mp_context=ctx,
                initializer=init_worker,
                initargs=(counter,),
            )
            futures = [
                pool.submit(run_chunk, path, c, factory, full_size, max_side_px) for c in chunks[1:]
            ]
        watcher.start()
        init_worker(counter)
        results = [run_chunk(path, chunks[0], factory, full_size, max_side_px)]
        if pool is not None:
            results += [f.result() for f in futures]
        return results
    finally:
        init_worker(None)
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        stop.set()
        if watcher.is_alive():
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
    warmup_s: float = 0.5,
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
        Upper bound on worker processes; default one per CPU core. A span too short to split
        (see ``min_chunk_s``), or ``workers=1``, runs in this process. Worker processes are
        started with "spawn", so a script calling this must guard its entry point with
        ``if __name__ == "__main__":``.
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
        If the video cannot be read, or holds a single picture (one frame), which shows no
        movement.
    kneeback.errors.NoPersonError
        If nobody is detected in any frame.
    """
    settings = settings or PoseSettings()
    info = probe_video(path)
    refuse_single_picture(info)  # before any model runs, as a photo is refused
    t0 = max(0.0, start_s or 0.0)
    # A file that states no duration is read in one chunk to its end.
    duration = info.duration_s if info.duration_s is not None else math.inf
    t1 = min(duration, end_s) if end_s is not None else duration
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    chunks = plan_chunks(t0, t1, workers=n_workers, warmup_s=warmup_s, min_chunk_s=min_chunk_s)
    if end_s is not None:
        last = chunks[-1]
        chunks[-1] = ChunkPlan(
            last.start_s, float(end_s), last.decode_from_s, may_be_empty=last.may_be_empty
        )
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
    for message in dict.fromkeys(m for part in parts for m in part.warnings):
        warnings.warn(message, VideoReadWarning, stacklevel=2)
    frames = sorted((r for part in parts for r in part.frames), key=lambda r: r.index)
    if not frames:
        raise NoPersonError(f"No video frames were decoded from {path} in the requested span.")
    return build_pose_dataset(
        frames,
        info=info,
        keypoints=parts[0].keypoints,
        description=parts[0].description,
        settings=settings,
        elapsed_s=time.perf_counter() - started,
    )


def build_pose_dataset(
    frames: Sequence[FrameResult],
    /,
    *,
    info: VideoInfo,
    keypoints: Sequence[str],
    description: str,
    settings: PoseSettings,
    elapsed_s: float,
) -> xr.Dataset:
    """Track the people found frame by frame and build the main subject's pose dataset.

    Parameters
    ----------
    frames
        The people found in each frame, in time order.
    info
        The video the frames came from (size, orientation, recording date; the ``video`` attr).
    keypoints, description
        The estimator's landmark names and model description.
    settings
        Pose settings (``subject`` picks another tracked person).
    elapsed_s
        Processing time, recorded in the ``processing_s`` attr.

    Returns
    -------
    xarray.Dataset
        The pose dataset of the subject.

    Raises
    ------
    kneeback.errors.NoPersonError
        If nobody was detected in any frame.
    """
    summary = track_people([r.people for r in frames])
    if not summary.tracks:
        raise NoPersonError(
            f"Nobody was detected in {Path(info.path).name}: film the whole body, in good light, "
            "with the camera still and the person filling at least a third of the frame."
        )
    source = ChunkResult(tuple(keypoints), description, [])
    return _build_dataset(frames, summary, info, source, settings, elapsed_s)


def _build_dataset(
    frames: Sequence[FrameResult],
    summary: TrackingSummary,
    info: VideoInfo,
    source: ChunkResult,
    settings: PoseSettings,
    elapsed_s: float,
) -> xr.Dataset:
    index = settings.subject if settings.subject is not None else 0
    n = len(summary.tracks)
    if index >= n:
        raise NoPersonError(
            f"Subject {index} was requested but only {n} "
            + (
                "person was tracked (--subject 0)."
                if n == 1
                else f"people were tracked (0 to {n - 1})."
            )
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
            "measurement": "video",
            "people_seen": summary.people_seen,
            "max_people_in_frame": summary.max_people_in_frame,
            "subject_track": index,
            "frame_index_first": frames[0].index,
            "processing_s": round(elapsed_s, 3),
        },
    )
    ds.attrs["coverage"] = coverage(ds)
    if info.recorded_at is not None:
        ds.attrs["recorded_at"] = info.recorded_at.isoformat()
    return ds
