"""A person's progress: metric trends from the store, outcome entries, JSON, PNG plots, HTML.

:func:`person_progress` reads the store; :func:`write_progress_pngs` and :func:`progress_html`
render what it returned (matplotlib with the Agg backend, no global pyplot state).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from kneeback.errors import BadValueError
from kneeback.movements.labels import metric_label
from kneeback.progress.outcomes import OUTCOME_LABELS, check_outcome, judge, odi_change
from kneeback.progress.settings import ProgressSettings
from kneeback.progress.trend import MetricTrend, SessionPoint, metric_trend
from kneeback.store.db import Database
from kneeback.store.models import OutcomeEntry
from kneeback.store.sessions import _iso, find_person, load_session_metrics

__all__ = [
    "KEY_METRICS",
    "ProgressReport",
    "person_progress",
    "progress_html",
    "progress_to_dict",
    "write_progress_pngs",
]

#: Metrics shown by default (``--metric all`` shows every numeric metric).
KEY_METRICS: tuple[str, ...] = (
    "knee_flexion_peak_deg",
    "hip_flexion_peak_deg",
    "trunk_inclination_peak_deg",
    "trunk_minus_tibia_peak_deg",
    "strategy_index",
    "knee_fppa_peak_deg",
    "knee_flexion_asymmetry_deg",
    "descent_s",
    "ascent_s",
)


@dataclass(frozen=True)
class ProgressReport:
    """Everything ``kneeback progress`` shows.

    Attributes
    ----------
    name
        The person.
    trends
        One per (movement, metric), movements in order of first session.
    outcomes
        Outcome entries by kind, oldest first, each with its judgement; ODI entries also say
        whether the change since the first entry is meaningful.
    generated_at
        When the report was made.
    """

    name: str
    trends: tuple[MetricTrend, ...]
    outcomes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def person_progress(
    db: Database,
    name: str,
    /,
    *,
    movement: str | None = None,
    metric: str | None = None,
    settings: ProgressSettings | None = None,
) -> ProgressReport:
    """Build a person's progress report from the store.

    Parameters
    ----------
    db
        The database.
    name
        The person.
    movement
        Only this movement.
    metric
        Only this metric; ``"all"`` for every numeric metric; None for :data:`KEY_METRICS`.
    settings
        Progress thresholds.

    Returns
    -------
    ProgressReport
        Trends and outcomes.
    """
    settings = settings or ProgressSettings()

    def work(s: OrmSession) -> ProgressReport:
        person = find_person(s, name)
        only = None if metric in (None, "all") else metric
        sessions = load_session_metrics(s, person.id, movement=movement, metric=only)
        points: dict[tuple[str, str], list[SessionPoint]] = defaultdict(list)
        order: list[str] = []
        for m in sessions.values():
            if m.movement not in order:
                order.append(m.movement)
            for name_, values in m.full.items():
                if metric is None and name_ not in KEY_METRICS:
                    continue
                points[(m.movement, name_)].append(
                    SessionPoint(
                        session_id=m.session_id,
                        recorded_at=m.recorded_at,
                        rep_values=tuple(values),
                        measurement=m.measurement,
                    )
                )
        rank = {k: i for i, k in enumerate(KEY_METRICS)}
        keys = sorted(points, key=lambda k: (order.index(k[0]), rank.get(k[1], 99), k[1]))
        trends = tuple(
            metric_trend(points[k], metric=k[1], movement=k[0], settings=settings) for k in keys
        )
        return ProgressReport(
            name=person.name, trends=trends, outcomes=_outcomes(s, person.id, settings)
        )

    return db.read(work)


def _outcomes(s: OrmSession, person_id: int, settings: ProgressSettings) -> dict[str, Any]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    first: dict[str, OutcomeEntry] = {}
    for o in s.scalars(
        select(OutcomeEntry)
        .where(OutcomeEntry.person_id == person_id)
        .order_by(OutcomeEntry.recorded_at, OutcomeEntry.id)
    ):
        try:
            check_outcome(o.kind, o.value)
        except BadValueError as exc:
            # stored before imports were validated: shown as it is, never judged
            band, text = None, f"{exc} Not judged."
        else:
            j = judge(o.kind, o.value, age=o.age_years, sex=o.sex)
            band, text = j.band, j.text
        entry: dict[str, Any] = {
            "recorded_at": _iso(o.recorded_at),
            "value": o.value,
            "source": o.source,
            "band": band,
            "judgement": text,
        }
        if o.kind == "odi" and o.kind in first and band is not None:
            meaningful, text = odi_change(
                first[o.kind].value,
                o.value,
                meaningful_points=settings.odi_meaningful_points,
                meaningful_fraction=settings.odi_meaningful_fraction,
            )
            entry.update(change_since_first=text, meaningful=meaningful)
        if band is not None:
            first.setdefault(o.kind, o)
        out[o.kind].append(entry)
    return dict(out)


def _trend_dict(t: MetricTrend) -> dict[str, Any]:
    return {
        "movement": t.movement,
        "metric": t.metric,
        "unit": t.unit,
        "sessions": [
            {
                "session_id": p.session_id,
                "recorded_at": _iso(p.recorded_at),
                "value": round(p.value, 3),
                "reps": len(p.rep_values),
            }
            for p in t.points
        ],
        "baseline": None if t.baseline is None else round(t.baseline, 3),
        "recent": None if t.recent is None else round(t.recent, 3),
        "change": None if t.change is None else round(t.change, 3),
        "window_sessions": t.window,
        "sdc": None if t.sdc.value is None else round(t.sdc.value, 3),
        "sdc_basis": t.sdc.basis,
        "sdc_text": t.sdc.text,
        "own_sdc": None if t.sdc.own_sdc is None else round(t.sdc.own_sdc, 3),
        "verdict": t.verdict,
        "direction": t.direction,
        "slope_per_30d": None if t.slope_per_30d is None else round(t.slope_per_30d, 3),
        "text": t.text,
    }


def progress_to_dict(report: ProgressReport, /) -> dict[str, Any]:
    """Return the report as JSON-ready data."""
    return {
        "name": report.name,
        "generated_at": _iso(report.generated_at),
        "trends": [_trend_dict(t) for t in report.trends],
        "outcomes": report.outcomes,
    }


#: Chart size: narrow enough that 10 pt text stays about 10 CSS px on a 360 px phone screen,
#: drawn at twice the pixels a phone's 2x screen shows (the page fits it to its width).
_FIG_SIZE_IN = (4.8, 3.6)
_FIG_DPI = 200
#: Characters per line of a chart title at its font size in :data:`_FIG_SIZE_IN` (the longest
#: metric names wrap to three lines; a test checks that every title fits in the figure).
_TITLE_CHARS = 52
#: Dates shown either side of a chart's only session (one day would read as hours).
_SINGLE_DATE_SPAN = dt.timedelta(days=30)


def _title(t: MetricTrend) -> str:
    """Return the chart's title, wrapped so that it fits the figure's width."""
    label = f"{t.movement.replace('_', ' ')}: {metric_label(t.metric)[0]} - {t.verdict}"
    return textwrap.fill(label, _TITLE_CHARS)


def _figure(t: MetricTrend) -> Any:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIG_SIZE_IN, dpi=_FIG_DPI, layout="constrained")
    ax = fig.add_subplot()
    times = date2num([p.recorded_at for p in t.points])
    vals = [p.value for p in t.points]
    lo = [min(p.rep_values) for p in t.points]
    hi = [max(p.rep_values) for p in t.points]
    ax.vlines(times, lo, hi, color="0.7", linewidth=3, label="rep range")
    ax.plot(times, vals, "o-", color="tab:blue", label="session median")
    if t.baseline is not None and t.sdc.value is not None:
        ax.axhspan(
            t.baseline - t.sdc.value,
            t.baseline + t.sdc.value,
            color="tab:green",
            alpha=0.12,
            label=f"baseline ± SDC ({t.sdc.value:.3g} {t.unit})".replace(" )", ")"),
        )
        ax.axhline(t.baseline, color="tab:green", linewidth=1)
    if t.recent is not None and t.window:
        recent_from = times[-t.window]
        ax.hlines(
            t.recent, recent_from, times[-1], color="tab:orange", linewidth=2, label="recent level"
        )
    ax.set_title(_title(t), fontsize=11)
    ax.set_ylabel(t.unit or "value")  # the title names the measure
    ax.set_xlabel("date recorded")
    if min(times) == max(times):  # one session (or several at one moment): a month either side
        when = min(p.recorded_at for p in t.points)
        ax.set_xlim(date2num(when - _SINGLE_DATE_SPAN), date2num(when + _SINGLE_DATE_SPAN))
    locator = AutoDateLocator(minticks=2, maxticks=5)  # no day repeated on a short span
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    # below the plot, where it hides no data
    fig.legend(loc="outside lower center", ncols=2, fontsize=9, frameon=False)
    ax.grid(alpha=0.3)
    return fig


def _png_bytes(t: MetricTrend) -> bytes:
    """Draw the chart; return it as a PNG of at most 256 colours.

    A chart is a few flat colours and their anti-aliased edges: a palette looks the same at about
    a third of the bytes of full colour, which matters as the page embeds every chart.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(_figure(t))
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    buf = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(buf, "png", optimize=True)
    return buf.getvalue()


