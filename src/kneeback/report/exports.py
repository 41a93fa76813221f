"""Table exports of an analysis: one row per rep (CSV) and angle time series (OpenSim ``.mot``).

``reps.csv``
    One row per repetition: its number (from 1, as the report and summary count them; the
    result's ``reps[].index`` is this less one), side, timing and verdict, then every per-rep
    metric. Column
    names carry units (:func:`metric_column`): metrics already named with a unit keep their name
    (``knee_flexion_peak_deg``, ``descent_s``); the others get one (``heel_lift_peak_footlen``,
    ``strategy_index_pct``). Missing or not measurable values are empty cells; booleans are
    ``true`` / ``false``.

OpenSim ``.mot``
    The angle time series the analysis used, in degrees, in the layout OpenSim, OpenCap and
    Sports2D read and write: a name line, ``version=1``, ``nRows``, ``nColumns`` (``time``
    included), ``inDegrees=yes``, free text, ``endheader``, then a tab-separated table whose first
    column is ``time`` in seconds. Knee flexion is written as ``knee_angle_r`` / ``knee_angle_l``,
    the name OpenSim's full-body models (and OpenCap's outputs) give the same quantity: the angle
    between thigh and shank, 0 = straight, positive = flexed. The other angles have no OpenSim
    coordinate that measures the same thing (kneeback's hip flexion is measured from the trunk,
    not the pelvis) and keep kneeback's names, e.g. ``hip_flexion_right``,
    ``trunk_inclination``. Only angles the capture report marks measurable are written.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import xarray as xr

from kneeback.report.result import AnalysisResult

__all__ = [
    "ANGLE_METRIC",
    "EXPORT_FORMATS",
    "METRIC_UNITS",
    "ExportFormat",
    "angle_measurable",
    "metric_column",
    "mot_columns",
    "reps_table",
    "write_mot",
    "write_reps_csv",
]

#: Extra export formats of ``kneeback analyze --export``.
ExportFormat = Literal["mot"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)

#: Units of the metrics whose names do not end in one (``_deg``, ``_s``): column-name suffix.
METRIC_UNITS: dict[str, str] = {
    "heel_lift_peak": "footlen",
    "wobble_hip_height": "leglen",
    "knee_inside_ankle_bottom": "leglen",
    "strategy_index": "pct",
}

#: Angle variable (without ``_left`` / ``_right``) -> the per-rep metric whose measurability in
#: the capture report says whether the angle can be trusted from this clip.
ANGLE_METRIC: dict[str, str] = {
    "knee_flexion": "knee_flexion_peak_deg",
    "hip_flexion": "hip_flexion_peak_deg",
    "trunk_inclination": "trunk_inclination_peak_deg",
    "tibia_inclination": "tibia_inclination_bottom_deg",
    "trunk_minus_tibia": "trunk_minus_tibia_peak_deg",
    "knee_fppa": "knee_fppa_peak_deg",
    "pelvis_drop": "knee_fppa_peak_deg",  # frontal plane, like FPPA
    "knee_width_ratio": "knee_width_ratio_bottom",
    "knee_inside_ankle": "knee_inside_ankle_bottom",
}

#: Angle variables written as OpenSim coordinates: kneeback name -> OpenSim name.
_OPENSIM_NAMES = {"knee_flexion_right": "knee_angle_r", "knee_flexion_left": "knee_angle_l"}

_REP_COLUMNS = ("rep", "side", "partial", "start_s", "end_s", "peak_s", "verdict")


def metric_column(name: str, /) -> str:
    """Return the CSV column name of a metric: the name with its unit.

    Parameters
    ----------
    name
        A per-rep metric name, e.g. ``"knee_flexion_peak_deg"`` or ``"strategy_index"``.

    Returns
    -------
    str
        ``name`` itself when it already ends in a unit (``_deg``, ``_s``) or is a ratio or a
        yes/no value, else ``name`` plus its unit from :data:`METRIC_UNITS`.
    """
    unit = METRIC_UNITS.get(name)
    return f"{name}_{unit}" if unit else name


def _base_angle(var: str) -> str:
    for suffix in ("_left", "_right"):
        if var.endswith(suffix):
            return var[: -len(suffix)]
    return var


def angle_measurable(result: AnalysisResult, var: str, /) -> tuple[bool, float | None]:
    """Whether an angle variable can be trusted from this clip, and its uncertainty.

    Parameters
    ----------
    result
        The analysis result (its capture report decides).
    var
        An angle variable of :func:`kneeback.kinematics.compute_angles`, e.g.
        ``"knee_flexion_left"``.

    Returns
    -------
    tuple
        ``(measurable, uncertainty_deg)``; angles without a matching metric are measurable when
        the capture report says nothing against them.
    """
    metric = ANGLE_METRIC.get(_base_angle(var))
    status = result.capture.metrics.get(metric) if metric else None
    if status is None:
        return metric is None, None
    return status.measurable, status.uncertainty


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(round(value, 6))
    return str(value)


def reps_table(result: AnalysisResult, /) -> tuple[list[str], list[list[str]]]:
    """Build the rep table: header and rows of text cells.

    Parameters
    ----------
    result
        The analysis result.

    Returns
    -------
    tuple
        ``(header, rows)``; metrics appear in the order of the first rep that has them (for a clip
        without reps, in the order of the capture report), followed by the ids of each rep's
        findings (``findings``, separated by ``;``).
    """
    metrics: list[str] = []
    for rep in result.reps:
        metrics.extend(m for m in rep.metrics if m not in metrics)
    if not result.reps:
        metrics = list(result.capture.metrics)
    header = [*_REP_COLUMNS, *(metric_column(m) for m in metrics), "findings"]
    rows = []
    for rep in result.reps:
        base: list[object] = [
            rep.index + 1,
            rep.side,
            rep.partial,
            rep.start_s,
            rep.end_s,
            rep.peak_s,
            rep.verdict,
        ]
        values = [rep.metrics.get(m) for m in metrics]
        rows.append([_cell(v) for v in (*base, *values)] + [";".join(rep.findings)])
    return header, rows


def write_reps_csv(result: AnalysisResult, path: str | os.PathLike[str], /) -> Path:
    """Write ``reps.csv``: one row per rep with every metric (see the module notes).

    Parameters
    ----------
    result
        The analysis result.
    path
        The CSV file to write.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    header, rows = reps_table(result)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = Path(path)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def mot_columns(result: AnalysisResult, angles: xr.Dataset, /) -> dict[str, np.ndarray]:
    """Choose and name the angle columns of the ``.mot`` export.

    Parameters
    ----------
    result
        The analysis result (decides which angles are measurable).
    angles
        The angle time series the analysis used (``AnalysisOutput.angles``).

    Returns
    -------
    dict
        Column name -> values in degrees, for every angle variable in degrees that is measurable
        from this clip and has at least one finite value.
    """
    cols: dict[str, np.ndarray] = {}
    for var in angles.data_vars:
        name = str(var)
        da = angles[name]
        if da.attrs.get("units") != "deg" or da.dims != ("time",):
            continue
        if not angle_measurable(result, name)[0]:
            continue
        values = np.asarray(da.values, dtype=np.float64)
        if not np.isfinite(values).any():
            continue
        cols[_OPENSIM_NAMES.get(name, name)] = values
    return cols


