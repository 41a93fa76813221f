"""Forgetting: a whole person (:func:`forget_person`) or one session (:func:`forget_session`).

Both delete the rows in one transaction and, after it commits, the files kneeback wrote for the
sessions, with the same care (:func:`_delete_files`): a file that another session still names,
one in an output folder that now holds a later analysis, or one that is not a kneeback output file
(a path an edited export named) is kept and listed with the reason; only
folders left empty are removed; the analysed source clips, which kneeback did not write, are left
in place and listed. :func:`session_to_forget` describes what forgetting a session would delete,
for a confirmation question.

The web app's rows that refer to a session are handled by the database's foreign keys (the store
does not know the web tables): its shares and the coaches' comments are deleted with it
(``ON DELETE CASCADE``) and an analysis job that stored it loses the link (``SET NULL``). SQLite
enforces these because every connection turns ``PRAGMA foreign_keys`` on
(:mod:`kneeback.store.db`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as OrmSession

from kneeback.errors import UnknownSessionError
from kneeback.report.output_names import is_output_file
from kneeback.store.db import Database
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
)
from kneeback.store.sessions import _iso, find_person

__all__ = [
    "delete_forgotten_files",
    "forget_person",
    "forget_person_rows",
    "forget_session",
    "session_to_forget",
]

#: Why a file is kept although its session is forgotten.
_WHY_REPLACED = "its folder now holds a later analysis"
_WHY_OTHER_PERSON = "also an artifact of another person's session"
_WHY_OTHER_SESSION = "also an artifact of another session"
_WHY_OUTSIDE = "outside the data folder"
_WHY_NOT_OURS = "not a file kneeback writes in an output folder"


def _count(s: OrmSession, q: Any) -> int:
    return int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)


def _replaced_artifacts(s: OrmSession, session_ids: Iterable[int], /) -> set[str]:
    """Artifact paths of these sessions whose output folder now holds another analysis.

    An output folder can be written again later (``kneeback analyze ... -o`` the same folder,
    for someone else or for no one): its ``result.json`` then differs from the result stored
    with the session, and none of that session's files are the person's any more.
    """
    import json

    out: set[str] = set()
    q = select(Session.id, Session.result_json).where(Session.id.in_(list(session_ids)))
    for sid, stored in s.execute(q):
        arts = dict(
            s.execute(select(Artifact.kind, Artifact.path).where(Artifact.session_id == sid)).all()
        )
        on_disk = arts.get("result_json")
        if on_disk is None:
            continue
        try:
            current = json.loads(Path(on_disk).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # gone or unreadable: nothing there to protect
        try:
            same = current == json.loads(stored)
        except ValueError:
            same = False
        if not same:
            out.update(arts.values())
    return out


def _inside(path: Path, root: Path, /) -> bool:
    """Whether ``path`` lies strictly inside ``root``, links resolved (a link out is outside)."""
    inner, outer = path.resolve(), root.resolve()
    return inner != outer and inner.is_relative_to(outer)


def _delete_files(
    paths: Iterable[str], /, *, keep: dict[str, str], inside: str | Path | None = None
) -> dict[str, Any]:
    """Delete the files of forgotten sessions (after the rows are gone), then emptied folders.

    Parameters
    ----------
    paths
        The artifact paths of the forgotten sessions.
    keep
        Paths not to delete, each with the reason (listed as kept).
    inside
        When given, only files and folders strictly inside this folder are deleted (links
        resolved); the others are kept, listed as outside the data folder.

    Only kneeback's own output files are deleted (:func:`~kneeback.report.output_names.
    is_output_file`: one of the names an output folder holds, beside a ``result.json`` that
    kneeback wrote); any other path a stored artifact names, as an export edited before
    ``kneeback import`` could, is kept and listed.

    Returns
    -------
    dict
        ``files_deleted``, ``folders_deleted`` (the output folders this left empty),
        ``files_missing`` (already gone) and ``files_kept`` (path and why).
    """
    deleted: list[str] = []
    missing: list[str] = []
    kept: list[dict[str, str]] = []
    todo = sorted(set(paths))
    # Decided before anything goes: deleting a folder's result.json unmakes the others' proof.
    ours = {p for p in todo if is_output_file(Path(p))}
    for path in todo:
        if path in keep:
            kept.append({"path": path, "why": keep[path]})
            continue
        f = Path(path)
        if inside is not None and not _inside(f, Path(inside)):
            kept.append({"path": path, "why": _WHY_OUTSIDE})
            continue
        if not f.exists() and not f.is_symlink():
            missing.append(path)
            continue
        if path not in ours:
            kept.append({"path": path, "why": _WHY_NOT_OURS})
            continue
        try:
            f.unlink()
            deleted.append(path)
        except FileNotFoundError:
            missing.append(path)
        except OSError as exc:
            kept.append({"path": path, "why": exc.strerror or str(exc)})
    folders = []
    for parent in sorted(
        {Path(p).parent for p in deleted}, key=lambda q: len(q.parts), reverse=True
    ):
        if inside is not None and not _inside(parent, Path(inside)):
            continue
        try:
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()  # an output folder that held only the forgotten files
                folders.append(str(parent))
        except OSError:
            pass
    return {
        "files_deleted": deleted,
        "folders_deleted": folders,
        "files_missing": missing,
        "files_kept": kept,
    }


def _keep_reasons(
    s: OrmSession, paths: list[str], /, *, others: Any, why_shared: str, session_ids: Any
) -> dict[str, str]:
    """Return the paths among ``paths`` to keep, each with the reason.

    Kept: a path a session matching ``others`` (a where clause on :class:`Session`) also names,
    and the files of the sessions ``session_ids`` selects whose output folder was written again.
    """
    keep = dict.fromkeys(_replaced_artifacts(s, s.scalars(session_ids)), _WHY_REPLACED)
    shared = s.scalars(select(Artifact.path).join(Session).where(others, Artifact.path.in_(paths)))
    keep.update(dict.fromkeys(shared, why_shared))
    return {p: why for p, why in keep.items() if p in paths}


def forget_person_rows(s: OrmSession, name: str, /) -> dict[str, Any]:
    """Delete a person and every row that belongs to them, in the caller's transaction.

    The first half of :func:`forget_person`, for a caller that deletes more in the same
    transaction (the web app's account deletion); after the commit, hand the result to
    :func:`delete_forgotten_files`.

    Parameters
    ----------
    s
        The open transaction.
    name
        The person.

    Returns
    -------
    dict
        ``name``, ``rows`` deleted per table, and what :func:`delete_forgotten_files` needs.

    Raises
    ------
    UnknownPersonError
        When no such person is stored.
    """
    p = find_person(s, name)
    sids = select(Session.id).where(Session.person_id == p.id).scalar_subquery()
    rids = select(Rep.id).where(Rep.session_id.in_(sids)).scalar_subquery()
    rows = {
        "people": 1,
        "sessions": _count(s, select(Session.id).where(Session.person_id == p.id)),
        "reps": _count(s, select(Rep.id).where(Rep.session_id.in_(sids))),
        "rep_metrics": _count(s, select(RepMetric.id).where(RepMetric.rep_id.in_(rids))),
        "findings": _count(s, select(Finding.id).where(Finding.session_id.in_(sids))),
        "artifacts": _count(s, select(Artifact.id).where(Artifact.session_id.in_(sids))),
        "outcomes": _count(s, select(OutcomeEntry.id).where(OutcomeEntry.person_id == p.id)),
        "program_states": _count(s, select(ProgramState.id).where(ProgramState.person_id == p.id)),
        "program_events": _count(s, select(ProgramEvent.id).where(ProgramEvent.person_id == p.id)),
    }
    paths = sorted(set(s.scalars(select(Artifact.path).where(Artifact.session_id.in_(sids)))))
    keep = _keep_reasons(
        s,
        paths,
        others=Session.person_id != p.id,
        why_shared=_WHY_OTHER_PERSON,
        session_ids=select(Session.id).where(Session.person_id == p.id),
    )
    sources = sorted(
        {sp for sp in s.scalars(select(Session.source_path).where(Session.person_id == p.id)) if sp}
    )
    # Children first: the same on every backend, with or without ON DELETE CASCADE.
    s.execute(delete(RepMetric).where(RepMetric.rep_id.in_(rids)))
    s.execute(delete(Rep).where(Rep.session_id.in_(sids)))
    s.execute(delete(Finding).where(Finding.session_id.in_(sids)))
    s.execute(delete(Artifact).where(Artifact.session_id.in_(sids)))
    s.execute(delete(OutcomeEntry).where(OutcomeEntry.person_id == p.id))
    s.execute(delete(ProgramEvent).where(ProgramEvent.person_id == p.id))
    s.execute(delete(ProgramState).where(ProgramState.person_id == p.id))
    s.execute(delete(Session).where(Session.person_id == p.id))
    s.execute(delete(Person).where(Person.id == p.id))
    return {"name": p.name, "rows": rows, "paths": paths, "keep": keep, "sources": sources}


def delete_forgotten_files(
    forgotten: dict[str, Any], /, *, delete_files_in: str | Path | None = None
) -> dict[str, Any]:
    """Delete the files of a person whose rows :func:`forget_person_rows` deleted (committed).

    Parameters
    ----------
    forgotten
        What :func:`forget_person_rows` returned, once its transaction has committed.
    delete_files_in
        As for :func:`forget_person`.

    Returns
    -------
    dict
        ``name``, ``rows``, ``files_deleted``, ``folders_deleted``, ``files_missing``,
        ``files_kept`` (path and why) and ``source_files_left``, as :func:`forget_person`.
    """
    done = dict(forgotten)
    sources = done.pop("sources")
    files = _delete_files(done.pop("paths"), keep=done.pop("keep"), inside=delete_files_in)
    return done | files | {"source_files_left": sources}


def forget_person(
    db: Database, name: str, /, *, delete_files_in: str | Path | None = None
) -> dict[str, Any]:
    """Delete a person, every row that belongs to them and every artifact file of theirs.

    The rows go in one transaction; the files are deleted after it commits (a file shared with
    another person's session is kept). The analysed source clips were not written by kneeback
    and are not deleted; they are listed.

    Parameters
    ----------
    db
        The database.
    name
        The person.
    delete_files_in
        When given (the web app's analyses), only artifact files inside this folder are deleted,
        links resolved: a file that a session stored on the command line keeps elsewhere, or a
        link out of the folder, is kept and listed.

    Returns
    -------
    dict
        Rows deleted per table, files deleted, files already missing, files kept and why, and
        the source clips left in place.
    """
    forgotten = db.write(lambda s: forget_person_rows(s, name))
    return delete_forgotten_files(forgotten, delete_files_in=delete_files_in)


# ---- one session ---------------------------------------------------------------------------------


def _find_session(s: OrmSession, session_id: int, person: str | None, /) -> Session:
    """Return the session of that id (of that person, when named)."""
    owner = None if person is None else find_person(s, person)
    row = s.get(Session, session_id)
    if row is None:
        see = f"`kneeback history {owner.name}`" if owner else "`kneeback history NAME`"
        raise UnknownSessionError(f"No session #{session_id} is stored (see {see}).")
    if owner is not None and row.person_id != owner.id:
        raise UnknownSessionError(
            f"Session #{session_id} is not {owner.name}'s (see `kneeback history {owner.name}`)."
        )
    return row


def _session_plan(s: OrmSession, row: Session, /) -> dict[str, Any]:
    """Read what forgetting ``row`` deletes and keeps, before anything is deleted."""
    rids = select(Rep.id).where(Rep.session_id == row.id).scalar_subquery()
    outcomes = list(
        s.scalars(
            select(OutcomeEntry)
            .where(OutcomeEntry.session_id == row.id)
            .order_by(OutcomeEntry.recorded_at, OutcomeEntry.id)
        )
    )
    # Stage changes are recorded at the recorded time of the session that called for them.
    changes = s.scalars(
        select(ProgramEvent)
        .where(
            ProgramEvent.person_id == row.person_id,
            ProgramEvent.kind.in_(("advance", "regress")),
            ProgramEvent.at == row.recorded_at,
        )
        .order_by(ProgramEvent.at, ProgramEvent.id)
    )
    paths = sorted({a.path for a in row.artifacts})
    return {
        "session": {
            "id": row.id,
            "uid": row.uid,
            "name": row.person.name,
            "recorded_at": _iso(row.recorded_at),
            "movement": row.movement,
            "view": row.view,
            "reps": row.rep_count,
        },
        "rows": {
            "sessions": 1,
            "reps": _count(s, select(Rep.id).where(Rep.session_id == row.id)),
            "rep_metrics": _count(s, select(RepMetric.id).where(RepMetric.rep_id.in_(rids))),
            "findings": _count(s, select(Finding.id).where(Finding.session_id == row.id)),
            "artifacts": _count(s, select(Artifact.id).where(Artifact.session_id == row.id)),
            "outcomes": len(outcomes),
        },
        "outcomes": [{"kind": o.kind, "value": o.value, "source": o.source} for o in outcomes],
        "program_changes_kept": [
            {
                "track": e.track,
                "kind": e.kind,
                "from": e.from_stage,
                "to": e.to_stage,
                "at": _iso(e.at),
                "reason": e.reason,
            }
            for e in changes
        ],
        "paths": paths,
        "source": row.source_path,
    }


def session_to_forget(
    db: Database, session_id: int, /, *, person: str | None = None
) -> dict[str, Any]:
    """Describe what :func:`forget_session` would delete, without deleting anything.

    Parameters
    ----------
    db
        The database.
    session_id
        The session's id (``kneeback history`` shows it).
    person
        When given, the session must be this person's.

    Returns
    -------
    dict
        ``session`` (id, uid, name, recorded_at, movement, view, reps), ``rows`` per table,
        ``outcomes`` it created, ``program_changes_kept`` (see :func:`forget_session`), ``files``
        (its artifact files that are kneeback output files, the ones forgetting deletes unless
        another session names them) and ``source`` (the analysed clip, or None).

    Raises
    ------
    UnknownSessionError
        When no such session is stored, or it is not ``person``'s.
    UnknownPersonError
        When ``person`` is not stored.
    """

    def work(s: OrmSession) -> dict[str, Any]:
        plan = _session_plan(s, _find_session(s, session_id, person))
        plan["files"] = [p for p in plan.pop("paths") if is_output_file(Path(p))]
        return plan

    return db.read(work)


def forget_session(
    db: Database,
    session_id: int,
    /,
    *,
    person: str | None = None,
    delete_sources_in: str | Path | None = None,
    delete_files_in: str | Path | None = None,
    check: Callable[[OrmSession, Session], None] | None = None,
) -> dict[str, Any]:
    """Delete one session, its rows and the files kneeback wrote for it.

    One transaction deletes the session with its reps, rep metrics, findings, file records and
    the outcome entries it created (a sit-to-stand clip's five-times or 30-second test, which
    name the session); through the database's foreign keys the web app's share of it and the
    coaches' comments on it go too, and an analysis job that stored it loses the link. After the
    commit the files are deleted as :func:`forget_person` deletes them: a file another session
    also names, or one in an output folder that now holds a later analysis, is kept and listed
    with the reason; a folder is removed only when this leaves it empty. The analysed source
    clip is left in place and listed, unless it lies in ``delete_sources_in`` and no other
    session names it.

    Progress and the program: trends, the smallest detectable change from the person's own
    measurements and the program's evaluation are computed from the stored sessions each time,
    so from now on none of them counts this session (a streak of sessions toward the next stage
    that it was part of loses it). The program's state and history are records of decisions made
    on the data of their day, and are kept as they are: a stage change this session called for
    and that was already recorded stays, with its reason, and the person stays on the stage it
    led to. It is returned (``program_changes_kept``) so that the caller can say so; a coach
    moves the person back with an override (``kneeback program NAME --override``) when the
    session should not have counted.

    Parameters
    ----------
    db
        The database.
    session_id
        The session's id (``kneeback history`` shows it).
    person
        When given, the session must be this person's.
    delete_sources_in
        A folder whose clips kneeback wrote itself (the web app's uploads): the session's
        source clip is deleted too when it lies inside it.
    check
        Called inside the transaction, with the session, before anything is deleted; it refuses
        the deletion by raising (nothing is deleted then).

    Returns
    -------
    dict
        ``session`` (what it was), ``rows`` deleted per table, ``outcomes`` deleted,
        ``program_changes_kept``, ``files_deleted``, ``folders_deleted``, ``files_missing``,
        ``files_kept`` (path and why), ``source_files_left`` and ``source_files_deleted``.

    Raises
    ------
    UnknownSessionError
        When no such session is stored, or it is not ``person``'s.
    UnknownPersonError
        When ``person`` is not stored.
    """
    sources_root = None if delete_sources_in is None else Path(delete_sources_in).resolve()

    def work(s: OrmSession) -> dict[str, Any]:
        row = _find_session(s, session_id, person)
        if check is not None:
            check(s, row)
        plan = _session_plan(s, row)
        others = Session.id != row.id
        plan["keep"] = _keep_reasons(
            s,
            plan["paths"],
            others=others,
            why_shared=_WHY_OTHER_SESSION,
            session_ids=select(Session.id).where(Session.id == row.id),
        )
        src = plan["source"]
        plan["source_shared"] = bool(
            src and s.scalar(select(Session.id).where(others, Session.source_path == src).limit(1))
        )
        rids = select(Rep.id).where(Rep.session_id == row.id).scalar_subquery()
        # Children first: the same on every backend, with or without ON DELETE CASCADE.
        s.execute(delete(RepMetric).where(RepMetric.rep_id.in_(rids)))
        s.execute(delete(Rep).where(Rep.session_id == row.id))
        s.execute(delete(Finding).where(Finding.session_id == row.id))
        s.execute(delete(Artifact).where(Artifact.session_id == row.id))
        s.execute(delete(OutcomeEntry).where(OutcomeEntry.session_id == row.id))
        s.execute(delete(Session).where(Session.id == row.id))
        return plan

    done = db.write(work)
    files = _delete_files(done.pop("paths"), keep=done.pop("keep"), inside=delete_files_in)
    src, shared = done.pop("source"), done.pop("source_shared")
    left, gone = ([src] if src else []), []
    if src and not shared and sources_root is not None:
        clip = Path(src).resolve()
        if sources_root in clip.parents:
            clip.unlink(missing_ok=True)
            left, gone = [], [src]
    return done | files | {"source_files_left": left, "source_files_deleted": gone}
