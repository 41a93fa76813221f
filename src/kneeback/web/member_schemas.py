"""Response models of a member's history, progress and program in the JSON API.

They describe what :func:`kneeback.store.person_history`,
:func:`kneeback.progress.report.progress_to_dict` and :func:`kneeback.store.program_status`
return, key for key, so that ``/openapi.json`` documents it; the routes add the member's username
as ``name``. The routes send these with ``response_model_exclude_unset``: a key the store leaves
out (``change_since_first`` of an outcome that has no earlier one to compare with) stays out
rather than coming back as null. Times are ISO 8601 in UTC; a value is in its metric's unit
(``_deg`` degrees, ``_s`` seconds, otherwise as the trend's ``unit`` says).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MemberHistory",
    "MemberProgram",
    "MemberProgress",
]

_UTC = "ISO 8601 date and time, UTC."
_VALUES = (
    "Metric name to the session's value: the median over its full reps, rounded to 3 decimals, "
    "in the metric's unit (names ending _deg: degrees, _s: seconds; strategy_index 0-100; "
    "heel_lift_peak foot lengths; knee_inside_ankle_bottom and wobble_hip_height leg lengths; "
    "knee_width_ratio_bottom a ratio); null when no full rep measured it."
)


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


# ---- history -------------------------------------------------------------------------------------


class HistoryFinding(_Out):
    """A finding of a stored session, in short."""

    id: str = Field(description="The rule's id (its section of /rules).")
    severity: str = Field(description="positive, info, minor or major.")
    title: str
    rep: int | None = Field(
        description="The repetition's index from 0; null for a finding about the whole clip."
    )


class HistorySession(_Out):
    """One stored session with its key values."""

    id: int
    uid: str = Field(description="The session's permanent random id (exports, imports).")
    recorded_at: str = Field(description=f"When the clip was recorded; {_UTC}")
    movement: str
    view: str = Field(description="The camera's view of the body: side, front, ...")
    measurement: str = Field(description="How it was measured: video_2d, video_world, marker.")
    capture: str = Field(description="The verdict on the clip as a recording.")
    verdict: str = Field(description="The verdict on the movement.")
    reps: int = Field(description="Repetitions found, partial ones included.")
    full_reps: int = Field(description="Full (not partial) repetitions.")
    values: dict[str, float | None] = Field(description=_VALUES)
    findings: list[HistoryFinding]


class HistoryOutcome(_Out):
    """An outcome measure as it was entered or taken from a clip."""

    kind: str = Field(description="odi, five_sts or chair_stand_30s.")
    recorded_at: str = Field(description=_UTC)
    value: float = Field(
        description="odi: the 0-100 score (%); five_sts: seconds; chair_stand_30s: stands."
    )
    source: str = Field(description="entered, or clip (taken from a sit-to-stand session).")
    age_years: int | None = Field(description="The person's age when entered, in years.")
    sex: str | None = Field(description="As entered, for the norms.")


class ProgramEventOut(_Out):
    """A change of program stage."""

    at: str = Field(description=_UTC)
    track: str
    kind: str = Field(description="start, advance, regress or override.")
    from_stage: str | None = Field(alias="from", description="The stage before; null at start.")
    to: str = Field(description="The stage after.")
    reason: str
    coach: str | None = Field(description="The coach who decided an override.")


class MemberHistory(_Out):
    """A page of a member's sessions (oldest first), their outcome measures and program changes."""

    name: str = Field(description="The member's username.")
    sessions: list[HistorySession] = Field(
        description=(
            "One page, oldest first: the `limit` sessions before the `offset` newest ones "
            "(X-Total-Count: how many there are in all)."
        )
    )
    outcomes: list[HistoryOutcome] = Field(description="All of them on every page; oldest first.")
    program_events: list[ProgramEventOut] = Field(
        description="All of them on every page; oldest first."
    )


# ---- progress ------------------------------------------------------------------------------------


class TrendSession(_Out):
    """One session's value of a trended metric."""

    session_id: int
    recorded_at: str = Field(description=_UTC)
    value: float = Field(description="The median over the session's full reps, in the unit.")
    reps: int = Field(description="The full reps that measured it.")


