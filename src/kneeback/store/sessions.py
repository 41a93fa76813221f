"""Storing and reading people, sessions and outcomes; export and import.

The functions that take a :class:`~kneeback.store.db.Database` (:func:`store_session`,
:func:`list_people`, :func:`person_history`, :func:`record_outcome`, :func:`export_person`,
:func:`import_person`) are each one unit of work on it: one transaction, whose writes commit
whole or not at all. :func:`find_person` and :func:`load_session_metrics` take an ORM session
and work inside the caller's transaction; :func:`artifact_paths` is pure (no database).
Forgetting a person or a session is in :mod:`kneeback.store.forget`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import defer, selectinload

from kneeback.errors import (
    BadValueError,
    PersonExistsError,
    UnknownPersonError,
)
from kneeback.report.result import AnalysisResult
from kneeback.store.db import Database
from kneeback.store.export_file import EXPORT_FORMAT, EXPORT_FORMAT_VERSION, read_export
from kneeback.store.models import (
    Artifact,
    Finding,
    OutcomeEntry,
    Person,
    ProgramEvent,
    ProgramState,
    Rep,
    RepMetric,
    Session,
    utcnow,
)

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_FORMAT_VERSION",
    "SessionMetrics",
    "artifact_paths",
    "export_person",
    "find_person",
    "import_person",
    "list_people",
    "load_session_metrics",
    "person_history",
    "record_outcome",
    "same_clip_session",
    "store_session",
]


def _uid() -> str:
    return uuid.uuid4().hex


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat()


def _parse_time(text: str | None, what: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise BadValueError(f"{what} {text!r} is not an ISO date or time.") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _aware(t: dt.datetime | None) -> dt.datetime:
    if t is None:
        return utcnow()
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _clean_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise BadValueError("A person's name cannot be empty.")
    if len(name) > 200:
        raise BadValueError("A person's name can be at most 200 characters long.")
    return name


def find_person(session: OrmSession, name: str, /) -> Person:
    """Return the person of that name.

    Raises
    ------
    UnknownPersonError
        When nobody of that name is stored; the message suggests close names.
    """
    name = _clean_name(name)
    person = session.scalar(select(Person).where(Person.name == name))
    if person is not None:
        return person
    names = list(session.scalars(select(Person.name)))
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    close += [n for n in names if n.lower() == name.lower() and n not in close]
    if close:
        raise UnknownPersonError(
            f"No person named {name!r} is stored; did you mean {' or '.join(map(repr, close))}?"
        )
    raise UnknownPersonError(f"No person named {name!r} is stored (see `kneeback people`).")


def _get_or_create_person(session: OrmSession, name: str, /) -> Person:
    name = _clean_name(name)
    person = session.scalar(select(Person).where(Person.name == name))
    if person is not None:
        return person
    try:
        with session.begin_nested():
            person = Person(uid=_uid(), name=name, created_at=utcnow())
            session.add(person)
    except IntegrityError:  # another process created them first (PostgreSQL)
        person = session.scalar(select(Person).where(Person.name == name))
        if person is None:
            raise
    return person


def _capture_verdict(result: AnalysisResult) -> str:
    return "limited" if result.capture.issues else "good"


def _trusted(result: AnalysisResult, metric: str, /) -> bool:
    """Whether a metric of this clip may enter trends: measurable and judgeable from its view."""
    status = result.capture.metrics.get(metric)
    return status is None or (status.measurable and status.judgeable)


def _add_session_rows(
    session: OrmSession,
    person: Person,
    result: AnalysisResult,
    /,
    *,
    artifacts: Mapping[str, str | Path],
    recorded_at: dt.datetime,
    source_path: str | None,
    uid: str | None = None,
    stored_at: dt.datetime | None = None,
    clip_outcomes: bool = True,
) -> Session:
    row = Session(
        uid=uid or _uid(),
        person_id=person.id,
        recorded_at=recorded_at,
        stored_at=stored_at or utcnow(),
        movement=result.movement.used,
        movement_recognised=result.movement.recognised,
        view=result.view.used,
        measurement=result.capture.measurement,
        capture_verdict=_capture_verdict(result),
        verdict=result.verdict,
        rep_count=len(result.reps),
        source_path=source_path,
        result_schema_version=result.schema_version,
        result_json=result.to_json(indent=None),
    )
    for r in result.reps:
        rep = Rep(
            index=r.index,
            start_s=r.start_s,
            end_s=r.end_s,
            peak_s=r.peak_s,
            side=r.side,
            partial=r.partial,
            verdict=r.verdict,
        )
        for name, v in r.metrics.items():
            if not _trusted(result, name):
                # Shown in the report for information only: kept in the result JSON, but out of
                # trends and program criteria (REFERENCES.md rule 1).
                rep.metrics.append(RepMetric(name=name, value=None, flag=None))
            elif isinstance(v, bool):
                rep.metrics.append(RepMetric(name=name, value=None, flag=v))
            elif v is None or not math.isfinite(float(v)):
                rep.metrics.append(RepMetric(name=name, value=None, flag=None))
            else:
                rep.metrics.append(RepMetric(name=name, value=float(v), flag=None))
        row.reps.append(rep)
    for f in result.findings:
        row.findings.append(
            Finding(
                rule_id=f.id,
                severity=f.severity,
                grade=f.grade,
                source=f.source,
                title=f.title,
                text=f.text,
                cue=f.cue,
                rep_index=f.rep,
                time_s=f.time_s,
                value=f.value,
                threshold=f.threshold,
            )
        )
    for kind, path in artifacts.items():
        row.artifacts.append(Artifact(kind=str(kind), path=str(path)))
    session.add(row)
    session.flush()
    if clip_outcomes and result.tests is not None:
        tests = result.tests
        if tests.five_times_sts_s is not None:
            session.add(_clip_outcome(person, row, "five_sts", tests.five_times_sts_s))
        if tests.chair_stands_30s is not None:
            session.add(_clip_outcome(person, row, "chair_stand_30s", tests.chair_stands_30s))
    return row


def _clip_outcome(person: Person, row: Session, kind: str, value: float) -> OutcomeEntry:
    return OutcomeEntry(
        uid=_uid(),
        person_id=person.id,
        session_id=row.id,
        kind=kind,
        recorded_at=row.recorded_at,
        value=float(value),
        age_years=_current_age(person, row.recorded_at),
        sex=person.sex,
        source="clip",
    )


def _current_age(person: Person, at: dt.datetime) -> int | None:
    if person.age_years is None or person.age_given_at is None:
        return None
    years = (at - person.age_given_at).total_seconds() / (365.2425 * 86400)
    return max(0, person.age_years + math.floor(years))


def artifact_paths(files: Any, /) -> dict[str, Path]:
    """Artifact paths by kind from an output record such as ``report.outputs.OutputFiles``.

    Every field holding a path becomes one artifact (the ``folder`` field excepted); fields
    holding several paths are numbered (``mot_0``, ``mot_1``); empty fields are skipped.
    """
    import dataclasses

    out: dict[str, Path] = {}
    for f in dataclasses.fields(files):
        if f.name == "folder":
            continue
        value = getattr(files, f.name)
        if isinstance(value, str | Path):
            out[f.name] = Path(value)
        elif isinstance(value, tuple | list):
            for i, v in enumerate(value):
                out[f"{f.name}_{i}"] = Path(v)
    return out


def store_session(
    db: Database,
    person: str,
    result: AnalysisResult,
    /,
    *,
    artifacts: Mapping[str, str | Path] | None = None,
    recorded_at: dt.datetime | None = None,
    source_path: str | Path | None = None,
    then: Callable[[OrmSession, int], None] | None = None,
) -> int:
    """Store one analysed clip for a person (created if new), in one transaction.

    Parameters
    ----------
    db
        The open database.
    person
        The person's name.
    result
        What :func:`kneeback.analysis.analyse` returned.
    artifacts
        Files the analysis wrote, by kind (e.g. ``{"report_html": Path(...), "video": ...}``);
        stored as absolute paths so that ``forget`` can delete them.
    recorded_at
        When the clip was recorded (naive times are UTC); defaults to now.
    source_path
        The analysed video or pose file.
    then
        Called in the same transaction with the new session's id, e.g. to mark the job that
        analysed the clip done; an exception it raises stores nothing.

    Returns
    -------
    int
        The id of the new session.

    Notes
    -----
    Sit-to-stand clips with a five-times or 30-second chair-stand result also add an outcome
    entry (source ``"clip"``). A failure at any point leaves nothing stored.
    """
    when = _aware(recorded_at)
    paths = {k: str(Path(v).expanduser().resolve()) for k, v in (artifacts or {}).items()}
    src = None if source_path is None else str(Path(source_path).expanduser().resolve())

    def work(s: OrmSession) -> int:
        p = _get_or_create_person(s, person)
        row = _add_session_rows(s, p, result, artifacts=paths, recorded_at=when, source_path=src)
        if then is not None:
            s.flush()
            then(s, row.id)
        return row.id

    return db.write(work)


def same_clip_session(
    db: Database,
    person: str,
    source_path: str | Path,
    /,
    *,
    recorded_at: dt.datetime | None,
    result: AnalysisResult,
) -> int | None:
    """Return the id of a stored session of ``person`` analysed from this same clip, if any.

    The same clip: the same source file (resolved path) recorded at the same time, or, when
    neither the file nor the caller says when it was recorded, giving the same analysis result.
    Storing it again would count one clip twice in progress (its measurement error too) and in
    the program's sessions in a row.

    Parameters
    ----------
    db
        The open database.
    person
        The person's name (none stored: None).
    source_path
        The analysed video or pose file.
    recorded_at
        When the clip was recorded, if known (naive times are UTC).
    result
        The new analysis.
    """
    src = str(Path(source_path).expanduser().resolve())
    when = None if recorded_at is None else _aware(recorded_at)

    def work(s: OrmSession) -> int | None:
        p = s.scalar(select(Person).where(Person.name == _clean_name(person)))
        if p is None:
            return None
        q = select(Session.id, Session.recorded_at, Session.result_json).where(
            Session.person_id == p.id, Session.source_path == src
        )
        new = None
        for sid, at, stored in s.execute(q.order_by(Session.id)):
            if when is not None:
                if _aware(at) == when:
                    return int(sid)
                continue
            new = new if new is not None else json.loads(result.to_json())
            if json.loads(stored) == new:
                return int(sid)
        return None

    return db.read(work)


def list_people(db: Database, /) -> list[dict[str, Any]]:
    """Everyone stored, with session and outcome counts and first and last session times."""

    def work(s: OrmSession) -> list[dict[str, Any]]:
        sess = dict(
            (pid, (n, a, b))
            for pid, n, a, b in s.execute(
                select(
                    Session.person_id,
                    func.count(Session.id),
                    func.min(Session.recorded_at),
                    func.max(Session.recorded_at),
                ).group_by(Session.person_id)
            ).all()
        )
        outs = dict(
            s.execute(
                select(OutcomeEntry.person_id, func.count(OutcomeEntry.id)).group_by(
                    OutcomeEntry.person_id
                )
            ).all()
        )
        stages: dict[int, list[str]] = defaultdict(list)
        for pid, track, stage in s.execute(
            select(ProgramState.person_id, ProgramState.track, ProgramState.stage).order_by(
                ProgramState.id
            )
        ):
            stages[pid].append(f"{track}: {stage}")
        rows = []
        for p in s.scalars(select(Person).order_by(Person.name)):
            n, first, last = sess.get(p.id, (0, None, None))
            rows.append(
                {
                    "name": p.name,
                    "sessions": int(n),
                    "outcomes": int(outs.get(p.id, 0)),
                    "first_session": _iso(_fix_tz(first)),
                    "last_session": _iso(_fix_tz(last)),
                    "program": stages.get(p.id, []),
                }
            )
        return rows

    return db.read(work)


def _fix_tz(t: Any) -> dt.datetime | None:
    """Make aggregates (min/max), which bypass the column type on SQLite, aware UTC datetimes."""
    if t is None:
        return None
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t)
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def person_history(
    db: Database,
    name: str,
    /,
    *,
    movement: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """Return a person's sessions (oldest first) with key values, outcomes and program changes.

    Parameters
    ----------
    db
        The open database.
    name
        The person's name.
    movement
        Only the sessions of this movement.
    limit, offset
        A window of the sessions, counted back from the newest: the ``limit`` sessions before
        the ``offset`` newest ones (``limit`` None: all of them). The database does the limiting,
        and only the window's rep values are read. Outcomes and program changes stay whole.

    Returns
    -------
    dict
        ``name``; ``sessions`` (the window's, oldest first, each with its findings, rep values,
        source path and artifact paths); ``outcomes`` and ``program_events`` (oldest first).
        When ``limit`` or ``offset`` is given, also ``session_total``: how many sessions (of the
        movement) the person has in all.
    """
    windowed = limit is not None or offset > 0

    def work(s: OrmSession) -> dict[str, Any]:
        p = find_person(s, name)
        which = [Session.person_id == p.id]
        if movement:
            which.append(Session.movement == movement)
        # the findings and artifacts of all the sessions in two queries; not the stored result
        q = (
            select(Session)
            .where(*which)
            .options(
                defer(Session.result_json),
                selectinload(Session.findings),
                selectinload(Session.artifacts),
            )
        )
        if windowed:
            total = s.scalar(select(func.count()).select_from(Session).where(*which)) or 0
            newest = q.order_by(Session.recorded_at.desc(), Session.id.desc())
            sessions = list(s.scalars(newest.limit(limit).offset(offset)))[::-1]
            ids = [row.id for row in sessions]
            metrics = load_session_metrics(s, p.id, movement=movement, session_ids=ids)
        else:
            sessions = list(s.scalars(q.order_by(Session.recorded_at, Session.id)))
            total = len(sessions)
            metrics = load_session_metrics(s, p.id, movement=movement)
        out_sessions = []
        for row in sessions:
            m = metrics.get(row.id)
            findings = [
                {"id": f.rule_id, "severity": f.severity, "title": f.title, "rep": f.rep_index}
                for f in row.findings
            ]
            out_sessions.append(
                {
                    "id": row.id,
                    "uid": row.uid,
                    "recorded_at": _iso(row.recorded_at),
                    "movement": row.movement,
                    "view": row.view,
                    "measurement": row.measurement,
                    "capture": row.capture_verdict,
                    "verdict": row.verdict,
                    "reps": row.rep_count,
                    "full_reps": 0 if m is None else m.full_rep_count,
                    "values": {} if m is None else m.values(),
                    "findings": findings,
                    "source_path": row.source_path,
                    "artifacts": {a.kind: a.path for a in row.artifacts},
                }
            )
        outcomes = [
            {
                "kind": o.kind,
                "recorded_at": _iso(o.recorded_at),
                "value": o.value,
                "source": o.source,
                "age_years": o.age_years,
                "sex": o.sex,
            }
            for o in s.scalars(
                select(OutcomeEntry)
                .where(OutcomeEntry.person_id == p.id)
                .order_by(OutcomeEntry.recorded_at, OutcomeEntry.id)
            )
        ]
        events = [
            {
                "at": _iso(e.at),
                "track": e.track,
                "kind": e.kind,
                "from": e.from_stage,
                "to": e.to_stage,
                "reason": e.reason,
                "coach": e.coach,
            }
            for e in s.scalars(
                select(ProgramEvent)
                .where(ProgramEvent.person_id == p.id)
                .order_by(ProgramEvent.at, ProgramEvent.id)
            )
        ]
        history: dict[str, Any] = {
            "name": p.name,
            "sessions": out_sessions,
            "outcomes": outcomes,
            "program_events": events,
        }
        if windowed:
            history["session_total"] = int(total)
        return history

    return db.read(work)


@dataclass
class SessionMetrics:
    """Per-metric rep values of one session, as the progress and program code need them.

    Attributes
    ----------
    session_id, recorded_at, movement, measurement
        The session.
    full
        Metric name to the values of the full (not partial) reps that measured it.
    full_rep_count
        Number of full reps in the session.
    """

    session_id: int
    recorded_at: dt.datetime
    movement: str
    measurement: str
    full: dict[str, list[float]] = field(default_factory=dict)
    full_rep_count: int = 0

    def values(self) -> dict[str, float | None]:
        """Session values: medians over full reps, rounded for display."""
        return {k: None if (m := _median(v)) is None else round(m, 3) for k, v in self.full.items()}


def load_session_metrics(
    session: OrmSession,
    person_id: int,
    /,
    *,
    movement: str | None = None,
    metric: str | None = None,
    session_ids: Collection[int] | None = None,
) -> dict[int, SessionMetrics]:
    """Read every numeric rep metric of a person's sessions in one query.

    Parameters
    ----------
    session
        ORM session.
    person_id
        The person.
    movement, metric
        Optional filters.
    session_ids
        Only these sessions (of the person): the database reads no other session's reps.

    Returns
    -------
    dict
        Session id to :class:`SessionMetrics`, in recording order.
    """
    q = select(Session.id, Session.recorded_at, Session.movement, Session.measurement).where(
        Session.person_id == person_id
    )
    if movement:
        q = q.where(Session.movement == movement)
    if session_ids is not None:
        q = q.where(Session.id.in_(session_ids))
    out: dict[int, SessionMetrics] = {}
    for sid, at, mov, meas in session.execute(q.order_by(Session.recorded_at, Session.id)):
        out[sid] = SessionMetrics(session_id=sid, recorded_at=at, movement=mov, measurement=meas)
    counts = (
        select(Rep.session_id, func.count(Rep.id))
        .join(Session)
        .where(Session.person_id == person_id, Rep.partial.is_(False))
    )
    if session_ids is not None:
        counts = counts.where(Rep.session_id.in_(session_ids))
    for sid, n in session.execute(counts.group_by(Rep.session_id)):
        if sid in out:
            out[sid].full_rep_count = int(n)
    mq = (
        select(Rep.session_id, RepMetric.name, RepMetric.value)
        .join(Rep, RepMetric.rep_id == Rep.id)
        .join(Session, Rep.session_id == Session.id)
        .where(
            Session.person_id == person_id,
            Rep.partial.is_(False),
            RepMetric.value.is_not(None),
        )
        .order_by(Rep.session_id, Rep.index)
    )
    if movement:
        mq = mq.where(Session.movement == movement)
    if metric:
        mq = mq.where(RepMetric.name == metric)
    if session_ids is not None:
        mq = mq.where(Rep.session_id.in_(session_ids))
    for sid, name, value in session.execute(mq):
        if sid in out and value is not None:
            out[sid].full.setdefault(name, []).append(float(value))
    return out


# ---- outcomes ------------------------------------------------------------------------------


def record_outcome(
    db: Database,
    name: str,
    /,
    *,
    kind: str,
    value: float,
    answers: list[int | None] | None = None,
    age: int | None = None,
    sex: str | None = None,
    recorded_at: dt.datetime | None = None,
    create: bool = False,
) -> dict[str, Any]:
    """Store an outcome entry, judge it against the norms and compare it with the previous one.

    Parameters
    ----------
    db
        The database.
    name
        The person.
    kind
        ``"odi"``, ``"five_sts"`` or ``"chair_stand_30s"``.
    value
        ODI score 0-100, seconds, or count.
    answers
        The ten ODI answers, when given.
    age, sex
        Age in years and ``"male"``/``"female"``; remembered for later entries.
    recorded_at
        When the test was done; defaults to now.
    create
        Create the person when unknown.

    Returns
    -------
    dict
        The entry, its judgement (band, text, sources) and, with an earlier entry of the same
        kind, the change.
    """
    from kneeback.progress.outcomes import check_outcome, judge, odi_change
    from kneeback.progress.settings import ProgressSettings

    check_outcome(kind, float(value))
    if sex is not None and sex not in ("male", "female"):
        raise BadValueError(f"--sex takes 'male' or 'female', not {sex!r}.")
    if age is not None and not 5 <= age <= 120:
        raise BadValueError(f"An age of {age} years is out of range (5-120).")
    when = _aware(recorded_at)

    def work(s: OrmSession) -> dict[str, Any]:
        p = _get_or_create_person(s, name) if create else find_person(s, name)
        if age is not None:
            p.age_years, p.age_given_at = age, when
        if sex is not None:
            p.sex = sex
        s.flush()
        entry_age = age if age is not None else _current_age(p, when)
        entry_sex = sex or p.sex
        prev = s.scalar(
            select(OutcomeEntry)
            .where(OutcomeEntry.person_id == p.id, OutcomeEntry.kind == kind)
            .where(OutcomeEntry.recorded_at <= when)
            .order_by(OutcomeEntry.recorded_at.desc(), OutcomeEntry.id.desc())
            .limit(1)
        )
        first = s.scalar(
            select(OutcomeEntry)
            .where(OutcomeEntry.person_id == p.id, OutcomeEntry.kind == kind)
            .order_by(OutcomeEntry.recorded_at, OutcomeEntry.id)
            .limit(1)
        )
        entry = OutcomeEntry(
            uid=_uid(),
            person_id=p.id,
            kind=kind,
            recorded_at=when,
            value=float(value),
            answers=answers,
            age_years=entry_age,
            sex=entry_sex,
            source="entered",
        )
        j = judge(kind, float(value), age=entry_age, sex=entry_sex)
        s.add(entry)
        s.flush()
        out: dict[str, Any] = {
            "name": p.name,
            "kind": kind,
            "value": float(value),
            "answers": answers,
            "recorded_at": _iso(when),
            "age_years": entry_age,
            "sex": entry_sex,
            "band": j.band,
            "judgement": j.text,
            "sources": list(j.sources),
            "change": None,
        }
        if prev is not None:
            change: dict[str, Any] = {
                "previous": prev.value,
                "previous_at": _iso(prev.recorded_at),
                "difference": float(value) - prev.value,
            }
            if kind == "odi":
                ps = ProgressSettings()
                meaningful, text = odi_change(
                    prev.value,
                    float(value),
                    meaningful_points=ps.odi_meaningful_points,
                    meaningful_fraction=ps.odi_meaningful_fraction,
                )
                change.update(meaningful=meaningful, text=text)
                if first is not None and first.id != prev.id:
                    m0, t0 = odi_change(
                        first.value,
                        float(value),
                        meaningful_points=ps.odi_meaningful_points,
                        meaningful_fraction=ps.odi_meaningful_fraction,
                    )
                    change.update(since_first=t0, since_first_meaningful=m0)
            else:
                diff = float(value) - prev.value
                amount = f"{diff:+.1f} s" if kind == "five_sts" else f"{diff:+.0f} stands"
                earlier = _aware(prev.recorded_at).date().isoformat()
                change.update(
                    meaningful=None,
                    text=(
                        f"{amount} since {earlier}"
                        "; REFERENCES.md gives no smallest detectable change for this test, so "
                        "the change is shown, not judged."
                    ),
                )
            out["change"] = change
        return out

    return db.write(work)


# ---- export and import ---------------------------------------------------------------------


def export_person(db: Database, name: str, /) -> dict[str, Any]:
    """Everything stored about a person, as JSON-ready data (see :func:`import_person`).

    The analysis results are included whole; reps, metrics and findings are rebuilt from them on
    import. Artifact files are referenced by path, not copied.
    """
    from kneeback import __version__

    def work(s: OrmSession) -> dict[str, Any]:
        p = find_person(s, name)
        sessions = list(
            s.scalars(
                select(Session)
                .where(Session.person_id == p.id)
                .order_by(Session.recorded_at, Session.id)
                .options(selectinload(Session.artifacts))  # one query, not one per session
            )
        )
        uid_of = {row.id: row.uid for row in sessions}
        return {
            "format": EXPORT_FORMAT,
            "format_version": EXPORT_FORMAT_VERSION,
            "kneeback_version": __version__,
            "person": {
                "uid": p.uid,
                "name": p.name,
                "created_at": _iso(p.created_at),
                "sex": p.sex,
                "age_years": p.age_years,
                "age_given_at": _iso(p.age_given_at),
            },
            "sessions": [
                {
                    "uid": row.uid,
                    "recorded_at": _iso(row.recorded_at),
                    "stored_at": _iso(row.stored_at),
                    "source_path": row.source_path,
                    "artifacts": [{"kind": a.kind, "path": a.path} for a in row.artifacts],
                    "result": json.loads(row.result_json),
                }
                for row in sessions
            ],
            "outcomes": [
                {
                    "uid": o.uid,
                    "kind": o.kind,
                    "recorded_at": _iso(o.recorded_at),
                    "value": o.value,
                    "answers": o.answers,
                    "age_years": o.age_years,
                    "sex": o.sex,
                    "source": o.source,
                    "session_uid": None if o.session_id is None else uid_of[o.session_id],
                }
                for o in s.scalars(
                    select(OutcomeEntry)
                    .where(OutcomeEntry.person_id == p.id)
                    .order_by(OutcomeEntry.recorded_at, OutcomeEntry.id)
                )
            ],
            "program": {
                "states": [
                    {
                        "track": st.track,
                        "stage": st.stage,
                        "since": _iso(st.since),
                        "updated_at": _iso(st.updated_at),
                    }
                    for st in s.scalars(
                        select(ProgramState)
                        .where(ProgramState.person_id == p.id)
                        .order_by(ProgramState.track)
                    )
                ],
                "events": [
                    {
                        "uid": e.uid,
                        "at": _iso(e.at),
                        "track": e.track,
                        "from_stage": e.from_stage,
                        "to_stage": e.to_stage,
                        "kind": e.kind,
                        "reason": e.reason,
                        "coach": e.coach,
                        "program": e.program,
                    }
                    for e in s.scalars(
                        select(ProgramEvent)
                        .where(ProgramEvent.person_id == p.id)
                        .order_by(ProgramEvent.at, ProgramEvent.id)
                    )
                ],
            },
        }

    return db.read(work)


def import_person(
    db: Database, data: Mapping[str, Any], /, *, name: str | None = None
) -> dict[str, Any]:
    """Import a person exported by :func:`export_person`, in one transaction.

    The whole export is validated first (:func:`kneeback.store.export_file.read_export`):
    nothing is written unless every record in it can be stored and read back.

    Parameters
    ----------
    db
        The database.
    data
        The parsed export.
    name
        Store under this name instead (a copy: every record gets a new id).

    Returns
    -------
    dict
        The name and the number of sessions, outcomes and program events imported.

    Raises
    ------
    InputError
        When the data are not a usable kneeback export (the message names the first problem).
    BadValueError
        When ``name`` is not a usable name.
    PersonExistsError
        When a person of that name exists, or this export is already stored.
    """
    export, results = read_export(data)
    person_d = export.person
    copy = name is not None and name != person_d.name
    new_name = _clean_name(name if name is not None else person_d.name)

    def keep(u: str | None) -> str:
        return _uid() if copy or not u else u

    def time(text: str | None) -> dt.datetime | None:
        return _parse_time(text, "time")

    def work(s: OrmSession) -> dict[str, Any]:
        if s.scalar(select(Person.id).where(Person.name == new_name)) is not None:
            raise PersonExistsError(
                f"A person named {new_name!r} is already stored; import under another name "
                "with --name, or forget the stored one first."
            )
        puid = keep(person_d.uid)
        other = s.scalar(select(Person.name).where(Person.uid == puid))
        if other is not None:
            raise PersonExistsError(
                f"This export is already stored as {other!r}; import a copy with --name."
            )
        p = Person(
            uid=puid,
            name=new_name,
            created_at=time(person_d.created_at) or utcnow(),
            sex=person_d.sex,
            age_years=person_d.age_years,
            age_given_at=time(person_d.age_given_at),
        )
        s.add(p)
        s.flush()
        by_uid: dict[str, int] = {}
        for sd, result in zip(export.sessions, results, strict=True):
            row = _add_session_rows(
                s,
                p,
                result,
                artifacts={a.kind: a.path for a in sd.artifacts},
                recorded_at=_aware(time(sd.recorded_at)),
                source_path=sd.source_path,
                uid=keep(sd.uid),
                stored_at=time(sd.stored_at),
                clip_outcomes=False,
            )
            if sd.uid:
                by_uid[sd.uid] = row.id
        for od in export.outcomes:
            s.add(
                OutcomeEntry(
                    uid=keep(od.uid),
                    person_id=p.id,
                    session_id=None if od.session_uid is None else by_uid[od.session_uid],
                    kind=od.kind,
                    recorded_at=_aware(time(od.recorded_at)),
                    value=float(od.value),
                    answers=od.answers,
                    age_years=od.age_years,
                    sex=od.sex,
                    source=od.source,
                )
            )
        for st in export.program.states:
            s.add(
                ProgramState(
                    person_id=p.id,
                    track=st.track,
                    stage=st.stage,
                    since=time(st.since),
                    updated_at=time(st.updated_at) or utcnow(),
                )
            )
        for e in export.program.events:
            s.add(
                ProgramEvent(
                    uid=keep(e.uid),
                    person_id=p.id,
                    at=_aware(time(e.at)),
                    track=e.track,
                    from_stage=e.from_stage,
                    to_stage=e.to_stage,
                    kind=e.kind,
                    reason=e.reason,
                    coach=e.coach,
                    program=e.program,
                )
            )
        s.flush()
        return {
            "name": new_name,
            "sessions": len(export.sessions),
            "outcomes": len(export.outcomes),
            "program_events": len(export.program.events),
            "copy": copy,
        }

    return db.write(work)
