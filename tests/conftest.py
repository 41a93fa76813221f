"""Shared pytest fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def model_dir_full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the pose models once per session from the npm package; return their folder.

    "full" is the default model; "lite" is what pose runs use to count the people in view.

    The model is ``model_dir_full / "pose_landmarker_full.task"``; set ``KNEEBACK_MODEL_DIR`` to
    this folder (``monkeypatch.setenv``) to have :func:`kneeback.pose.models.ensure_model` find it.
    The published URL is bypassed so that the npm route is what gets built and tested, with or
    without internet. Needs ``npm`` and the npm registry; skipped when npm is not installed.
    """
    from kneeback.pose import models

    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: cannot build the pose model from @mediapipe/pose")
    directory = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KNEEBACK_MODEL_DIR", str(directory))
        # Port 9 (discard) on the loopback refuses at once: the download fails fast.
        mp.setattr(
            models, "MODEL_URL_TEMPLATE", "http://127.0.0.1:9/pose_landmarker_{variant}.task"
        )
        models.install_model("full")
        models.install_model("lite")  # pose runs also use it, to count the people in view
    return directory