class Trend(_Out):
    """A metric over the member's sessions of one movement, judged against its SDC."""

    movement: str
    metric: str
    unit: str = Field(description="deg, s, 'index 0-100', 'foot lengths', ...; '' for none.")
    sessions: list[TrendSession] = Field(description="Oldest first.")
    baseline: float | None = Field(
        description="Mean of the first sessions, in the unit; null with fewer than two."
    )
    recent: float | None = Field(
        description="Mean of the last sessions, in the unit; null with fewer than two."
    )
    change: float | None = Field(description="recent - baseline, in the unit.")
    window_sessions: int = Field(description="Sessions averaged at each end.")
    sdc: float | None = Field(
        description="Smallest detectable change (95%) used, in the unit; null when not known."
    )
    sdc_basis: Literal["own", "reference", "unknown"] = Field(
        description="own: from the member's repeated reps; reference: published (REFERENCES.md)."
    )
    sdc_text: str = Field(description="How the SDC was obtained, in a sentence.")
    own_sdc: float | None = Field(
        description="The SDC estimated from the member's own data, in the unit, when enough."
    )
    verdict: str = Field(
        description=(
            "real increase, real decrease, no real change yet, one session only or no sessions."
        )
    )
    direction: str | None = Field(
        description="For a real change of a metric with a clear aim: whether it is better."
    )
    slope_per_30d: float | None = Field(
        description="Least-squares slope, in the unit per 30 days (for the plot, not the verdict)."
    )
    text: str = Field(description="The trend in one sentence for the member.")


class ProgressOutcome(_Out):
    """An outcome measure judged against its norms."""

    recorded_at: str = Field(description=_UTC)
    value: float = Field(
        description="odi: the 0-100 score (%); five_sts: seconds; chair_stand_30s: stands."
    )
    source: str = Field(description="entered, or clip.")
    band: str | None = Field(description="The norm band; null when the value was not judged.")
    judgement: str = Field(description="The judgement in a sentence.")
    change_since_first: str | None = Field(
        default=None,
        description="ODI after a judged first entry only: the change since it, in words.",
    )
    meaningful: bool | None = Field(
        default=None,
        description="ODI after a judged first entry only: whether that change is meaningful.",
    )


class MemberProgress(_Out):
    """A member's trends against the smallest detectable change, and outcome measures."""

    name: str = Field(description="The member's username.")
    generated_at: str = Field(description=f"When the report was made; {_UTC}")
    trends: list[Trend] = Field(description="Movements in order of first session.")
    outcomes: dict[str, list[ProgressOutcome]] = Field(
        description="By kind (odi, five_sts, chair_stand_30s), oldest first."
    )


# ---- program -------------------------------------------------------------------------------------


class KeepCriterion(_Out):
    """A criterion that must keep holding on the current stage."""

    metric: str
    target: str = Field(description="The bound in the metric's unit: '>= 100' or '<= 45'.")
    text: str = Field(description="The criterion for people.")
    why: str


class Target(KeepCriterion):
    """A criterion for the next stage with the member's latest value."""

    latest: float | None = Field(
        description="The value of the latest session checked, in the metric's unit."
    )
    latest_text: str | None = Field(description="That value for people, with its unit.")
    met: bool | None = Field(description="Whether it meets the target; null without a value.")


class StageChange(_Out):
    """A stage change recorded by this evaluation."""

    kind: str = Field(description="advance or regress.")
    from_stage: str = Field(alias="from")
    to: str
    at: str = Field(description=_UTC)
    reason: str


class TrackStatus(_Out):
    """Where the member stands in one track of the program, and what comes next."""

    track: str
    track_title: str
    stage: str
    stage_title: str
    stage_number: int = Field(description="From 1.")
    stages: int = Field(description="Stages in the track.")
    since: str | None = Field(
        description=f"When the stage began counting sessions; null for the first stage. {_UTC}"
    )
    why: str | None = Field(description="Why the member is on this stage.")
    movement: str = Field(description="The movement to film on this stage.")
    film: str = Field(description="How to film it.")
    measure: list[str] = Field(description="The metrics this stage watches.")
    plan: list[str] = Field(description="This week's plan, a line each.")
    sessions_on_stage: int
    next_stage: str | None
    next_stage_title: str | None
    targets: list[Target] = Field(description="What moves the member to the next stage.")
    sessions_needed: int | None = Field(description="Sessions in a row that must meet them.")
    sessions_held: int = Field(description="Sessions in a row that met them so far.")
    min_reps: int | None = Field(description="Full reps a session needs to count.")
    min_span_days: float | None = Field(
        description="Days from the first to the last of those sessions, at least."
    )
    keep: list[KeepCriterion] = Field(description="What must keep holding on this stage.")
    keep_sessions: int | None
    keep_sessions_failed: int
    changes: list[StageChange]
    late_sessions: list[str] = Field(
        description=(
            "ISO dates of sessions stored after the stage began but recorded before it: they do "
            "not count for it."
        )
    )


class StageOverrideOut(_Out):
    """A coach's stage override, as recorded."""

    name: str = Field(description="The member's stored person.")
    track: str
    from_stage: str = Field(alias="from")
    to: str
    reason: str
    coach: str | None
    at: str = Field(description=_UTC)


class MemberProgram(_Out):
    """A member's stage per track, why, the next targets and this week's plan."""

    name: str = Field(description="The member's username.")
    program: str = Field(description="The program's name.")
    override: StageOverrideOut | None = Field(
        description="The override this request recorded (POST .../stage); else null."
    )
    tracks: list[TrackStatus]
