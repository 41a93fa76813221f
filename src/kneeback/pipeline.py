"""The one place that chains video input, pose estimation and the compute core."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import xarray as xr

from kneeback.io.video import probe_video
from kneeback.pose.mediapipe_adapter import MediaPipePoseEstimator
from kneeback.pose.models import ensure_model
from kneeback.pose.video_pose import ProgressCallback, estimate_video
from kneeback.settings import PoseSettings

__all__ = ["pose_video"]


def pose_video(
    path: str | Path,
    /,
    *,
    settings: PoseSettings | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    on_message: Callable[[str], None] | None = None,
) -> xr.Dataset:
    """Turn a video into a pose dataset with the MediaPipe model (installed on first use).

    Parameters
    ----------
    path
        A video file (H.264, VP9, MPEG-4 Part 2 ... anything FFmpeg decodes).
    settings
        Model variant, thresholds, frame size and subject choice.
    start_s, end_s
        Optional span in seconds.
    workers
        Worker processes (default: one per CPU core).
    progress
        Called with (frames done, frames expected).
    on_message
        Called with a sentence for each step of a first-use model install.

    Returns
    -------
    xarray.Dataset
        The pose dataset of the main subject.
    """
    settings = settings or PoseSettings()
    probe_video(path)  # fail on a bad file before a model is installed
    model = ensure_model(settings.variant, progress=on_message)
    # The lite model is enough for the scans that count the people in view.
    scan_model = ensure_model("lite", progress=on_message) if settings.max_people > 1 else None
    factory = partial(MediaPipePoseEstimator, model, settings=settings, scan_model_path=scan_model)
    return estimate_video(
        path,
        factory=factory,
        settings=settings,
        start_s=start_s,
        end_s=end_s,
        workers=workers,
        progress=progress,
    )
