"""`kneeback analyze` as a user runs it: every output, atomic replacement, bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from kneeback.cli import app
from kneeback.io.posefile import load_pose_dataset
from kneeback.report.result import AnalysisResult
from replay_clip import SQUAT_FILE, needs_uiprmd, replaying_pose_video, squat_clip

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
FRONT_SQUAT = VIDEOS / "front-squat-3reps.mp4"
runner = CliRunner()

ALWAYS = ("result.json", "reps.csv", "pose.nc", "report.html")


def run(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def _one_sentence(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def _siblings(folder: Path) -> list[str]:
    """Names beside ``folder`` that a run may have left behind (temporary folders)."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}"))


def video_facts(path: Path) -> dict[str, object]:
    """Codec, frame count and size of a video: with ffprobe when installed, else with PyAV."""
    if shutil.which("ffprobe"):
        out = subprocess.run(
            [
                "ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                "-show_entries", "stream=codec_name,pix_fmt,width,height,nb_read_frames",
                "-of", "json", str(path),
            ],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        s = json.loads(out.stdout)["streams"][0]
        return {
            "codec": s["codec_name"],
            "pix_fmt": s["pix_fmt"],
            "frames": int(s["nb_read_frames"]),
            "width": int(s["width"]),
            "height": int(s["height"]),
        }
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = sum(1 for _ in c.decode(video=0))
        return {
            "codec": s.codec_context.name,
            "pix_fmt": s.codec_context.pix_fmt,
            "frames": frames,
            "width": s.width,
            "height": s.height,
        }


@pytest.fixture
def replayed(tmp_path, monkeypatch):
    """A synthetic squat clip whose pose the pipeline replays (no model)."""
    clip, ds = squat_clip(tmp_path, reps=2)
    monkeypatch.setattr("kneeback.pipeline.pose_video", replaying_pose_video(ds))
    return clip


# --------------------------------------------------------------------------------------------------
# A video, end to end (pose replayed)


@needs_uiprmd
def test_video_writes_every_output(tmp_path, replayed):
    out = tmp_path / "out"
    result = run("analyze", str(replayed), "-o", str(out))
    assert result.exit_code == 0, result.output
    for name in (*ALWAYS, "annotated.mp4"):
        assert (out / name).is_file(), name
    assert _siblings(out) == []
    res = AnalysisResult.from_json((out / "result.json").read_text())
    assert res.movement.used == "squat" and res.view.used == "side"
    assert len(res.reps) == 2
    assert len((out / "reps.csv").read_text().strip().splitlines()) == 1 + len(res.reps)
    pose = load_pose_dataset(out / "pose.nc")
    facts = video_facts(out / "annotated.mp4")
    assert facts["codec"] == "h264" and facts["pix_fmt"] == "yuv420p"
    assert facts["frames"] == pose.sizes["time"] == video_facts(replayed)["frames"]
    html = (out / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    # The summary: movement, view, reps with verdicts, verdict, cues, the report's path.
    text = result.stdout
    assert "Squat, side view: 2 reps." in text
    assert "Rep 1:" in text and "Rep 2:" in text
    assert "Verdict:" in text
    assert f"Report: {out / 'report.html'}" in text.replace("\n", "")


@needs_uiprmd
def test_person_stores_each_session_in_the_history(tmp_path, replayed):
    db = f"sqlite:///{tmp_path / 'history.db'}"
    second = tmp_path / "second.mp4"  # another clip (a copy, at another path)
    second.write_bytes(replayed.read_bytes())
    for i, clip in enumerate((replayed, second)):
        out = tmp_path / f"out{i}"
        result = run("analyze", str(clip), "-o", str(out), "--person", "Ana", "--db", db)
        assert result.exit_code == 0, result.output
        assert "in the history of Ana" in result.stdout
    people = run("people", "--db", db, "--json")
    assert people.exit_code == 0, people.output
    (ana,) = json.loads(people.stdout)["people"]
    assert ana["name"] == "Ana" and ana["sessions"] == 2
    history = run("history", "Ana", "--db", db, "--json")
    sessions = json.loads(history.stdout)["sessions"]
    assert len(sessions) == 2 and all(s["movement"] == "squat" for s in sessions)


@needs_uiprmd
def test_the_same_clip_is_not_stored_twice_for_a_person(tmp_path, monkeypatch):
    """Storing one clip again would count it twice in progress (its own measurement error
    too) and in the program: refused, nothing stored or written; another date is another clip."""
    clip, ds = squat_clip(tmp_path, reps=2, metadata={"creation_time": "2025-11-03T07:15:00Z"})
    monkeypatch.setattr("kneeback.pipeline.pose_video", replaying_pose_video(ds))
    db = f"sqlite:///{tmp_path / 'history.db'}"
    for i, source in enumerate((clip, SQUAT_FILE)):  # dated by its file; undated
        first = run("analyze", str(source), "-o", str(tmp_path / f"a{i}"), "--person", "Ana",
                    "--db", db)  # fmt: skip
        assert first.exit_code == 0, first.output
        sid = json.loads(run("history", "Ana", "--db", db, "--json").stdout)["sessions"][-1]["id"]
        again = run("analyze", str(source), "-o", str(tmp_path / f"b{i}"), "--person", "Ana",
                    "--db", db)  # fmt: skip
        said = _one_sentence(again.output)
        assert again.exit_code == 2, again.output
        assert f"Ana already has session {sid} from this clip" in said
        assert f"kneeback forget Ana --session {sid}" in said
        assert not (tmp_path / f"b{i}").exists()
    assert len(json.loads(run("history", "Ana", "--db", db, "--json").stdout)["sessions"]) == 2
    other_day = run("analyze", str(SQUAT_FILE), "-o", str(tmp_path / "c"), "--person", "Ana",
                    "--db", db, "--recorded-at", "2025-06-01")  # fmt: skip
    assert other_day.exit_code == 0, other_day.output
    assert run("analyze", str(SQUAT_FILE), "-o", str(tmp_path / "d")).exit_code == 0  # no --person


@needs_uiprmd
def test_a_history_that_cannot_be_written_leaves_the_earlier_output(tmp_path, monkeypatch):
    """--person stores the session and replaces the folder together: a failure keeps both as
    they were (the database is opened before the work; a store that fails at the end, after
    the folder was written, leaves the earlier folder in place)."""
    from kneeback.errors import DatabaseError

    out = tmp_path / "out"
    first = run("analyze", str(SQUAT_FILE), "-o", str(out), "--movement", "squat")
    assert first.exit_code == 0, first.output
    before = (out / "result.json").read_text()
    unusable = f"sqlite:///{tmp_path / 'missing' / 'deeper' / 'x' / 'h.db'}"
    (tmp_path / "missing").write_text("a file where a folder should be")
    r = run("analyze", str(SQUAT_FILE), "-o", str(out), "--movement", "other", "--person", "Ana",
            "--db", unusable)  # fmt: skip
    assert r.exit_code == 7, r.output
    assert (out / "result.json").read_text() == before and not _siblings(out)
    fresh = tmp_path / "fresh"
    r = run("analyze", str(SQUAT_FILE), "-o", str(fresh), "--person", "Ana", "--db", unusable)
    assert r.exit_code == 7 and not fresh.exists()

    def refuse(*args, **kwargs):
        raise DatabaseError("The database refused the session (disk full).")

    monkeypatch.setattr("kneeback.store.store_session", refuse)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    r = run("analyze", str(SQUAT_FILE), "-o", str(out), "--movement", "other", "--person", "Ana",
            "--db", db)  # fmt: skip
    assert r.exit_code == 7 and "disk full" in r.output, r.output
    assert (out / "result.json").read_text() == before and not _siblings(out)


@needs_uiprmd
def test_sessions_are_dated_when_the_clip_was_recorded(tmp_path, monkeypatch):
    clip, ds = squat_clip(tmp_path, reps=2, metadata={"creation_time": "2025-11-03T07:15:00Z"})
    monkeypatch.setattr("kneeback.pipeline.pose_video", replaying_pose_video(ds))
    db = f"sqlite:///{tmp_path / 'history.db'}"
    stored = run("analyze", str(clip), "-o", str(tmp_path / "a"), "--person", "Ana", "--db", db)
    assert stored.exit_code == 0, stored.output
    assert "recorded 2025-11-03" in stored.stdout
    assert (
        load_pose_dataset(tmp_path / "a" / "pose.nc")
        .attrs["recorded_at"]
        .startswith("2025-11-03T07:15:00")
    )
    # A pose file has no recording date: it is dated today unless --recorded-at says otherwise.
    undated = run(
        "analyze", str(SQUAT_FILE), "-o", str(tmp_path / "b"), "--person", "Ana", "--db", db
    )
    assert undated.exit_code == 0, undated.output
    assert "does not say when it was recorded" in undated.stdout
    told = run(
        "analyze",
        str(SQUAT_FILE),
        "-o",
        str(tmp_path / "c"),
        "--person",
        "Ana",
        "--db",
        db,
        "--recorded-at",
        "2025-06-01",
    )
    assert told.exit_code == 0, told.output
    history = json.loads(run("history", "Ana", "--db", db, "--json").stdout)["sessions"]
    days = sorted(s["recorded_at"][:10] for s in history)
    assert days[:2] == ["2025-06-01", "2025-11-03"] and days[2] >= "2026-01-01"
    bad = run(
        "analyze",
        str(SQUAT_FILE),
        "-o",
        str(tmp_path / "d"),
        "--person",
        "Ana",
        "--db",
        db,
        "--recorded-at",
        "last week",
    )
    assert bad.exit_code == 2 and "recorded-at" in bad.output


@needs_uiprmd
def test_json_prints_the_result_and_still_writes(tmp_path, replayed):
    out = tmp_path / "out"
    result = run("analyze", str(replayed), "-o", str(out), "--json", "--movement", "squat")
    assert result.exit_code == 0, result.output
    printed = AnalysisResult.from_json(result.stdout)
    assert printed == AnalysisResult.from_json((out / "result.json").read_text())
    assert printed.movement.stated == "squat"
    assert (out / "annotated.mp4").is_file()


@needs_uiprmd
def test_start_and_end_select_a_span_of_the_video(tmp_path, replayed):
    out = tmp_path / "out"
    result = run("analyze", str(replayed), "-o", str(out), "--start", "0.5", "--end", "2.5")
    assert result.exit_code == 0, result.output
    pose = load_pose_dataset(out / "pose.nc")
    t = pose["time"].values
    assert t[0] >= 0.5 and t[-1] < 2.5
    assert video_facts(out / "annotated.mp4")["frames"] == pose.sizes["time"]
    with av.open(str(out / "annotated.mp4")) as c:
        times = [float(f.time) for f in c.decode(video=0)]
    assert times[0] == pytest.approx(0.0, abs=1e-6)  # the span starts the file
    assert times[-1] == pytest.approx(t[-1] - t[0], abs=1e-3)


# --------------------------------------------------------------------------------------------------
# Pose files


@needs_uiprmd
def test_pose_file_with_mot_export_and_default_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("analyze", str(SQUAT_FILE), "--export", "mot")
    assert result.exit_code == 0, result.output
    out = tmp_path / "m01_s01_e01_positions-kneeback"
    for name in (*ALWAYS, "angles.mot"):
        assert (out / name).is_file(), name
    assert not (out / "annotated.mp4").exists()
    mot = (out / "angles.mot").read_text().splitlines()
    assert mot[1:5] == ["version=1", mot[2], mot[3], "inDegrees=yes"]
    assert "endheader" in mot
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


@needs_uiprmd
def test_pose_file_span_and_format(tmp_path):
    out = tmp_path / "o"
    result = run("analyze", str(SQUAT_FILE), "--format", "uiprmd", "-o", str(out), "--start", "0.5")
    assert result.exit_code == 0, result.output
    assert float(load_pose_dataset(out / "pose.nc")["time"].values[0]) >= 0.5
    empty = run("analyze", str(SQUAT_FILE), "-o", str(tmp_path / "e"), "--start", "99")
    assert empty.exit_code == 3
    assert "No frame" in _one_sentence(empty.output)
    assert not (tmp_path / "e").exists()


# --------------------------------------------------------------------------------------------------
# Atomic replacement


@needs_uiprmd
def test_rerun_replaces_the_folder_atomically(tmp_path):
    out = tmp_path / "out"
    assert run("analyze", str(SQUAT_FILE), "-o", str(out), "--export", "mot").exit_code == 0
    assert (out / "angles.mot").is_file()
    first = (out / "result.json").read_text()
    again = run("analyze", str(SQUAT_FILE), "-o", str(out), "--movement", "lunge")
    assert again.exit_code == 0, again.output
    assert not (out / "angles.mot").exists()  # the whole folder was replaced
    second = (out / "result.json").read_text()
    assert second != first and '"stated": "lunge"' in second
    assert _siblings(out) == []


@needs_uiprmd
def test_failed_run_leaves_the_previous_output_untouched(tmp_path, replayed, monkeypatch):
    out = tmp_path / "out"
    assert run("analyze", str(replayed), "-o", str(out)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(source, output, /, **kwargs):
        Path(output).write_bytes(b"half a video")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("kneeback.report.outputs.write_annotated_video", broken)
    result = run("analyze", str(replayed), "-o", str(out), "--movement", "lunge")
    assert result.exit_code == 6
    assert "No space left on device" in _one_sentence(result.output)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _siblings(out) == []
    fresh = tmp_path / "fresh"
    assert run("analyze", str(replayed), "-o", str(fresh)).exit_code != 0
    assert not fresh.exists() and _siblings(fresh) == []


@needs_uiprmd
def test_refuses_to_replace_a_folder_that_is_not_an_output(tmp_path):
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    result = run("analyze", str(SQUAT_FILE), "-o", str(mine))
    assert result.exit_code == 6
    assert "is not a kneeback output" in _one_sentence(result.output)
    assert (mine / "thesis.docx").read_text() == "precious"
    file_out = tmp_path / "a-file"
    file_out.write_text("x")
    result = run("analyze", str(SQUAT_FILE), "-o", str(file_out))
    assert result.exit_code == 6 and "is a file" in result.output
    result = run("analyze", str(SQUAT_FILE), "-o", str(file_out / "sub"))
    assert result.exit_code == 6
    assert f"{file_out} is a file, not a folder" in _one_sentence(result.output)
    # a result.json that kneeback did not write does not make a folder an output
    (mine / "result.json").write_text('{"mine": 1}')
    result = run("analyze", str(SQUAT_FILE), "-o", str(mine))
    assert result.exit_code == 6 and "is not a kneeback output" in _one_sentence(result.output)
    assert (mine / "thesis.docx").read_text() == "precious"
    # an output with the user's own notes added is not replaced either
    out = tmp_path / "out"
    assert run("analyze", str(SQUAT_FILE), "-o", str(out)).exit_code == 0
    (out / "notes.txt").write_text("my notes")
    result = run("analyze", str(SQUAT_FILE), "-o", str(out))
    assert result.exit_code == 6, result.output
    assert "holds files kneeback did not write (notes.txt)" in _one_sentence(result.output)
    assert (out / "notes.txt").read_text() == "my notes"


@needs_uiprmd
def test_refuses_an_output_folder_holding_the_input(tmp_path):
    out = tmp_path / "out"
    assert run("analyze", str(SQUAT_FILE), "-o", str(out)).exit_code == 0
    result = run("analyze", str(out / "pose.nc"), "-o", str(out))
    assert result.exit_code == 6
    assert "lies inside the output folder" in _one_sentence(result.output)
    assert (out / "pose.nc").is_file()


# --------------------------------------------------------------------------------------------------
# Bad input: one sentence, an exit code, nothing left behind


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "message", "code"),
    [
        (lambda d: d / "missing.mp4", "does not exist", 3),
        (lambda d: _write(d / "notes.mp4", b"my notes, not a video\n" * 20), "not a video", 3),
        (lambda d: _write(d / "empty.mp4", b""), "is empty", 3),
        (lambda d: _write(d / "pose.json", b"{not json"), "not a readable pose file", 3),
        (lambda d: _write(d / "pose.nc", b"nothing"), "not a readable netCDF", 3),
        (
            lambda d: _write(d / "squat.mot", b"Coordinates\nversion=1\nendheader\ntime\n"),
            "an OpenSim motion file (joint angles, not landmark positions), which kneeback "
            "does not read",
            3,
        ),
    ],
    ids=["missing", "text-named-mp4", "zero-byte", "bad-json", "bad-netcdf", "opensim-mot"],
)
def test_bad_input_gets_one_sentence_and_no_output(tmp_path, monkeypatch, make, message, code):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    bad = make(tmp_path)
    result = run("analyze", str(bad))
    assert result.exit_code == code
    assert message in _one_sentence(result.output)
    assert list(work.iterdir()) == []  # no output folder, no temporary folder


def test_a_future_recording_date_is_refused(tmp_path):
    r = run("analyze", str(SQUAT_FILE), "-o", str(tmp_path / "o"), "--person", "Ana",
            "--db", f"sqlite:///{tmp_path / 'h.db'}", "--recorded-at", "2999-01-01")  # fmt: skip
    assert r.exit_code == 2 and "after today" in r.output
    assert not (tmp_path / "o").exists()


def test_bad_options_are_usage_errors(tmp_path):
    for args in (["--movement", "burpee"], ["--view", "top"], ["--start", "3", "--end", "2"]):
        result = run("analyze", str(SQUAT_FILE), "-o", str(tmp_path / "x"), *args)
        assert result.exit_code == 2, args
    assert not (tmp_path / "x").exists()


def test_help_lists_the_options():
    result = run("analyze", "--help")
    assert result.exit_code == 0
    for option in ("--movement", "--view", "--variant", "--format", "--fps", "--json", "--export"):
        assert option in result.output


# --------------------------------------------------------------------------------------------------
# The real clip, with the real model


@pytest.mark.slow
@pytest.mark.skipif(not FRONT_SQUAT.exists(), reason="../shared/data not present")
def test_front_squat_clip_end_to_end(tmp_path, model_dir_full, monkeypatch):
    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(model_dir_full))
    out = tmp_path / "front"
    result = run("analyze", str(FRONT_SQUAT), "-o", str(out), "--export", "mot")
    assert result.exit_code == 0, result.output
    for name in (*ALWAYS, "annotated.mp4", "angles.mot"):
        assert (out / name).is_file(), name
    res = AnalysisResult.from_json((out / "result.json").read_text())
    assert len(res.reps) == 3
    assert res.view.used == "front"
    facts = video_facts(out / "annotated.mp4")
    assert facts["codec"] == "h264" and facts["pix_fmt"] == "yuv420p"
    assert facts["frames"] == 540
    assert facts["height"] > facts["width"]  # upright portrait, like the source
    assert max(facts["width"], facts["height"]) <= 1280
    assert "3 reps" in result.stdout
    assert _siblings(out) == []
    html = (out / "report.html").read_text()
    assert "Knee tracking" in html  # a front-view finding
    assert "cannot show bending angles" in html  # sagittal rules refused from the front


# --------------------------------------------------------------------------------------------------
# The atomic folder itself


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_atomic_directory_swaps_whole_folders(tmp_path, monkeypatch, exchange):
    from kneeback.report import outputs

    if not exchange:
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    target = tmp_path / "out"
    with outputs.atomic_directory(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        (tmp / "result.json").write_text('{"schema_version": 1}')
    assert (target / "result.json").read_text() == '{"schema_version": 1}'
    with outputs.atomic_directory(target) as tmp:
        (tmp / "result.json").write_text('{"schema_version": 2}')
        # untouched until the end
        assert (target / "result.json").read_text() == '{"schema_version": 1}'
    assert sorted(p.name for p in target.iterdir()) == ["result.json"]
    assert (target / "result.json").read_text() == '{"schema_version": 2}'
    with pytest.raises(RuntimeError), outputs.atomic_directory(target) as tmp:
        (tmp / "result.json").write_text('{"schema_version": 3}')
        raise RuntimeError("boom")
    assert (target / "result.json").read_text() == '{"schema_version": 2}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
