"""Pose model provisioning: cache, URL fallback, npm build, sidecar, lock and CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from kneeback.cli_models import models_app
from kneeback.errors import ModelUnavailableError
from kneeback.pose import models

SQUAT_CLIP = Path(__file__).resolve().parents[2] / "shared/data/videos/front-squat-3reps.mp4"
UNREACHABLE_URL = "http://127.0.0.1:9/pose_landmarker_{variant}.task"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The published URL refuses at once (as on CI, only faster)."""
    monkeypatch.setattr(models, "MODEL_URL_TEMPLATE", UNREACHABLE_URL)


@pytest.fixture
def no_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Nothing is found on PATH, so npm is missing."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty model folder, selected with KNEEBACK_MODEL_DIR."""
    directory = tmp_path / "models"
    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(directory))
    return directory


def _boom(*args: object, **kwargs: object) -> None:
    raise AssertionError("this route must not be taken")


def _forbid_network_and_npm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "_download", _boom)
    monkeypatch.setattr(models, "_build_from_npm", _boom)


def _copy_model(src_dir: Path, dst_dir: Path, *, sidecar: bool = True) -> Path:
    dst_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src_dir / "pose_landmarker_full.task", dst_dir)
    if sidecar:
        shutil.copy2(src_dir / "pose_landmarker_full.json", dst_dir)
    return dst_dir / "pose_landmarker_full.task"


