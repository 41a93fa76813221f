"""Commands for history, progress, outcomes and the staged program.

``people``, ``history``, ``progress``, ``outcome``, ``export``, ``import``, ``forget`` and
``program``. Mount them on the main app with :func:`register`. Every command takes ``--db URL``
(default: ``KNEEBACK_DATABASE_URL`` or the SQLite file in the user's data directory) and
``--json``. Commands only orchestrate: the work is in :mod:`kneeback.store`,
:mod:`kneeback.progress` and :mod:`kneeback.program`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kneeback.cli_support import out, user_errors
from kneeback.errors import BadValueError, InputError, OutputError
from kneeback.movements.labels import metric_label, metric_value_text
from kneeback.movements.specs import ALL_METRICS, MOVEMENT_NAMES

if TYPE_CHECKING:
    from kneeback.program.model import Program

__all__ = [
    "export",
    "forget",
    "history",
    "import_",
    "outcome",
    "people",
    "program",
    "progress",
    "register",
]


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: KNEEBACK_DATABASE_URL, else kneeback.db in the user data "
        "folder).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
NameArg = Annotated[str, typer.Argument(help="The person's name.")]
MovementOption = Annotated[
    str | None,
    typer.Option(help=f"Only this movement: one of {', '.join(MOVEMENT_NAMES)}."),
]
#: The metrics ``progress --metric`` takes: every one but the yes/no ``hip_below_knee``.
_TRENDED_METRICS = ", ".join(m for m in ALL_METRICS if m != "hip_below_knee")


def _open(db: str | None) -> Any:
    from kneeback.store import open_database

    return open_database(db)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _day(iso: str | None) -> str:
    return "-" if not iso else iso[:10]


def _plural(n: int, one: str, many: str | None = None) -> str:
    """``1 session``, ``2 sessions``, ``1 outcome entry``, ``3 outcome entries``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _when(text: str | None) -> dt.datetime | None:
    """Parse ``--date`` (naive times are UTC); a day after today (local date) is refused."""
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadValueError(f"--date takes an ISO date such as 2026-03-01, not {text!r}.") from None
    day = t.date() if t.tzinfo is None else t.astimezone().date()
    today = dt.date.today()
    if day > today:
        raise BadValueError(
            f"--date {text} is after today ({today.isoformat()}); give the day the test was done."
        )
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _check_movement(movement: str | None) -> None:
    from kneeback.movements.specs import MOVEMENT_NAMES

    if movement is not None and movement not in MOVEMENT_NAMES:
        raise BadValueError(
            f"Unknown movement {movement!r}; choose one of {', '.join(MOVEMENT_NAMES)}."
        )


def _reason(exc: OSError) -> str:
    """Why a file operation failed, in a few words (``permission denied``)."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def _words(code: str) -> str:
    """``needs_work`` -> ``needs work``, ``sit_to_stand`` -> ``sit to stand``."""
    return code.replace("_", " ")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


# ---- people and history ------------------------------------------------------------------------


@user_errors
def people(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List everyone stored, with their sessions and program stages."""
    from kneeback.store import list_people

    with _open(db) as database:
        rows = list_people(database)
    if as_json:
        _print_json({"people": rows})
        return
    if not rows:
        out.print("Nobody is stored yet; `kneeback analyze CLIP --person NAME` adds someone.")
        return
    prog = _default_program()
    for r in rows:
        named = []
        for entry in r["program"]:  # "track: stage"
            track, _, stage = str(entry).partition(": ")
            named.append(f"{prog.track_title(track)}: {prog.stage_title(stage)}")
        stages = "; ".join(named) or "no program yet"
        out.print(
            f"{r['name']}: {_plural(r['sessions'], 'session')} ({_day(r['first_session'])} to "
            f"{_day(r['last_session'])}), "
            f"{_plural(r['outcomes'], 'outcome entry', 'outcome entries')}; {stages}"
        )


#: The metrics a history line shows, when the session measured them.
_HISTORY_METRICS = (
    "knee_flexion_peak_deg",
    "trunk_inclination_peak_deg",
    "strategy_index",
    "knee_fppa_peak_deg",
    "descent_s",
    "ascent_s",
)


