"""The critique rules as a Markdown page for coaches: ``docs/critique-rules.md``.

The page is written from the rules themselves (:data:`kneeback.assess.rules.RULES`), the
movements they apply to (:data:`kneeback.movements.specs.MOVEMENTS`) and the settings that hold
their thresholds (:class:`kneeback.settings.AnalysisSettings`), so that it cannot drift from the
code: a test compares the committed page with :func:`rules_markdown`, and
``python scripts/write_rules_doc.py`` writes it again after a change.
"""

from __future__ import annotations

import re

from kneeback.assess.critique import LUNGE_KNEE_AIM_DEG
from kneeback.assess.rules import EVIDENCE_GRADES, RULES
from kneeback.movements.specs import MOVEMENTS
from kneeback.report.html import metric_label
from kneeback.settings import AnalysisSettings

__all__ = ["rules_markdown"]

_SEVERITY = {
    "major": "major: the rep needs work",
    "minor": "minor: a point to practise; the verdict stays",
    "info": "info: described, never judged",
}


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
        "Each finding of an analysis comes from one of these rules. A rule judges a "
        "repetition only when every metric it reads is measurable and the camera view can show it "
        "(marker or depth-camera 3D data qualify from any view); otherwise the clip gets one "
        "`view_check` finding that says what could not be judged and how to film it. A rep is "
        "*needs work* when a major finding applies to it; the clip, when half of its full reps "
        "are."
        + (
            ""
            if for_web
            else " Thresholds are settings: `kneeback settings` prints them and `--settings "
            "FILE` changes them. Sources are those of `../shared/REFERENCES.md`."
        ),
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
            f"- Severity: {_SEVERITY.get(rule.severity, rule.severity)}",
            f"- Evidence: grade {rule.grade}; {rule.source}",
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
        if rule.positive:
            lines.append(f'- When met: "{rule.positive}"')
    return "\n".join(lines) + "\n"
