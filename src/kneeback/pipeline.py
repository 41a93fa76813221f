"""The one place that chains input files, pose estimation, the compute core and the outputs.

:func:`pose_video` turns a video into a pose dataset; :func:`analyse_input` takes a video or a
pose file all the way to an output folder. ``kneeback analyze``, the web app's analysis jobs and
``kneeback batch`` all call :func:`analyse_input`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr

from kneeback.analysis import AnalysisOutput, analyse_detailed
from kneeback.errors import InputError
from kneeback.io.adapters import PoseFormat, load_any
from kneeback.io.video import probe_video
from kneeback.pose.mediapipe_adapter import MediaPipePoseEstimator
from kneeback.pose.models import ensure_model
from kneeback.pose.video_pose import ProgressCallback, estimate_video
from kneeback.report.outputs import (
    OutputFiles,
    StageProgress,
    check_output_dir,
    write_analysis_folder,
)
from kneeback.settings import AnalysisSettings, PoseSettings

__all__ = [
    "AnalysedInput",
    "InputFormat",
    "analyse_input",
    "analyse_pose",
    "is_pose_file",
    "pose_video",
    "select_span",
]

InputFormat = Literal[PoseFormat, "video"]
"""How to read an input: ``"auto"``, a pose-file format, or ``"video"``."""

#: File name endings and first bytes that mark a pose file rather than a video.
_POSE_SUFFIXES = frozenset({".nc", ".netcdf", ".json", ".txt", ".gz", ".csv", ".tsv"})
_POSE_MAGIC = (b"CDF\x01", b"CDF\x02", b"\x89HDF\r\n\x1a\n")


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


def is_pose_file(path: str | Path, /, *, format: InputFormat = "auto") -> bool:
    """Whether an input is read as a pose file (True) or as a video (False).

    Parameters
    ----------
    path
        The input file.
    format
        ``"video"``, a pose format, or ``"auto"``: from the name, else from the first bytes
        (netCDF / HDF5 signatures).

    Returns
    -------
    bool
        True for a pose file.
    """
    if format != "auto":
        return format != "video"
    path = Path(path)
    if path.suffix.lower() in _POSE_SUFFIXES:
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return False  # the video reader explains what is wrong with the file
    return head.startswith(_POSE_MAGIC)


def select_span(
    ds: xr.Dataset, /, *, start_s: float | None, end_s: float | None, source: str | Path = ""
) -> xr.Dataset:
    """Keep the frames of a pose dataset with ``start_s <= time < end_s``.

    Parameters
    ----------
    ds
        A pose dataset.
    start_s, end_s
        The span in seconds; None for the start or the end of the data.
    source
        The file the data came from, named in the error.

    Returns
    -------
    xarray.Dataset
        The frames in the span.

    Raises
    ------
    InputError
        If no frame lies in the span.
    """
    if start_s is None and end_s is None:
        return ds
    t = np.asarray(ds["time"].values, dtype=np.float64)
    lo = start_s if start_s is not None else -np.inf
    hi = end_s if end_s is not None else np.inf
    keep = (t >= lo) & (t < hi)
    if not keep.any():
        raise InputError(
            f"No frame of {source} lies between {start_s or 0:g} s and "
            f"{'the end' if end_s is None else f'{end_s:g} s'} "
            f"(it spans {t[0]:.2f}-{t[-1]:.2f} s)."
        )
    return ds.isel(time=keep.nonzero()[0])


@dataclass(frozen=True)
class AnalysedInput:
    """What :func:`analyse_input` produced.

    Attributes
    ----------
    analysis
        The result with the angle time series and the preprocessed pose.
    files
        The output folder's files at their final place.
    pose
        The pose dataset as estimated or loaded.
    from_video
        Whether the input was a video (else a pose file).
    recorded_at
        When the clip was recorded, from the video's metadata (kept in the pose dataset).
    """

    analysis: AnalysisOutput
    files: OutputFiles
    pose: xr.Dataset
    from_video: bool

    @property
    def recorded_at(self) -> dt.datetime | None:
        """When the clip was recorded (UTC), if its file said so (pose attr ``recorded_at``)."""
        value = self.pose.attrs.get("recorded_at")
        if not isinstance(value, str):
            return None
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None


def analyse_input(
    path: str | Path,
    target: str | Path,
    /,
    *,
    movement: str = "auto",
    view: str = "auto",
    format: InputFormat = "auto",
    fps: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    settings: PoseSettings | None = None,
    workers: int | None = None,
    exports: Sequence[str] = (),
    progress: StageProgress | None = None,
    on_message: Callable[[str], None] | None = None,
    analysis_settings: AnalysisSettings | None = None,
    before_publish: Callable[[AnalysedInput], None] | None = None,
) -> AnalysedInput:
    """Analyse a video or a pose file and write its output folder (all of it, or nothing).

    Parameters
    ----------
    path
        A video, or a pose file in any format :func:`kneeback.io.adapters.load_any` reads.
    target
        The output folder, created or replaced (see :mod:`kneeback.report.outputs`).
    movement, view
        ``"auto"`` or the stated movement / view (see :func:`kneeback.analysis.analyse`).
    format
        How to read ``path`` (see :func:`is_pose_file`).
    fps
        Frame rate of a pose file that does not store one; ignored for videos.
    start_s, end_s
        Optional span in seconds.
    settings
        Pose settings for a video.
    workers
        Worker processes for a video's pose estimation (default: one per CPU core).
    exports
        Extra output formats (``"mot"``).
    progress
        Called with (stage, done, total): ``"pose"`` (frames, videos only), ``"analysis"``,
        then ``"video"`` and ``"report"`` from :func:`write_analysis_folder`.
    on_message
        Called with a sentence for each step of a first-use model install.
    analysis_settings
        Thresholds and processing of the analysis (default:
        :class:`~kneeback.settings.AnalysisSettings`).
    before_publish
        Called with the finished analysis once its folder is completely written, just before
        it takes the target's place (e.g. to store the session): if it raises, the target is
        left as it was and the error propagates.

    Returns
    -------
    AnalysedInput
        The analysis, the written files and the pose dataset.

    Raises
    ------
    KneebackError
        For an input that cannot be read or analysed (:class:`InputError`, a video with nobody
        in it, an unavailable model) or an output folder that cannot be written.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"Input file {path} does not exist.")
    target = check_output_dir(target, inputs=[path])
    from_video = not is_pose_file(path, format=format)
    if from_video:
        ds = pose_video(
            path,
            settings=settings,
            start_s=start_s,
            end_s=end_s,
            workers=workers,
            progress=None if progress is None else partial(progress, "pose"),
            on_message=on_message,
        )
    else:
        ds = load_any(path, format=format, fps=fps)  # type: ignore[arg-type]  # not "video"
        ds = select_span(ds, start_s=start_s, end_s=end_s, source=path)
    return analyse_pose(
        ds,
        target,
        movement=movement,
        view=view,
        video=path if from_video else None,
        start_s=start_s,
        end_s=end_s,
        exports=exports,
        source=path,
        inputs=[path],
        progress=progress,
        analysis_settings=analysis_settings,
        before_publish=before_publish,
    )


