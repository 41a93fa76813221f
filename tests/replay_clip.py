"""A small synthetic "video" of squats whose pose is known: for fast end-to-end tests.

Real motion (a UI-PRMD deep squat, Vicon markers) is repeated to make a set of reps, resampled to
the video's frame rate and seen by a virtual side-view camera of the video's size. The video
itself is a synthetic clip (``videogen``) with the same frame times, so that the pose pipeline
can replay the landmarks frame by frame (:class:`kneeback.pose.replay.ReplayEstimator`) while the
video path (decode, annotate, encode) runs for real.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from kneeback.io.adapters import load_uiprmd
from kneeback.io.adapters.virtual_camera import project
from kneeback.pose.replay import ReplayEstimator
from kneeback.pose.video_pose import estimate_video
from kneeback.schema import make_pose_dataset
from videogen import make_video

UIPRMD = Path(__file__).resolve().parents[2] / "shared" / "data" / "ui-prmd" / "vicon"
SQUAT_FILE = UIPRMD / "correct" / "m01_s01_e01_positions.txt.gz"
needs_uiprmd = pytest.mark.skipif(not SQUAT_FILE.exists(), reason="../shared/data not present")

WIDTH, HEIGHT, FPS = 240, 320, 30  # upright portrait, like a phone


def squat_pose(*, reps: int = 2, fps: int = FPS, width: int = WIDTH, height: int = HEIGHT):
    """A pose dataset of ``reps`` deep squats seen from the side, in pixels of the clip.

    Returns a dataset shaped like the pose pipeline's output for a real video: 2D positions in
    pixels (no ``position_from`` attr, so the analysis treats it as camera data) plus the world
    landmarks.
    """
    one = load_uiprmd(SQUAT_FILE)
    world = np.asarray(
        one["position_world"].transpose("time", "space3", "keypoints", "individuals").values
    )
    src_t = np.asarray(one["time"].values)
    dur = float(src_t[-1] - src_t[0]) + 1.0 / float(one.attrs["fps"])
    n = int(reps * dur * fps)
    t = np.arange(n) / fps
    idx = np.clip(
        np.round(((t % dur) - 0.0) * float(one.attrs["fps"])).astype(int), 0, world.shape[0] - 1
    )
    w = world[idx]
    ds = make_pose_dataset(
        np.full((n, 2, w.shape[2], 1), np.nan),
        time_s=t,
        position_world=w,
        confidence=np.where(np.isfinite(w).all(axis=1), 0.95, np.nan),
        fps=float(fps),
        source_software="synthetic",
        attrs={"width": width, "height": height, "rotation": 0, "model": "", "video": ""},
    )
    seen = project(ds, view="side", image_size=(height, width), focal_px=height * 1.2)
    attrs = {k: v for k, v in seen.attrs.items() if not k.startswith(("position_from", "virtual"))}
    seen.attrs = attrs
    return seen


def squat_clip(
    directory: Path, *, reps: int = 2, metadata: dict[str, str] | None = None
) -> tuple[Path, xr.Dataset]:
    """Write the synthetic clip of :func:`squat_pose` and return it with its pose dataset."""
    ds = squat_pose(reps=reps)
    clip = make_video(
        directory / "squats.mp4",
        n_frames=ds.sizes["time"],
        fps=FPS,
        width=WIDTH,
        height=HEIGHT,
        metadata=metadata,
    )
    return clip, ds


def replaying_pose_video(ds: xr.Dataset):
    """A stand-in for :func:`kneeback.pipeline.pose_video` that replays ``ds`` over the video."""

    def pose_video(
        path,
        /,
        *,
        settings=None,
        start_s=None,
        end_s=None,
        workers=None,
        progress=None,
        on_message=None,
    ):
        return estimate_video(
            path,
            factory=partial(ReplayEstimator, ds),
            settings=settings,
            start_s=start_s,
            end_s=end_s,
            workers=1,
            progress=progress,
        )

    return pose_video