#: What a program event did, in words.
_PROGRAM_EVENTS = {
    "start": "started on",
    "advance": "moved up to",
    "regress": "moved back to",
    "override": "set by a coach to",
}


def _session_line(s: dict[str, Any]) -> str:
    reps = _plural(s["reps"], "rep")
    line = (
        f"session #{s['id']}: {_words(s['movement'])} ({s['view']} view), {reps} "
        f"({s['full_reps']} full), capture {s['capture']}, verdict: {_words(s['verdict'])}"
    )
    vals = [
        f"{metric_label(k)[0]} {metric_value_text(k, s['values'][k])}"
        for k in _HISTORY_METRICS
        if s["values"].get(k) is not None
    ]
    return line + ("\n" + " " * 14 + "; ".join(vals) if vals else "")


def _outcome_line(o: dict[str, Any]) -> str:
    from kneeback.progress.outcomes import OUTCOME_LABELS

    label, unit = OUTCOME_LABELS.get(o["kind"], (o["kind"], ""))
    return f"outcome: {label} {_fmt(o['value'])}{unit}"


def _default_program() -> Program:
    """Return the program shipped with kneeback, whose titles name stages and tracks."""
    from kneeback.program.model import load_program

    return load_program()


def _event_line(e: dict[str, Any], prog: Program | None = None) -> str:
    prog = prog or _default_program()
    did = _PROGRAM_EVENTS.get(e["kind"], _words(e["kind"]) + " to")
    why = f" ({str(e['reason']).rstrip('.')})" if e.get("reason") else ""
    return f"program, {prog.track_title(e['track'])}: {did} '{prog.stage_title(e['to'])}'{why}"


def _sort_time(iso: str | None) -> dt.datetime:
    if not iso:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    t = dt.datetime.fromisoformat(iso)
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


