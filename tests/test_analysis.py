"""End to end: pose dataset -> AnalysisResult, on UI-PRMD files when the data are present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kneeback.analysis import AnalysisOutput, analyse, analyse_detailed
from kneeback.report.result import AnalysisResult

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ui-prmd" / "vicon"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared UI-PRMD data not present")


def _load(name: str):
    from kneeback.io.adapters.uiprmd import load_uiprmd

    label = "incorrect" if "_inc" in name else "correct"
    return load_uiprmd(DATA / label / name)


def test_a_lunge_reports_the_front_heel_not_the_back_one() -> None:
    """The back heel of a lunge rises by design; the heel lift reported is the working leg's."""
    from kneeback.analysis import analyse_detailed

    out = analyse_detailed(_load("m03_s02_e01_positions.txt.gz"))
    (rep,) = out.result.reps
    assert out.result.movement.used == "lunge" and rep.side == "left"
    back = float(np.nanmax(out.angles["heel_lift_right"].values))
    assert back > 0.5  # the back heel comes up most of a foot's length
    assert rep.metrics["heel_lift_peak"] < 0.15


def test_deep_squat_3d() -> None:
    ds = _load("m01_s01_e01_positions.txt.gz")
    res = analyse(ds)
    assert res.capture.duration_s == pytest.approx(ds.sizes["time"] / ds.attrs["fps"])
    assert res.movement.recognised == "squat"
    assert len(res.reps) == 1
    rep = res.reps[0]
    assert 100 < rep.metrics["knee_flexion_peak_deg"] < 150
    assert rep.metrics["hip_below_knee"] is True
    assert [p.name for p in rep.phases] == ["descent", "bottom", "ascent"]
    assert res.verdict == "good"
    assert res.capture.measurement == "marker"
    back = AnalysisResult.from_json(res.to_json())
    assert back == res


def _knee_tracking(name: str) -> tuple[float, str]:
    res = analyse(_load(name), movement="squat")
    severity = next(f.severity for f in res.findings if f.id == "knee_tracking")
    return res.reps[0].metrics["knee_inside_ankle_bottom"], severity


def test_knee_tracking_reads_each_knee_against_its_foot() -> None:
    """s03 squats with a wide stance: knees 0.91-0.93 of the ankle width, yet over the feet."""
    for e in ("e01", "e02", "e03"):
        inside, severity = _knee_tracking(f"m01_s03_{e}_positions.txt.gz")
        assert 0.0 < inside < 0.056 and severity == "positive", e
    for e in ("e01", "e03"):  # knees caving in: 0.65-0.67 of the ankle width
        inside, severity = _knee_tracking(f"m01_s03_{e}_positions_inc.txt.gz")
        assert inside > 0.056 + 0.028 and severity == "major", e


def test_heels_that_rise_make_the_squat_need_work() -> None:
    """s05's incorrect e10 goes deep on the toes: the heels rise 35-43 % of the foot's length."""
    res = analyse(_load("m01_s05_e10_positions_inc.txt.gz"), movement="squat")
    heels = next(f for f in res.findings if f.id == "heel_lift")
    assert heels.severity == "major" and res.verdict == "needs_work"
    assert 0.35 < res.reps[0].metrics["heel_lift_peak"] < 0.5
    assert not any(f.severity == "major" and f.id != "heel_lift" for f in res.findings)
    flat = analyse(_load("m01_s01_e01_positions.txt.gz"))  # heels down: under 0.1
    assert next(f for f in flat.findings if f.id == "heel_lift").severity == "positive"


def test_a_clip_too_short_for_a_repetition_says_so() -> None:
    ds = _load("m01_s01_e01_positions.txt.gz")
    res = analyse(ds.isel(time=slice(0, 100)))  # its first second: going down only
    assert not res.reps
    assert "too short for a whole repetition" in res.capture.issues[0]
    assert "whole set" in res.capture.tips[0]  # the one tip the command-line summary shows
    quick = analyse(_load("m03_s01_e01_positions.txt.gz"))  # a whole lunge in 1.3 s
    assert quick.reps
    assert not any("too short" in i for i in quick.capture.issues)


def test_analyse_detailed_keeps_series() -> None:
    ds = _load("m01_s01_e01_positions.txt.gz")
    out = analyse_detailed(ds)
    assert isinstance(out, AnalysisOutput)
    assert out.result == analyse(ds)
    assert "knee_flexion_left" in out.angles and "time" in out.angles.dims
    assert out.angles.sizes["time"] == out.processed.sizes["time"]
    assert "position" in out.processed
    rep = out.result.reps[0]
    peak = float(out.angles["knee_flexion_left"].sel(time=rep.peak_s, method="nearest"))
    assert abs(peak - rep.metrics["knee_flexion_peak_deg"]) < 30


def test_stated_movement_disagreement() -> None:
    res = analyse(_load("m01_s01_e01_positions.txt.gz"), movement="lunge")
    assert res.movement.used == "lunge"
    assert res.movement.agreement is False
    assert res.movement.message


def test_side_projection_2d() -> None:
    ds = _load("m01_s01_e01_positions.txt.gz").drop_vars("position_world")
    res = analyse(ds)
    assert res.view.recognised == "side"
    assert res.capture.source == "2d"
    assert res.reps and res.reps[0].metrics["knee_fppa_peak_deg"] is None  # needs a front view
    assert not res.capture.metrics["knee_fppa_peak_deg"].measurable


def test_sit_to_stand_tests_present() -> None:
    res = analyse(_load("m05_s01_e01_positions.txt.gz"))
    assert res.movement.recognised == "sit_to_stand"
    assert res.tests is not None and res.tests.stands == 1


def test_side_lunge_has_side() -> None:
    res = analyse(_load("m04_s01_e01_positions.txt.gz"))
    assert res.movement.recognised == "side_lunge"
    assert res.reps[0].side in ("left", "right")


def test_bad_options() -> None:
    ds = _load("m01_s01_e01_positions.txt.gz")
    with pytest.raises(ValueError):
        analyse(ds, movement="burpee")
    with pytest.raises(ValueError):
        analyse(ds, view="top")
