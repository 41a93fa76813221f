"""Plots for the HTML report, as inline SVG strings.

Every plot is drawn with matplotlib's object API (:class:`matplotlib.figure.Figure`, no
``pyplot``), so no global backend is selected and no state is left behind; matplotlib itself is
imported only when a plot is drawn. Each function returns one ``<svg>`` element that scales to
its container (``viewBox``, no fixed size), carries a ``<title>`` and a ``<desc>`` for screen
readers and tests, and uses ids salted with the plot's name so that several plots can share a
page. A function returns ``None`` when there is nothing honest to draw (no reps, or the clip
cannot measure the quantity); the report then says why in words.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from kneeback.report.result import AnalysisResult, RepInfo

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ANGLES_TITLE",
    "DEPTH_TITLE",
    "LABEL_COLOURS",
    "PANELS",
    "PARTIAL_SHADE_ALPHA",
    "SHADE_ALPHA",
    "STRATEGY_TITLE",
    "VERDICT_COLOURS",
    "PlotPanel",
    "angle_panels",
    "angles_plot",
    "depth_plot",
    "rep_label",
    "strategy_plot",
]

ANGLES_TITLE = "Knee, hip and trunk angles over time"
DEPTH_TITLE = "Depth per rep: peak knee flexion"
STRATEGY_TITLE = "Knee-vs-trunk strategy per rep"

#: Fill colour of a rep by its verdict (the same colours as the HTML report's chips).
VERDICT_COLOURS: dict[str, str] = {
    "good": "#2f9e6b",
    "needs_work": "#d9822b",
    "not_assessed": "#8a94a6",
}

#: Text colour of a rep's label by its verdict: darker shades of :data:`VERDICT_COLOURS` that keep
#: WCAG AA contrast (4.5:1) on white and on the rep's shading (the same as the report's chip text).
LABEL_COLOURS: dict[str, str] = {
    "good": "#1d6b47",
    "needs_work": "#8a4a10",
    "not_assessed": "#4b5563",
}

#: Opacity of a rep's shading (a partial rep's is lighter).
SHADE_ALPHA = 0.14
PARTIAL_SHADE_ALPHA = 0.07

#: Smallest text size, pt of the figure: 9 pt is about 11 CSS px when a plot fills a phone.
_SMALL_PT = 9.0

_INK = "#1f2933"
_MUTED = "#616e7c"
_GRID = "#e4e7eb"

#: Daily-life knee flexion, deg: chairs and stairs 90-120, bath about 135 (Rowe et al. 2000);
#: full squat with heels up 157 +- 6 (Hemmerich et al. 2006).
_DAILY_KNEE_BAND_DEG = (90.0, 120.0)
_FULL_SQUAT_KNEE_DEG = 157.0
#: Stoop-squat strategy index bands (Schmid, Arch Physiother 2022): squat-like < 30,
#: stoop-like > 90.
_SQUAT_LIKE_MAX = 30.0
_STOOP_LIKE_MIN = 90.0


@dataclass(frozen=True)
class PlotPanel:
    """One panel of :func:`angles_plot`: a quantity, its variables and the metric that vouches.

    Attributes
    ----------
    label
        Panel heading.
    variables
        ``(variable, legend label, line style)`` in the angle dataset.
    colour
        Line colour.
    metric
        The per-rep metric whose capture status says whether the clip can measure this quantity.
    note
        Short reading aid (what 0 means).
    """

    label: str
    variables: tuple[tuple[str, str, str], ...]
    colour: str
    metric: str
    note: str


PANELS: tuple[PlotPanel, ...] = (
    PlotPanel(
        "Knee flexion",
        (("knee_flexion_left", "left", "-"), ("knee_flexion_right", "right", "--")),
        "#1c7c8c",
        "knee_flexion_peak_deg",
        "0 = straight",
    ),
    PlotPanel(
        "Hip flexion",
        (("hip_flexion_left", "left", "-"), ("hip_flexion_right", "right", "--")),
        "#6b4fbb",
        "hip_flexion_peak_deg",
        "0 = standing",
    ),
    PlotPanel(
        "Trunk inclination",
        (("trunk_inclination", "trunk", "-"),),
        "#c0562b",
        "trunk_inclination_peak_deg",
        "0 = upright",
    ),
)


def rep_label(rep: RepInfo, /) -> str:
    """Return a rep's label for people: 1-based, with its working side when it has one.

    Parameters
    ----------
    rep
        The rep.

    Returns
    -------
    str
        ``"2"``, or ``"2 L"`` / ``"2 R"`` for a rep with a working side.
    """
    side = f" {rep.side[0].upper()}" if rep.side in ("left", "right") else ""
    return f"{rep.index + 1}{side}"


def _figure(width_in: float, height_in: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")


_RC: dict[Any, Any] = {  # rcParams for the report style
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9.5,
    "axes.edgecolor": "#9aa5b1",
    "axes.labelcolor": _INK,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.titlecolor": _INK,
    "xtick.color": _MUTED,
    "ytick.color": _MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}


def _style(ax: Axes) -> None:
    ax.grid(True, axis="y", color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(length=3)


_SVG_OPEN = re.compile(r"<svg\b[^>]*>")
_VIEWBOX = re.compile(r'viewBox="([^"]+)"')


_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^)"]+)')


def _prefix_ids(svg: str, prefix: str) -> str:
    """Prefix every id in an SVG fragment and every reference to one, so ids stay unique."""
    svg = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return _REF.sub(lambda m: f"{m.group(1)}{prefix}{m.group(2)}", svg)


def _to_svg(fig: Figure, *, key: str, title: str, desc: str) -> str:
    """Render a figure to a scalable, titled ``<svg>`` element (no XML prolog)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"kneeback-{key}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    opening = _SVG_OPEN.search(text)
    if opening is None:  # pragma: no cover - matplotlib always writes one
        raise RuntimeError("matplotlib wrote no <svg> element")
    viewbox = _VIEWBOX.search(opening.group(0))
    body = _prefix_ids(text[opening.end() :], f"{key}-")
    tag = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'version="1.1" viewBox="{viewbox.group(1) if viewbox else "0 0 100 100"}" '
        f'class="plot" data-plot="{key}" role="img" '
        f'aria-labelledby="plot-{key}-title plot-{key}-desc" preserveAspectRatio="xMidYMid meet">'
        f'<title id="plot-{key}-title">{html.escape(title)}</title>'
        f'<desc id="plot-{key}-desc">{html.escape(desc)}</desc>'
    )
    return tag + body


