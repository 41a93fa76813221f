"""Critique rules as data, each with its source and evidence grade.

Every rule comes from REFERENCES.md, "Rules a critique engine can defend", and cites the sources
listed there. A rule names the metrics it reads and the camera views it needs (REFERENCES.md
rule 1); it refuses to judge from any other view unless the data are marker or depth-camera 3D,
even when the metric can be shown from single-camera 3D landmarks. Texts coach regeneration: they
describe what was measured and what to practise, and never claim that a movement causes pain or
harm.

Severity
--------
``positive``  something done well;
``info``      a measurement reported as a strategy or a trend, not a judgement;
``minor``     a point to practise that does not change the rep's verdict;
``major``     a point that makes the rep "needs_work".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EVIDENCE_GRADES",
    "RULES",
    "VIEW_CHECK_MISSING",
    "VIEW_CHECK_REFUSED",
    "VIEW_CHECK_SHOWN",
    "VIEW_CHECK_TEXTS",
    "VIEW_PHRASES",
    "Rule",
    "Severity",
    "get_rule",
]

Severity = Literal["positive", "info", "minor", "major"]
Grade = Literal["A", "B", "C"]

#: A simple evidence scale.
EVIDENCE_GRADES: dict[str, str] = {
    "A": "systematic review or large cohort",
    "B": "single study or published reference values",
    "C": "expert consensus or a screening criterion (such as the FMS)",
}

_SAGITTAL_VIEWS = ("side", "oblique")
_FRONTAL_VIEWS = ("front", "back")


@dataclass(frozen=True)
class Rule:
    """One critique rule.

    Attributes
    ----------
    id
        Stable identifier used in results.
    title
        Short name.
    source
        Citation as in REFERENCES.md.
    grade
        Evidence grade (see :data:`EVIDENCE_GRADES`).
    metrics
        Per-rep metrics the rule reads.
    views
        Views from which the rule can judge. Marker and depth-camera 3D measurements qualify from
        any view; single-camera 3D estimates do not (REFERENCES.md rule 1): from another view
        the rule refuses to judge and the clip gets a ``view_check`` finding instead.
    severity
        Severity of the finding when the criterion is not met.
    explanation
        Plain-language explanation of a finding (may hold ``{value}`` and ``{threshold}``).
    cue
        What to practise.
    positive
        Text when the criterion is met (empty: no positive finding).
    settings
        The :class:`~kneeback.settings.AnalysisSettings` fields that hold its thresholds.
    """

    id: str
    title: str
    source: str
    grade: Grade
    metrics: tuple[str, ...]
    views: tuple[str, ...]
    severity: Severity
    explanation: str
    cue: str
    positive: str = ""
    settings: tuple[str, ...] = ()


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            id="view_check",
            title="What this view can show",
            source="Cosoli et al. 2026; REFERENCES.md 'How accurate a single camera is'",
            grade="B",
            metrics=(),
            views=("side", "front", "back", "oblique"),
            severity="info",
            explanation="{value}",
            cue="Film from the side at hip height for depth and trunk, from the front for knees.",
        ),
        Rule(
            id="depth",
            title="Depth",
            source="FMS scoring; Hemmerich et al., J Orthop Res 2006; Rowe et al., Gait Posture "
            "2000;12:143",
            grade="C",
            metrics=("thigh_angle_bottom_deg", "knee_flexion_peak_deg", "hip_below_knee"),
            views=_SAGITTAL_VIEWS,
            severity="major",
            settings=("depth_thigh_tolerance_deg",),
            explanation=(
                "At the bottom your thighs stayed {value:.0f} deg above horizontal; the deep-squat "
                "standard is hips level with or below the knees (tolerance {threshold:.0f} deg)."
            ),
            cue=(
                "Build depth gradually: squat to a box or step that you lower over the weeks, "
                "and let the knees travel forward over the toes."
            ),
            positive="Good depth: your hips came down level with or below your knees.",
        ),
        Rule(
            id="lunge_depth",
            title="Lunge depth",
            source="Rowe et al., Gait Posture 2000;12:143; Hyodo et al., Braz J Phys Ther 2017",
            grade="B",
            metrics=("knee_flexion_peak_deg",),
            views=_SAGITTAL_VIEWS,
            severity="minor",
            settings=("depth_thigh_tolerance_deg",),
            explanation=(
                "Your front knee bent to {value:.0f} deg; everyday tasks such as stairs use "
                "about {threshold:.0f} deg or more."
            ),
            cue="Lower the back knee a little further each week, holding a support if it helps.",
            positive="Your front knee bent to a useful everyday range.",
        ),
        Rule(
            id="trunk_vs_tibia",
            title="Trunk and shin",
            source="FMS scoring (torso parallel to tibia or more upright); REFERENCES.md rule 3",
            grade="C",
            metrics=("trunk_minus_tibia_bottom_deg",),
            views=_SAGITTAL_VIEWS,
            severity="major",
            settings=("trunk_tibia_tolerance_deg",),
            explanation=(
                "At the bottom your trunk leaned {value:.0f} deg more than your shins: the hips "
                "and trunk did more of the bending than the knees (allowance {threshold:.0f} deg)."
            ),
            cue=(
                "Let the knees come forward and keep the chest up, as if sitting between your "
                "heels; holding a light weight in front of the chest can help."
            ),
            positive="Your trunk stayed about parallel to your shins: the knees shared the work.",
        ),
        Rule(
            id="heel_lift",
            title="Heels",
            source="FMS scoring (the deep squat scores 3 only with the heels flat; with the heels "
            "raised on a board it scores 2 at best); REFERENCES.md rule 4",
            grade="C",
            metrics=("heel_lift_peak",),
            views=_SAGITTAL_VIEWS,
            severity="major",
            settings=("heel_lift_tolerance",),
            explanation=(
                "Your heel rose by {value:.0%} of your foot's length (allowance {threshold:.0%}): "
                "the squat is done with the heels flat. Heels that rise usually point at the "
                "ankles' range of bend, not at the back."
            ),
            cue=(
                "Keep your weight over the whole foot and go only as deep as the heels stay "
                "down; practise knee-to-wall ankle drills, and meanwhile a small plate under the "
                "heels lets you train depth."
            ),
            positive="Your heels stayed on the floor.",
        ),
        Rule(
            id="ankle_mobility",
            title="Ankle range",
            source="Bennell 1998; JMPT (ICL 28656); REFERENCES.md rule 4",
            grade="B",
            metrics=("tibia_inclination_bottom_deg",),
            views=_SAGITTAL_VIEWS,
            # Major and listed first: it fires only when depth or trunk-vs-shin failed, and then
            # says where to start (rule 4: point at the ankles, not the back). The verdict is
            # "needs work" already, so this changes the priority, not the verdict.
            severity="major",
            settings=("ankle_limited_tibia_deg",),
            explanation=(
                "Your shins tilted only {value:.0f} deg forward: the ankles may be limiting how "
                "far the knees can travel, rather than the back or hips."
            ),
            cue=(
                "Practise knee-to-wall ankle mobility drills; a small plate under the heels lets "
                "you train depth meanwhile."
            ),
        ),
        Rule(
            id="knee_tracking",
            title="Knee tracking",
            source="FMS scoring (knees aligned over feet); foot breadth 0.055 of stature "
            "(Drillis & Contini 1966)",
            grade="C",
            metrics=("knee_inside_ankle_bottom",),
            views=_FRONTAL_VIEWS,
            severity="major",
            settings=("knee_inside_ankle_max",),
            explanation=(
                "At the bottom a knee was {value:.0%} of your leg length inside its ankle, past "
                "the inner edge of the foot (allowance {threshold:.0%}, measurement error "
                "included): the knees moved inside the line of the feet."
            ),
            cue="Point the knees the same way as the toes; a light band above the knees helps.",
            positive="Your knees stayed in line with your feet.",
        ),
        Rule(
            id="knee_valgus",
            title="Knee angle seen from the front",
            source="Herrington, Knee 2014;21:514; Munro et al., J Sport Rehabil 2012; "
            "Raisanen 2018",
            grade="B",
            metrics=("knee_fppa_peak_deg",),
            views=_FRONTAL_VIEWS,
            severity="minor",
            settings=("knee_valgus_fppa_deg",),
            explanation=(
                "Seen from the front, your knee angled inwards by {value:.0f} deg (typical "
                "controls about 8 deg; noted above {threshold:.1f} deg). This is an observation "
                "about control, not a prediction."
            ),
            cue="Slow the lowering and keep the knee over the middle of the foot.",
        ),
        Rule(
            id="sts_trunk_lean",
            title="Rising from the chair",
            source="UI-PRMD (Vakanski et al., Data 2018): correct sit-to-stand peak trunk "
            "inclination 23.5 (15-36) deg, incorrect 44 (31-63) deg, a provisional norm from one "
            "data set of 10 healthy adults; Honda et al., J Biomech 2022;134:110996; "
            "REFERENCES.md rules 3 and 6",
            grade="C",
            metrics=("trunk_inclination_peak_deg",),
            views=_SAGITTAL_VIEWS,
            severity="major",
            settings=("sts_trunk_inclination_max_deg",),
            explanation=(
                "To rise, your trunk leaned {value:.0f} deg from upright, beyond the range of "
                "well-performed rises in a reference data set (allowance {threshold:.0f} deg, "
                "measurement error included): the trunk led and the knees did less of the work."
            ),
            cue=(
                "Bring the feet back under the knees, lean only as far as needed and push the "
                "floor away with the legs."
            ),
            positive="You rose with the legs doing the work and a moderate trunk lean.",
        ),
        Rule(
            id="strategy",
            title="Knee-vs-trunk strategy",
            source=(
                "Schmid, Arch Physiother 2022;12:8 (its stoop-squat bands; kneeback's own formula, "
                "docs/strategy-index.md); REFERENCES.md rule 6"
            ),
            grade="C",
            metrics=("strategy_index",),
            views=_SAGITTAL_VIEWS,
            severity="info",
            explanation=(
                "Strategy index {value:.0f} (0 = all knees, 100 = all trunk). This describes how "
                "you moved, to follow over time, not a right or wrong."
            ),
            cue="Knee-led practice keeps the knees strong and supple over the months.",
        ),
        Rule(
            id="sts_tests",
            title="Chair-stand tests",
            source="Bohannon 2006; CDC STEADI; Rikli & Jones 1999; Klukowska et al. 2020",
            grade="A",
            metrics=(),
            views=("side", "front", "back", "oblique"),
            severity="info",
            explanation="{value}",
            cue="Retest every few weeks under the same conditions to see the trend.",
        ),
        Rule(
            id="tempo",
            title="Tempo",
            source="ACSM position stand 2009; REFERENCES.md rule 8",
            grade="B",
            metrics=("descent_s", "ascent_s"),
            views=("side", "front", "back", "oblique"),
            severity="minor",
            settings=("tempo_min_phase_s",),
            explanation=(
                "{value} took under {threshold:.0f} s; 1-2 s down and 1-2 s up gives the "
                "muscles time to work."
            ),
            cue="Take 1-2 s each way: count 'one-and-two' down and 'one-and-two' up.",
            positive="Controlled tempo.",
        ),
        Rule(
            id="symmetry",
            title="Left/right balance",
            source="Munro et al., J Sport Rehabil 2012 (smallest real change 7.5-8.9 deg)",
            grade="B",
            metrics=("knee_flexion_asymmetry_deg",),
            views=_SAGITTAL_VIEWS,
            severity="minor",
            settings=("asymmetry_tolerance_deg",),
            explanation=(
                "Your knees bent {value:.0f} deg differently at the bottom, more than the "
                "measurement's smallest real change ({threshold:.0f} deg)."
            ),
            cue="Share the weight evenly; a mirror or a line on the floor helps.",
        ),
    )
}


#: Wording of the clip-level ``view_check`` findings, one per family of metrics that the clip
#: could not support: (what the family measures, what it needs). ``{filmed}`` is the view
#: ("Filmed from the front"), ``{rules}`` the rules not judged, ``{unc}`` the uncertainty of
#: values shown from single-camera 3D estimates.
VIEW_CHECK_TEXTS: dict[str, tuple[str, str]] = {
    "sagittal": ("bending angles of the knees, hips and trunk", "a side view"),
    "frontal": ("where the knees travel relative to the feet", "a front view"),
    "timing": ("the timing of each phase", "a higher frame rate"),
}

#: Sentences of the ``view_check`` findings.
VIEW_CHECK_REFUSED = (
    "{filmed}, this clip cannot show {what} ({needs} is needed), so {rules} could not be judged."
)
VIEW_CHECK_SHOWN = (
    "The report still gives these angles from the 3D estimate, with an uncertainty of about "
    "{unc:.0f} deg: for information only."
)
VIEW_CHECK_MISSING = "{filmed}, this clip cannot show {what} ({needs} is needed)."

#: How each view is named at the start of a ``view_check`` finding.
VIEW_PHRASES: dict[str, str] = {
    "front": "Filmed from the front",
    "back": "Filmed from behind",
    "side": "Filmed from the side",
    "oblique": "Filmed at an angle",
    "unknown": "From this camera angle",
    "timing": "At this frame rate",
}


def get_rule(rule_id: str, /) -> Rule:
    """Return a rule by id.

    Parameters
    ----------
    rule_id
        One of :data:`RULES`.

    Returns
    -------
    Rule
        The rule.
    """
    return RULES[rule_id]
