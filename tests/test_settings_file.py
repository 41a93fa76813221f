"""Analysis settings from a file: ``kneeback settings`` writes them, ``--settings`` reads them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kneeback.cli import app
from kneeback.errors import BadValueError
from kneeback.settings import AnalysisSettings
from kneeback.settings_file import load_settings_file, settings_toml
from replay_clip import UIPRMD, needs_uiprmd

runner = CliRunner()
#: A deep squat done on the toes (heels up 43 % of the foot's length): needs work by default.
ON_TOES = UIPRMD / "incorrect" / "m01_s05_e10_positions_inc.txt.gz"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


def test_the_printed_defaults_read_back_as_the_defaults(tmp_path: Path) -> None:
    text = settings_toml()
    assert len(tomllib.loads(text)) == len(AnalysisSettings.model_fields)
    assert "# Descent or ascent faster than this is flagged" in text
    assert load_settings_file(_write(tmp_path, text)) == AnalysisSettings()
    printed = runner.invoke(app, ["settings"])
    assert printed.exit_code == 0 and printed.output == text


def test_a_file_changes_only_what_it_names(tmp_path: Path) -> None:
    got = load_settings_file(_write(tmp_path, "tempo_min_phase_s = 1.5\n"))
    assert got == AnalysisSettings(tempo_min_phase_s=1.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "heel_lift_tol = 0.2\n",
            "unknown setting 'heel_lift_tol' (did you mean heel_lift_tolerance?)",
        ),
        (
            "tempo_min_phase_s = -1\n",
            "tempo_min_phase_s is refused: input should be greater than or equal to 0.",
        ),
        ("cutoff_hz = 'fast'\n", "cutoff_hz is refused: input should be a valid number"),
        ("cutoff_hz = \n", "is not valid TOML"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BadValueError, match="settings file") as caught:
        load_settings_file(_write(tmp_path, text))
    assert message in str(caught.value)
    with pytest.raises(BadValueError, match="does not exist"):
        load_settings_file(tmp_path / "missing.toml")


@needs_uiprmd
def test_analyze_uses_the_file_and_records_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    strict = runner.invoke(app, ["analyze", str(ON_TOES), "-o", str(out), "--movement", "squat"])
    assert strict.exit_code == 0 and "needs work" in strict.output
    loose = _write(tmp_path, "heel_lift_tolerance = 0.5\n")
    args = [
        "analyze",
        str(ON_TOES),
        "-o",
        str(out),
        "--movement",
        "squat",
        "--settings",
        str(loose),
    ]
    relaxed = runner.invoke(app, args)
    assert relaxed.exit_code == 0 and "Verdict: good" in relaxed.output, relaxed.output
    result = json.loads((out / "result.json").read_text())
    assert result["settings"]["heel_lift_tolerance"] == 0.5
    # A bad file is refused before anything is written: the earlier output stays.
    bad = _write(tmp_path, "heel_lift = 0.5\n")
    refused = runner.invoke(app, [*args[:-1], str(bad)])
    assert refused.exit_code == 2 and "unknown setting 'heel_lift'" in refused.output
    assert "Traceback" not in refused.output
    assert json.loads((out / "result.json").read_text()) == result


@needs_uiprmd
def test_batch_uses_the_file(tmp_path: Path) -> None:
    loose = _write(tmp_path, "heel_lift_tolerance = 0.5\n")
    args = ["batch", str(ON_TOES), "-o", str(tmp_path / "b"), "--movement", "squat", "--json"]
    done = runner.invoke(app, [*args, "--workers", "1", "--settings", str(loose)])
    assert done.exit_code == 0, done.output
    (row,) = json.loads(done.output)["inputs"]
    assert row["verdict"] == "good"
