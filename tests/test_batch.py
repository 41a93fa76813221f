"""``kneeback batch`` and :mod:`kneeback.batch`: many inputs, here, in a pool and on Ray."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kneeback.analysis import analyse
from kneeback.batch import BatchItem, find_inputs, plan_batch, run_item, run_ray
from kneeback.batch.run import check_ray_address
from kneeback.cli import app
from kneeback.errors import BATCH_FAILURES_EXIT, BadValueError, InputError
from kneeback.io.adapters import load_uiprmd
from replay_clip import UIPRMD, needs_uiprmd, replaying_pose_video, squat_clip

runner = CliRunner()
VIDEO = UIPRMD.parents[1] / "videos" / "front-squat-3reps.mp4"
FILES = [
    UIPRMD / "correct" / "m01_s01_e01_positions.txt.gz",
    UIPRMD / "incorrect" / "m01_s03_e01_positions_inc.txt.gz",
    UIPRMD / "incorrect" / "m05_s01_e01_positions_inc.txt.gz",
]


def _summary(folder: Path) -> dict[str, dict[str, str]]:
    with (folder / "summary.csv").open(newline="") as fh:
        return {Path(row["source"]).name: row for row in csv.DictReader(fh)}


def _expected(path: Path) -> tuple[str, str, int]:
    result = analyse(load_uiprmd(path))
    return result.movement.used, result.verdict, len(result.reps)


def test_folders_are_searched_and_outputs_named_apart(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        (tmp_path / "in" / sub / "clip.mp4").write_bytes(b"not really a video")
    (tmp_path / "in" / "README.txt").write_text("notes about the clips\n")
    (tmp_path / "in" / ".hidden.mp4").write_bytes(b"x")
    earlier = tmp_path / "in" / "old-kneeback"
    earlier.mkdir()
    (earlier / "result.json").write_text("{}")
    (earlier / "annotated.mp4").write_bytes(b"x")

    inputs, passed_over = find_inputs([tmp_path / "in"])
    assert [f.relative_to(tmp_path / "in").as_posix() for f, _ in inputs] == [
        "a/clip.mp4",
        "b/clip.mp4",
    ]
    assert [p.name for p in passed_over] == ["README.txt"]

    plan = plan_batch([tmp_path / "in"], tmp_path / "out")
    assert [i.output.name for i in plan.to_run] == ["a__clip", "b__clip"]
    with pytest.raises(InputError, match="No video or pose file"):
        find_inputs([tmp_path / "in"], pattern="*.txt")  # README.txt holds no pose data

    with pytest.raises(InputError, match="does not exist"):
        find_inputs([tmp_path / "missing"])
    (tmp_path / "a-file").write_text("x")
    result = runner.invoke(app, ["batch", str(tmp_path / "in"), "-o", str(tmp_path / "a-file")])
    assert result.exit_code == 6 and "is a file" in result.output, result.output
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="No video or pose file"):
        find_inputs([tmp_path / "empty"])


@needs_uiprmd
def test_a_failing_input_is_reported_and_the_others_are_analysed(tmp_path: Path) -> None:
    broken = tmp_path / "broken.txt.gz"
    broken.write_bytes(b"\x1f\x8b not gzip at all")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["batch", *map(str, FILES), str(broken), "-o", str(out), "--workers", "2"]
    )
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == BATCH_FAILURES_EXIT, result.output
    rows = _summary(out)
    assert set(rows) == {f.name for f in FILES} | {broken.name}
    assert rows[broken.name]["status"] == "failed"
    assert "broken.txt.gz" in rows[broken.name]["error"]
    assert not (out / "broken").exists()  # a failed input leaves no half-written folder
    for f in FILES:
        row = rows[f.name]
        movement, verdict, reps = _expected(f)
        assert (row["status"], row["movement"], row["verdict"], int(row["reps"])) == (
            "done",
            movement,
            verdict,
            reps,
        )
        folder = Path(row["output"])
        for name in ("result.json", "reps.csv", "pose.nc", "report.html"):
            assert (folder / name).is_file(), name
        assert json.loads((folder / "result.json").read_text())["verdict"] == verdict
    counts = json.loads((out / "summary.json").read_text())["counts"]
    assert counts == {"done": 3, "earlier": 0, "failed": 1}
    assert "3 analysed, 0 from an earlier run, 1 failed" in result.stdout


@needs_uiprmd
def test_a_second_run_keeps_earlier_results_and_redo_replaces_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = runner.invoke(app, ["batch", *map(str, FILES[:2]), "-o", str(out), "--workers", "1"])
    assert first.exit_code == 0, first.output
    result_file = Path(_summary(out)[FILES[0].name]["output"]) / "result.json"
    stamp = result_file.stat().st_mtime_ns

    again = runner.invoke(app, ["batch", *map(str, FILES[:2]), "-o", str(out), "--json"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["counts"] == {"done": 0, "earlier": 2, "failed": 0}
    assert [r["verdict"] for r in report["inputs"]] == [_expected(f)[1] for f in FILES[:2]]
    assert result_file.stat().st_mtime_ns == stamp

    redo = runner.invoke(app, ["batch", str(FILES[0]), "-o", str(out), "--redo", "--json"])
    assert redo.exit_code == 0, redo.output
    assert json.loads(redo.stdout)["counts"] == {"done": 1, "earlier": 0, "failed": 0}
    assert result_file.stat().st_mtime_ns != stamp


@needs_uiprmd
def test_a_rerun_with_a_colliding_input_keeps_the_earlier_folder(tmp_path: Path) -> None:
    """Adding an input of the same name keeps the earlier output where it was (no orphan), and
    a folder counts as done only for the input that was analysed into it."""
    for sub in ("correct", "incorrect"):
        (tmp_path / "in" / sub).mkdir(parents=True)
    a = tmp_path / "in" / "correct" / "m01_s01_e01_positions.txt.gz"
    b = tmp_path / "in" / "incorrect" / "m01_s01_e01_positions.txt.gz"
    shutil.copy(UIPRMD / "correct" / "m01_s01_e01_positions.txt.gz", a)
    shutil.copy(UIPRMD / "incorrect" / "m01_s01_e01_positions_inc.txt.gz", b)
    out = tmp_path / "out"
    first = runner.invoke(app, ["batch", str(a), "-o", str(out), "--workers", "1"])
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["m01_s01_e01_positions"]
    both = runner.invoke(app, ["batch", str(tmp_path / "in"), "-o", str(out), "--json"])
    assert both.exit_code == 0, both.output
    rows = {Path(r["source"]).parent.name: r for r in json.loads(both.stdout)["inputs"]}
    assert rows["correct"]["status"] == "earlier"
    assert Path(rows["correct"]["output"]).name == "m01_s01_e01_positions"
    assert rows["incorrect"]["status"] == "done"
    assert Path(rows["incorrect"]["output"]).name == "incorrect__m01_s01_e01_positions"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        "incorrect__m01_s01_e01_positions",
        "m01_s01_e01_positions",
    ]
    # the folder of that name holds a's analysis: b alone is analysed, not taken for a
    only_b = runner.invoke(app, ["batch", str(b), "-o", str(out), "--json"])
    assert only_b.exit_code == 0, only_b.output
    (row,) = json.loads(only_b.stdout)["inputs"]
    assert row["status"] == "earlier"
    assert Path(row["output"]).name == "incorrect__m01_s01_e01_positions"


@needs_uiprmd
def test_a_folder_analysed_for_another_input_is_not_taken_as_done(tmp_path: Path) -> None:
    a = tmp_path / "a" / "m01_s01_e01_positions.txt.gz"
    b = tmp_path / "b" / "m01_s01_e01_positions.txt.gz"
    for path, src in ((a, "correct/m01_s01_e01_positions.txt.gz"),
                      (b, "incorrect/m01_s01_e01_positions_inc.txt.gz")):  # fmt: skip
        path.parent.mkdir()
        shutil.copy(UIPRMD / src, path)
    out = tmp_path / "out"
    assert runner.invoke(app, ["batch", str(a), "-o", str(out)]).exit_code == 0
    again = runner.invoke(app, ["batch", str(b), "-o", str(out), "--json"])
    assert again.exit_code == 0, again.output
    (row,) = json.loads(again.stdout)["inputs"]
    assert row["status"] == "done" and row["verdict"] == _expected(b)[1]


def test_bad_ray_addresses_fail_fast_with_a_sentence(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BadValueError, match="cannot be reached"):
        check_ray_address(f"127.0.0.1:{port}", timeout_s=2)
    with pytest.raises(BadValueError, match="not auto, host:port"):
        check_ray_address("head-node")
    clip = tmp_path / "x.txt.gz"
    clip.write_bytes(b"x")
    result = runner.invoke(
        app, ["batch", str(clip), "-o", str(tmp_path / "o"), "--ray-address", f"127.0.0.1:{port}"]
    )
    assert result.exit_code == 2, result.output
    assert "cannot be reached" in result.output and "Traceback" not in result.output


@needs_uiprmd
def test_ray_runs_the_same_analysis_in_its_own_workers(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    items = [BatchItem(source=f, output=tmp_path / f.name.split(".")[0]) for f in FILES]
    here = [
        run_item(BatchItem(source=i.source, output=tmp_path / "here" / i.output.name))
        for i in items
    ]
    on_ray = {o.source: o for o in run_ray(items, num_cpus=2)}
    for local in here:
        remote = on_ray[local.source]
        assert remote.status == "done", remote.error
        assert (remote.movement, remote.view, remote.reps, remote.verdict) == (
            local.movement,
            local.view,
            local.reps,
            local.verdict,
        )
        assert not remote.host.endswith(f":{os.getpid()}")  # ran in a Ray worker process
        assert (Path(remote.output) / "report.html").is_file()


@needs_uiprmd
@pytest.mark.skipif(
    shutil.which("ray") is None and not (Path(sys.executable).parent / "ray").exists(),
    reason="the ray command line is not installed",
)
def test_batch_on_a_running_ray_cluster(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    ray_cli = str(Path(sys.executable).parent / "ray")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    temp = Path("/tmp") / f"kb-ray-{os.getpid()}"  # Ray's socket paths must stay short
    started = subprocess.run(
        [
            ray_cli,
            "start",
            "--head",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={temp}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr
    try:
        out = tmp_path / "out"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "kneeback",
                "batch",
                *map(str, FILES),
                "-o",
                str(out),
                "--ray-address",
                f"127.0.0.1:{port}",
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["counts"] == {"done": 3, "earlier": 0, "failed": 0}
        by_name = {Path(r["source"]).name: r for r in report["inputs"]}
        for f in FILES:
            movement, verdict, reps = _expected(f)
            row = by_name[f.name]
            assert (row["movement"], row["verdict"], row["reps"]) == (movement, verdict, reps)
    finally:
        subprocess.run([ray_cli, "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
@needs_uiprmd
@pytest.mark.skipif(not VIDEO.exists(), reason="../shared/data not present")
def test_a_video_and_a_pose_file_in_one_batch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["batch", str(VIDEO), str(FILES[0]), "-o", str(out), "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    rows = _summary(out)
    video = rows[VIDEO.name]
    assert (video["status"], video["view"], video["reps"]) == ("done", "front", "3")
    assert (Path(video["output"]) / "annotated.mp4").stat().st_size > 0
    assert rows[FILES[0].name]["status"] == "done"


@needs_uiprmd
def test_person_stores_each_new_result_dated_when_recorded(tmp_path: Path, monkeypatch) -> None:
    clip, ds = squat_clip(tmp_path, reps=2, metadata={"creation_time": "2025-11-03T07:15:00Z"})
    monkeypatch.setattr("kneeback.pipeline.pose_video", replaying_pose_video(ds))
    db = f"sqlite:///{tmp_path / 'history.db'}"
    out = tmp_path / "out"
    args = ["batch", str(clip), str(FILES[0]), "-o", str(out), "--workers", "1"]
    result = runner.invoke(app, [*args, "--person", "Ana", "--db", db])
    assert result.exit_code == 0, result.output
    assert "2 stored in the history of Ana" in result.stdout
    rows = _summary(out)
    assert rows[clip.name]["recorded_at"].startswith("2025-11-03T07:15:00")
    assert rows[FILES[0].name]["recorded_at"] == ""  # a pose file does not say
    history = json.loads(runner.invoke(app, ["history", "Ana", "--db", db, "--json"]).stdout)
    days = sorted(s["recorded_at"][:10] for s in history["sessions"])
    assert days[0] == "2025-11-03" and days[1] >= "2026-01-01"
    # A second run keeps the earlier results (with their dates) and stores nothing again.
    again = runner.invoke(app, [*args, "--person", "Ana", "--db", db, "--json"])
    assert again.exit_code == 0, again.output
    earlier = {Path(r["source"]).name: r for r in json.loads(again.stdout)["inputs"]}
    assert earlier[clip.name]["status"] == "earlier"
    assert earlier[clip.name]["recorded_at"].startswith("2025-11-03T07:15:00")
    history = json.loads(runner.invoke(app, ["history", "Ana", "--db", db, "--json"]).stdout)
    assert len(history["sessions"]) == 2
    # Analysed again (--redo), the same clips are not stored twice: they would count twice.
    redo = runner.invoke(app, [*args, "--redo", "--person", "Ana", "--db", db])
    assert redo.exit_code == 0, redo.output
    said = " ".join(redo.output.split())
    assert said.count("Ana already has session") == 2 and "0 stored in the history of Ana" in said
    history = json.loads(runner.invoke(app, ["history", "Ana", "--db", db, "--json"]).stdout)
    assert len(history["sessions"]) == 2


def test_a_database_that_cannot_be_opened_stops_the_batch_before_it_starts(tmp_path: Path):
    clip = tmp_path / "x.txt.gz"
    clip.write_bytes(b"x")
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        bad_db = f"postgresql+psycopg://nobody@127.0.0.1:{s.getsockname()[1]}/kneeback"
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["batch", str(clip), "-o", str(out), "--person", "A", "--db", bad_db]
    )
    assert result.exit_code == 7, result.output
    assert "Cannot open the database" in result.output and "Traceback" not in result.output
    assert not out.exists()


@needs_uiprmd
def test_summary_notes_say_what_limited_a_clip(tmp_path: Path) -> None:
    from kneeback.io.posefile import save_pose_dataset

    ds = load_uiprmd(FILES[0])
    crowd = ds.copy()
    crowd.attrs.update(max_people_in_frame=3, people_seen=4, subject_track=0)
    save_pose_dataset(crowd, tmp_path / "in" / "crowd.nc")
    save_pose_dataset(ds.sel(time=slice(0, 0.5)), tmp_path / "in" / "lowering.nc")
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(tmp_path / "in"), "-o", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    rows = _summary(out)
    assert "Up to 3 people were in view at once" in rows["crowd.nc"]["notes"]
    assert rows["lowering.nc"]["reps"] == "0"
    assert rows["lowering.nc"]["notes"].startswith("No whole repetition was found")
    again = runner.invoke(app, ["batch", str(tmp_path / "in"), "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert _summary(out)["crowd.nc"]["notes"] == rows["crowd.nc"]["notes"]  # kept on resume
    assert _summary(out)["crowd.nc"]["status"] == "earlier"
