"""Walking is not a repetition; what a clip without a whole repetition says.

Real UI-PRMD marker data (../shared/data); the "walking squat" moves the whole body sideways
at a walker's speed while the knees bend, so that the feet travel at the bottom.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from kneeback.analysis import analyse
from kneeback.assess.critique import clip_verdict
from kneeback.cli import app
from kneeback.io.adapters.uiprmd import load_uiprmd
from kneeback.io.posefile import save_pose_dataset
from kneeback.kinematics import compute_angles
from kneeback.movements.travel import MAX_PLANTED_FEET_SPEED, feet_planted, feet_speed

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ui-prmd" / "vicon" / "correct"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared UI-PRMD data not present")


def _load(name: str) -> xr.Dataset:
    return load_uiprmd(DATA / f"{name}_positions.txt.gz")


def _travelling(ds: xr.Dataset, legs_per_s: float) -> xr.Dataset:
    """Move every landmark forward at ``legs_per_s`` leg lengths per second (image and world)."""
    out = ds.copy(deep=True)
    t = out["time"].values - out["time"].values[0]
    for var, dim in (("position", "space"), ("position_world", "space3")):
        leg = float(compute_angles(ds, source="2d" if var == "position" else "world").leg_length)
        shift = xr.DataArray(legs_per_s * leg * t, dims=("time",), coords={"time": out["time"]})
        x = out[var].sel({dim: "x"})
        out[var].loc[{dim: "x"}] = x + shift
    return out


def test_feet_speed_is_in_leg_lengths_per_second() -> None:
    ds = _load("m01_s01_e01")
    still = feet_speed(ds)
    moving = feet_speed(_travelling(ds, 1.5))
    standing = slice(0, 5)  # the file starts standing
    assert np.nanmax(still[standing]) < 0.1
    assert np.nanmedian(moving[standing]) == pytest.approx(1.5, abs=0.05)


@pytest.mark.parametrize("name", ["m01_s01_e01", "m03_s01_e01", "m04_s01_e01", "m05_s01_e01"])
def test_feet_are_planted_at_the_bottom_of_real_repetitions(name: str) -> None:
    ds = _load(name)
    res = analyse(ds)
    assert len(res.reps) == 1
    speed = feet_speed(ds)
    t = ds["time"].values
    rep = res.reps[0]
    bottom = next(p for p in rep.phases if p.name == "bottom")
    in_bottom = (t >= bottom.start_s) & (t <= bottom.end_s)
    assert np.nanmedian(speed[in_bottom]) < MAX_PLANTED_FEET_SPEED / 5


@pytest.mark.parametrize("two_d", [False, True])
def test_knee_bends_while_the_feet_travel_are_not_repetitions(two_d: bool) -> None:
    ds = _travelling(_load("m01_s01_e01"), 2.0)
    if two_d:
        ds = ds.drop_vars("position_world")
    res = analyse(ds)
    assert res.movement.recognised == "other"
    assert "walking or stepping" in res.movement.reasons[0]
    assert res.reps == [] and res.verdict == "not_assessed"
    stated = analyse(ds, movement="squat")  # stated: still no squat counted while walking
    assert stated.movement.used == "squat" and stated.reps == []


def test_feet_planted_decides_on_the_bottom_phase_only() -> None:
    from kneeback.movements.reps import Rep

    speed = np.zeros(100)
    speed[:30] = 3.0  # walked in, then squatted in place
    rep = Rep(0, 35, 50, 70, 0.35, 0.5, 0.7, 90.0, False, (45, 55), ())
    assert feet_planted(speed, rep)
    speed[45:56] = 2.0
    assert not feet_planted(speed, rep)
    assert feet_planted(np.full(100, np.nan), rep)  # feet not seen: benefit of the doubt


def test_no_whole_repetition_is_said_with_its_reason(tmp_path: Path) -> None:
    ds = _load("m01_s01_e01")
    peak = analyse(ds).reps[0].peak_s
    lowering = ds.sel(time=slice(0, peak))  # the lowering only
    res = analyse(lowering)
    assert res.movement.recognised == "squat"
    assert res.reps == [] and res.verdict == "not_assessed"
    for data, expected in (
        (lowering, "Squat, side view: 0 reps"),
        (_travelling(ds, 2.0), "Other movement, side view: 0 reps"),
    ):
        pose = tmp_path / "clip.nc"
        save_pose_dataset(data, pose)
        out = CliRunner().invoke(app, ["analyze", str(pose), "-o", str(tmp_path / "out")])
        assert out.exit_code == 0, out.output
        assert expected in out.output
        why = "the feet kept moving" if "Other" in expected else "standing, lowering and rising"
        assert f"No whole repetition was found ({why}" in out.output.replace("\n", " ")


def test_other_movements_are_not_judged() -> None:
    res = analyse(_load("m02_s01_e01"))  # a hurdle step: none of the analysed movements
    assert res.movement.recognised == "other"
    assert res.reps and all(r.verdict == "not_assessed" for r in res.reps)
    assert res.verdict == "not_assessed"
    assert clip_verdict(["not_assessed", "needs_work", "good", "good"]) == "good"
    assert clip_verdict(["not_assessed", "needs_work"]) == "needs_work"