def _first_frame(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        image = frame.to_ndarray(format="rgb24")
        rotation = int(getattr(frame, "rotation", 0) or 0)
    if rotation % 360:
        image = np.rot90(image, k=(rotation // 90) % 4)
    return np.ascontiguousarray(image)


# --------------------------------------------------------------------------------------------
# Paths and helpers (fast)


def test_model_dir_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(tmp_path / "m"))
    assert models.model_dir() == tmp_path / "m"
    assert models.model_file("heavy") == tmp_path / "m" / "pose_landmarker_heavy.task"


def test_model_dir_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("KNEEBACK_MODEL_DIR", raising=False)
    assert models.model_dir() == Path(platformdirs.user_cache_dir("kneeback")) / "models"


def test_unknown_variant() -> None:
    with pytest.raises(ValueError, match="ultra"):
        models.model_file("ultra")  # type: ignore[arg-type]


def test_detector_range_is_parsed() -> None:
    js = (
        'loadPackage({"files": [{"filename": "/third_party/mediapipe/modules/pose_detection/'
        'pose_detection.tflite", "start": 10, "end": 2962298}], "remote_package_size": 1});'
    )
    assert models._detector_range(js) == (10, 2962298)
    with pytest.raises(ValueError, match="pose_detection"):
        models._detector_range('{"files": [{"filename": "/x/other.tflite", "start": 0, "end": 1}]}')


def test_list_models_empty(cache: Path) -> None:
    statuses = models.list_models()
    assert [s.variant for s in statuses] == ["lite", "full", "heavy"]
    assert not any(s.installed for s in statuses)
    assert all(s.size_bytes is None and s.source is None for s in statuses)


def test_unavailable_without_npm_or_url(cache: Path, offline: None, no_npm: None) -> None:
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailableError) as info:
        models.install_model("full")
    assert time.perf_counter() - t0 < 5
    message = str(info.value)
    assert "npm" in message and "Node.js" in message
    assert str(cache) in message and "KNEEBACK_MODEL_DIR" in message
    assert "pose_landmarker_full.task" in message
    assert info.value.exit_code == 5
    assert not models.model_file("full").exists()


def test_unusable_file_without_record_is_removed(cache: Path, offline: None, no_npm: None) -> None:
    cache.mkdir()
    models.model_file("full").write_bytes(b"not a zip")
    messages: list[str] = []
    with pytest.raises(ModelUnavailableError):
        models.install_model("full", progress=messages.append)
    assert any("unusable" in m for m in messages)
    assert not models.model_file("full").exists()


def test_cli_error_exit_code(cache: Path, offline: None, no_npm: None) -> None:
    app = typer.Typer()
    app.add_typer(models_app, name="models")
    result = CliRunner().invoke(app, ["models", "path", "--variant", "lite"])
    assert result.exit_code == 5
    assert result.stdout == ""
    assert "npm" in result.stderr


def test_install_also_gets_the_lite_model_video_runs_use(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    got: list[str] = []

    def fake(variant: str, **kwargs: object) -> Path:
        got.append(variant)
        return tmp_path / f"pose_landmarker_{variant}.task"

    monkeypatch.setattr(models, "install_model", fake)
    app = typer.Typer()
    app.add_typer(models_app, name="models")
    result = CliRunner().invoke(app, ["models", "install"])
    assert result.exit_code == 0 and got == ["full", "lite"], result.output
    assert result.stdout.splitlines() == [str(tmp_path / f"pose_landmarker_{v}.task") for v in got]
    got.clear()
    assert CliRunner().invoke(app, ["models", "install", "--variant", "lite"]).exit_code == 0
    assert got == ["lite"]


# --------------------------------------------------------------------------------------------
# The real npm build (slow: npm pack of a 41 MB package, then MediaPipe inference)


@pytest.mark.slow
def test_npm_build_loads_and_runs(model_dir_full: Path) -> None:
    task = model_dir_full / "pose_landmarker_full.task"
    record = json.loads((model_dir_full / "pose_landmarker_full.json").read_text())
    assert record["source"] == "npm"
    assert record["npm_package"] == f"{models.NPM_PACKAGE}@{models.NPM_VERSION}"
    assert record["sha256"] == models._sha256_file(task)
    assert record["inputs_sha256"] == {
        name: models._NPM_SHA256[name]
        for name in (
            "pose_landmark_full.tflite",
            "pose_solution_packed_assets.data",
            "pose_detection.tflite",
        )
    }
    with zipfile.ZipFile(task) as z:
        assert sorted(z.namelist()) == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
    assert models.smoke_test(task) == 0  # loads and runs; nobody in a blank image


@pytest.mark.slow
def test_npm_build_finds_a_real_person(model_dir_full: Path) -> None:
    if not SQUAT_CLIP.exists():
        pytest.skip(f"{SQUAT_CLIP} is not available")
    import mediapipe as mp
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.vision import (
        PoseLandmarker,
        PoseLandmarkerOptions,
        RunningMode,
    )

    image = _first_frame(SQUAT_CLIP)
    assert image.shape == (1592, 892, 3)  # portrait, upright
    task = model_dir_full / "pose_landmarker_full.task"
    assert models.smoke_test(task, image) == 1
    options = PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(task)), running_mode=RunningMode.VIDEO
    )
    with PoseLandmarker.create_from_options(options) as landmarker:
        for i in range(3):
            frame = mp.Image(image_format=mp.ImageFormat.SRGB, data=image)
            result = landmarker.detect_for_video(frame, i * 17)
            assert len(result.pose_landmarks) == 1
    lms = result.pose_landmarks[0]
    assert len(lms) == 33
    shoulders_y = (lms[11].y + lms[12].y) / 2
    hips_y = (lms[23].y + lms[24].y) / 2
    knees_y = (lms[25].y + lms[26].y) / 2
    assert lms[0].y < shoulders_y < hips_y < knees_y  # image y grows downwards
    assert 0.3 < (lms[23].x + lms[24].x) / 2 < 0.7  # she stands in the middle


@pytest.mark.slow
def test_second_install_is_a_cache_hit(
    model_dir_full: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(model_dir_full))
    _forbid_network_and_npm(monkeypatch)
    before = (model_dir_full / "pose_landmarker_full.task").stat().st_mtime_ns
    t0 = time.perf_counter()
    path = models.install_model("full")
    assert models.ensure_model("full") == path
    assert time.perf_counter() - t0 < 1.0
    assert path == model_dir_full / "pose_landmarker_full.task"
    assert path.stat().st_mtime_ns == before
    full = {s.variant: s for s in models.list_models()}["full"]
    assert full.installed and full.source == "npm" and full.size_bytes == path.stat().st_size


