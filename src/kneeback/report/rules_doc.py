"""The critique rules as a Markdown page for coaches: ``docs/critique-rules.md``.

The page is written from the rules themselves (:data:`kneeback.assess.rules.RULES`), the
movements they apply to (:data:`kneeback.movements.specs.MOVEMENTS`) and the settings that hold
their thresholds (:class:`kneeback.settings.AnalysisSettings`), so that it cannot drift from the
code: a test compares the committed page with :func:`rules_markdown`, and
``python scripts/write_rules_doc.py`` writes it again after a change.
"""

from __future__ import annotations

import re

from kneeback.assess.critique import _LIMITS, LUNGE_KNEE_AIM_DEG
from kneeback.assess.rules import EVIDENCE_GRADES, RULES, Rule
from kneeback.movements.specs import MOVEMENTS
from kneeback.report.html import SEVERITY_LABELS, metric_label
from kneeback.settings import AnalysisSettings

__all__ = ["rules_markdown"]

#: What a finding of each severity means for the rep; the session page and the report head it
#: with :data:`kneeback.report.html.SEVERITY_LABELS`.
_MEANS = {
    "positive": "the rep met the rule",
    "major": "the rep needs work",
    "minor": "a point to practise; the rep's verdict stays",
    "info": "a measurement described, never judged",
}


def _shown_as(severity: str) -> str:
    """E.g. ``"a **Main focus** finding (major): the rep needs work"``."""
    return f"a **{SEVERITY_LABELS[severity]}** finding ({severity}): {_MEANS[severity]}"


def _praises(rule: Rule) -> bool:
    """Whether the rule gives a positive finding when a rep meets it.

    Only the rules that compare one metric with a limit, and report a met limit, do
    (:func:`kneeback.assess.critique._finding`); the others say nothing when met.
    """
    return bool(rule.positive) and rule.id in _LIMITS and _LIMITS[rule.id].report_met


#: What the rules whose text is all measured value say, in words.
_WHOLE_TEXT = {
    "view_check": "what this clip's camera view could not show, and how to film it",
    "sts_tests": "the five-times sit-to-stand time and the 30-second chair-stand count, against "
    "the age norms",
}


def _template(text: str) -> str:
    """Show a finding text's placeholders as what they stand for."""
    return re.sub(r"\{(value|threshold)(:[^}]*)?\}", lambda m: f"<{m.group(1)}>", text)


def rules_markdown(*, for_web: bool = False) -> str:
    """Write the rules page.

    Parameters
    ----------
    for_web
        For the web app's ``/rules``: without the note to editors and the command-line hints.

    Returns
    -------
    str
        Markdown: how findings work, then one section per rule with its evidence, the movements
        and views it judges, the metrics it reads, its thresholds (setting, default and source)
        and its texts.
    """
    fields = AnalysisSettings.model_fields
    lines = ["# Critique rules", ""]
    if not for_web:
        lines += [
            "<!-- Written by scripts/write_rules_doc.py from kneeback.assess.rules; "
            "do not edit. -->",
            "",
        ]
    lines += [
        "Each finding of an analysis comes from one of these rules, under the heading the "
        "session page and the report give it: "
        + "; ".join(f"**{label}**: {_MEANS[sev]}" for sev, label in SEVERITY_LABELS.items())
        + ". A rule judges a repetition only when every metric it reads is measurable and the "
        "camera view can show it (marker or depth-camera 3D data qualify from any view); "
        f"otherwise the clip gets one *{SEVERITY_LABELS['info']}* finding (`view_check`) that says "
        "what could not be judged and how to film it. A rep needs work when a "
        f"*{SEVERITY_LABELS['major']}* finding applies to it; the clip needs work when at least "
        "half of its full reps do."
        + (
            ""
            if for_web
            else " Thresholds are settings: `kneeback settings` prints them and `--settings "
            "FILE` changes them."
        ),
        "",
        'Sources that say "REFERENCES.md rule N" cite rule N of REFERENCES.md, the project\'s '
        'evidence file: its section "Rules a critique engine can defend" gives each rule with '
        "the studies behind it" + ("." if for_web else " (`../shared/REFERENCES.md`)."),
        "",
        "Evidence grades: "
        + "; ".join(f"**{g}** {meaning}" for g, meaning in EVIDENCE_GRADES.items())
        + ".",
    ]
    for rule in RULES.values():
        movements = [m.label for m in MOVEMENTS.values() if rule.id in m.rules]
        lines += [
            "",
            f"## {rule.title} (`{rule.id}`)",
            "",
        ]
        if rule.severity == "info":
            lines.append(f"- Shown as: {_shown_as('info')}")
        else:
            if _praises(rule):
                lines.append(
                    f'- When met: a **{SEVERITY_LABELS["positive"]}** finding, "{rule.positive}"'
                )
            else:
                lines.append("- When met: no finding")
            lines.append(f"- When not met: {_shown_as(rule.severity)}")
        cited = (
            " (REFERENCES.md: the project's evidence file)"
            if "REFERENCES.md" in rule.source
            else ""
        )
        lines += [
            f"- Evidence: grade {rule.grade}; {rule.source}{cited}",
            f"- Movements: {', '.join(movements) or 'none'}",
            f"- Judged from: {', '.join(rule.views)} views",
        ]
        if rule.metrics:
            lines.append(
                "- Reads: " + ", ".join(f"{metric_label(m)[0]} (`{m}`)" for m in rule.metrics)
            )
        if rule.id == "lunge_depth":
            lines.append(
                f"- Aim: {LUNGE_KNEE_AIM_DEG:.0f} deg of front-knee flexion (chairs and stairs, "
                "Rowe et al. 2000), met within the tolerance below"
            )
        for name in rule.settings:
            field = fields[name]
            lines.append(f"- Threshold `{name}` = {field.default!r}: {field.description}")
        if rule.id in _WHOLE_TEXT:
            lines.append(f"- Says: {_WHOLE_TEXT[rule.id]}")
        else:
            lines.append(f'- Says: "{_template(rule.explanation)}"')
        if rule.cue:
            lines.append(f'- Cue: "{rule.cue}"')
    return "\n".join(lines) + "\n"