def _measurable(result: AnalysisResult, metric: str) -> tuple[bool, str | None, float | None]:
    status = result.capture.metrics.get(metric)
    if status is None:
        return True, None, None
    return status.measurable, status.reason, status.uncertainty


def _judged(result: AnalysisResult, metric: str) -> bool:
    """Whether the critique judged a metric (False: shown from a 3D estimate, information only)."""
    status = result.capture.metrics.get(metric)
    return status is None or (status.measurable and status.judgeable)


def _shade_reps(ax: Axes, reps: Sequence[RepInfo], *, label: bool) -> None:
    for rep in reps:
        colour = VERDICT_COLOURS.get(rep.verdict, VERDICT_COLOURS["not_assessed"])
        ax.axvspan(
            rep.start_s,
            rep.end_s,
            color=colour,
            alpha=PARTIAL_SHADE_ALPHA if rep.partial else SHADE_ALPHA,
            linewidth=0,
            zorder=0,
        )
        ax.axvline(rep.peak_s, color=colour, linewidth=0.9, linestyle=":", zorder=1)
        if label:
            ax.text(
                0.5 * (rep.start_s + rep.end_s),
                0.97,
                f"rep {rep_label(rep)}",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=9.5,
                fontweight="bold",
                color=LABEL_COLOURS.get(rep.verdict, LABEL_COLOURS["not_assessed"]),
            )


def angle_panels(
    angles: xr.Dataset, result: AnalysisResult, /
) -> tuple[list[PlotPanel], list[tuple[PlotPanel, str]]]:
    """Split :data:`PANELS` into those this clip can draw and those it cannot, with the reason.

    Parameters
    ----------
    angles
        The angle dataset.
    result
        The analysis result, whose capture status says what the clip can measure.

    Returns
    -------
    drawable : list of PlotPanel
        Panels with a measurable quantity and some data.
    missing : list of (PlotPanel, str)
        The other panels, each with the reason in words.
    """
    drawable: list[PlotPanel] = []
    missing: list[tuple[PlotPanel, str]] = []
    for panel in PANELS:
        ok, reason, _ = _measurable(result, panel.metric)
        has_data = any(
            var in angles and bool(np.isfinite(np.asarray(angles[var].values, dtype=float)).any())
            for var, _, _ in panel.variables
        )
        if not ok:
            missing.append((panel, reason or "not measurable from this clip"))
        elif not has_data:
            missing.append((panel, "no data in this clip"))
        else:
            drawable.append(panel)
    return drawable, missing


