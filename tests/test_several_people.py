"""Several people in view: the analysis says so and how to follow another person.

Real UI-PRMD marker data (../shared/data) with the people counts a video's pose dataset carries.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr
from typer.testing import CliRunner

from kneeback.analysis import analyse
from kneeback.cli import app
from kneeback.io.adapters.uiprmd import load_uiprmd
from kneeback.io.posefile import save_pose_dataset

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ui-prmd" / "vicon" / "correct"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared UI-PRMD data not present")


def _load(name: str) -> xr.Dataset:
    return load_uiprmd(DATA / f"{name}_positions.txt.gz")


def _with_people(ds: xr.Dataset, *, at_once: int, tracked: int, followed: int) -> xr.Dataset:
    out = ds.copy()
    out.attrs.update(max_people_in_frame=at_once, people_seen=tracked, subject_track=followed)
    return out


def test_several_people_are_reported() -> None:
    ds = _load("m01_s01_e01")
    assert analyse(ds).capture.people_in_view is None  # marker data: no people count
    res = analyse(_with_people(ds, at_once=3, tracked=4, followed=0))
    cap = res.capture
    assert (cap.people_in_view, cap.people_tracked, cap.person_followed) == (3, 4, 0)
    assert any("Up to 3 people were in view at once" in i for i in cap.issues)
    assert any("largest and longest" in i for i in cap.issues)
    asked = analyse(_with_people(ds, at_once=2, tracked=2, followed=1)).capture
    assert any("tracked person 1, as asked" in i for i in asked.issues)
    alone = analyse(_with_people(ds, at_once=1, tracked=1, followed=0)).capture
    assert not any("people" in i for i in alone.issues)


def test_analyze_tells_how_to_follow_another_person(tmp_path: Path) -> None:
    pose = tmp_path / "crowd.nc"
    save_pose_dataset(_with_people(_load("m01_s01_e01"), at_once=3, tracked=4, followed=0), pose)
    result = CliRunner().invoke(app, ["analyze", str(pose), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Note: Up to 3 people were in view at once" in result.output
    assert "analyse the video again with --subject N (N from 0 to 3" in result.output
    again = CliRunner().invoke(
        app, ["analyze", str(pose), "--subject", "1", "-o", str(tmp_path / "out")]
    )
    assert again.exit_code == 0, again.output
    assert "--subject is ignored for a pose file" in again.output
