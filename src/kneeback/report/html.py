"""``report.html``: one self-contained page that a member and their coach read.

:func:`render_report` turns an :class:`~kneeback.report.result.AnalysisResult` and the angle
dataset it was computed from into one HTML document that opens offline: inline CSS, plots as
inline SVG (:mod:`kneeback.report.plots`), the annotated video embedded as a ``data:`` URL. No
script, font or stylesheet is fetched from anywhere. All text goes through Jinja2's autoescape.

The page leads with the verdict and the findings (what went well, what to practise, what was
measured to follow over time), each with its evidence grade, source and cue, worded as in the
result; then the video, the plots, the per-rep table, and what was analysed with how well the clip
supports each measurement, with a filming tip where it does not.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from kneeback import __version__
from kneeback.assess.rules import EVIDENCE_GRADES
from kneeback.movements.labels import METRIC_LABELS, metric_label
from kneeback.movements.specs import MOVEMENTS
from kneeback.report.plots import (
    ANGLES_TITLE,
    DEPTH_TITLE,
    PANELS,
    STRATEGY_TITLE,
    angle_panels,
    angles_plot,
    depth_plot,
    rep_label,
    strategy_plot,
)
from kneeback.report.result import AnalysisResult, FindingInfo, MetricInfo, RepInfo
from kneeback.report.verdicts import verdict_sentence

__all__ = [
    "KEY_METRICS",
    "METRIC_LABELS",
    "SEVERITY_LABELS",
    "VERDICT_LABELS",
    "metric_label",
    "render_report",
    "verdict_sentence",
]

#: Metrics shown as columns of the per-rep table (when any rep has a value), in this order.
KEY_METRICS: tuple[str, ...] = (
    "knee_flexion_peak_deg",
    "hip_flexion_peak_deg",
    "trunk_inclination_peak_deg",
    "hip_below_knee",
    "trunk_minus_tibia_bottom_deg",
    "knee_inside_ankle_bottom",
    "strategy_index",
    "descent_s",
    "ascent_s",
)

#: Short column headings for :data:`KEY_METRICS`.
_SHORT_LABELS: dict[str, str] = {
    "knee_flexion_peak_deg": "Knee flexion",
    "hip_flexion_peak_deg": "Hip flexion",
    "trunk_inclination_peak_deg": "Trunk lean",
    "hip_below_knee": "Hips below knees",
    "trunk_minus_tibia_bottom_deg": "Trunk − shin",
    "knee_inside_ankle_bottom": "Knee inside ankle",
    "strategy_index": "Strategy",
    "descent_s": "Down",
    "ascent_s": "Up",
}

VERDICT_LABELS: dict[str, str] = {
    "good": "Good",
    "needs_work": "Needs work",
    "not_assessed": "Not assessed",
}


#: Headings of the finding groups, by severity, in page order.
SEVERITY_LABELS: dict[str, str] = {
    "positive": "Well done",
    "major": "Main focus",
    "minor": "Worth practising",
    "info": "For reference",
}

_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("What went well", ("positive",)),
    ("What to practise", ("major", "minor")),
    ("Measured, to follow over time", ("info",)),
)

#: How the angles were measured (``CaptureInfo.measurement``), in words.
_MEASUREMENT_LABELS: dict[str, str] = {
    "video_2d": "the video image (2D landmarks)",
    "video_world": "the video's estimated 3D landmarks",
    "marker": "marker-based motion capture",
    "depth_camera": "a depth camera",
}

_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".mov": "video/mp4"}


def _fmt_value(value: float | bool | None, unit: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not np.isfinite(value):
        return "–"
    digits = {"°": 0, "s": 1, "0-100": 0}.get(unit, 2)
    value = round(float(value), digits) + 0.0  # + 0.0 turns -0.0 into 0.0: no "-0.00"
    if unit == "°":
        return f"{value:.0f}°"
    if unit == "s":
        return f"{value:.1f} s"
    if unit == "0-100":
        return f"{value:.0f}"
    return f"{value:.2f}"


def _with_unit(label: str, unit: str) -> str:
    """Return a metric's name with its unit when its values do not show one."""
    return label if unit in ("", "°", "s", "0-100") else f"{label} ({unit})"


def _fmt_uncertainty(unc: float | None, unit: str) -> str:
    if unc is None:
        return ""
    if unit == "°":
        return f"±{unc:g}°"
    if unit == "s":
        return f"±{unc:g} s"
    return f"±{unc:g}"


@dataclass
class _FindingGroup:
    id: str
    severity: str
    title: str
    grade: str
    grade_meaning: str
    source: str
    cue: str
    items: list[tuple[str, str]] = field(default_factory=list)  # (where, text)

    @property
    def same_text(self) -> bool:
        return len({text for _, text in self.items}) == 1

    @property
    def where(self) -> str:
        reps = list(dict.fromkeys(w for w, _ in self.items if w))
        if not reps:
            return "whole clip"
        label = "Rep" if len(reps) == 1 else "Reps"
        return f"{label} {', '.join(w.removeprefix('Rep ') for w in reps)}"