def angles_plot(angles: xr.Dataset, result: AnalysisResult, /) -> str | None:
    """Knee, hip and trunk angles over time, one panel each, with the reps shaded.

    Each rep's span is shaded in its verdict's colour and labelled with its number; a dotted line
    marks its deepest point. A quantity the clip cannot measure (see
    :attr:`~kneeback.report.result.CaptureInfo.metrics`) gets no panel; :func:`angle_panels`
    says which and why, for the report to say in words.

    Parameters
    ----------
    angles
        The angle dataset of :func:`kneeback.kinematics.compute_angles` (as used by the analysis).
    result
        The analysis result, for the reps and the capture status.

    Returns
    -------
    str or None
        An ``<svg>`` element, or None when the dataset has no time axis or no panel can be drawn.
    """
    if "time" not in angles.coords or angles.sizes.get("time", 0) < 2:
        return None
    panels, _ = angle_panels(angles, result)
    if not panels:
        return None
    import matplotlib

    t = np.asarray(angles["time"].values, dtype=np.float64)
    with matplotlib.rc_context(_RC):
        fig = _figure(4.4, 0.6 + 1.6 * len(panels))
        axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0])
        for i, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
            _style(ax)
            _, _, unc = _measurable(result, panel.metric)
            _shade_reps(ax, result.reps, label=i == 0)
            unc_text = f"  ±{unc:g}°" if unc is not None else ""
            info = "" if _judged(result, panel.metric) else ", not judged"
            ax.set_title(f"{panel.label}{unc_text}{info}", loc="left")
            for var, lab, style in panel.variables:
                if var not in angles:
                    continue
                y = np.asarray(angles[var].values, dtype=np.float64)
                if np.isfinite(y).any():
                    ax.plot(t, y, style, color=panel.colour, linewidth=1.6, label=lab)
            ax.set_ylabel(f"deg ({panel.note})", fontsize=_SMALL_PT)
            if len(ax.get_legend_handles_labels()[0]) > 1:
                ax.legend(
                    loc="lower right",
                    bbox_to_anchor=(1.0, 1.0),
                    fontsize=_SMALL_PT,
                    handlelength=1.8,
                    columnspacing=1.0,
                    ncols=2,
                    borderaxespad=0.1,
                    borderpad=0.0,
                )
            if i == 0 and result.reps:  # headroom for the rep labels
                lo, hi = ax.get_ylim()
                ax.set_ylim(lo, hi + 0.22 * (hi - lo))
        axes[-1].set_xlabel("time (s)")
        axes[-1].set_xlim(float(t[0]), float(t[-1]))
    n = len(result.reps)
    names = ", ".join(p.label.lower() for p in panels)
    desc = (
        f"{names.capitalize()} in degrees over {t[-1] - t[0]:.1f} s; "
        f"{n} rep{'s' if n != 1 else ''} shaded, coloured by verdict, deepest point dotted."
    )
    return _to_svg(fig, key="angles", title=ANGLES_TITLE, desc=desc)


def _rep_values(result: AnalysisResult, metric: str) -> list[tuple[RepInfo, float]]:
    out = []
    for rep in result.reps:
        v = rep.metrics.get(metric)
        if v is None or isinstance(v, bool) or not np.isfinite(v):
            continue
        out.append((rep, float(v)))
    return out


def _bars(
    ax: Axes,
    values: Sequence[tuple[RepInfo, float]],
    *,
    unc: float | None,
    fmt: str,
    colour: str | None = None,
) -> None:
    """Draw one bar per rep, coloured by verdict unless ``colour`` is given."""
    x = np.arange(len(values))
    heights = [v for _, v in values]
    colours = [
        colour or VERDICT_COLOURS.get(r.verdict, VERDICT_COLOURS["not_assessed"]) for r, _ in values
    ]
    bars = ax.bar(x, heights, width=0.62, color=colours, zorder=2)
    for bar, (rep, _) in zip(bars, values, strict=True):
        if rep.partial:
            bar.set_alpha(0.45)
            bar.set_hatch("///")
            bar.set_edgecolor("white")
    if unc is not None and unc > 0:
        ax.errorbar(
            x, heights, yerr=unc, fmt="none", ecolor=_INK, elinewidth=1, capsize=3, zorder=3
        )
    top = (unc or 0.0) + 1.5
    for xi, h in zip(x, heights, strict=True):
        ax.text(
            float(xi),
            h + top,
            fmt.format(h),
            ha="center",
            va="bottom",
            fontsize=_SMALL_PT,
            color=_INK,
        )
    ax.set_xticks(x, [rep_label(r) + (" (partial)" if r.partial else "") for r, _ in values])
    ax.set_xlabel("rep")
    ax.set_xlim(-0.6, len(values) - 0.4)


