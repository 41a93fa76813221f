"""report.html: self-contained, escaped, and complete when a real browser opens it.

The browser test opens the report in Debian's headless ``chromium`` driven by Playwright (the
wheel brings its own driver; no browser download): the plots, the findings with their sources,
one table row per rep, a video that plays and a console without errors. It saves full-page
screenshots at phone and desktop sizes into ``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from browser import ARTIFACTS, ROOT, launch, open_context
from kneeback.io.adapters.virtual_camera import View
from kneeback.report.html import render_report
from kneeback.report.plots import ANGLES_TITLE, DEPTH_TITLE, STRATEGY_TITLE
from kneeback.report.result import (
    AnalysisResult,
    CaptureInfo,
    FindingInfo,
    MetricInfo,
    MovementInfo,
    RepInfo,
    ViewInfo,
)
from kneeback.report.result import TestsInfo as ChairTests

DATA = ROOT.parent / "shared" / "data" / "ui-prmd" / "vicon"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared UI-PRMD data not present")

#: Three deep squats, deliberately incorrect, correct, incorrect (one UI-PRMD rep per file).
SQUAT_FILES = (
    "incorrect/m01_s01_e02_positions_inc.txt.gz",
    "correct/m01_s01_e01_positions.txt.gz",
    "incorrect/m01_s01_e03_positions_inc.txt.gz",
)


def _chained_reps(paths: list[Path], *, view: View = "side") -> xr.Dataset:
    """Join one-rep files into one clip: times run on, each file's start moved onto the first's."""
    from kneeback.io.adapters.uiprmd import load_uiprmd

    parts: list[xr.Dataset] = []
    t_next = 0.0
    anchor: dict[str, np.ndarray] = {}
    for path in paths:
        ds = load_uiprmd(path, view=view)
        t = np.asarray(ds["time"].values, dtype=np.float64)
        dt = float(np.median(np.diff(t)))
        ds = ds.assign_coords(time=t - t[0] + t_next)
        t_next = float(ds["time"].values[-1]) + dt
        for var, dim in (("position", "space"), ("position_world", "space3")):
            if var not in ds:
                continue
            hips = ds[var].isel(time=0).sel(keypoints=["left_hip", "right_hip"])
            start = np.asarray(hips.mean("keypoints").values)  # (space, individuals)
            anchor.setdefault(var, start)
            shift = xr.DataArray(anchor[var] - start, dims=(dim, "individuals"))
            ds[var] = ds[var] + shift
        parts.append(ds)
    return xr.concat(parts, dim="time", combine_attrs="override")


def _analyse(ds: xr.Dataset, **options: Any) -> tuple[AnalysisResult, xr.Dataset]:
    import kneeback.analysis as analysis

    detailed = getattr(analysis, "analyse_detailed", None)
    if detailed is not None:
        out = detailed(ds, **options)
        return out.result, out.angles
    from kneeback.kinematics import compute_angles
    from kneeback.processing import preprocess

    return analysis.analyse(ds, **options), compute_angles(preprocess(ds))


@pytest.fixture(scope="module")
def squats() -> tuple[AnalysisResult, xr.Dataset]:
    if not DATA.is_dir():
        pytest.skip("shared UI-PRMD data not present")
    return _analyse(_chained_reps([DATA / f for f in SQUAT_FILES]))


@pytest.fixture(scope="module")
def front_2d() -> tuple[AnalysisResult, xr.Dataset]:
    """The same squats seen by a front camera, image landmarks only (no 3D)."""
    if not DATA.is_dir():
        pytest.skip("shared UI-PRMD data not present")
    ds = _chained_reps([DATA / f for f in SQUAT_FILES], view="front")
    return _analyse(ds.drop_vars("position_world"), view="front")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from videogen import make_video

    path = tmp_path_factory.mktemp("video") / "annotated.mp4"
    return make_video(path, n_frames=90, fps=30, width=320, height=240, faststart=True)


def _tiny_result(**changes: Any) -> AnalysisResult:
    fields: dict[str, Any] = {
        "movement": MovementInfo(recognised="squat", used="squat", confidence=0.9),
        "view": ViewInfo(recognised="side", used="side", confidence=0.9),
        "capture": CaptureInfo(
            in_frame=1.0,
            source="2d",
            measurement="video_2d",
            metrics={
                "knee_flexion_peak_deg": MetricInfo(measurable=True, uncertainty=7.0),
                "knee_fppa_peak_deg": MetricInfo(
                    measurable=False, reason="needs a front view", tip="Film from the front."
                ),
            },
        ),
        "reps": [
            RepInfo(
                index=0,
                start_s=0.2,
                end_s=1.8,
                peak_s=1.0,
                metrics={"knee_flexion_peak_deg": 120.0},
                verdict="good",
            )
        ],
        "findings": [
            FindingInfo(
                id="depth",
                severity="positive",
                grade="C",
                source="FMS scoring <b>&</b>",
                title="Depth",
                text="Good depth <script>alert(1)</script>",
                rep=0,
            )
        ],
        "verdict": "good",
    }
    fields.update(changes)
    return AnalysisResult(**fields)


def _tiny_angles() -> xr.Dataset:
    t = np.linspace(0.0, 2.0, 61)
    knee = 60 - 60 * np.cos(2 * np.pi * t / 2.0)
    return xr.Dataset(
        {
            "knee_flexion_left": ("time", knee),
            "knee_flexion_right": ("time", knee + 2),
            "hip_flexion_left": ("time", 0.8 * knee),
            "hip_flexion_right": ("time", 0.8 * knee),
            "trunk_inclination": ("time", 0.3 * knee),
        },
        coords={"time": t},
    )


# ---------------------------------------------------------------- without a browser


def test_report_is_self_contained_and_escaped(clip: Path) -> None:
    html = render_report(_tiny_result(), _tiny_angles(), video=clip, title="Ann's <squat>")
    assert html.startswith("<!doctype html>")
    assert '<meta name="viewport"' in html
    # Nothing is fetched: no external URL in any src or href, no script, no stylesheet link.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<script" not in html and "<link" not in html
    assert "data:video/mp4;base64," in html
    # Text from the result and the title is escaped.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "FMS scoring &lt;b&gt;&amp;&lt;/b&gt;" in html
    assert "Ann&#39;s &lt;squat&gt;" in html
    for title in (ANGLES_TITLE, DEPTH_TITLE):
        assert f">{title}</title>" in html
    assert "needs a front view" in html and "Film from the front." in html


def test_report_without_video_or_reps() -> None:
    result = _tiny_result(reps=[], findings=[], verdict="not_assessed")
    html = render_report(result, _tiny_angles())
    assert "<video" not in html
    assert "No whole repetition was found" in html
    assert f">{DEPTH_TITLE}</title>" not in html  # nothing honest to draw
    assert "Not assessed" in html


def test_a_good_verdict_with_minor_points_says_they_are_worth_practising() -> None:
    """Minor findings leave the verdict good; the sentence under it must not say all was met."""
    plain = render_report(_tiny_result(), _tiny_angles())
    assert "met their standards. Keep practising to keep it." in plain
    tempo = FindingInfo(
        id="tempo",
        severity="minor",
        grade="C",
        source="ACSM 2009",
        title="Tempo",
        text="The way down took under 1 s.",
        rep=0,
    )
    base = _tiny_result()
    html = render_report(
        base.model_copy(update={"findings": [*base.findings, tempo]}), _tiny_angles()
    )
    assert "Nothing major to change" in html and "smaller points below" in html
    assert "Keep practising to keep it." not in html


def test_chair_stand_tests_say_what_they_need_when_not_measured() -> None:
    result = _tiny_result(tests=ChairTests(stands=1))
    html = render_report(result, _tiny_angles())
    tests = html[html.index('id="chair-tests"') :]
    tests = tests[:2000]
    assert "needs five full stands in one clip (this one has 1)" in tests
    assert "needs 30 s of stands" in tests
    timed = render_report(
        _tiny_result(tests=ChairTests(stands=5, five_times_sts_s=11.2)), _tiny_angles()
    )
    assert "11.2 s" in timed


def test_report_marks_metrics_shown_but_not_judged() -> None:
    base = _tiny_result()
    metrics = dict(base.capture.metrics)
    metrics["knee_flexion_peak_deg"] = MetricInfo(
        measurable=True,
        judgeable=False,
        uncertainty=15.0,
        reason="here from the 3D estimate with a larger error; shown, not judged",
        tip="Film from the side.",
    )
    capture = base.capture.model_copy(update={"metrics": metrics})
    html = render_report(base.model_copy(update={"capture": capture}), _tiny_angles())
    assert 'data-info-only="knee_flexion_peak_deg"' in html
    assert "what this view cannot show is estimated from the 3D landmarks" in html
    assert "estimated from the 3D landmarks" not in render_report(_tiny_result(), _tiny_angles())
    assert "information only" in html and "Film from the side." in html
    assert "Knee flexion  ±15°, not judged" in html  # the knee panel says so
    caption = html[html.index('id="plot-depth"') :]
    caption = caption[caption.index("<figcaption>") : caption.index("</figcaption>")]
    assert "From the 3D estimate, ±15°, which this view gives only roughly" in caption
    depth = html[html.index('data-plot="depth"') :]
    depth = depth[: depth.index("</svg>")]
    assert "#8a94a6" in depth and "#2f9e6b" not in depth  # no verdict colours on unjudged bars


def test_report_missing_video_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        render_report(_tiny_result(), _tiny_angles(), video=tmp_path / "none.mp4")


@needs_data
def test_report_from_real_result(squats: tuple[AnalysisResult, xr.Dataset]) -> None:
    result, angles = squats
    assert len(result.reps) == 3
    html = render_report(result, angles)
    assert html.count('class="rep-row') == len(result.reps)
    for f in result.findings:
        assert f.title in html


@needs_data
def test_report_front_view_says_what_it_cannot_measure(
    front_2d: tuple[AnalysisResult, xr.Dataset],
) -> None:
    result, angles = front_2d
    assert result.view.used == "front"
    missing = [m for m in result.capture.metrics.values() if not m.measurable]
    assert missing
    html = render_report(result, angles)
    assert html.count('class="metric-name" data-metric="') == len(missing)
    for m in missing:
        assert m.reason is not None and m.reason.replace("'", "&#39;") in html
    assert "is not plotted:" in html  # the sagittal panels say why


# ---------------------------------------------------------------- in Chromium

#: The visible texts (outside the video and the plots) whose colour contrasts with the first
#: opaque background behind them by less than WCAG AA asks: 4.5, or 3 for large text.
LOW_CONTRAST = """() => {
  const luminance = (css) => {
    const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const bg = getComputedStyle(el).backgroundColor;
      const alpha = bg.match(/[\\d.]+/g)[3];
      if (alpha === undefined || Number(alpha) > 0.5) return bg;
    }
    return "rgb(255, 255, 255)";
  };
  const low = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || el.closest("video, svg")) continue;
    if (el.getClientRects().length === 0) continue;
    const style = getComputedStyle(el);
    const [a, b] = [luminance(style.color), luminance(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) low.push(`${el.className}: ${ratio.toFixed(2)}`);
  }
  return [...new Set(low)];
}"""


@pytest.fixture(scope="module")
def browser() -> Any:
    with launch() as b:
        yield b


@needs_data
def test_report_in_chromium(
    browser: Any,
    squats: tuple[AnalysisResult, xr.Dataset],
    clip: Path,
    record_property: Any,
) -> None:
    result, angles = squats
    ARTIFACTS.mkdir(exist_ok=True)
    report = ARTIFACTS / "report.html"
    report.write_text(render_report(result, angles, video=clip), encoding="utf-8")

    with open_context(browser, "phone") as (ctx, problems):
        page = ctx.new_page()
        page.goto(report.as_uri(), wait_until="load")
        # Plots: one titled SVG each.
        titles = page.locator("svg.plot > title").all_text_contents()
        assert set(titles) == {ANGLES_TITLE, DEPTH_TITLE, STRATEGY_TITLE}
        assert page.locator("#plot-angles svg path").count() > 10

        # Findings, with their sources and evidence grades; positive ones too.
        findings_text = page.inner_text("#findings")
        for f in result.findings:
            assert f.title in findings_text
            assert f.source in findings_text
            assert f"Evidence grade {f.grade}" in findings_text
        assert any(f.severity == "positive" for f in result.findings)
        assert page.locator("article.finding--positive").count() > 0

        # One table row per rep.
        assert page.locator("table.reps-table tbody tr").count() == len(result.reps)

        # The video has a source and plays.
        assert page.evaluate("document.querySelector('video#clip source').src").startswith(
            "data:video/mp4;base64,"
        )
        page.evaluate(
            "async () => { const v = document.querySelector('video#clip');"
            " v.muted = true; await v.play(); }"
        )
        page.wait_for_function(
            # A function, not an expression: the page's CSP forbids eval().
            "() => document.querySelector('video#clip').currentTime > 0",
            timeout=15_000,
        )
        state = page.evaluate(
            "(() => { const v = document.querySelector('video#clip');"
            " return {error: v.error && v.error.code, w: v.videoWidth, h: v.videoHeight}; })()"
        )
        assert state == {"error": None, "w": 320, "h": 240}
        page.evaluate("document.querySelector('video#clip').pause()")

        # Ids are unique although three matplotlib SVGs share the page.
        assert (
            page.evaluate(
                "(() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id);"
                " return ids.length - new Set(ids).size; })()"
            )
            == 0
        )

        # Readable on a phone: nothing wider than the screen (tables scroll inside themselves).
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # Every text, the folded tables included, contrasts with its background (WCAG AA).
        page.evaluate("() => document.querySelectorAll('details').forEach((d) => d.open = true)")
        assert page.evaluate(LOW_CONTRAST) == []

        # Offline: nothing but the file itself and data: URLs was requested.
        assert all(u.startswith(("file:", "data:")) for u in problems.requests), problems.requests
        problems.check()

        phone_png = ARTIFACTS / "report-phone.png"
        page.screenshot(path=str(phone_png), full_page=True)

    with open_context(browser, "desktop") as (ctx, problems):
        page = ctx.new_page()
        page.goto(report.as_uri(), wait_until="load")
        assert page.locator("svg.plot").count() == 3
        desktop_png = ARTIFACTS / "report-desktop.png"
        page.screenshot(path=str(desktop_png), full_page=True)
        problems.check()
    for png in (phone_png, desktop_png):
        assert png.stat().st_size > 10_000
        record_property(f"screenshot_{png.stem}", str(png))
        print(f"screenshot: {png}")


@needs_data
def test_front_view_report_in_chromium(
    browser: Any, front_2d: tuple[AnalysisResult, xr.Dataset]
) -> None:
    result, angles = front_2d
    ARTIFACTS.mkdir(exist_ok=True)
    report = ARTIFACTS / "report-front.html"
    report.write_text(render_report(result, angles, title="Front view, image only"), "utf-8")
    with open_context(browser, "phone") as (ctx, problems):
        page = ctx.new_page()
        page.goto(report.as_uri(), wait_until="load")
        assert page.locator("table.reps-table tbody tr").count() == len(result.reps)
        assert page.locator("ul.not-measurable .metric-name").count() == sum(
            not m.measurable for m in result.capture.metrics.values()
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        png = ARTIFACTS / "report-front-phone.png"
        page.screenshot(path=str(png), full_page=True)
        problems.check()
        assert all(u.startswith(("file:", "data:")) for u in problems.requests), problems.requests
    print(f"screenshot: {png}")
