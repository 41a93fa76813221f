"""The H.264 writer and the annotated video: timing kept, upright, overlays that follow the reps."""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction

import av
import numpy as np
import pytest

from kneeback.analysis import analyse_detailed
from kneeback.io.video import iter_frames, probe_video
from kneeback.io.video_writer import VideoWriter, even_size
from kneeback.report.annotate import (
    Annotator,
    Caption,
    Overlay,
    _cue_layout,
    draw_overlay,
    write_annotated_video,
)
from replay_clip import FPS, needs_uiprmd, squat_clip, squat_pose
from videogen import make_video


def _stream_facts(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        times = [float(f.time) for f in c.decode(video=0)]
        return s.codec_context.name, s.codec_context.pix_fmt, s.width, s.height, times


# --------------------------------------------------------------------------------------------------
# VideoWriter


def test_writer_keeps_variable_frame_times_and_makes_browser_mp4(tmp_path):
    times = [0.0, 0.04, 0.07, 0.15, 0.2, 0.26, 0.3]
    out = tmp_path / "vfr.mp4"
    with VideoWriter(out, width=64, height=48, fps=25) as sink:
        for i, t in enumerate(times):
            sink.write(np.full((48, 64, 3), 30 * i, np.uint8), time_s=t)
    assert sink.frames_written == len(times)
    codec, pix_fmt, w, h, got = _stream_facts(out)
    assert (codec, pix_fmt, w, h) == ("h264", "yuv420p", 64, 48)
    np.testing.assert_allclose(got, times, atol=1e-4)
    data = out.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # faststart: index first


def test_writer_crops_odd_sizes(tmp_path):
    assert even_size(717, 1281) == (716, 1280)
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, width=65, height=49, fps=30) as sink:
        for i in range(3):
            sink.write(np.zeros((49, 65, 3), np.uint8), time_s=i / 30)
    assert _stream_facts(out)[2:4] == (64, 48)


def test_writer_rejects_wrong_images_and_deletes_partial_file(tmp_path):
    out = tmp_path / "broken.mp4"
    with (
        pytest.raises(ValueError, match="Image is"),
        VideoWriter(out, width=64, height=48, fps=30) as sink,
    ):
        sink.write(np.zeros((48, 64, 3), np.uint8), time_s=0.0)
        sink.write(np.zeros((40, 64, 3), np.uint8), time_s=0.1)
    assert not out.exists()
    with pytest.raises(ValueError):
        VideoWriter(out, width=1, height=48, fps=30)
    with pytest.raises(ValueError):
        VideoWriter(out, width=64, height=48, fps=0)


# --------------------------------------------------------------------------------------------------
# Overlays


@pytest.fixture(scope="module")
def squat():
    ds = squat_pose(reps=2)
    return ds, analyse_detailed(ds)


@needs_uiprmd
def test_overlay_follows_reps_phases_and_findings(squat):
    ds, out = squat
    result = out.result
    ann = Annotator(result, out.angles, out.processed)
    first, second = result.reps
    before = ann.overlay_at(0.0) if first.start_s > 0 else None
    if before is not None:
        assert before.counter == "Rep 0 / 2" and before.captions == ()
    for phase in first.phases:
        mid = (phase.start_s + phase.end_s) / 2
        ov = ann.overlay_at(mid)
        assert ov.counter == "Rep 1 / 2"
        assert ov.phase == phase.name
        titles = {f.title for f in result.findings if f.rep == first.index}
        assert {c.text for c in ov.captions} <= titles and ov.captions
    ov = ann.overlay_at((second.phases[0].start_s + second.phases[0].end_s) / 2)
    assert ov.counter == "Rep 2 / 2"
    end = ann.overlay_at(float(ds["time"].values[-1]) + 5)
    assert end.counter == "2 / 2 reps" and end.phase.startswith("clip:")


@needs_uiprmd
def test_side_view_labels_knee_hip_and_trunk(squat):
    _, out = squat
    ann = Annotator(out.result, out.angles, out.processed)
    bottom = out.result.reps[0].peak_s
    ov = ann.overlay_at(bottom)
    texts = [label.text for label in ov.labels]
    assert any(t.startswith("knee ") for t in texts)
    assert any(t.startswith("hip ") for t in texts)
    assert any(t.startswith("trunk ") for t in texts)
    assert not any("FPPA" in t for t in texts)  # frontal angle: not from a side view
    knee = next(t for t in texts if t.startswith("knee "))
    value = float(knee.split()[1].strip("~°"))
    t = out.angles["time"].values
    i = int(np.argmin(np.abs(t - bottom)))
    expected = [float(out.angles[f"knee_flexion_{s}"].values[i]) for s in ("left", "right")]
    assert min(abs(value - e) for e in expected) <= 0.5
    assert ov.trunk_reference is not None
    assert ov.note == ""  # no rough (~) angle from the side