def _side_label(ax: Axes, y: float, text: str) -> None:
    """Name a reference band or line in the right margin, clear of the bars."""
    ax.text(
        1.02,
        y,
        text,
        transform=ax.get_yaxis_transform(),
        ha="left",
        va="center",
        fontsize=_SMALL_PT,
        linespacing=1.1,
        color=_MUTED,
        clip_on=False,
    )


def depth_plot(result: AnalysisResult, /) -> str | None:
    """Peak knee flexion of each rep, with its uncertainty and everyday reference ranges.

    Bars are coloured by the rep's verdict (partial reps hatched). The grey band marks the knee
    flexion that chairs and stairs use (90-120 deg, Rowe et al. 2000); the dashed line a full
    squat with the heels up (157 deg, Hemmerich et al. 2006).

    Parameters
    ----------
    result
        The analysis result.

    Returns
    -------
    str or None
        An ``<svg>`` element, or None when no rep has a measurable peak knee flexion.
    """
    metric = "knee_flexion_peak_deg"
    ok, _, unc = _measurable(result, metric)
    values = _rep_values(result, metric)
    if not ok or not values:
        return None
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(4.2, 3.3)
        ax = fig.subplots()
        _style(ax)
        lo, hi = _DAILY_KNEE_BAND_DEG
        ax.axhspan(lo, hi, color="#cbd2d9", alpha=0.45, linewidth=0, zorder=0)
        ax.axhline(_FULL_SQUAT_KNEE_DEG, color=_MUTED, linestyle="--", linewidth=0.9, zorder=1)
        _side_label(ax, 0.5 * (lo + hi), "chairs,\nstairs")
        _side_label(ax, _FULL_SQUAT_KNEE_DEG, "full\nsquat")
        # Verdict colours only when the critique judged depth from this view.
        colour = None if _judged(result, metric) else "#8a94a6"
        _bars(ax, values, unc=unc, fmt="{:.0f}°", colour=colour)
        ax.set_ylim(0, 175)
        ax.set_yticks([0, 30, 60, 90, 120, 150])
        ax.set_ylabel("peak knee flexion (deg)")
    desc = "Peak knee flexion per rep in degrees: " + ", ".join(
        f"rep {rep_label(r)} {v:.0f}" for r, v in values
    )
    return _to_svg(fig, key="depth", title=DEPTH_TITLE, desc=desc)


def strategy_plot(result: AnalysisResult, /) -> str | None:
    """Knee-vs-trunk strategy index of each rep, 0 (all knees) to 100 (all trunk).

    Background bands mark the squat-like (< 30) and stoop-like (> 90) ranges of Schmid (2022).
    The index describes how the person lowered, to follow over time, not a right or wrong.

    Parameters
    ----------
    result
        The analysis result.

    Returns
    -------
    str or None
        An ``<svg>`` element, or None when no rep has a measurable strategy index.
    """
    metric = "strategy_index"
    ok, _, unc = _measurable(result, metric)
    values = _rep_values(result, metric)
    if not ok or not values:
        return None
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(4.2, 3.3)
        ax = fig.subplots()
        _style(ax)
        ax.axhspan(0, _SQUAT_LIKE_MAX, color="#1c7c8c", alpha=0.10, linewidth=0, zorder=0)
        ax.axhspan(_STOOP_LIKE_MIN, 100, color="#c0562b", alpha=0.10, linewidth=0, zorder=0)
        _side_label(ax, 0.5 * _SQUAT_LIKE_MAX, "knee-\nled")
        _side_label(ax, 0.5 * (_STOOP_LIKE_MIN + 100), "trunk-\nled")
        # One neutral colour: the index describes a strategy, it is not a verdict.
        _bars(ax, values, unc=unc, fmt="{:.0f}", colour="#3f6ea8")
        ax.set_ylim(0, 108)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_ylabel("strategy index (0 knees - 100 trunk)")
    desc = "Strategy index per rep, 0 = all knees, 100 = all trunk: " + ", ".join(
        f"rep {rep_label(r)} {v:.0f}" for r, v in values
    )
    return _to_svg(fig, key="strategy", title=STRATEGY_TITLE, desc=desc)