def _group_findings(
    findings: Sequence[FindingInfo], reps: Sequence[RepInfo]
) -> dict[str, list[_FindingGroup]]:
    by_index = {r.index: r for r in reps}
    grades: Mapping[str, str] = EVIDENCE_GRADES
    groups: dict[tuple[str, str], _FindingGroup] = {}
    for f in findings:
        key = (f.id, f.severity)
        if key not in groups:
            groups[key] = _FindingGroup(
                id=f.id,
                severity=f.severity,
                title=f.title,
                grade=f.grade,
                grade_meaning=grades.get(f.grade, ""),
                source=f.source,
                cue=f.cue,
            )
        g = groups[key]
        where = ""
        if f.rep is not None:
            rep = by_index.get(f.rep)
            where = f"Rep {rep_label(rep) if rep is not None else f.rep + 1}"
        g.items.append((where, f.text))
        if not g.cue and f.cue:
            g.cue = f.cue
    sections: dict[str, list[_FindingGroup]] = {}
    for heading, severities in _SECTIONS:
        sections[heading] = [g for s in severities for g in groups.values() if g.severity == s]
    return sections


def _clip_span(angles: xr.Dataset) -> tuple[int, float]:
    if "time" not in angles.coords:
        return 0, 0.0
    t = np.asarray(angles["time"].values, dtype=np.float64)
    if t.size < 2:
        return int(t.size), 0.0
    return int(t.size), float(t[-1] - t[0])


def _movement_label(name: str) -> str:
    spec = MOVEMENTS.get(name)
    return spec.label if spec is not None else name.replace("_", " ")


