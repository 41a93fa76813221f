"""Plain-text descriptions of the files kneeback reads and writes (``kneeback info``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import xarray as xr

from kneeback.io.adapters import PoseFormat, load_any
from kneeback.io.video import VideoInfo, probe_video
from kneeback.schema import coverage

if TYPE_CHECKING:
    from kneeback.pipeline import InputFormat

__all__ = ["describe_file", "describe_pose", "describe_video"]


def describe_video(info: VideoInfo, /) -> str:
    """Describe a probed video in a few lines."""
    n = info.frame_count
    frames = f"{n} frame{'' if n == 1 else 's'}" if n else "frame count unknown"
    rotation = f", stored rotated {info.rotation} deg" if info.rotation else ""
    duration = f"{info.duration_s:.2f} s" if info.duration_s is not None else "duration unknown"
    fps = f"{info.fps:.2f} frames/s average" if info.fps is not None else "frame rate unknown"
    recorded = (
        f"{info.recorded_at:%Y-%m-%d %H:%M} UTC"
        if info.recorded_at is not None
        else "not stated in the file"
    )
    return "\n".join(
        [
            f"Video {info.path}",
            f"  codec {info.codec}, {info.width}x{info.height} as displayed{rotation}",
            f"  {duration}, {fps}, {frames}",
            f"  audio: {'yes' if info.has_audio else 'no'}",
            f"  recorded: {recorded}",
        ]
        + (["  a single frame: no movement to analyse (analyze refuses it)"] if n == 1 else [])
    )


def describe_pose(ds: xr.Dataset, /, *, path: str | Path = "") -> str:
    """Describe a pose dataset: frames, duration, rate, people, coverage and attributes."""
    t = ds["time"].values
    fps = float(ds.attrs.get("fps", float("nan")))
    if t.size:
        frame_s = 1.0 / fps if np.isfinite(fps) and fps > 0 else 0.0
        span = f"lasting {t[-1] - t[0] + frame_s:.2f} s ({t[0]:.2f}-{t[-1]:.2f} s)"
    else:
        span = "empty"
    lines = [
        f"Pose dataset {path}".rstrip(),
        f"  {ds.sizes['time']} frames {span}, {fps:.2f} frames/s",
        f"  {ds.sizes['keypoints']} keypoints, individuals: "
        + ", ".join(str(i) for i in ds["individuals"].values),
        f"  source: {ds.attrs.get('source_software', '?')}; model: {ds.attrs.get('model') or '-'}",
        f"  3D world landmarks: {'yes' if 'position_world' in ds else 'no'}",
    ]
    for ind in ds["individuals"].values:
        lines.append(f"  {ind}: found in {coverage(ds, individual=str(ind)):.1%} of frames")
    if ds.attrs.get("video"):
        lines.append(
            f"  from video {ds.attrs['video']} ({ds.attrs.get('width')}x{ds.attrs.get('height')}, "
            f"rotation {ds.attrs.get('rotation', 0)} deg)"
        )
    if "people_seen" in ds.attrs:
        lines.append(f"  people seen: {int(ds.attrs['people_seen'])}")
    conf = ds["confidence"].values
    if np.isfinite(conf).any():
        lines.append(f"  median landmark visibility: {np.nanmedian(conf):.2f}")
    lines.append(f"  schema version {ds.attrs.get('schema_version')}")
    return "\n".join(lines)


def describe_file(
    path: str | Path, /, *, format: InputFormat = "auto", fps: float | None = None
) -> str:
    """Describe any input ``kneeback analyze`` accepts: a video or a pose file of any format.

    Parameters
    ----------
    path
        The file.
    format
        How to read it, as for ``analyze`` (see :func:`kneeback.pipeline.is_pose_file`):
        ``"auto"`` (from its name and first bytes), ``"video"`` or a pose format.
    fps
        Frame rate of a pose file that does not store one.

    Raises
    ------
    kneeback.errors.InputError
        If the file is missing or is neither a video nor a pose file it can be read as.
    """
    from kneeback.pipeline import is_pose_file  # analyze's own rule

    path = Path(path)
    if is_pose_file(path, format=format):
        pose_format = cast("PoseFormat", format)  # not "video" here
        return describe_pose(load_any(path, format=pose_format, fps=fps), path=path)
    return describe_video(probe_video(path))