@needs_uiprmd
def test_front_view_of_a_squat_labels_knee_width_not_fppa(squat):
    ds, _ = squat
    out = analyse_detailed(ds, view="front")
    ann = Annotator(out.result, out.angles, out.processed)
    texts = [label.text for label in ann.overlay_at(out.result.reps[0].peak_s).labels]
    assert any(t.startswith("knees ") and t.endswith("x ankle width") for t in texts)
    assert not any(t.startswith(("FPPA ", "hip ", "trunk ")) for t in texts)


def _filmed_squat(name: str, view: str):
    """A UI-PRMD squat seen by the virtual camera in 2D: its analysis and its overlay at depth."""
    from kneeback.io.adapters import load_uiprmd
    from kneeback.io.adapters.virtual_camera import project
    from replay_clip import UIPRMD

    suffix = "_inc" if name.startswith("incorrect") else ""
    ds = project(load_uiprmd(UIPRMD / f"{name}_positions{suffix}.txt.gz"), view=view)
    out = analyse_detailed(ds.drop_vars("position_world"), movement="squat", view=view)
    ann = Annotator(out.result, out.angles, out.processed)
    return out, ann.overlay_at(out.result.reps[0].peak_s)


@needs_uiprmd
@pytest.mark.parametrize(
    ("name", "caving"), [("correct/m01_s01_e01", False), ("incorrect/m01_s03_e01", True)]
)
def test_front_view_draws_each_foots_inner_edge(name: str, caving: bool) -> None:
    """A line up from each ankle at the knee-tracking allowance: red once a knee passes it."""
    out, overlay = _filmed_squat(name, "front")
    edges = overlay.foot_edges
    assert len(edges) == 2 and all(e.y_knee < e.y_ankle for e in edges)
    assert any(e.passed for e in edges) is caving
    flagged = any(f.id == "knee_tracking" and f.severity == "major" for f in out.result.findings)
    assert flagged is caving  # the line and the verdict agree
    side = analyse_detailed(squat_pose(reps=1))  # from the side knee tracking is not judged
    assert Annotator(side.result, side.angles, side.processed).overlay_at(1.0).foot_edges == ()


@needs_uiprmd
@pytest.mark.parametrize(
    ("name", "on_toes"), [("correct/m01_s01_e01", False), ("incorrect/m01_s05_e10", True)]
)
def test_side_view_rings_a_heel_risen_beyond_the_allowance(name: str, on_toes: bool) -> None:
    out, overlay = _filmed_squat(name, "side")
    assert bool(overlay.raised_heels) is on_toes
    heels = next(f for f in out.result.findings if f.id == "heel_lift")
    assert (heels.severity == "major") is on_toes  # the ring and the verdict agree
    if on_toes:  # drawn: a red ring round the heel
        img = draw_overlay(np.zeros((1920, 1080, 3), np.uint8), overlay)
        red = (img == np.array([240, 95, 80], np.uint8)).all(axis=2)
        x, y = (round(v) for v in overlay.raised_heels[0])
        assert red[y - 40 : y + 40, x - 40 : x + 40].any()


@needs_uiprmd
def test_front_view_of_a_lunge_labels_fppa(squat):
    ds, _ = squat
    out = analyse_detailed(ds, movement="lunge", view="front")
    ann = Annotator(out.result, out.angles, out.processed)
    texts = [label.text for label in ann.overlay_at(out.result.reps[0].peak_s).labels]
    assert any(t.startswith("FPPA ") for t in texts)
    assert not any(t.startswith("knees ") for t in texts)


@needs_uiprmd
def test_draw_overlay_draws_and_keeps_shape(squat):
    _, out = squat
    ann = Annotator(out.result, out.angles, out.processed)
    scene = np.full((320, 240, 3), 90, np.uint8)
    ov = ann.overlay_at(out.result.reps[0].peak_s)
    drawn = draw_overlay(scene.copy(), ov)
    assert drawn.shape == scene.shape and drawn.dtype == np.uint8
    changed = np.any(drawn != scene, axis=2)
    assert changed[:40, :100].any()  # the rep counter, top left
    kp = ov.keypoints
    knee = kp[list(ov.names).index("left_knee")]
    y, x = round(knee[1]), round(knee[0])
    assert changed[max(0, y - 3) : y + 4, max(0, x - 3) : x + 4].any()  # the skeleton
    half = draw_overlay(np.full((160, 120, 3), 90, np.uint8), ov, scale=2.0)
    assert half.shape == (160, 120, 3)


# --------------------------------------------------------------------------------------------------
# The annotated video


