"""Progression through a track: pure logic over session summaries.

A stage's exit criteria must hold in ``exit.sessions`` sessions in a row (of the stage's movement,
recorded after the stage began, each with ``min_reps`` full reps, spanning ``min_span_days``);
then the person moves to the next stage, which starts counting after that session. A stage's keep
criteria failing in ``keep.sessions`` measured sessions in a row move the person back one stage.
Sessions where a metric of the gate was not measurable (wrong view, too few reps) neither count
for nor against: a filming problem is not a change in the person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from kneeback.movements.labels import metric_value_text
from kneeback.program.model import Criterion, Gate, Stage, Track

__all__ = [
    "CriterionCheck",
    "GateCheck",
    "SessionSummary",
    "StageProgress",
    "Transition",
    "check_gate",
    "replay_track",
]


@dataclass(frozen=True)
class SessionSummary:
    """What the program needs of one session.

    Attributes
    ----------
    session_id
        Database id.
    recorded_at
        When the clip was recorded.
    movement
        The movement analysed.
    values
        Metric name to the session value (median over full reps), None when not measured.
    full_reps
        Metric name to the number of full reps that measured it.
    """

    session_id: int
    recorded_at: dt.datetime
    movement: str
    values: dict[str, float | None]
    full_reps: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CriterionCheck:
    """One criterion in one session."""

    criterion: Criterion
    value: float | None
    passed: bool | None

    @property
    def text(self) -> str:
        """E.g. ``"Peak knee flexion 96° misses the target (at least 100°)"``."""
        c = self.criterion
        if self.value is None:
            return f"{c.label} not measured (target: {c.bound_text})"
        mark = "meets" if self.passed else "misses"
        value = metric_value_text(c.metric, self.value)
        return f"{c.label} {value} {mark} the target ({c.bound_text})"


@dataclass(frozen=True)
class GateCheck:
    """A gate in one session: measured (every metric with enough reps) and passed."""

    session: SessionSummary
    checks: tuple[CriterionCheck, ...]
    measured: bool
    passed: bool

    def summary(self) -> str:
        """Return the checks in one line."""
        return "; ".join(c.text for c in self.checks)


def check_gate(gate: Gate, session: SessionSummary, /) -> GateCheck:
    """Check a gate's criteria against one session.

    Parameters
    ----------
    gate
        Exit or keep criteria.
    session
        The session.

    Returns
    -------
    GateCheck
        Per-criterion results; ``measured`` is False when any metric is missing or has fewer than
        ``gate.min_reps`` full reps, and then ``passed`` is False too.
    """
    checks = []
    measured = True
    for c in gate.criteria:
        v = session.values.get(c.metric)
        enough = session.full_reps.get(c.metric, 0) >= gate.min_reps
        if v is None or not enough:
            measured = False
            checks.append(CriterionCheck(c, v if enough else None, None))
        else:
            checks.append(CriterionCheck(c, v, c.passes(v)))
    passed = measured and all(c.passed for c in checks)
    return GateCheck(session=session, checks=tuple(checks), measured=measured, passed=passed)


@dataclass(frozen=True)
class Transition:
    """A stage change found by :func:`replay_track`."""

    kind: str
    from_stage: str
    to_stage: str
    at: dt.datetime
    session_id: int
    reason: str


@dataclass(frozen=True)
class StageProgress:
    """Where a track stands after replaying the sessions.

    Attributes
    ----------
    stage
        The current stage.
    since
        When it began counting (None: from the first session).
    transitions
        Stage changes found in this replay, oldest first.
    exit_streak
        The current run of sessions meeting the exit criteria, oldest first.
    keep_fails
        The current run of measured sessions failing the keep criteria.
    last_exit_check, last_keep_check
        The latest measured check of each gate, for showing targets.
    sessions_seen
        Sessions of the stage's movement since the stage began.
    """

    stage: Stage
    since: dt.datetime | None
    transitions: tuple[Transition, ...]
    exit_streak: tuple[GateCheck, ...] = ()
    keep_fails: tuple[GateCheck, ...] = ()
    last_exit_check: GateCheck | None = None
    last_keep_check: GateCheck | None = None
    sessions_seen: int = 0


def _span_days(checks: Sequence[GateCheck]) -> float:
    if len(checks) < 2:
        return 0.0
    return (checks[-1].session.recorded_at - checks[0].session.recorded_at).total_seconds() / 86400


def _dates(checks: Sequence[GateCheck]) -> str:
    a = checks[0].session.recorded_at.date().isoformat()
    b = checks[-1].session.recorded_at.date().isoformat()
    return a if a == b else f"{a} to {b}"


def replay_track(
    track: Track,
    sessions: Sequence[SessionSummary],
    /,
    *,
    stage_id: str,
    since: dt.datetime | None,
) -> StageProgress:
    """Walk through the sessions after ``since`` and apply the track's stage changes.

    Parameters
    ----------
    track
        The track.
    sessions
        All of the person's sessions (any movement, any order).
    stage_id
        The stage the person is on.
    since
        When that stage began counting; None counts every session.

    Returns
    -------
    StageProgress
        The resulting stage, the transitions made, and the state of the current stage's gates.
    """
    idx = track.index(stage_id)
    stage = track.stages[idx]
    transitions: list[Transition] = []
    streak: list[GateCheck] = []
    fails: list[GateCheck] = []
    last_exit: GateCheck | None = None
    last_keep: GateCheck | None = None
    seen = 0
    ordered = sorted(sessions, key=lambda s: (s.recorded_at, s.session_id))
    for s in ordered:
        if since is not None and s.recorded_at <= since:
            continue
        if s.movement != stage.movement:
            continue
        seen += 1
        if stage.exit is not None:
            ex = check_gate(stage.exit, s)
            if ex.measured:
                last_exit = ex
                streak = [*streak, ex] if ex.passed else []
        if stage.keep is not None:
            kp = check_gate(stage.keep, s)
            if kp.measured:
                last_keep = kp
                fails = [] if kp.passed else [*fails, kp]
        gate = stage.exit
        if (
            gate is not None
            and len(streak) >= gate.sessions
            and _span_days(streak) >= gate.min_span_days
        ):
            held = streak
            nxt = track.stages[idx + 1]
            transitions.append(
                Transition(
                    kind="advance",
                    from_stage=stage.id,
                    to_stage=nxt.id,
                    at=s.recorded_at,
                    session_id=s.session_id,
                    reason=(
                        f"The exit criteria of '{stage.title}' held in {len(held)} sessions in a "
                        f"row ({_dates(held)}); latest: {held[-1].summary()}."
                    ),
                )
            )
            idx, stage, since = idx + 1, nxt, s.recorded_at
            streak, fails, last_exit, last_keep, seen = [], [], None, None, 0
            continue
        keep = stage.keep
        if keep is not None and idx > 0 and len(fails) >= keep.sessions:
            prev = track.stages[idx - 1]
            missed = fails[-keep.sessions :]
            transitions.append(
                Transition(
                    kind="regress",
                    from_stage=stage.id,
                    to_stage=prev.id,
                    at=s.recorded_at,
                    session_id=s.session_id,
                    reason=(
                        f"The measurements of '{stage.title}' fell below what the stage needs in "
                        f"{len(missed)} sessions in a row ({_dates(missed)}); latest: "
                        f"{missed[-1].summary()}. Back one stage to rebuild."
                    ),
                )
            )
            idx, stage, since = idx - 1, prev, s.recorded_at
            streak, fails, last_exit, last_keep, seen = [], [], None, None, 0
    return StageProgress(
        stage=stage,
        since=since,
        transitions=tuple(transitions),
        exit_streak=tuple(streak),
        keep_fails=tuple(fails),
        last_exit_check=last_exit,
        last_keep_check=last_keep,
        sessions_seen=seen,
    )