@user_errors
def history(
    name: NameArg,
    movement: MovementOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a person's sessions, outcome entries and program changes, oldest first."""
    from kneeback.store import person_history

    _check_movement(movement)
    with _open(db) as database:
        h = person_history(database, name, movement=movement)
    if as_json:
        _print_json(h)
        return
    out.print(
        f"{h['name']}: {_plural(len(h['sessions']), 'session')}, "
        f"{_plural(len(h['outcomes']), 'outcome entry', 'outcome entries')}, "
        f"{_plural(len(h['program_events']), 'program event')}"
    )
    # One list, oldest first; on the same instant sessions come before outcomes before program
    # events (a track starts when the first session is stored).
    entries = [
        (_sort_time(x["recorded_at"]), x["recorded_at"], _session_line(x)) for x in h["sessions"]
    ]
    entries += [
        (_sort_time(x["recorded_at"]), x["recorded_at"], _outcome_line(x)) for x in h["outcomes"]
    ]
    prog = _default_program()
    entries += [(_sort_time(x["at"]), x["at"], _event_line(x, prog)) for x in h["program_events"]]
    entries.sort(key=lambda entry: entry[0])
    for _, at, line in entries:
        out.print(f"  {_day(at)}  {line}")


# ---- progress ----------------------------------------------------------------------------------


@user_errors
def progress(
    name: NameArg,
    metric: Annotated[
        str | None,
        typer.Option(
            help=f"Only this metric, by its key as result.json names it: one of "
            f"{_TRENDED_METRICS}; or 'all' (default: the key metrics)."
        ),
    ] = None,
    movement: MovementOption = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write an HTML progress page here.")
    ] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Write one PNG plot per metric into this folder.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the trend of each metric over sessions, judged against the smallest detectable change.

    A change smaller than the smallest detectable change is reported as "no real change yet".
    """
    from kneeback.movements.specs import ALL_METRICS
    from kneeback.progress.report import (
        person_progress,
        progress_html,
        progress_to_dict,
        write_progress_pngs,
    )

    if metric not in (None, "all") and metric not in ALL_METRICS:
        raise BadValueError(
            f"Unknown metric {metric!r}; choose 'all' or one of the analysis metrics."
        )
    if metric == "hip_below_knee":  # the one yes/no metric: nothing to average or trend
        raise BadValueError(
            "hip_below_knee is a yes/no measure, not trended: `kneeback history` shows it per "
            "session, and thigh_angle_bottom_deg is the depth that progress follows."
        )
    _check_movement(movement)
    if html is not None and html.is_dir():
        raise OutputError(
            f"{html} is a folder; give --html a file name such as {html / 'progress.html'}."
        )
    if png is not None and png.exists() and not png.is_dir():
        raise OutputError(f"{png} is a file; --png takes the folder to write the plots into.")
    with _open(db) as database:
        report = person_progress(database, name, movement=movement, metric=metric)
    files: list[str] = []
    if html is not None:
        try:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(progress_html(report), encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"Cannot write the progress page {html}: {_reason(exc)}.") from None
        files.append(str(html))
    if png is not None:
        try:
            files += [str(p) for p in write_progress_pngs(report, png)]
        except OSError as exc:
            raise OutputError(f"Cannot write the plots into {png}: {_reason(exc)}.") from None
    if as_json:
        data = progress_to_dict(report)
        data["files"] = files
        _print_json(data)
        return
    out.print(f"Progress of {report.name}")
    if not report.trends:
        what = f" of {movement.replace('_', ' ')}" if movement else ""
        out.print(f"  No measured sessions{what} yet.")
    current = None
    for t in report.trends:
        if t.movement != current:
            current = t.movement
            n = max(len(x.points) for x in report.trends if x.movement == current)
            out.print(f"\n{current.replace('_', ' ')} ({n} sessions)")
        out.print(f"  {t.text}")
        out.print(f"      SDC: {t.sdc.text}.", style="dim")
    if report.outcomes:
        out.print("\nOutcome measures")
        for entries in report.outcomes.values():
            last = entries[-1]
            extra = f" {last['change_since_first']}" if last.get("change_since_first") else ""
            out.print(f"  {_day(last['recorded_at'])} {last['judgement']}{extra}")
    for f in files:
        out.print(f"Wrote {f}")


# ---- outcomes ----------------------------------------------------------------------------------


@user_errors
def outcome(
    name: NameArg,
    odi: Annotated[
        str | None,
        typer.Option(
            help="Oswestry Disability Index: a score 0-100, or the ten answers 0-5 separated by "
            "commas ('-' for one skipped section)."
        ),
    ] = None,
    five_sts: Annotated[
        float | None, typer.Option("--five-sts", help="Five-times sit-to-stand time in seconds.")
    ] = None,
    chair_stand: Annotated[
        int | None, typer.Option("--chair-stand", help="30-second chair-stand count.")
    ] = None,
    age: Annotated[int | None, typer.Option(help="Age in years (remembered).")] = None,
    sex: Annotated[str | None, typer.Option(help="male or female (remembered).")] = None,
    date: Annotated[
        str | None, typer.Option(help="When the test was done (ISO date; default now).")
    ] = None,
    create: Annotated[bool, typer.Option(help="Add the person if not stored yet.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record an outcome measure and judge it against the published norms."""
    from kneeback.progress.outcomes import check_outcome, parse_odi
    from kneeback.store import record_outcome

    given = [x for x in (odi, five_sts, chair_stand) if x is not None]
    if len(given) != 1:
        raise BadValueError("Give exactly one of --odi, --five-sts or --chair-stand.")
    answers: list[int | None] | None = None
    if odi is not None:
        kind = "odi"
        value, answers = parse_odi(odi)
    elif five_sts is not None:
        kind, value = "five_sts", float(five_sts)
    else:
        assert chair_stand is not None
        kind, value = "chair_stand_30s", float(chair_stand)
    check_outcome(kind, value)
    if sex is not None:
        sex = sex.strip().lower()
        sex = {"m": "male", "f": "female"}.get(sex, sex)
    with _open(db) as database:
        res = record_outcome(
            database,
            name,
            kind=kind,
            value=value,
            answers=answers,
            age=age,
            sex=sex,
            recorded_at=_when(date),
            create=create,
        )
    if as_json:
        _print_json(res)
        return
    out.print(f"Recorded for {res['name']} ({_day(res['recorded_at'])}). {res['judgement']}")
    if res["change"]:
        out.print(res["change"]["text"])
        if res["change"].get("since_first"):
            out.print(f"Since the first entry: {res['change']['since_first']}")
    out.print(f"Norms: {'; '.join(res['sources'])}.", style="dim")


# ---- export, import, forget --------------------------------------------------------------------


def _is_export(path: Path, /) -> bool:
    """Whether a file holds a kneeback person export (so that replacing it loses nothing new)."""
    from kneeback.store.export_file import EXPORT_FORMAT

    try:
        with path.open("rb") as f:
            if not f.read(4096).lstrip().startswith(b"{"):
                return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == EXPORT_FORMAT


def _check_export_target(output: Path, /, *, force: bool) -> None:
    if output.is_dir():
        raise OutputError(
            f"{output} is a folder; give -o a file name such as {output / 'export.json'}."
        )
    if force or not output.exists() or output.stat().st_size == 0 or _is_export(output):
        return
    raise OutputError(
        f"{output} exists and is not a kneeback export, so it was left alone; pass --force to "
        "replace it."
    )


def _write_text(path: Path, text: str, /) -> None:
    """Write a file whole or not at all: into a temporary file beside it, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@user_errors
def export(
    name: NameArg,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace the output file even when it is not a kneeback export."
        ),
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export everything stored about a person as JSON (lossless; `kneeback import` reads it).

    An existing output file is replaced only when it is an earlier export (or empty), or with
    --force.
    """
    from kneeback.store import export_person, export_text

    if output is not None:
        _check_export_target(output, force=force)
    with _open(db) as database:
        data = export_person(database, name)
    text = export_text(data)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        _write_text(output, text)
    except OSError as exc:
        raise OutputError(f"Cannot write the export {output}: {_reason(exc)}.") from None
    summary = {
        "name": data["person"]["name"],
        "file": str(output),
        "sessions": len(data["sessions"]),
        "outcomes": len(data["outcomes"]),
        "program_events": len(data["program"]["events"]),
    }
    if as_json:
        _print_json(summary)
    else:
        out.print(f"Wrote {output}: {_counts(summary)} of {summary['name']}.")


def _counts(summary: dict[str, Any]) -> str:
    return (
        f"{_plural(summary['sessions'], 'session')}, "
        f"{_plural(summary['outcomes'], 'outcome entry', 'outcome entries')} and "
        f"{_plural(summary['program_events'], 'program event')}"
    )


@user_errors
def import_(
    file: Annotated[Path, typer.Argument(help="A file written by `kneeback export`.")],
    name: Annotated[
        str | None, typer.Option(help="Store under this name instead (as a copy).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a person from a JSON export, in one transaction."""
    from kneeback.store import import_person

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"The file {file} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"The file {file} cannot be read ({exc}).") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"The file {file} is not JSON ({exc.msg}, line {exc.lineno}).") from None
    with _open(db) as database:
        res = import_person(database, data, name=name)
    if as_json:
        _print_json(res)
        return
    out.print(f"Imported {res['name']}: {_counts(res)}" + (" (as a copy)." if res["copy"] else "."))


#: The rows ``forget`` counts, in words (one, many).
_ROW_NAMES = {
    "people": ("person", "people"),
    "sessions": ("session", "sessions"),
    "reps": ("rep", "reps"),
    "rep_metrics": ("rep measurement", "rep measurements"),
    "findings": ("finding", "findings"),
    "artifacts": ("file record", "file records"),
    "outcomes": ("outcome entry", "outcome entries"),
    "program_states": ("program stage", "program stages"),
    "program_events": ("program event", "program events"),
}


def _stdin_is_terminal() -> bool:
    """Whether someone can answer a question (tests replace this)."""
    return sys.stdin.isatty()


def _ask(question: str, refusal: str, /) -> bool:
    """Ask on a terminal; without one refuse (exit 2): only --yes deletes then."""
    if not _stdin_is_terminal():
        raise BadValueError(
            f"{refusal}: there is no terminal to ask on, so pass --yes to delete without asking."
        )
    return typer.confirm(question, default=False)


@user_errors
def forget(
    name: NameArg,
    session: Annotated[
        int | None,
        typer.Option(
            "--session",
            help="Delete only this session of theirs (its id: `kneeback history NAME`).",
            min=1,
            max=2**63 - 1,
            show_default=False,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a person's history, or one session of theirs, and the files analyze wrote for it.

    Their sessions, reps, findings, outcomes and program rows go, and the files of their
    sessions (a file another person's session uses, or an output folder written again since,
    is kept). A web account linked to them stays, unlinked, with its uploads. With --session
    only that session goes (with its reps, findings, the outcome entries it created and its
    files); their program's stage changes stay, and progress and the program stop counting
    it. Asks first on a terminal; elsewhere (a script, a pipe) it deletes only with --yes.
    """
    if session is not None:
        _forget_session(name, session, yes=yes, db=db, as_json=as_json)
        return
    from kneeback.store import forget_person
    from kneeback.store.sessions import find_person

    with _open(db) as database:
        who = database.read(lambda s: find_person(s, name).name)
        if not yes and not _ask(
            f"Delete {who} and all their sessions, outcomes and files? This cannot be undone",
            f"Not forgetting {who}",
        ):
            out.print(f"Kept {who}; nothing was deleted.")
            return
        res = forget_person(database, who)
    if as_json:
        _print_json(res)
        return
    out.print(f"Forgot {res['name']}: deleted {_rows_text(res['rows'])}.")
    _print_files(res)


def _rows_text(rows: dict[str, int]) -> str:
    """``1 session, 3 reps, 9 rep measurements``: the rows deleted, in words."""
    return ", ".join(
        _plural(n, *_ROW_NAMES.get(t, (_words(t), _words(t)))) for t, n in rows.items() if n
    )


def _print_files(res: dict[str, Any]) -> None:
    """Print the files a forget deleted, found gone, kept (and why) and left in place."""
    n_missing = len(res["files_missing"])
    out.print(
        f"Deleted {_plural(len(res['files_deleted']), 'file')}"
        + (f" ({_plural(n_missing, 'file was', 'files were')} already gone)" if n_missing else "")
        + "."
    )
    for f in res["files_deleted"]:
        out.print(f"  deleted {f}")
    for f in res["folders_deleted"]:
        out.print(f"  deleted the emptied folder {f}")
    for k in res["files_kept"]:
        out.print(f"  kept {k['path']}: {k['why']}")
    if res["source_files_left"]:
        out.print(
            "Your own clips were not written by kneeback and were left in place: "
            + ", ".join(res["source_files_left"])
        )


def _session_text(s: dict[str, Any]) -> str:
    """``session #12 of Ana (squat, 2026-03-01, 5 reps)``."""
    return (
        f"session #{s['id']} of {s['name']} ({_words(s['movement'])}, {_day(s['recorded_at'])}, "
        f"{_plural(s['reps'], 'rep')})"
    )


def _forget_session(
    name: str, session_id: int, *, yes: bool, db: str | None, as_json: bool
) -> None:
    """``forget NAME --session ID``: delete one session of the person, after asking."""
    from kneeback.store import forget_session, session_to_forget

    with _open(db) as database:
        plan = session_to_forget(database, session_id, person=name)
        what = _session_text(plan["session"])
        if not yes and not _ask(
            f"Delete {what} with its reps, findings and files? This cannot be undone",
            f"Not deleting {what}",
        ):
            out.print(f"Kept {what}; nothing was deleted.")
            return
        res = forget_session(database, session_id, person=name)
    if as_json:
        _print_json(res)
        return
    out.print(f"Deleted {_session_text(res['session'])}: {_rows_text(res['rows'])}.")
    _print_files(res)
    prog = _default_program()
    for c in res["program_changes_kept"]:
        verb = "moved up" if c["kind"] == "advance" else "moved back"
        out.print(
            f"Kept in the program: on {_day(c['at'])} this session {verb} "
            f"{res['session']['name']} from '{prog.stage_title(c['from'])}' to "
            f"'{prog.stage_title(c['to'])}'. That change stays; to undo it, set the stage with "
            f"`kneeback program {shlex.quote(res['session']['name'])} --override STAGE "
            "--reason TEXT`."
        )


# ---- program -----------------------------------------------------------------------------------


def _print_program(view: dict[str, Any], prog: Program) -> None:
    out.print(f"{view['name']} - {view['program']}")
    for t in view["tracks"]:
        out.print(f"\n{t['track_title']}")
        since = f" (since {_day(t['since'])})" if t["since"] else ""
        out.print(
            f"  Stage {t['stage_number']} of {t['stages']}: {t['stage_title']}{since}", style="bold"
        )
        for c in t["changes"]:
            verb = "Moved up" if c["kind"] == "advance" else "Moved back"
            out.print(
                f"  {verb} from '{prog.stage_title(c['from'])}' to '{prog.stage_title(c['to'])}' "
                f"({_day(c['at'])}): {c['reason']}"
            )
        if t["why"] and not t["changes"]:
            out.print(f"  Why: {t['why']}")
        late = t.get("late_sessions") or []
        if late:
            out.print(
                f"  Note: {_plural(len(late), 'session')} stored after this stage began but "
                f"recorded before it ({', '.join(late)}) "
                f"{'does' if len(late) == 1 else 'do'} not count for it."
            )
        if t["next_stage"] is None:
            out.print("  Last stage of this track: keep it up; measurements keep being tracked.")
        else:
            out.print(
                f"  To move on to '{t['next_stage_title']}': these must hold in "
                f"{t['sessions_needed']} sessions in a row ({t['sessions_held']} so far), each "
                f"with {t['min_reps']}+ full reps"
                + (f", over {t['min_span_days']:g}+ days" if t["min_span_days"] else "")
                + ":"
            )
            unmeasured = (
                f"no {str(t['movement']).replace('_', ' ')} session has measured it since this "
                f"stage began{' on ' + _day(t['since']) if t['since'] else ''}"
            )
            for c in t["targets"]:
                latest = (
                    unmeasured
                    if c["latest"] is None
                    else f"latest {metric_value_text(c['metric'], c['latest'])}, "
                    f"{'met' if c['met'] else 'not yet'}"
                )
                out.print(f"    - {c['text']} ({latest}): {c['why']}")
        if t["keep"]:
            keep = "; ".join(k["text"] for k in t["keep"])
            out.print(
                f"  To stay on this stage: {keep} (back one stage after {t['keep_sessions']} "
                f"measured sessions in a row below it; {t['keep_sessions_failed']} so far)."
            )
        out.print("  This week:")
        for line in t["plan"]:
            out.print(f"    - {line}")
        out.print(f"    - Film: {t['film']}")


@user_errors
def program(
    name: NameArg,
    override: Annotated[
        str | None, typer.Option(help="Coach override: put the person on this stage.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (required with --override).")] = None,
    coach: Annotated[str | None, typer.Option(help="Who decided the override.")] = None,
    program_file: Annotated[
        Path | None,
        typer.Option("--program", help="A program file (TOML) instead of the built-in one."),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the current stage of each track, why, the targets for the next and this week's plan.

    Stage changes that the measurements call for (held over several sessions) are recorded.
    """
    from kneeback.program.model import load_program
    from kneeback.store import program_status

    if reason is not None and override is None:
        raise BadValueError("--reason goes with --override STAGE.")
    if override is not None and not (reason and reason.strip()):
        raise BadValueError("A coach override needs a reason: add --reason TEXT.")
    if program_file is not None:
        _check_readable(program_file, what="program file")
    prog = load_program(program_file)
    with _open(db) as database:
        view = program_status(
            database, name, program=prog, override=override, reason=reason, coach=coach
        )
    done = view["override"]
    if as_json:
        _print_json(view)
        return
    if done is not None:
        reason = str(done["reason"]).rstrip(".")
        out.print(
            f"Recorded a coach override for {done['name']}: {prog.track_title(done['track'])}, "
            f"from '{prog.stage_title(done['from'])}' to '{prog.stage_title(done['to'])}' "
            f"({reason}).\n"
        )
    _print_program(view, prog)


def _check_readable(path: Path, /, *, what: str) -> None:
    """Refuse a missing or unreadable file named on the command line as a usage error (2)."""
    try:
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise BadValueError(f"The {what} {path} does not exist.") from None
    except OSError as exc:
        raise BadValueError(f"The {what} {path} cannot be read: {_reason(exc)}.") from None


def register(app: typer.Typer, /) -> None:
    """Add the store, progress and program commands to a typer app.

    Parameters
    ----------
    app
        The ``kneeback`` app (``kneeback.cli.app``).
    """
    app.command("people")(people)
    app.command("history")(history)
    app.command("progress")(progress)
    app.command("outcome")(outcome)
    app.command("export")(export)
    app.command("import")(import_)
    app.command("forget")(forget)
    app.command("program")(program)
