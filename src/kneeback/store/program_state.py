"""A person's place in the staged program: evaluate, record stage changes, coach overrides.

:func:`program_status` replays the person's sessions since each track's stage began (see
:mod:`kneeback.program.progression`), records any advance or regression with its reason, and
returns what to show: the current stage, why, the targets for the next, and this week's plan.
Everything it writes is one transaction; the state rows are locked while it runs, so two
evaluations at once record each change once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession

from kneeback.errors import BadValueError
from kneeback.movements.labels import metric_value_text
from kneeback.program.model import Program, Stage, Track, load_program
from kneeback.program.progression import SessionSummary, StageProgress, replay_track
from kneeback.store.db import Database
from kneeback.store.models import Person, ProgramEvent, ProgramState, Session, utcnow
from kneeback.store.sessions import _fix_tz, _iso, find_person, load_session_metrics

__all__ = ["override_stage", "program_status"]


def _summaries(s: OrmSession, person_id: int) -> list[SessionSummary]:
    out = []
    for m in load_session_metrics(s, person_id).values():
        out.append(
            SessionSummary(
                session_id=m.session_id,
                recorded_at=m.recorded_at,
                movement=m.movement,
                values={k: v for k, v in m.values().items()},
                full_reps={k: len(v) for k, v in m.full.items()},
            )
        )
    return out


def _event(
    person: Person,
    *,
    at: dt.datetime,
    track: str,
    from_stage: str | None,
    to_stage: str,
    kind: str,
    reason: str,
    program: Program,
    coach: str | None = None,
) -> ProgramEvent:
    return ProgramEvent(
        uid=uuid.uuid4().hex,
        person_id=person.id,
        at=at,
        track=track,
        from_stage=from_stage,
        to_stage=to_stage,
        kind=kind,
        reason=reason,
        coach=coach,
        program=program.name,
    )


class _NeedsWriteError(Exception):
    """A read-only evaluation found stage changes to record: redo it in a write transaction."""


def _states(
    s: OrmSession, person: Person, program: Program, *, record: bool = True
) -> dict[str, ProgramState]:
    query = select(ProgramState).where(ProgramState.person_id == person.id)
    rows = {st.track: st for st in s.scalars(query.with_for_update() if record else query)}
    now = utcnow()
    earliest = s.scalar(select(func.min(Session.recorded_at)).where(Session.person_id == person.id))
    start_at = min(now, _fix_tz(earliest) or now)
    for track in program.tracks:
        if track.id in rows:
            st = rows[track.id]
            if st.stage not in [x.id for x in track.stages]:
                raise BadValueError(
                    f"{person.name} is on stage {st.stage!r} of track {track.id!r}, which the "
                    f"program {program.name!r} does not have; set a stage with --override."
                )
            continue
        if not record:
            raise _NeedsWriteError()
        first = track.stages[0]
        st = ProgramState(
            person_id=person.id, track=track.id, stage=first.id, since=None, updated_at=now
        )
        s.add(st)
        s.add(
            _event(
                person,
                at=start_at,
                track=track.id,
                from_stage=None,
                to_stage=first.id,
                kind="start",
                reason=f"Every track starts at its first stage, '{first.title}'.",
                program=program,
            )
        )
        rows[track.id] = st
    s.flush()
    return rows


def _criteria(stage: Stage, progress: StageProgress) -> list[dict[str, Any]]:
    if stage.exit is None:
        return []
    latest = progress.last_exit_check
    values = {} if latest is None else {c.criterion.metric: c.value for c in latest.checks}
    out = []
    for c in stage.exit.criteria:
        v = values.get(c.metric)
        out.append(
            {
                "metric": c.metric,
                "target": c.bound,
                "text": c.text,
                "why": c.why,
                "latest": v,
                "latest_text": None if v is None else metric_value_text(c.metric, v),
                "met": None if v is None else c.passes(v),
            }
        )
    return out


def _late_sessions(s: OrmSession, person: Person, st: ProgramState, movement: str) -> list[str]:
    """Return the days of sessions stored after the stage began but recorded before it.

    Stage changes are decided as sessions arrive; a clip stored late, dated before the current
    stage began, does not count for it (nor undo a change already made), and the coach is told.
    """
    since = _fix_tz(st.since)
    if since is None:
        return []
    q = select(Session.recorded_at, Session.stored_at).where(
        Session.person_id == person.id, Session.movement == movement
    )
    days = []
    for recorded, stored in s.execute(q):
        rec, sto = _fix_tz(recorded), _fix_tz(stored)
        if rec is not None and sto is not None and rec < since < sto:
            days.append(rec.date().isoformat())
    return sorted(days)


def _track_view(
    track: Track, st: ProgramState, progress: StageProgress, last_reason: str | None
) -> dict[str, Any]:
    stage = progress.stage
    idx = track.index(stage.id)
    nxt = track.stages[idx + 1] if idx + 1 < len(track.stages) else None
    gate = stage.exit
    view: dict[str, Any] = {
        "track": track.id,
        "track_title": track.title,
        "stage": stage.id,
        "stage_title": stage.title,
        "stage_number": idx + 1,
        "stages": len(track.stages),
        "since": _iso(st.since),
        "why": last_reason,
        "movement": stage.movement,
        "film": stage.film,
        "measure": list(stage.measure),
        "plan": list(stage.plan),
        "sessions_on_stage": progress.sessions_seen,
        "next_stage": None if nxt is None else nxt.id,
        "next_stage_title": None if nxt is None else nxt.title,
        "targets": _criteria(stage, progress),
        "sessions_needed": None if gate is None else gate.sessions,
        "sessions_held": len(progress.exit_streak),
        "min_reps": None if gate is None else gate.min_reps,
        "min_span_days": None if gate is None else gate.min_span_days,
        "keep": []
        if stage.keep is None
        else [
            {"metric": c.metric, "target": c.bound, "text": c.text, "why": c.why}
            for c in stage.keep.criteria
        ],
        "keep_sessions": None if stage.keep is None else stage.keep.sessions,
        "keep_sessions_failed": len(progress.keep_fails),
        "changes": [
            {
                "kind": t.kind,
                "from": t.from_stage,
                "to": t.to_stage,
                "at": _iso(t.at),
                "reason": t.reason,
            }
            for t in progress.transitions
        ],
    }
    return view


def _evaluate(
    s: OrmSession, person: Person, prog: Program, *, record: bool = True
) -> dict[str, StageProgress]:
    """Replay every track and record the stage changes the sessions call for.

    With ``record=False`` nothing is written: :class:`_NeedsWriteError` is raised instead when there
    is something to record.
    """
    states = _states(s, person, prog, record=record)
    summaries = _summaries(s, person.id)
    out = {}
    for track in prog.tracks:
        st = states[track.id]
        progress = replay_track(track, summaries, stage_id=st.stage, since=st.since)
        if progress.transitions and not record:
            raise _NeedsWriteError()
        for t in progress.transitions:
            s.add(
                _event(
                    person,
                    at=t.at,
                    track=track.id,
                    from_stage=t.from_stage,
                    to_stage=t.to_stage,
                    kind=t.kind,
                    reason=t.reason,
                    program=prog,
                )
            )
        if progress.transitions:
            st.stage, st.since, st.updated_at = progress.stage.id, progress.since, utcnow()
        out[track.id] = progress
    s.flush()
    return out


def _override(
    s: OrmSession,
    person: Person,
    prog: Program,
    stage: str,
    *,
    reason: str,
    coach: str | None,
) -> dict[str, Any]:
    track, target = prog.find_stage(stage)
    st = _states(s, person, prog)[track.id]
    now = utcnow()
    before = st.stage
    st.stage, st.since, st.updated_at = target.id, now, now
    s.add(
        _event(
            person,
            at=now,
            track=track.id,
            from_stage=before,
            to_stage=target.id,
            kind="override",
            reason=reason,
            program=prog,
            coach=coach,
        )
    )
    s.flush()
    return {
        "name": person.name,
        "track": track.id,
        "from": before,
        "to": target.id,
        "reason": reason,
        "coach": coach,
        "at": _iso(now),
    }


def _check_override(prog: Program, stage: str, reason: str | None) -> str:
    if not reason or not reason.strip():
        raise BadValueError("A coach override needs a reason (--reason TEXT).")
    try:
        prog.find_stage(stage)
    except KeyError:
        raise BadValueError(
            f"No stage {stage!r} in {prog.name!r}; stages: {', '.join(prog.stage_ids())}."
        ) from None
    return reason.strip()


def program_status(
    db: Database,
    name: str,
    /,
    *,
    program: Program | None = None,
    override: str | None = None,
    reason: str | None = None,
    coach: str | None = None,
) -> dict[str, Any]:
    """Evaluate and record a person's program stages; return what to show, track by track.

    Everything is one transaction: the stage changes the sessions call for, then the coach's
    override when one is given. When there is nothing to record (the usual case when someone only
    looks) it is a read-only transaction.

    Parameters
    ----------
    db
        The database.
    name
        The person.
    program
        The program; defaults to the one shipped with kneeback.
    override
        A stage id to put the person on by a coach's decision (it counts sessions from now on).
    reason
        Why (required with ``override``).
    coach
        Who decided the override.

    Returns
    -------
    dict
        ``name``, ``program``, ``override`` (the override recorded, or None) and ``tracks``: per
        track the current stage, why, the targets for the next stage with the latest values,
        sessions held so far, this week's plan and the changes recorded in this evaluation.
    """
    prog = program or load_program()
    why = None if override is None else _check_override(prog, override, reason)

    def work(s: OrmSession, record: bool = True) -> dict[str, Any]:
        person = find_person(s, name)
        progress = _evaluate(s, person, prog, record=record)
        done = None
        if override is not None:
            assert why is not None
            done = _override(s, person, prog, override, reason=why, coach=coach)
            track = prog.track(done["track"])
            st = _states(s, person, prog)[track.id]
            progress[track.id] = replay_track(
                track, _summaries(s, person.id), stage_id=st.stage, since=st.since
            )
        states = _states(s, person, prog, record=record)
        tracks = []
        for track in prog.tracks:
            last = s.scalar(
                select(ProgramEvent)
                .where(ProgramEvent.person_id == person.id, ProgramEvent.track == track.id)
                .order_by(ProgramEvent.at.desc(), ProgramEvent.id.desc())
                .limit(1)
            )
            reason_ = None
            if last is not None:
                reason_ = last.reason
                if last.kind == "override":
                    who = f" by {last.coach}" if last.coach else ""
                    reason_ = f"Coach override{who}: {reason_}"
            view = _track_view(track, states[track.id], progress[track.id], reason_)
            view["late_sessions"] = _late_sessions(s, person, states[track.id], view["movement"])
            tracks.append(view)
        return {"name": person.name, "program": prog.name, "override": done, "tracks": tracks}

    if override is None:
        # Most looks at a program find nothing new to record: read without taking the write
        # lock (on SQLite a write transaction excludes every other writer while it lasts).
        try:
            return db.read(lambda s: work(s, record=False))
        except _NeedsWriteError:
            pass
    return db.write(work)


def override_stage(
    db: Database,
    name: str,
    stage: str,
    /,
    *,
    reason: str,
    coach: str | None = None,
    program: Program | None = None,
) -> dict[str, Any]:
    """Set a person's stage by a coach's decision, recording the reason (one transaction).

    Stage changes that earlier sessions call for are recorded first; the new stage counts
    sessions from now on.

    Parameters
    ----------
    db
        The database.
    name
        The person.
    stage
        A stage id of the program.
    reason
        Why (required).
    coach
        Who decided.
    program
        The program; defaults to the one shipped with kneeback.

    Returns
    -------
    dict
        The override recorded.
    """
    prog = program or load_program()
    why = _check_override(prog, stage, reason)

    def work(s: OrmSession) -> dict[str, Any]:
        person = find_person(s, name)
        _evaluate(s, person, prog)
        return _override(s, person, prog, stage, reason=why, coach=coach)

    return db.write(work)