def analyse_pose(
    ds: xr.Dataset,
    target: str | Path,
    /,
    *,
    movement: str = "auto",
    view: str = "auto",
    video: Path | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    exports: Sequence[str] = (),
    source: str | Path = "The pose data",
    inputs: Sequence[str | Path] = (),
    progress: StageProgress | None = None,
    analysis_settings: AnalysisSettings | None = None,
    before_publish: Callable[[AnalysedInput], None] | None = None,
) -> AnalysedInput:
    """Analyse a pose dataset and write its output folder (all of it, or nothing).

    Parameters
    ----------
    ds
        The pose dataset.
    target
        The output folder, created or replaced.
    movement, view
        ``"auto"`` or the stated movement / view.
    video
        The video the pose came from (for ``annotated.mp4``); None for a pose file.
    start_s, end_s
        The span of the video that was analysed.
    exports
        Extra output formats (``"mot"``).
    source
        What the data came from, named in errors.
    inputs
        Input files, which must not lie inside ``target``.
    progress
        Called with (stage, done, total): ``"analysis"``, then ``"video"`` and ``"report"``.
    analysis_settings
        Thresholds and processing of the analysis (default:
        :class:`~kneeback.settings.AnalysisSettings`).
    before_publish
        Called with the finished analysis once its folder is completely written, just before
        it takes the target's place (e.g. to store the session): if it raises, the target is
        left as it was and the error propagates.

    Returns
    -------
    AnalysedInput
        The analysis, the written files and the pose dataset.

    Raises
    ------
    InputError
        If the data cannot be analysed.
    OutputError
        If the output folder cannot be written.
    """
    if progress is not None:
        progress("analysis", 0, 1)
    try:
        analysis = analyse_detailed(ds, movement=movement, view=view, settings=analysis_settings)
    except ValueError as exc:
        raise InputError(f"{source} cannot be analysed: {exc}") from exc
    if progress is not None:
        progress("analysis", 1, 1)
    files = write_analysis_folder(
        target,
        result=analysis.result,
        angles=analysis.angles,
        pose=ds,
        processed=analysis.processed,
        video=video,
        start_s=start_s,
        end_s=end_s,
        exports=exports,
        inputs=inputs,
        progress=progress,
        before_publish=None
        if before_publish is None
        else lambda written: before_publish(
            AnalysedInput(analysis=analysis, files=written, pose=ds, from_video=video is not None)
        ),
    )
    return AnalysedInput(analysis=analysis, files=files, pose=ds, from_video=video is not None)