def _capture_rows(metrics: Mapping[str, MetricInfo]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, m in metrics.items():
        label, unit = metric_label(name)
        rows.append(
            {
                "name": name,
                "label": label,
                "measurable": m.measurable,
                "judged": m.measurable and m.judgeable,
                "uncertainty": _fmt_uncertainty(m.uncertainty, unit) if m.measurable else "",
                "reason": m.reason or "",
                "tip": m.tip or "",
            }
        )
    # Not measurable first, then shown but not judged; stable otherwise.
    rows.sort(key=lambda r: (r["measurable"], r["judged"]))
    return rows


def _capture_groups(rows: Sequence[Mapping[str, Any]], *, measurable: bool) -> list[dict[str, Any]]:
    """Group the metrics a clip cannot measure (or measures but cannot judge) by reason and tip."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        if row["judged"] or row["measurable"] != measurable:
            continue
        groups.setdefault((row["reason"], row["tip"]), []).append(row)
    return [
        {"reason": _sentence(r).rstrip(".") + "." if r else "", "tip": t, "rows": g}
        for (r, t), g in groups.items()
    ]


def _shown_not_judged(status: MetricInfo | None) -> str:
    """Return the caption sentence for a metric plotted but not judged, with its uncertainty.

    A view that shows the metric only roughly gives it from the 3D estimate; "" when the metric
    is judged or not plotted.
    """
    if status is None or not status.measurable or status.judgeable:
        return ""
    unc = f", ±{status.uncertainty:g}°" if status.uncertainty is not None else ""
    return (
        f"From the 3D estimate{unc}, which this view gives only roughly: for information, "
        "not judged."
    )


def _rep_table(result: AnalysisResult) -> dict[str, Any]:
    reps = result.reps
    columns = [m for m in KEY_METRICS if any(r.metrics.get(m) is not None for r in reps)]
    header = []
    for m in columns:
        _, unit = metric_label(m)
        status = result.capture.metrics.get(m)
        unc = (
            f"±{status.uncertainty:g}"
            if status is not None and status.uncertainty is not None
            else ""
        )
        unit_text = {"°": "deg", "s": "s", "0-100": "0-100", "ratio": "ratio"}.get(unit, unit)
        if status is not None and status.measurable and not status.judgeable:
            unc = f"{unc}, not judged" if unc else "not judged"
        header.append(
            {
                "name": m,
                "label": _SHORT_LABELS.get(m, metric_label(m)[0]),
                "unit": ", ".join(x for x in (unit_text, unc) if x),
                "title": metric_label(m)[0],
            }
        )
    rows = []
    for r in reps:
        rows.append(
            {
                "index": r.index,
                "label": rep_label(r),
                "start": f"{r.start_s:.2f}",
                "end": f"{r.end_s:.2f}",
                "side": r.side or "",
                "partial": r.partial,
                "values": [_fmt_value(r.metrics.get(m), metric_label(m)[1]) for m in columns],
                "verdict": r.verdict,
                "verdict_label": VERDICT_LABELS.get(r.verdict, r.verdict),
            }
        )
    all_names = list(dict.fromkeys(n for r in reps for n in r.metrics))
    all_metrics = [
        {
            "label": _with_unit(*metric_label(n)),
            "values": [_fmt_value(r.metrics.get(n), metric_label(n)[1]) for r in reps],
        }
        for n in all_names
    ]
    return {
        "columns": header,
        "rows": rows,
        "has_side": any(r.side for r in reps),
        "all_metrics": all_metrics,
        "rep_labels": [rep_label(r) for r in reps],
    }


def _video_source(video: Path) -> tuple[str, str]:
    data = Path(video).read_bytes()
    mime = _MIME.get(Path(video).suffix.lower(), "video/mp4")
    return mime, f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _sentence(text: object, /) -> str:
    """Upper-case the first letter only (Jinja's ``capitalize`` lowers the rest: "2D", "RDL")."""
    s = str(text)
    return s[:1].upper() + s[1:]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("kneeback.report", "templates"),
        autoescape=select_autoescape(("html", "htm", "xml", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["sentence"] = _sentence
    return env


def render_report(
    result: AnalysisResult,
    angles: xr.Dataset,
    /,
    *,
    video: Path | None = None,
    title: str = "",
) -> str:
    """Render the analysis as one self-contained HTML document.

    Parameters
    ----------
    result
        The analysis result.
    angles
        The angle dataset the analysis used (:func:`kneeback.kinematics.compute_angles` on the
        preprocessed pose dataset), for the plots over time and the clip's frames and duration.
    video
        The annotated video to embed (H.264 MP4 plays in every browser); None for no video.
    title
        Page heading; by default the movement's name.

    Returns
    -------
    str
        The HTML document. It fetches nothing: CSS is inline, plots are inline SVG and the video
        is a base64 ``data:`` URL, so it opens offline and can be mailed as one file.

    Raises
    ------
    FileNotFoundError
        If ``video`` is given but does not exist.
    """
    movement = _movement_label(result.movement.used)
    frames, duration_s = _clip_span(angles)
    _, missing_panels = angle_panels(angles, result)
    capture_rows = _capture_rows(result.capture.metrics)
    plots = {
        "angles": angles_plot(angles, result),
        "depth": depth_plot(result),
        "strategy": strategy_plot(result),
    }
    video_mime, video_src = _video_source(video) if video is not None else ("", "")
    not_measurable = [m for m in result.capture.metrics.values() if not m.measurable]
    unjudged = [m for m in result.capture.metrics.values() if not (m.measurable and m.judgeable)]
    tips = list(dict.fromkeys([*result.capture.tips, *(m.tip for m in unjudged if m.tip)]))
    reps = result.reps
    counts = {v: sum(1 for r in reps if r.verdict == v) for v in VERDICT_LABELS}
    depth_status = result.capture.metrics.get("knee_flexion_peak_deg")
    strategy_status = result.capture.metrics.get("strategy_index")
    context = {
        "title": title or f"Your {movement}",
        "version": __version__,
        "result": result,
        "movement_label": movement,
        "recognised_label": _movement_label(result.movement.recognised),
        "stated_label": (
            _movement_label(result.movement.stated) if result.movement.stated else None
        ),
        "measurement_label": _MEASUREMENT_LABELS.get(
            result.capture.measurement, result.capture.measurement.replace("_", " ")
        ),
        "frames": frames,
        "duration_s": duration_s,
        "verdict_label": VERDICT_LABELS.get(result.verdict, result.verdict),
        "verdict_summary": verdict_sentence(
            result.verdict,
            ((f.id, f.severity, f.title) for f in result.findings),
            movement=result.movement.used,
            reps=len(result.reps),
        ),
        "counts": counts,
        "verdict_labels": VERDICT_LABELS,
        "sections": _group_findings(result.findings, reps),
        "severity_labels": SEVERITY_LABELS,
        "table": _rep_table(result),
        "capture_rows": capture_rows,
        "not_measurable_groups": _capture_groups(capture_rows, measurable=False),
        "info_only_groups": _capture_groups(capture_rows, measurable=True),
        "n_info_only": sum(1 for r in capture_rows if r["measurable"] and not r["judged"]),
        "n_not_measurable": len(not_measurable),
        "tips": tips,
        "plots": {k: Markup(v) if v is not None else None for k, v in plots.items()},
        "plot_titles": {"angles": ANGLES_TITLE, "depth": DEPTH_TITLE, "strategy": STRATEGY_TITLE},
        "missing_panels": [(p.label, reason) for p, reason in missing_panels],
        "angles_unjudged": any(
            (m := result.capture.metrics.get(p.metric)) is not None
            and m.measurable
            and not m.judgeable
            for p in PANELS
        ),
        "depth_unjudged": _shown_not_judged(depth_status),
        "strategy_unjudged": _shown_not_judged(strategy_status),
        "depth_reason": (
            depth_status.reason if depth_status is not None and not depth_status.measurable else ""
        ),
        "strategy_reason": (
            strategy_status.reason
            if strategy_status is not None and not strategy_status.measurable
            else ""
        ),
        "video_src": video_src,
        "video_mime": video_mime,
        "rep_label": rep_label,
    }
    return str(_environment().get_template("report.html.j2").render(**context))
