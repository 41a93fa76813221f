"""Plain-text descriptions of the files kneeback reads and writes (``kneeback info``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from kneeback.io.posefile import load_pose_dataset
from kneeback.io.video import VideoInfo, probe_video
from kneeback.schema import coverage

__all__ = ["describe_file", "describe_pose", "describe_video"]


def describe_video(info: VideoInfo, /) -> str:
    """Describe a probed video in a few lines."""
    frames = f"{info.frame_count} frames" if info.frame_count else "frame count unknown"
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
    )


def describe_pose(ds: xr.Dataset, /, *, path: str | Path = "") -> str:
    """Describe a pose dataset: frames, span, people, coverage and attributes."""
    t = ds["time"].values
    span = f"{t[0]:.2f}-{t[-1]:.2f} s" if t.size else "empty"
    lines = [
        f"Pose dataset {path}".rstrip(),
        f"  {ds.sizes['time']} frames ({span}), {ds.attrs.get('fps', float('nan')):.2f} frames/s",
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


def describe_file(path: str | Path, /) -> str:
    """Describe a video or pose file.

    Raises
    ------
    kneeback.errors.InputError
        If the file is missing or is neither a video nor a pose file.
    """
    path = Path(path)
    if path.suffix.lower() in {".nc", ".netcdf", ".h5"}:
        return describe_pose(load_pose_dataset(path), path=path)
    return describe_video(probe_video(path))
