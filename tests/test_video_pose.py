"""Chunked pose estimation over worker processes, tested with the replay estimator (no model)."""

from __future__ import annotations

import itertools
import math
import warnings
from functools import partial

import numpy as np
import pytest

from kneeback.errors import InputError, NoPersonError
from kneeback.io.video import iter_frames, probe_video, refuse_single_picture
from kneeback.pose.replay import ReplayEstimator
from kneeback.pose.video_pose import estimate_video, plan_chunks
from kneeback.schema import make_pose_dataset
from videogen import make_video


def test_plan_chunks_covers_the_span_without_overlap():
    chunks = plan_chunks(0.0, 10.0, workers=3, warmup_s=1.0, min_chunk_s=3.0)
    assert len(chunks) == 3
    assert chunks[0].start_s == 0.0 and chunks[0].decode_from_s == 0.0
    assert math.isinf(chunks[-1].end_s)
    for a, b in itertools.pairwise(chunks):
        assert a.end_s == b.start_s
        assert b.decode_from_s == pytest.approx(b.start_s - 1.0)


def test_short_spans_stay_in_one_chunk():
    assert len(plan_chunks(0.0, 2.5, workers=8, warmup_s=1.0, min_chunk_s=3.0)) == 1
    assert len(plan_chunks(0.0, math.inf, workers=8, warmup_s=1.0, min_chunk_s=3.0)) == 1


def _replay_source(times, width, height):
    """A moving stick figure, one pose per frame time; person absent in frames 10-14."""
    n = len(times)
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.8, size=(33, 2)) * (width, height)
    pos = np.stack([base + np.array([i, 0.5 * i]) for i in range(n)])  # (time, K, 2)
    pos[10:15] = np.nan
    position = pos.transpose(0, 2, 1)[..., None]
    return make_pose_dataset(position, time_s=times, attrs={"width": width, "height": height})


@pytest.mark.parametrize("workers", [1, 2])
def test_chunks_are_stitched_in_order_with_every_frame_once(tmp_path, workers):
    clip = make_video(tmp_path / "clip.mp4", n_frames=120, fps=20, width=64, height=48, gop=10)
    times = np.array([f.time_s for f in iter_frames(clip)])
    source = _replay_source(times, 64, 48)
    ds = estimate_video(
        clip,
        factory=partial(ReplayEstimator, source),
        workers=workers,
        warmup_s=0.5,
        min_chunk_s=2.0,
    )
    np.testing.assert_allclose(ds["time"].values, times)
    np.testing.assert_allclose(ds["position"].values, source["position"].values)
    assert ds.attrs["coverage"] == pytest.approx(115 / 120)
    assert ds.attrs["people_seen"] == 1


def test_start_end_span(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", n_frames=120, fps=20, width=64, height=48, gop=10)
    times = np.array([f.time_s for f in iter_frames(clip)])
    source = _replay_source(times, 64, 48)
    ds = estimate_video(
        clip,
        factory=partial(ReplayEstimator, source),
        start_s=2.0,
        end_s=5.0,
        workers=2,
        min_chunk_s=1.0,
    )
    t = ds["time"].values
    assert t[0] == pytest.approx(2.0) and t[-1] < 5.0 and len(t) == 60


def test_nobody_detected_raises(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", n_frames=30, fps=30, width=64, height=48)
    empty = _replay_source(np.arange(30) / 30, 64, 48)
    empty["position"][:] = np.nan
    with pytest.raises(NoPersonError, match="Nobody was detected"):
        estimate_video(clip, factory=partial(ReplayEstimator, empty), workers=1)


def test_a_subject_beyond_the_people_tracked_says_which_exist(tmp_path):
    from kneeback.settings import PoseSettings

    clip = make_video(tmp_path / "clip.mp4", n_frames=30, fps=30, width=64, height=48)
    source = _replay_source(np.arange(30) / 30, 64, 48)
    with pytest.raises(NoPersonError, match=r"only 1 person was tracked \(--subject 0\)"):
        estimate_video(
            clip,
            factory=partial(ReplayEstimator, source),
            settings=PoseSettings(subject=2),
            workers=1,
        )


def test_a_truncated_file_gives_the_same_frames_whatever_the_workers(tmp_path):
    # A phone clip with its index in front, cut short: the later chunks start after the file
    # breaks off. They are simply empty; the result is what one worker reads, with its warning.
    clip = make_video(
        tmp_path / "clip.mp4", n_frames=120, fps=20, width=64, height=48, gop=10, faststart=True
    )
    source = _replay_source(np.array([f.time_s for f in iter_frames(clip)]), 64, 48)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: int(clip.stat().st_size * 0.3)])
    results = {}
    for workers in (1, 3):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = estimate_video(
                cut,
                factory=partial(ReplayEstimator, source),
                workers=workers,
                warmup_s=0.5,
                min_chunk_s=1.5,
            )
        results[workers] = (ds["time"].values, [str(w.message) for w in caught])
    (times_1, warned_1), (times_3, warned_3) = results[1], results[3]
    assert 10 < len(times_1) < 60
    np.testing.assert_array_equal(times_3, times_1)
    assert warned_3 == warned_1
    assert len(warned_1) == 1 and "ended early" in warned_1[0] and "start_s" not in warned_1[0]


def test_a_person_found_in_a_short_clip_is_a_person_seen(tmp_path):
    # Fewer frames than a track needs to count: the person followed still counts as seen.
    clip = make_video(tmp_path / "clip.mp4", n_frames=3, fps=30, width=64, height=48)
    source = _replay_source(np.arange(3) / 30, 64, 48)
    ds = estimate_video(clip, factory=partial(ReplayEstimator, source), workers=1)
    assert ds.attrs["coverage"] == 1.0
    assert ds.attrs["people_seen"] == 1


def test_a_single_frame_video_is_refused_like_a_photo(tmp_path):
    source = _replay_source(np.zeros(1), 64, 48)
    for name, codec in (("one.mp4", "libx264"), ("one.webm", "libvpx-vp9")):
        clip = make_video(tmp_path / name, n_frames=1, fps=30, width=64, height=48, codec=codec)
        with pytest.raises(InputError, match=r"holds a single picture .* not a video: film the"):
            estimate_video(clip, factory=partial(_no_model, source), workers=1)
    two = make_video(tmp_path / "two.webm", n_frames=2, width=64, height=48, codec="libvpx-vp9")
    refuse_single_picture(probe_video(two))  # two frames are a (short) video


def _no_model(source):
    raise AssertionError("the model must not run on a single picture")
