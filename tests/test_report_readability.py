"""The report stays readable: table rows not styled as chips, plot text large and dark enough.

Found by a browser audit: ``.info { color; white-space: nowrap }`` meant for a chip also matched
``<tr class="info">``, which made the measurement table 2200 px wide and its rows link-blue; the
plots' rep labels were #2f9e6b (3.37:1 on white) and their smallest text 7.5 pt.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kneeback.report.html import render_report
from kneeback.report.plots import (
    LABEL_COLOURS,
    PARTIAL_SHADE_ALPHA,
    SHADE_ALPHA,
    VERDICT_COLOURS,
    angles_plot,
    depth_plot,
    strategy_plot,
)
from kneeback.report.result import AnalysisResult, MetricInfo
from test_report_html import _tiny_angles, _tiny_result

CSS = Path(__file__).parents[1] / "src" / "kneeback" / "report" / "templates" / "report.css"


def _rules(css: str) -> list[tuple[list[str], dict[str, str]]]:
    """``(selectors, declarations)`` of every style rule, those inside ``@media`` included."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules: list[tuple[list[str], dict[str, str]]] = []
    prelude, depth_stack = "", []
    for token in re.split(r"([{}])", css):
        if token == "{":
            depth_stack.append(prelude.strip())
            prelude = ""
        elif token == "}":
            head = depth_stack.pop() if depth_stack else ""
            if not head.startswith("@") and prelude.strip():
                decls = {}
                for decl in prelude.split(";"):
                    if ":" in decl:
                        name, value = decl.split(":", 1)
                        decls[name.strip().lower()] = value.strip().lower()
                rules.append(([s.strip() for s in head.split(",")], decls))
            prelude = ""
        else:
            prelude = token
    return rules


def _subject_matches_tr(selector: str, classes: set[str]) -> bool:
    """Whether a selector's subject (its last compound) can be a ``<tr>`` with these classes."""
    subject = re.split(r"[\s>+~]+", selector.strip())[-1]
    tag = re.match(r"[a-zA-Z][\w-]*", subject)
    if tag and tag.group(0).lower() not in ("tr", "*"):
        return False
    needed = set(re.findall(r"\.([\w-]+)", subject))
    return bool(needed) and needed <= classes


def _contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours."""

    def luminance(colour: str) -> float:
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _over_white(colour: str, alpha: float) -> str:
    """``colour`` at opacity ``alpha`` over white, as matplotlib composes a shaded span."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(alpha * c + (1 - alpha) * 255):02x}" for c in rgb)


# ---------------------------------------------------------------- the tables


def _capture_result() -> AnalysisResult:  # one judged, one shown only, one not measurable
    base = _tiny_result()
    metrics = {
        **base.capture.metrics,
        "trunk_inclination_peak_deg": MetricInfo(
            measurable=True,
            judgeable=False,
            uncertainty=15.0,
            reason="here from the 3D estimate with a larger error; shown, not judged",
            tip="Film from the side, camera at hip height, whole body in the frame.",
        ),
    }
    capture = base.capture.model_copy(update={"metrics": metrics})
    return base.model_copy(update={"capture": capture})


def test_css_parser_sees_the_rules() -> None:
    rules = _rules("a, .b { color: red }\n@media (x) { .c { white-space: nowrap; } }")
    assert rules == [(["a", ".b"], {"color": "red"}), ([".c"], {"white-space": "nowrap"})]
    assert _subject_matches_tr(".info", {"info"})
    assert _subject_matches_tr(".capture-table tr.info", {"info", "x"})
    assert not _subject_matches_tr("span.info", {"info"})
    assert not _subject_matches_tr(".info span", {"info"})


def test_no_rule_gives_table_rows_a_colour_or_keeps_them_on_one_line() -> None:
    html = render_report(_capture_result(), _tiny_angles())
    row_classes = [set(c.split()) for c in re.findall(r'<tr\b[^>]*\bclass="([^"]*)"', html)]
    capture = re.findall(r'<tr\b[^>]*\bclass="(capture-row[^"]*)"', html)
    assert len(capture) == 3  # judged, information only, not measurable: each has a row class
    assert len(set(capture)) == 3
    rules = _rules(CSS.read_text(encoding="utf-8"))
    for classes in row_classes:
        for selectors, decls in rules:
            if not any(_subject_matches_tr(s, classes) for s in selectors):
                continue
            assert decls.get("white-space", "normal") == "normal", (selectors, classes)
            assert "color" not in decls, (selectors, classes)


# ---------------------------------------------------------------- the plots


@pytest.mark.parametrize("verdict", sorted(VERDICT_COLOURS))
def test_rep_labels_contrast_with_white_and_with_their_shading(verdict: str) -> None:
    label = LABEL_COLOURS[verdict]
    assert _contrast(label, "#ffffff") >= 4.5
    for alpha in (SHADE_ALPHA, PARTIAL_SHADE_ALPHA):
        assert _contrast(label, _over_white(VERDICT_COLOURS[verdict], alpha)) >= 4.5


def test_contrast_formula_matches_known_values() -> None:
    assert _contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert _contrast("#2f9e6b", "#ffffff") == pytest.approx(3.37, abs=0.01)  # the audit's value


def test_plots_draw_rep_labels_dark_and_no_text_below_9pt() -> None:
    result = _tiny_result()
    svg = angles_plot(_tiny_angles(), result)
    assert svg is not None
    label = re.search(r'style="([^"]*)"[^>]*>rep 1</text>', svg)
    assert label is not None and f"fill: {LABEL_COLOURS['good']}" in label.group(1)
    for plot in (svg, depth_plot(result), strategy_plot(result)):
        if plot is None:
            continue
        sizes = [float(s) for s in re.findall(r"font-size:\s*([\d.]+)px", plot)]
        assert sizes and min(sizes) >= 9.0
