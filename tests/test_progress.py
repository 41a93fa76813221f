"""Progress: the smallest detectable change, trends, outcome norms, plots and the HTML page."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import pytest

from kneeback.errors import BadValueError
from kneeback.progress.outcomes import (
    check_outcome,
    judge,
    judge_chair_stand,
    judge_five_sts,
    judge_odi,
    odi_change,
    odi_score,
    parse_odi,
)
from kneeback.progress.settings import ProgressSettings
from kneeback.progress.trend import MetricTrend, SessionPoint, estimate_sdc, metric_trend
from kneeback.store.db import Database
from store_support import day, needs_data, result

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

pytest_plugins = ["store_fixtures"]


def _pt(i: int, values: tuple[float, ...], measurement: str = "video_2d") -> SessionPoint:
    return SessionPoint(
        session_id=i,
        recorded_at=T0 + dt.timedelta(days=7 * i),
        rep_values=values,
        measurement=measurement,
    )


# ---- smallest detectable change (closed form) ----------------------------------------------------


def test_own_sdc_is_pooled_within_session_sd() -> None:
    # each session: mean m, reps m-1, m, m+1 -> within-session SD exactly 1
    pts = [_pt(i, (m - 1, m, m + 1), "marker") for i, m in enumerate((100, 104, 98, 101))]
    sdc = estimate_sdc(pts, metric="knee_flexion_peak_deg")
    assert sdc.basis == "own"
    assert sdc.own_sem == pytest.approx(1.0)
    assert sdc.value == pytest.approx(1.96 * math.sqrt(2))


def test_camera_data_never_beat_the_published_error() -> None:
    pts = [_pt(i, (m - 1, m, m + 1)) for i, m in enumerate((100, 104, 98, 101))]
    sdc = estimate_sdc(pts, metric="knee_flexion_peak_deg")
    assert sdc.basis == "reference" and sdc.value == 9.0
    assert sdc.own_sdc == pytest.approx(1.96 * math.sqrt(2))


def test_noisy_person_gets_a_larger_own_sdc() -> None:
    pts = [_pt(i, (m - 10, m, m + 10)) for i, m in enumerate((100, 104, 98))]
    sdc = estimate_sdc(pts, metric="knee_flexion_peak_deg")
    assert sdc.basis == "own" and sdc.value == pytest.approx(1.96 * math.sqrt(2) * 10)


def test_reference_until_enough_reps() -> None:
    pts = [_pt(0, (100.0, 101.0)), _pt(1, (102.0,))]
    sdc = estimate_sdc(pts, metric="knee_fppa_peak_deg")
    assert sdc.basis == "reference" and sdc.value == 8.9
    assert "needs 3 sessions" in sdc.text
    none = estimate_sdc(pts, metric="strategy_index")
    assert none.basis == "unknown" and none.value is None
    assert "marker data" not in sdc.text
    markers = [_pt(0, (100.0, 101.0), "marker"), _pt(1, (102.0,), "marker")]
    marked = estimate_sdc(markers, metric="knee_flexion_peak_deg")
    assert marked.basis == "reference" and "used for marker data too" in marked.text


def test_change_below_sdc_is_no_real_change() -> None:
    pts = [_pt(i, (v,)) for i, v in enumerate((100.0, 103.0, 101.0, 106.0))]
    t = metric_trend(pts, metric="knee_flexion_peak_deg", movement="squat")
    assert t.change == pytest.approx(2.0)  # mean(101, 106) - mean(100, 103)
    assert t.verdict == "no real change yet"
    assert "no real change yet" in t.text
    assert re.search(r"within the smallest detectable change of \d+\.\d deg", t.text), t.text


def test_heels_coming_down_is_progress() -> None:
    few = [(0.30, 0.32, 0.31), (0.28, 0.30), (0.05, 0.06), (0.04,)]
    t = metric_trend(
        [_pt(i, v) for i, v in enumerate(few)], metric="heel_lift_peak", movement="squat"
    )
    assert t.verdict == "no real change yet"  # 3 sessions with repeats, but only 4 repeats
    assert "6 repeats in all (reps beyond each session's first; so far 3 sessions and 4 " in t.text
    more = [*few[:3], (0.04, 0.05, 0.03, 0.05)]
    t = metric_trend(
        [_pt(i, v) for i, v in enumerate(more)], metric="heel_lift_peak", movement="squat"
    )
    assert t.verdict == "real decrease" and t.direction == "heels staying down"
    assert re.search(r"beyond the smallest detectable change of [\d.]+ foot lengths", t.text)


def test_change_above_sdc_is_real_with_direction() -> None:
    pts = [_pt(i, (v,)) for i, v in enumerate((95.0, 96.0, 110.0, 112.0))]
    t = metric_trend(pts, metric="knee_flexion_peak_deg", movement="squat")
    assert t.verdict == "real increase" and t.direction == "deeper knee bend"
    down = metric_trend(
        [_pt(i, (v,)) for i, v in enumerate((60.0, 62.0, 30.0, 31.0))],
        metric="strategy_index",
        movement="squat",
    )
    # no published SDC for the strategy index and no repeated reps: never called real
    assert down.verdict == "no real change yet" and "not known yet" in down.text


def test_one_session_against_one_or_a_single_week_is_not_a_real_change() -> None:
    """Rule 9: trends over weeks, not single sessions, however large the difference."""
    two = [
        SessionPoint(0, T0, (41.2,), "video_2d"),
        SessionPoint(1, T0 + dt.timedelta(minutes=20), (29.7,), "video_2d"),
    ]
    t = metric_trend(two, metric="trunk_inclination_peak_deg", movement="squat")
    assert t.verdict == "no real change yet" and t.direction is None
    assert "-11.5 deg" in t.text and "needs 4 sessions over 14 days" in t.text
    week = [
        SessionPoint(i, T0 + dt.timedelta(days=2 * i), (v,), "video_2d")
        for i, v in enumerate((95.0, 96.0, 120.0, 121.0))
    ]
    t = metric_trend(week, metric="knee_flexion_peak_deg", movement="squat")
    assert t.verdict == "no real change yet" and "(has 4 over 6 days)" in t.text
    spread = [SessionPoint(p.session_id, T0 + dt.timedelta(days=7 * i), p.rep_values,
                           p.measurement) for i, p in enumerate(week)]  # fmt: skip
    assert metric_trend(spread, metric="knee_flexion_peak_deg", movement="squat").verdict == (
        "real increase"
    )


def test_one_session_is_not_a_trend() -> None:
    t = metric_trend([_pt(0, (100.0, 101.0))], metric="knee_flexion_peak_deg", movement="squat")
    assert t.verdict == "one session only" and t.change is None


def test_trend_window_never_uses_a_single_session_when_more_exist() -> None:
    pts = [_pt(i, (v,)) for i, v in enumerate((100, 100, 100, 100, 100, 125))]
    t = metric_trend(pts, metric="knee_flexion_peak_deg", movement="squat")
    assert t.window == 3
    assert t.change == pytest.approx(25 / 3)  # one good day moves the recent mean by a third
    assert t.verdict == "no real change yet"
    t2 = metric_trend(
        pts,
        metric="knee_flexion_peak_deg",
        movement="squat",
        settings=ProgressSettings(reference_sdc_angle_deg=8.0),
    )
    assert t2.verdict == "real increase"


# ---- outcomes against the norms ------------------------------------------------------------------


def test_odi_scoring_and_bands() -> None:
    assert odi_score([1] * 10) == 20.0
    assert odi_score([5, 5, 5, 5, 5, 5, 5, 5, 5, None]) == 100.0  # one skipped: out of 45
    with pytest.raises(BadValueError):
        odi_score([1, None, None, 1, 1, 1, 1, 1, 1, 1])
    assert judge_odi(20).band == "minimal disability"
    assert judge_odi(21).band == "moderate disability"
    assert judge_odi(60).band == "severe disability"
    assert judge_odi(81).band == "bed-bound"
    assert parse_odi("34") == (34.0, None)
    score, answers = parse_odi("2,1,3,0,2,1,-,2,1,0")
    assert answers is not None and answers[6] is None and score == pytest.approx(26.7)
    for bad in ("101", "abc", "1,2,3", "1,2,3,4,5,6,7,8,9,6"):
        with pytest.raises(BadValueError):
            parse_odi(bad)


def test_odi_meaningful_change() -> None:
    assert odi_change(40, 31)[0] is False  # 9 points, 22 %
    assert odi_change(40, 30)[0] is True  # 10 points
    assert odi_change(20, 14)[0] is True  # 6 points but 30 %
    assert "no real change yet" in odi_change(40, 35)[1]


def test_five_sts_norms() -> None:
    assert judge_five_sts(11.0, age=65).band == "average or better for age"
    assert judge_five_sts(11.5, age=65).band == "slower than average for age"
    assert judge_five_sts(12.5, age=75).band == "average or better for age"
    assert judge_five_sts(15.0, age=85).band == "slower than average for age"
    assert judge_five_sts(10.4).band == "no functional impairment"
    assert judge_five_sts(15.2).band == "mild functional impairment"
    assert judge_five_sts(22.0).band == "moderate functional impairment"
    assert judge_five_sts(22.1).band == "severe functional impairment"
    assert "No age norm" in judge_five_sts(9.0, age=40).text


def test_chair_stand_norms() -> None:
    assert judge_chair_stand(13, age=62, sex="male").band == "below average for age and sex"
    assert judge_chair_stand(14, age=62, sex="male").band == "average or better for age and sex"
    assert judge_chair_stand(11, age=62, sex="female").band == "below average for age and sex"
    assert judge_chair_stand(12, age=62, sex="female").band == "average or better for age and sex"
    assert judge_chair_stand(4, age=92, sex="female").band == "average or better for age and sex"
    assert judge_chair_stand(10, age=45, sex="male").band is None
    assert judge_chair_stand(10).band is None


# ---- from the store, with real sessions ----------------------------------------------------------


@needs_data
@pytest.mark.parametrize(
    ("kind", "value", "says"),
    [
        ("zzz", 1.0, "not an outcome kneeback knows"),
        ("odi", 100.5, "0 to 100"),
        ("odi", math.nan, "must be a number"),
        ("five_sts", 0.0, "out of range"),
        ("five_sts", 600.0, "out of range"),
        ("chair_stand_30s", -1.0, "out of range"),
        ("chair_stand_30s", 10.5, "whole number"),
    ],
)
def test_outcomes_that_cannot_be_judged_are_refused(kind: str, value: float, says: str) -> None:
    with pytest.raises(BadValueError, match=says):
        check_outcome(kind, value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [("odi", 0.0), ("odi", 100.0), ("five_sts", 11.2), ("chair_stand_30s", 0.0)],
)
def test_outcomes_in_range_are_judged(kind: str, value: float) -> None:
    check_outcome(kind, value)
    assert judge(kind, value, age=None, sex=None).kind == kind


def test_progress_real_sessions(db: Database, tmp_path: Path) -> None:
    from kneeback.progress.report import (
        person_progress,
        progress_html,
        progress_to_dict,
        write_progress_pngs,
    )
    from kneeback.store import store_session

    # four weeks of correct deep squats from one subject: the same capacity every week
    for i, eps in enumerate(((1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 2, 5))):
        store_session(db, "Ana", result(1, 1, eps), artifacts={}, recorded_at=day(7 * i))
    rep = person_progress(db, "Ana", movement="squat")
    knee = next(t for t in rep.trends if t.metric == "knee_flexion_peak_deg")
    assert len(knee.points) == 4
    assert abs(knee.change or 0) < (knee.sdc.value or 0)
    assert knee.verdict == "no real change yet"
    assert knee.sdc.sessions == 4 and knee.sdc.reps == 12  # own repeated measurements counted
    # then weeks of the deliberately incorrect squats (shallower): a real decrease
    for i, eps in enumerate(((1, 2, 3), (4, 5, 6), (7, 8, 9))):
        store_session(
            db, "Ana", result(1, 1, eps, correct=False), artifacts={}, recorded_at=day(35 + 7 * i)
        )
    rep = person_progress(db, "Ana", movement="squat")
    knee = next(t for t in rep.trends if t.metric == "knee_flexion_peak_deg")
    assert knee.verdict == "real decrease", knee.text
    data = progress_to_dict(rep)
    assert data["trends"][0]["verdict"]
    pngs = write_progress_pngs(rep, tmp_path / "png")
    assert pngs and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    page = progress_html(rep)
    assert "no real change yet" in page or "real decrease" in page
    assert "data:image/png;base64," in page
    # the command line's file links nowhere; the web app's links back to the member's page
    assert "Back to the program" not in page and "<a " not in page
    plain = progress_html(rep, images=False)
    linked = progress_html(rep, images=False, back_url="/members/o'neil")
    link = "<p><a href='/members/o&#x27;neil'>Back to the program</a></p>\n"
    assert linked.index(link) < linked.index("<h1>")
    assert linked.replace(link, "", 1) == plain  # nothing else changes
    single = person_progress(db, "Ana", metric="strategy_index")
    assert [t.metric for t in single.trends] == ["strategy_index"]
    from kneeback.store import record_outcome

    record_outcome(db, "Ana", kind="five_sts", value=11.2, age=66, recorded_at=day(50))
    page = progress_html(person_progress(db, "Ana", movement="squat"))
    outcomes = page[page.index("Outcome measures") :]
    assert "Five-times sit-to-stand" in outcomes and "11.2 s" in outcomes
    assert "five_sts" not in outcomes


# ---- the page and its charts on a phone ---------------------------------------------------------

_REPORT_TEMPLATE = (
    Path(__file__).resolve().parents[1] / "src/kneeback/report/templates/report.html.j2"
)


def _longest_label_trends() -> list[MetricTrend]:
    """Trends whose chart titles are the longest the page can show, with several sessions."""
    from kneeback.movements.labels import METRIC_LABELS

    longest = sorted(METRIC_LABELS, key=lambda m: -len(METRIC_LABELS[m][0]))[:3]
    pts = [_pt(i, (v, v + 1.0)) for i, v in enumerate((100.0, 101.0, 99.0, 100.5))]
    return [metric_trend(pts, metric=m, movement="sit_to_stand") for m in longest]


def test_chart_text_stays_inside_the_figure() -> None:
    """The title, the legend and the axis labels are never clipped, however long the name."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    from kneeback.progress.report import _figure

    one = metric_trend([_pt(0, (100.0, 101.0))], metric="knee_fppa_peak_deg", movement="squat")
    for t in [*_longest_label_trends(), one]:
        fig = _figure(t)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        box = fig.bbox
        title = fig.axes[0].title
        texts = [a for a in fig.findobj(Text) if a.get_visible() and a.get_text()]
        assert title in texts and len(texts) > 5
        for text in texts:
            ext = text.get_window_extent(renderer)
            assert box.x0 <= ext.x0 and ext.x1 <= box.x1, (text.get_text(), ext, box)
            assert box.y0 <= ext.y0 and ext.y1 <= box.y1, (text.get_text(), ext, box)


