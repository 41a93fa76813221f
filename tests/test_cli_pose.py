"""`kneeback pose` and `kneeback info` as a user runs them: real clips and every bad input."""

from __future__ import annotations

import gzip
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from kneeback.cli import app
from kneeback.io.posefile import load_pose_dataset
from kneeback.io.video import iter_frames
from replay_clip import SQUAT_FILE, needs_uiprmd
from videogen import make_audio_only, make_video

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
FRONT_SQUAT = VIDEOS / "front-squat-3reps.mp4"
VP9 = VIDEOS / "outdoor-multiperson-vp9.mp4"
needs_videos = pytest.mark.skipif(not FRONT_SQUAT.exists(), reason="../shared/data not present")
runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def model_env(model_dir_full, monkeypatch):
    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(model_dir_full))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _one_sentence(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "does not exist"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "empty.mp4", b""), "is empty"),
        (lambda d: _write(d / "notes.mp4", b"my notes, not a video\n" * 20), "not a video"),
        (lambda d: make_audio_only(d / "song.m4a"), "no video stream"),
    ],
    ids=["missing", "directory", "zero-byte", "text-named-mp4", "audio-only"],
)
def test_bad_input_gets_one_sentence_and_exit_3(tmp_path, make, message):
    bad = make(tmp_path)
    out = tmp_path / "out.nc"
    result = run("pose", str(bad), "-o", str(out))
    assert result.exit_code == 3
    assert message in _one_sentence(result.output)
    assert not out.exists()
    info = run("info", str(bad))
    assert info.exit_code == 3
    assert message in _one_sentence(info.output)


def test_truncated_video_is_refused_or_read_in_part(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", n_frames=60, width=128, height=96)
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])  # the index (moov) is at the end: unreadable
    result = run("info", str(cut))
    assert result.exit_code == 3
    assert "truncated" in _one_sentence(result.output) or "corrupt" in result.output
    out = tmp_path / "out.nc"
    result = run("pose", str(cut), "-o", str(out))
    assert result.exit_code == 3
    assert "truncated" in _one_sentence(result.output)
    assert not out.exists()


@pytest.mark.slow
def test_video_without_a_person_exits_4(tmp_path, model_env):
    clip = make_video(tmp_path / "empty-room.mp4", n_frames=20, width=320, height=240)
    out = tmp_path / "out.nc"
    result = run("pose", str(clip), "-o", str(out))
    assert result.exit_code == 4
    assert "Nobody was detected" in _one_sentence(result.output)
    assert not out.exists()


def test_not_a_pose_file(tmp_path):
    bad = tmp_path / "pose.nc"
    bad.write_bytes(gzip.compress(b"nothing"))
    result = run("info", str(bad))
    assert result.exit_code == 3
    assert "not a readable netCDF" in result.output


def test_help_documents_exit_codes():
    result = run("--help")
    assert result.exit_code == 0
    assert "Exit codes" in result.output
    assert "4 nobody detected" in result.output