def _number(v: float) -> str:
    return f"{v:.6f}" if math.isfinite(v) else "NaN"


def write_mot(
    result: AnalysisResult,
    angles: xr.Dataset,
    path: str | os.PathLike[str],
    /,
    *,
    name: str = "Coordinates",
) -> Path:
    """Write the measurable angles as an OpenSim motion file (see the module notes).

    Parameters
    ----------
    result
        The analysis result.
    angles
        The angle time series the analysis used.
    path
        The ``.mot`` file to write.
    name
        First header line (OpenSim's name of the table; OpenCap writes ``Coordinates``).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    cols = mot_columns(result, angles)
    time = np.asarray(angles["time"].values, dtype=np.float64)
    lines: list[str] = [
        name,
        "version=1",
        f"nRows={time.size}",
        f"nColumns={len(cols) + 1}",
        "inDegrees=yes",
        "",
        "Units are S.I. units (second, meters, Newtons, ...)",
        "Angles in degrees measured by kneeback from a pose estimate; NaN where not measured.",
        "knee_angle_r and knee_angle_l are knee flexion (0 straight, positive flexed).",
        "",
        "endheader",
        "\t".join(("time", *cols)),
    ]
    table: Iterable[np.ndarray] = (time, *cols.values())
    data = np.column_stack(list(table)) if cols else time[:, None]
    lines.extend("\t".join(_number(float(v)) for v in row) for row in data)
    path = Path(path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
