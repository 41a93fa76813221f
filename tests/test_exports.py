"""reps.csv and OpenSim .mot exports: names with units, measurable columns only, the .mot layout."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from kneeback.analysis import analyse_detailed
from kneeback.report.exports import (
    angle_measurable,
    metric_column,
    mot_columns,
    reps_table,
    write_mot,
    write_reps_csv,
)
from replay_clip import needs_uiprmd, squat_pose

OPENCAP_MOT = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "opencap" / "squats-5reps.mot"
)

pytestmark = needs_uiprmd


@pytest.fixture(scope="module")
def side():
    return analyse_detailed(squat_pose(reps=2))


def parse_mot(path: Path) -> tuple[dict[str, str], list[str], np.ndarray, str]:
    """Read a .mot file as OpenSim does: header to ``endheader``, then a tab-separated table."""
    lines = path.read_text().splitlines()
    end = lines.index("endheader")
    header = {}
    for line in lines[1:end]:
        if "=" in line:
            key, value = line.split("=", 1)
            header[key.strip()] = value.strip()
    columns = lines[end + 1].split("\t")
    rows = [line.split("\t") for line in lines[end + 2 :] if line.strip()]
    assert all(len(r) == len(columns) for r in rows)
    data = np.array([[float(v) for v in r] for r in rows])
    return header, columns, data, lines[0]


def test_metric_columns_carry_units():
    assert metric_column("knee_flexion_peak_deg") == "knee_flexion_peak_deg"
    assert metric_column("descent_s") == "descent_s"
    assert metric_column("strategy_index") == "strategy_index_pct"
    assert metric_column("heel_lift_peak") == "heel_lift_peak_footlen"
    assert metric_column("hip_below_knee") == "hip_below_knee"


def test_reps_csv_has_one_row_per_rep_and_every_metric(side, tmp_path):
    result = side.result
    path = write_reps_csv(result, tmp_path / "reps.csv")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(result.reps) == 2
    header = list(rows[0])
    assert header[:7] == ["rep", "side", "partial", "start_s", "end_s", "peak_s", "verdict"]
    assert header[-1] == "findings"
    for rep, row in zip(result.reps, rows, strict=True):
        assert int(row["rep"]) == rep.index + 1  # numbered from 1, as the report counts
        assert row["verdict"] == rep.verdict
        for name, value in rep.metrics.items():
            cell = row[metric_column(name)]
            if value is None:
                assert cell == ""
            elif isinstance(value, bool):
                assert cell == ("true" if value else "false")
            else:
                assert float(cell) == pytest.approx(value)
        assert row["findings"].split(";") == rep.findings
    assert "knee_flexion_peak_deg" in header and "strategy_index_pct" in header


def test_reps_table_without_reps_still_has_a_header(side):
    empty = side.result.model_copy(update={"reps": []})
    header, rows = reps_table(empty)
    assert rows == []
    assert "knee_flexion_peak_deg" in header


def test_mot_layout_matches_opencap(side, tmp_path):
    path = write_mot(side.result, side.angles, tmp_path / "angles.mot")
    header, columns, data, name = parse_mot(path)
    assert name == "Coordinates"
    assert header["version"] == "1"
    assert header["inDegrees"] == "yes"
    assert int(header["nRows"]) == data.shape[0] == side.angles.sizes["time"]
    assert int(header["nColumns"]) == len(columns) == data.shape[1]
    assert columns[0] == "time"
    np.testing.assert_allclose(data[:, 0], side.angles["time"].values, atol=1e-6)
    # Knee flexion under OpenSim's name, in degrees, as in OpenCap's file.
    assert {"knee_angle_r", "knee_angle_l"} <= set(columns)
    knee = data[:, columns.index("knee_angle_l")]
    assert np.nanmax(knee) == pytest.approx(float(side.angles["knee_flexion_left"].max()), abs=1e-3)
    if OPENCAP_MOT.exists():
        ref_header, ref_columns, ref_data, _ = parse_mot(OPENCAP_MOT)
        assert set(ref_header) >= {"version", "nRows", "nColumns", "inDegrees"}
        assert set(header) >= set(ref_header)
        assert ref_columns[0] == "time" and int(ref_header["nColumns"]) == len(ref_columns)
        assert int(ref_header["nRows"]) == ref_data.shape[0]
        assert "knee_angle_r" in ref_columns  # the same name for the same quantity


def test_mot_leaves_out_angles_the_view_cannot_measure():
    two_d = analyse_detailed(squat_pose(reps=1).drop_vars("position_world"))
    result = two_d.result
    assert not angle_measurable(result, "knee_fppa_left")[0]  # 2D side view: no frontal angles
    cols = mot_columns(result, two_d.angles)
    assert "knee_fppa_left" not in cols and "knee_fppa_right" not in cols
    assert "trunk_inclination" in cols and "knee_angle_l" in cols
    assert all(np.isfinite(v).any() for v in cols.values())
