"""Analyse a camera or stream while it runs: reps as they happen, the full critique at the end.

:func:`run_live` reads a :class:`~kneeback.io.live.LiveSource`, runs the pose model on each newest
frame (frames the model has no time for are skipped), records the frames it analysed, and every
second or so analyses what it has: each repetition that has ended is reported once, with its
verdict. When the source ends, ``duration_s`` is reached or ``stop`` is set, the whole recording is
analysed like a clip and written to an output folder (``annotated.mp4`` over the recording, which
is kept as ``recording.mp4``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from kneeback.analysis import analyse_detailed
from kneeback.errors import InputError, NoPersonError
from kneeback.io.live import LiveSource, describe_source
from kneeback.io.video import VideoInfo
from kneeback.io.video_writer import VideoWriter
from kneeback.pipeline import AnalysedInput, analyse_pose
from kneeback.pose.estimator import PoseEstimator
from kneeback.pose.worker import FrameResult
from kneeback.report.outputs import check_output_dir
from kneeback.report.result import AnalysisResult, RepInfo
from kneeback.settings import AnalysisSettings, PoseSettings

__all__ = ["RECORDING", "LiveStatus", "check_source", "run_live"]

#: Name of the raw recording in the output folder.
RECORDING = "recording.mp4"


@dataclass(frozen=True)
class LiveStatus:
    """Where a live session stands.

    Attributes
    ----------
    time_s
        Seconds of the source seen.
    analysed
        Frames the pose model analysed.
    skipped
        Frames skipped because the model was busy.
    reps
        Repetitions completed so far.
    """

    time_s: float
    analysed: int
    skipped: int
    reps: int


def check_source(source: str, /, *, open_timeout_s: float = 10.0) -> None:
    """Fail fast on a source that cannot be opened: before the pose model is loaded.

    A camera, or a stream that kneeback calls (``rtsp://``, ``http://``, ``srt://`` ...), is
    opened and closed again. A source that waits for a sender (``udp://``, or a URL that listens:
    ``listen=1``, ``mode=listener``) is not: it answers only once the stream arrives, and
    opening it would take the first of the stream; it is opened once, when the session starts.

    Parameters
    ----------
    source
        A camera or stream (see :func:`kneeback.io.live.describe_source`).
    open_timeout_s
        How long to wait for the source to answer.

    Raises
    ------
    InputError
        If the source cannot be opened or has no video.
    """
    url, _, _ = describe_source(source)
    if url.startswith("udp://") or re.search(r"[?&](listen|mode=listener)", url):
        return
    with LiveSource(source, max_side_px=64, open_timeout_s=open_timeout_s, read_timeout_s=1.0):
        pass


def _default_estimator(settings: PoseSettings) -> PoseEstimator:
    from kneeback.pose.mediapipe_adapter import MediaPipePoseEstimator
    from kneeback.pose.models import ensure_model

    return MediaPipePoseEstimator(ensure_model(settings.variant), settings=settings)


def run_live(
    source: str,
    target: str | Path,
    /,
    *,
    movement: str = "auto",
    view: str = "auto",
    settings: PoseSettings | None = None,
    duration_s: float | None = None,
    stop: threading.Event | None = None,
    estimator: PoseEstimator | None = None,
    on_rep: Callable[[RepInfo, AnalysisResult], None] | None = None,
    on_status: Callable[[LiveStatus], None] | None = None,
    on_ready: Callable[[], None] | None = None,
    on_loading: Callable[[], None] | None = None,
    open_timeout_s: float = 10.0,
    analysis_settings: AnalysisSettings | None = None,
) -> AnalysedInput:
    """Analyse a live source until it ends, ``duration_s`` passes or ``stop`` is set.

    Parameters
    ----------
    source
        A camera or stream (see :func:`kneeback.io.live.describe_source`).
    target
        The output folder, created or replaced at the end.
    movement, view
        ``"auto"`` or the stated movement / view.
    settings
        Pose settings; one person is followed (``max_people`` is set to 1).
    duration_s
        Stop after this many seconds of the source.
    stop
        Set it (e.g. from a signal handler) to end the session and write the outputs.
    estimator
        The pose estimator (default: MediaPipe with the settings' model variant); closed at the
        end.
    on_rep
        Called once for each repetition as soon as it has ended, with the analysis so far.
    on_status
        Called after each analysed frame.
    on_ready
        Called once the model is loaded, as the source is opened.
    on_loading
        Called once the source has been checked (:func:`check_source`), before the model is
        loaded.
    open_timeout_s
        How long to wait for the source to answer.
    analysis_settings
        Thresholds and processing of the analysis (default:
        :class:`~kneeback.settings.AnalysisSettings`).

    Returns
    -------
    AnalysedInput
        The final analysis and its output folder.

    Raises
    ------
    InputError
        If the source cannot be opened or sends no picture.
    NoPersonError
        If nobody was seen.
    """
    settings = (settings or PoseSettings()).model_copy(update={"max_people": 1})
    target = check_output_dir(target)
    stop = stop or threading.Event()
    check_source(source, open_timeout_s=open_timeout_s)  # a bad source fails before the model
    if on_loading is not None:
        on_loading()
    model = estimator or _default_estimator(settings)
    frames: list[FrameResult] = []
    reported: list[RepInfo] = []
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=".kneeback-live-", dir=target.parent))
    recording = work / RECORDING
    try:
        if on_ready is not None:
            on_ready()
        with LiveSource(
            source, max_side_px=settings.max_side_px, open_timeout_s=open_timeout_s
        ) as live:
            info: VideoInfo | None = None
            writer: VideoWriter | None = None
            next_update, cost = 1.0, 0.0
            try:
                for frame in live.frames(stop=stop):
                    if stop.is_set() or (duration_s is not None and frame.time_s >= duration_s):
                        break
                    h, w = frame.image.shape[:2]
                    if writer is None:
                        writer = VideoWriter(recording, width=w, height=h, fps=live.fps or 30.0)
                        writer.open()
                        info = _info(recording, w, h, live.fps)
                    writer.write(frame.image, time_s=frame.time_s)
                    people = model.estimate(frame.image, time_s=frame.time_s, full_size=(w, h))
                    frames.append(FrameResult(frame.index, frame.time_s, people))
                    if frame.time_s >= next_update and info is not None:
                        t = time.perf_counter()
                        _report_reps(
                            frames,
                            info,
                            model,
                            settings,
                            movement,
                            view,
                            reported,
                            on_rep,
                            analysis_settings=analysis_settings,
                        )
                        cost = time.perf_counter() - t
                        next_update = frame.time_s + max(1.0, 3.0 * cost)
                    if on_status is not None:
                        on_status(
                            LiveStatus(
                                frame.time_s,
                                len(frames),
                                frame.index + 1 - len(frames),
                                len(reported),
                            )
                        )
            finally:
                if writer is not None:
                    writer.close()
        if info is None:
            raise InputError(f"The live source {source} sent no picture.")
        ds = _dataset(frames, info, model, settings, started)
        if ds is None:
            raise NoPersonError(
                "Nobody was seen in the live source: film the whole body, in good light, with the "
                "camera still."
            )
        done = analyse_pose(
            ds,
            target,
            movement=movement,
            view=view,
            video=recording,
            source=f"The session from {source}",
            analysis_settings=analysis_settings,
        )
        result = done.analysis.result
        for rep in result.reps[len(reported) :]:  # those that ended with the session
            reported.append(rep)
            if on_rep is not None:
                on_rep(rep, result)
        shutil.move(str(recording), str(done.files.folder / RECORDING))
        return done
    finally:
        model.close()
        shutil.rmtree(work, ignore_errors=True)


def _info(recording: Path, width: int, height: int, fps: float | None) -> VideoInfo:
    """Describe the recording being written (the pose dataset's ``video`` and size attrs)."""
    return VideoInfo(
        path=recording,
        codec="h264",
        width=width,
        height=height,
        coded_width=width,
        coded_height=height,
        rotation=0,
        fps=fps,
        duration_s=None,
        frame_count=None,
        has_audio=False,
        pixel_format="yuv420p",
    )


def _dataset(
    frames: list[FrameResult],
    info: VideoInfo,
    model: PoseEstimator,
    settings: PoseSettings,
    started: float,
) -> xr.Dataset | None:
    """Build the pose dataset of the frames so far; None while nobody has been seen."""
    from kneeback.pose.video_pose import build_pose_dataset

    if not frames:
        return None
    try:
        return build_pose_dataset(
            frames,
            info=info,
            keypoints=model.keypoints,
            description=model.description,
            settings=settings,
            elapsed_s=time.perf_counter() - started,
        )
    except NoPersonError:
        return None


def _report_reps(
    frames: list[FrameResult],
    info: VideoInfo,
    model: PoseEstimator,
    settings: PoseSettings,
    movement: str,
    view: str,
    reported: list[RepInfo],
    on_rep: Callable[[RepInfo, AnalysisResult], None] | None,
    *,
    analysis_settings: AnalysisSettings | None = None,
) -> None:
    """Analyse the frames so far; report each repetition that has ended, once, in order."""
    ds = _dataset(frames, info, model, settings, time.perf_counter())
    if ds is None or ds.sizes["time"] < 10:
        return
    try:
        result = analyse_detailed(
            ds, movement=movement, view=view, settings=analysis_settings
        ).result
    except ValueError:
        return  # too little to analyse yet
    now = frames[-1].time_s
    for rep in result.reps[len(reported) :]:
        if rep.end_s > now - 0.5:  # over only once the person has stood a moment since
            break
        reported.append(rep)
        if on_rep is not None:
            on_rep(rep, result)