def write_progress_pngs(report: ProgressReport, directory: str | Path, /) -> list[Path]:
    """Write one PNG per trend with at least one session; return the paths.

    Files are named ``{movement}-{metric}.png``.
    """
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in report.trends:
        if not t.points:
            continue
        path = out_dir / f"{t.movement}-{t.metric}.png"
        path.write_bytes(_png_bytes(t))
        paths.append(path)
    return paths


_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
.table-wrap{overflow-x:auto;margin:1rem 0}
.swipe-hint{margin:1rem 0 0}.swipe-hint+.table-wrap{margin-top:.3rem}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
td:first-child{min-width:10em}
.real{color:#1a7f37;font-weight:600}.none{color:#666}.note{color:#555;font-size:.9rem}
img{width:100%;max-width:36rem;height:auto}
@media (min-width:720px){.swipe-hint{display:none}}
"""

#: Tables scroll sideways inside their own box on a narrow screen, not the whole page.
_TABLE_WRAP = "<div class='table-wrap' role='region' tabindex='0' aria-label='{label}'><table>"
#: Above a trends table, wider than a phone, which shows no scroll bar (the analysis report's
#: words; hidden on wider screens).
_SWIPE_HINT = "<p class='swipe-hint note'>Swipe the table sideways for more measurements.</p>"


def _with_unit(t: MetricTrend) -> str:
    """Return the metric's name for people with its unit: ``"Peak knee flexion (deg)"``."""
    label = metric_label(t.metric)[0]
    return f"{label} ({t.unit})" if t.unit else label


def progress_html(
    report: ProgressReport, /, *, images: bool = True, back_url: str | None = None
) -> str:
    """Render a self-contained HTML progress page (plots embedded as PNG data URIs).

    ``back_url``, when given (the web app: the member's page), puts a "Back to the program"
    link at the top; without it (a file the command line writes) the page links nowhere.
    """
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Progress: {e(report.name)}</title><style>{_CSS}</style></head><body><main>",
    ]
    if back_url is not None:
        parts.append(f"<p><a href='{e(back_url)}'>Back to the program</a></p>")
    parts += [
        f"<h1>Progress: {e(report.name)}</h1>",
        f"<p class='note'>Made {e(report.generated_at.strftime('%Y-%m-%d %H:%M UTC'))}. "
        "A change counts as real only when it is larger than the smallest detectable change "
        "(SDC) of the measurement; smaller changes are reported as no real change yet. Each "
        "session's value is the median of its full reps; trends compare the first and the last "
        "sessions, never a single session.</p>",
    ]
    movements = list(dict.fromkeys(t.movement for t in report.trends))
    if not movements:
        parts.append("<p>No measured sessions yet.</p>")
    for mov in movements:
        label = e(mov.replace("_", " "))
        parts.append(
            f"<h2>{label}</h2>" + _SWIPE_HINT + _TABLE_WRAP.format(label=f"{label}: trends")
        )
        parts.append(
            "<tr><th scope='col'>metric</th><th scope='col'>verdict</th>"
            "<th scope='col'>sessions</th><th scope='col'>baseline</th><th scope='col'>recent</th>"
            "<th scope='col'>change</th><th scope='col'>SDC</th></tr>"
        )
        mts = [t for t in report.trends if t.movement == mov]
        for t in mts:

            def f(v: float | None) -> str:
                return "-" if v is None else f"{v:.3g}"

            cls = "real" if t.verdict.startswith("real") else "none"
            parts.append(
                f"<tr><td title='{e(t.metric)}'>{e(_with_unit(t))}</td>"
                f"<td class='{cls}'>{e(t.verdict)}"
                f"{' (' + e(t.direction) + ')' if t.direction else ''}</td>"
                f"<td>{len(t.points)}</td><td>{f(t.baseline)}</td>"
                f"<td>{f(t.recent)}</td><td>{f(t.change)}</td>"
                f"<td>{f(t.sdc.value)} <span class='note'>({e(t.sdc.basis)})</span></td></tr>"
            )
        parts.append("</table></div>")
        for t in mts:
            parts.append(f"<p>{e(t.text)} <span class='note'>SDC: {e(t.sdc.text)}.</span></p>")
            if images and t.points:
                data = base64.b64encode(_png_bytes(t)).decode("ascii")
                parts.append(
                    f"<img alt='{e(metric_label(t.metric)[0])} over sessions' "
                    f"src='data:image/png;base64,{data}'>"
                )
    if report.outcomes:
        parts.append("<h2>Outcome measures</h2>" + _TABLE_WRAP.format(label="Outcome measures"))
        parts.append(
            "<tr><th scope='col'>test</th><th scope='col'>date</th><th scope='col'>value</th>"
            "<th scope='col'>judgement</th></tr>"
        )
        for kind, entries in report.outcomes.items():
            for o in entries:
                extra = f" {o['change_since_first']}" if o.get("change_since_first") else ""
                parts.append(
                    f"<tr><td>{e(OUTCOME_LABELS.get(kind, (kind, ''))[0])}</td>"
                    f"<td>{e(str(o['recorded_at'])[:10])}</td>"
                    f"<td>{o['value']:.4g}{e(OUTCOME_LABELS.get(kind, ('', ''))[1])}</td>"
                    f"<td>{e(o['judgement'] + extra)}</td></tr>"
                )
        parts.append("</table></div>")
    parts.append("</main></body></html>")
    return "\n".join(parts)