def test_one_session_chart_shows_a_month_either_side() -> None:
    from matplotlib.dates import date2num

    from kneeback.progress.report import _figure

    t = metric_trend([_pt(0, (100.0, 101.0))], metric="knee_flexion_peak_deg", movement="squat")
    lo, hi = _figure(t).axes[0].get_xlim()
    month = dt.timedelta(days=30)
    assert (lo, hi) == pytest.approx((date2num(T0 - month), date2num(T0 + month)))
    many = metric_trend(
        [_pt(i, (100.0 + i,)) for i in range(4)], metric="knee_flexion_peak_deg", movement="squat"
    )
    lo, hi = _figure(many).axes[0].get_xlim()
    assert hi - lo < 30  # several sessions: the axis follows the data (3 weeks here)


def test_charts_are_sharp_on_a_phone_and_small(tmp_path: Path) -> None:
    """Twice the pixels of a 360 px phone screen, a palette PNG of tens of kilobytes."""
    from PIL import Image

    from kneeback.progress.report import ProgressReport, write_progress_pngs

    (path,) = write_progress_pngs(
        ProgressReport("Ana", tuple(_longest_label_trends()[:1])), tmp_path
    )
    with Image.open(path) as image:
        assert image.size == (960, 720) and image.mode == "P"
    assert path.stat().st_size < 40_000


def test_table_shows_the_verdict_next_to_the_metric_with_a_swipe_hint() -> None:
    from kneeback.progress.report import ProgressReport, progress_html

    up = metric_trend(
        [_pt(i, (v,)) for i, v in enumerate((95.0, 96.0, 110.0, 112.0))],
        metric="knee_flexion_peak_deg",
        movement="squat",
    )
    page = progress_html(ProgressReport("Ana", (up,)), images=False)
    heads = re.findall(r"<th scope='col'>([^<]+)</th>", page)
    assert heads == ["metric", "verdict", "sessions", "baseline", "recent", "change", "SDC"]
    row = re.search(r"<tr><td title='knee_flexion_peak_deg'>.*?</tr>", page)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0))
    assert cells[1] == "real increase (deeper knee bend)" and cells[2] == "4"
    # the analysis report's own words, above the table they describe
    hint = re.search(r'class="swipe-hint[^"]*">([^<]+)<', _REPORT_TEMPLATE.read_text())
    assert hint is not None
    assert f"<p class='swipe-hint note'>{hint.group(1)}</p><div class='table-wrap'" in page
    assert "@media (min-width:720px){.swipe-hint{display:none}}" in page