def _write_clip(frames, path: Path, fps: int) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@needs_videos
@pytest.mark.slow
def test_person_seen_part_of_the_time_gives_nan_gaps(tmp_path, model_env):
    frames = [f.image for f in iter_frames(FRONT_SQUAT, end_s=2.0, max_side_px=640)][::2]
    frames = [f[: f.shape[0] // 2 * 2, : f.shape[1] // 2 * 2] for f in frames]
    blank = len(frames) // 3
    for i in range(blank, 2 * blank):
        frames[i] = np.full_like(frames[i], 90)
    clip = _write_clip(frames, tmp_path / "gap.mp4", fps=30)
    out = tmp_path / "gap.nc"
    result = run("pose", str(clip), "-o", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    ds = load_pose_dataset(out)
    seen = np.isfinite(ds["position"].isel(individuals=0)).any(dim=("space", "keypoints")).values
    assert ds.sizes["time"] == len(frames)
    assert not seen[blank + 2 : 2 * blank - 2].any()
    assert seen[: blank - 2].all() and seen[2 * blank + 5 :].all()
    assert ds.attrs["coverage"] == pytest.approx(seen.mean())
    assert "not found in" in result.output


@needs_videos
@pytest.mark.slow
def test_front_squat_clip(tmp_path, model_env):
    out = tmp_path / "x.nc"
    result = run("pose", str(FRONT_SQUAT), "-o", str(out))
    assert result.exit_code == 0, result.output
    ds = load_pose_dataset(out)
    assert ds.sizes["time"] == 540
    assert (ds.attrs["width"], ds.attrs["height"]) == (892, 1592)  # portrait, upright
    assert ds.attrs["coverage"] >= 0.95
    assert ds.attrs["people_seen"] == 1
    pos = ds["position"].isel(individuals=0)
    nose_y = pos.sel(keypoints="nose", space="y")
    ankle_y = pos.sel(keypoints="left_ankle", space="y")
    assert float((nose_y < ankle_y).mean()) > 0.95  # head above feet: upright
    t = ds["time"].values
    assert np.all(np.diff(t) > 0) and t[-1] == pytest.approx(539 / 60, abs=0.02)
    info = run("info", str(out))
    assert info.exit_code == 0 and "540 frames" in info.output


@needs_videos
@pytest.mark.slow
def test_vp9_multiperson_clip_records_several_people(tmp_path, model_env):
    out = tmp_path / "vp9.nc"
    result = run("pose", str(VP9), "-o", str(out))
    assert result.exit_code == 0, result.output
    ds = load_pose_dataset(out)
    assert ds.attrs["codec"] == "vp9"
    assert ds.attrs["people_seen"] >= 2
    assert ds.sizes["individuals"] == 1
    assert "people seen" in result.output


@needs_videos
@pytest.mark.slow
def test_vp9_multiperson_subject_does_not_depend_on_the_workers(tmp_path, model_env):
    # The detector misses people differently when the video is split between two workers;
    # the person followed must not change with it. Here the main subject walks across.
    hips = []
    for workers in ("1", "2"):
        out = tmp_path / f"vp9-{workers}.nc"
        result = run("pose", str(VP9), "-o", str(out), "--workers", workers)
        assert result.exit_code == 0, result.output
        pos = load_pose_dataset(out)["position"].isel(individuals=0)
        hips.append(pos.sel(keypoints="left_hip", space="x").values)
    both = np.isfinite(hips[0]) & np.isfinite(hips[1])
    assert both.sum() > 60
    assert np.nanmedian(np.abs(hips[0][both] - hips[1][both])) < 20  # px: the same person
    analysed = run("analyze", str(tmp_path / "vp9-2.nc"), "-o", str(tmp_path / "a"))
    assert analysed.exit_code == 0, analysed.output
    assert "Other movement" in analysed.output  # walking is not a repetition
    assert "the feet kept moving at the bottom" in analysed.output
    assert "people were in view at once" in analysed.output
    assert "--subject N" in analysed.output
    # Seen from the side, the model exchanges the walker's legs for a few frames (twice for 4
    # frames at 80-83 and 159-162 here); the processing exchanges them back.
    from kneeback.analysis import analyse_detailed

    processed = analyse_detailed(load_pose_dataset(tmp_path / "vp9-2.nc")).processed
    assert processed.attrs["leg_swaps_undone"] >= 8


@needs_videos
@pytest.mark.slow
def test_start_and_end_select_a_span(tmp_path, model_env):
    out = tmp_path / "span.nc"
    result = run("pose", str(FRONT_SQUAT), "-o", str(out), "--start", "1", "--end", "2")
    assert result.exit_code == 0, result.output
    t = load_pose_dataset(out)["time"].values
    assert t[0] >= 1.0 - 1e-6 and t[-1] < 2.0
    assert len(t) == 60


@needs_videos
def test_info_says_when_a_video_was_recorded():
    result = run("info", str(VP9))
    assert result.exit_code == 0, result.output
    assert "recorded: 2024-08-20 17:27 UTC" in result.output


def test_info_on_a_video_that_states_no_duration_or_rate(tmp_path):
    from kneeback.io.video import VideoInfo
    from kneeback.report.describe import describe_video

    info = VideoInfo(
        path=tmp_path / "stream.mkv",
        codec="h264",
        width=640,
        height=480,
        coded_width=640,
        coded_height=480,
        rotation=0,
        fps=None,
        duration_s=None,
        frame_count=None,
        has_audio=False,
        pixel_format="yuv420p",
    )
    text = describe_video(info)
    assert "duration unknown, frame rate unknown, frame count unknown" in text
    assert "recorded: not stated in the file" in text


def _posed_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, model_runs: bool) -> Path:
    """A small clip whose pose is replayed instead of estimated (or must not be estimated)."""
    from kneeback import pipeline
    from kneeback.schema import make_pose_dataset

    clip = make_video(tmp_path / "clip.mp4", n_frames=10, width=64, height=48)

    def fake_pose_video(path, **kwargs):
        assert model_runs, "the output must be checked before the model runs"
        pos = np.full((10, 2, 33, 1), 20.0)
        return make_pose_dataset(
            pos,
            time_s=np.arange(10) / 30,
            attrs={"width": 64, "height": 48, "people_seen": 1, "coverage": 1.0},
        )

    monkeypatch.setattr(pipeline, "pose_video", fake_pose_video)
    return clip


def _nothing_new(folder: Path, before: set[str]) -> None:
    assert {p.name for p in folder.iterdir()} == before


def test_an_output_that_cannot_be_written_exits_6_before_the_work(tmp_path, monkeypatch):
    clip = _posed_clip(tmp_path, monkeypatch, model_runs=False)
    folder = tmp_path / "adir"
    folder.mkdir()
    before = {p.name for p in tmp_path.iterdir()}
    result = run("pose", str(clip), "-o", str(folder))
    assert result.exit_code == 6, result.output
    assert "is a folder" in _one_sentence(result.output)
    assert not any(folder.iterdir())
    _nothing_new(tmp_path, before)
    afile = tmp_path / "afile"
    afile.write_text("x")
    for bad in (afile / "p.nc", Path("/proc/kneeback-nothing/p.nc")):
        result = run("pose", str(clip), "-o", str(bad))
        assert result.exit_code == 6, result.output
        assert "cannot be written" in _one_sentence(result.output)
    result = run("pose", str(clip), "-o", str(clip))
    assert result.exit_code == 6 and "the video itself" in _one_sentence(result.output)
    assert clip.stat().st_size > 0


def test_a_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    from kneeback.io import posefile

    clip = _posed_clip(tmp_path, monkeypatch, model_runs=True)
    real_save = posefile.save_pose_dataset

    def disk_full(ds, path):
        real_save(ds, Path(path).with_name(f".{Path(path).name}.tmp"))  # as far as the rename
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(posefile, "save_pose_dataset", disk_full)
    before = {p.name for p in tmp_path.iterdir()}
    result = run("pose", str(clip), "-o", str(tmp_path / "new" / "deeper" / "p.nc"))
    assert result.exit_code == 6, result.output
    assert "cannot be written (No space left on device)" in _one_sentence(result.output)
    _nothing_new(tmp_path, before)


@needs_uiprmd
def test_info_describes_every_input_analyze_accepts(tmp_path):
    # A UI-PRMD marker file, read with analyze's own format detection and loader.
    result = run("info", str(SQUAT_FILE))
    assert result.exit_code == 0, result.output
    assert "frames lasting" in result.output and "100.00 frames/s" in result.output
    assert "33 keypoints" in result.output and "Vicon" in result.output
    assert "subject: found in 100.0% of frames" in result.output
    slower = run("info", str(SQUAT_FILE), "--fps", "50")
    assert slower.exit_code == 0 and "50.00 frames/s" in slower.output
    # A netCDF pose file without the .nc name is known by its first bytes, as analyze knows it.
    from kneeback.io.adapters import load_any
    from kneeback.io.posefile import save_pose_dataset

    renamed = save_pose_dataset(load_any(SQUAT_FILE), tmp_path / "pose.nc").rename(
        tmp_path / "pose.data"
    )
    result = run("info", str(renamed))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Pose dataset") and "33 keypoints" in result.output
    as_video = run("info", str(renamed), "--format", "video")
    assert as_video.exit_code == 3 and "not a video" in _one_sentence(as_video.output)


def test_info_on_a_single_frame_video_says_analyze_refuses_it(tmp_path):
    one = make_video(tmp_path / "one.mp4", n_frames=1, width=32, height=32)
    result = run("info", str(one))
    assert result.exit_code == 0, result.output
    assert "1 frame\n" in result.output and "analyze refuses it" in result.output