@pytest.mark.slow
def test_corrupted_cache_is_rebuilt(
    model_dir_full: Path, cache: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _copy_model(model_dir_full, cache)
    good_sha = models._sha256_file(task)
    data = bytearray(task.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64  # silent corruption, same size
    task.write_bytes(bytes(data))
    assert not {s.variant: s for s in models.list_models()}["full"].installed

    messages: list[str] = []
    path = models.install_model("full", progress=messages.append)
    assert any("does not match" in m for m in messages)
    assert any("npm pack" in m for m in messages)
    assert path == task
    assert models._sha256_file(task) == good_sha  # the build is reproducible
    assert json.loads(task.with_suffix(".json").read_text())["source"] == "npm"


@pytest.mark.slow
def test_file_without_record_is_adopted(
    model_dir_full: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = _copy_model(model_dir_full, cache, sidecar=False)
    _forbid_network_and_npm(monkeypatch)
    assert models.ensure_model("full") == task
    record = json.loads(task.with_suffix(".json").read_text())
    assert record["source"] == "cache"
    assert record["sha256"] == models._sha256_file(task)


@pytest.mark.slow
def test_cli_path_prints_only_the_path(
    model_dir_full: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(model_dir_full))
    _forbid_network_and_npm(monkeypatch)
    app = typer.Typer()
    app.add_typer(models_app, name="models")
    runner = CliRunner()
    result = runner.invoke(app, ["models", "path", "--variant", "full"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{model_dir_full / 'pose_landmarker_full.task'}\n"
    listing = runner.invoke(app, ["models", "list"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0
    assert "full" in listing.stdout and "npm" in listing.stdout


@pytest.mark.slow
def test_url_route_downloads_and_verifies(
    model_dir_full: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(model_dir_full))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/pose_landmarker_{{variant}}.task"
        monkeypatch.setattr(models, "MODEL_URL_TEMPLATE", url)
        monkeypatch.setattr(models, "_build_from_npm", _boom)
        path = models.install_model("full")
    finally:
        server.shutdown()
        server.server_close()
    record = json.loads(path.with_suffix(".json").read_text())
    assert record["source"] == "url"
    assert record["url"] == url.format(variant="full")
    assert record["sha256"] == models._sha256_file(model_dir_full / "pose_landmarker_full.task")


@pytest.mark.slow
def test_tampered_npm_input_is_refused(
    cache: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    pins = dict(models._NPM_SHA256, **{"pose_landmark_lite.tflite": "0" * 64})
    monkeypatch.setattr(models, "_NPM_SHA256", pins)
    with pytest.raises(ModelUnavailableError, match="sha256"):
        models.install_model("lite")
    assert not models.model_file("lite").exists()
    assert list(cache.glob("*.tmp")) == []


@pytest.mark.slow
def test_concurrent_installs_share_one_build(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    code = (
        "import sys\n"
        "from kneeback.pose import models\n"
        f"models.MODEL_URL_TEMPLATE = {UNREACHABLE_URL!r}\n"
        "messages = []\n"
        "path = models.install_model('lite', progress=messages.append)\n"
        "print('BUILT' if any('npm pack' in m for m in messages) else 'CACHED', path)\n"
    )
    env = dict(os.environ, KNEEBACK_MODEL_DIR=str(tmp_path / "shared-models"))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    kinds = sorted(out.split()[0] for out in outputs)
    assert kinds == ["BUILT", "CACHED"]  # the second waited for the lock, then hit the cache
    env_dir = tmp_path / "shared-models"
    assert sorted(p.name for p in env_dir.iterdir()) == [
        ".lock",
        "pose_landmarker_lite.json",
        "pose_landmarker_lite.task",
    ]