@needs_uiprmd
def test_annotated_video_has_the_source_frames_times_and_orientation(tmp_path, squat):
    _, out = squat
    clip, _ = squat_clip(tmp_path, reps=2)
    dest = tmp_path / "annotated.mp4"
    calls = []
    write_annotated_video(
        clip,
        dest,
        result=out.result,
        angles=out.angles,
        pose=out.processed,
        progress=lambda d, t: calls.append((d, t)),
    )
    src_times = [f.time_s for f in iter_frames(clip)]
    codec, pix_fmt, w, h, times = _stream_facts(dest)
    assert (codec, pix_fmt) == ("h264", "yuv420p")
    assert (w, h) == (240, 320)
    np.testing.assert_allclose(times, src_times, atol=1e-4)
    assert calls[-1][0] == len(src_times)
    info, src = probe_video(dest), probe_video(clip)
    assert info.duration_s == pytest.approx(src.duration_s, abs=1.5 / FPS)
    first = next(iter_frames(dest))
    blue = first.image[-8:, -40:].reshape(-1, 3).mean(axis=0)
    assert blue[2] > 150 and blue[0] < 80  # the source's bottom bar, still at the bottom


def test_annotated_video_is_upright_and_downscaled(tmp_path):
    # A phone clip stored landscape with a display matrix: the annotation must come out portrait.
    clip = make_video(
        tmp_path / "phone.mp4", n_frames=12, width=96, height=64, display_rotation_ccw=-90
    )
    info = probe_video(clip)
    assert (info.width, info.height) == (64, 96)
    from kneeback.schema import make_pose_dataset

    t = np.array([f.time_s for f in iter_frames(clip)])
    pos = np.full((t.size, 2, 33, 1), np.nan)
    pose = make_pose_dataset(pos, time_s=t, attrs={"width": 64, "height": 96})
    from kneeback.report.result import AnalysisResult, CaptureInfo, MovementInfo, ViewInfo

    result = AnalysisResult(
        movement=MovementInfo(recognised="squat", used="squat", confidence=0.5),
        view=ViewInfo(recognised="side", used="side", confidence=0.5),
        capture=CaptureInfo(in_frame=0.0, source="2d", measurement="video_2d"),
        verdict="not_assessed",
    )
    dest = tmp_path / "small.mp4"
    write_annotated_video(
        clip, dest, result=result, angles=pose[["time"]], pose=pose, max_side_px=48
    )
    codec, _, w, h, times = _stream_facts(dest)
    assert codec == "h264"
    assert h > w and max(w, h) <= 48
    assert len(times) == 12
    with av.open(str(dest)) as c:
        assert c.streams.video[0].time_base == Fraction(1, 90000)


# --------------------------------------------------------------------------------------------------
# The cue stays clear of the player's controls

CUE = "Take 1-2 s each way: count 'one-and-two' down and 'one-and-two' up."


def _busy_overlay() -> Overlay:
    """Title, note, counter, phase, the most captions a frame shows, and a long cue; no pose."""
    return Overlay(
        keypoints=np.empty((0, 2)),
        names=(),
        title="Squat · front view",
        note="~ rough estimate, not judged",
        counter="Rep 1 / 3",
        phase="bottom",
        captions=tuple(
            Caption(text=t, severity=s)
            for t, s in (
                ("Tempo", "minor"),
                ("Knee tracking", "positive"),
                ("Depth", "major"),
                ("Trunk lean", "minor"),
            )
        ),
        cue=CUE,
    )


@pytest.mark.parametrize("size", [(716, 1280), (1280, 720), (1920, 1080), (240, 320), (320, 240)])
def test_cue_is_drawn_above_the_bottom_fifth(size):
    """Browser controls cover the bottom of a paused video; the cue must not be there."""
    w, h = size
    (x, y, bw, bh), texts = _cue_layout(CUE, w, h, top=0)
    assert x >= 0 and x + bw <= w and y >= 0 and y + bh <= 0.8 * h
    assert " ".join(t.text for t in texts) == CUE  # the whole cue, wrapped, nothing dropped
    # Drawn for real, under a full title block: the bottom fifth stays untouched, the cue is there.
    scene = np.full((h, w, 3), 90, np.uint8)
    drawn = draw_overlay(scene.copy(), _busy_overlay())
    changed = np.any(drawn != scene, axis=2)
    assert not changed[math.ceil(0.8 * h) :].any()
    without = draw_overlay(scene.copy(), replace(_busy_overlay(), cue=""))
    assert np.any(drawn != without)


def test_cue_sits_under_the_captions_when_there_is_room():
    w, h = 716, 1280
    (_, y, _, bh), texts = _cue_layout(CUE, w, h, top=300)
    assert y == 300 and bh < 0.1 * h  # two lines at most, about 6 % of a portrait frame
    assert all(t.size >= 20 for t in texts)  # the captions' size: legible on a phone
    # Raised to end above the bottom fifth when the captions leave no room under them.
    (_, y_low, _, bh_low), _ = _cue_layout(CUE, w, h, top=1200)
    assert y_low + bh_low <= 0.8 * h and y_low + bh_low > 0.8 * h - 2
