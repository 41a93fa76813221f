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
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kneeback.cli_support import out, user_errors
from kneeback.errors import BadValueError, InputError
from kneeback.movements.labels import metric_value_text

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


def _open(db: str | None) -> Any:
    from kneeback.store import open_database

    return open_database(db)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _day(iso: str | None) -> str:
    return "-" if not iso else iso[:10]


def _when(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadValueError(f"--date takes an ISO date such as 2026-03-01, not {text!r}.") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


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
    for r in rows:
        stages = "; ".join(r["program"]) or "no program yet"
        out.print(
            f"{r['name']}: {r['sessions']} sessions ({_day(r['first_session'])} to "
            f"{_day(r['last_session'])}), {r['outcomes']} outcome entries; {stages}"
        )


_HISTORY_METRICS = (
    ("knee_flexion_peak_deg", "knee"),
    ("trunk_inclination_peak_deg", "trunk"),
    ("strategy_index", "strategy"),
    ("knee_fppa_peak_deg", "FPPA"),
    ("descent_s", "down s"),
    ("ascent_s", "up s"),
)


@user_errors
def history(
    name: NameArg,
    movement: Annotated[str | None, typer.Option(help="Only this movement.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a person's sessions, outcome entries and program changes, oldest first."""
    from kneeback.store import person_history

    with _open(db) as database:
        h = person_history(database, name, movement=movement)
    if as_json:
        _print_json(h)
        return
    out.print(f"{h['name']}: {len(h['sessions'])} sessions, {len(h['outcomes'])} outcome entries")
    for s in h["sessions"]:
        vals = ", ".join(
            f"{label} {_fmt(s['values'][k])}"
            for k, label in _HISTORY_METRICS
            if s["values"].get(k) is not None
        )
        out.print(
            f"  {_day(s['recorded_at'])}  #{s['id']} {s['movement']} ({s['view']} view), "
            f"{s['reps']} reps ({s['full_reps']} full), capture {s['capture']}, "
            f"verdict {s['verdict']}" + (f"; {vals}" if vals else "")
        )
    for o in h["outcomes"]:
        out.print(f"  {_day(o['recorded_at'])}  outcome {o['kind']} = {_fmt(o['value'])}")
    for e in h["program_events"]:
        out.print(f"  {_day(e['at'])}  program {e['track']}: {e['kind']} -> {e['to']}")


# ---- progress ----------------------------------------------------------------------------------


@user_errors
def progress(
    name: NameArg,
    metric: Annotated[
        str | None,
        typer.Option(help="Only this metric, or 'all' (default: the key metrics)."),
    ] = None,
    movement: Annotated[str | None, typer.Option(help="Only this movement.")] = None,
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
    with _open(db) as database:
        report = person_progress(database, name, movement=movement, metric=metric)
    files: list[str] = []
    if html is not None:
        try:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(progress_html(report), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"Cannot write {html}: {exc.strerror}.") from None
        files.append(str(html))
    if png is not None:
        try:
            files += [str(p) for p in write_progress_pngs(report, png)]
        except OSError as exc:
            raise InputError(f"Cannot write plots into {png}: {exc.strerror}.") from None
    if as_json:
        data = progress_to_dict(report)
        data["files"] = files
        _print_json(data)
        return
    out.print(f"Progress of {report.name}")
    if not report.trends:
        out.print("  No measured sessions" + (f" of {movement}" if movement else "") + " yet.")
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
    from kneeback.progress.outcomes import parse_odi
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
        if not 0 < value < 600:
            raise BadValueError(f"A five-times sit-to-stand time of {value} s is out of range.")
    else:
        assert chair_stand is not None
        kind, value = "chair_stand_30s", float(chair_stand)
        if not 0 <= chair_stand <= 60:
            raise BadValueError(f"A 30-second chair-stand count of {chair_stand} is out of range.")
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


@user_errors
def export(
    name: NameArg,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export everything stored about a person as JSON (lossless; `kneeback import` reads it)."""
    from kneeback.store import export_person

    with _open(db) as database:
        data = export_person(database, name)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Cannot write {output}: {exc.strerror}.") from None
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
        out.print(
            f"Wrote {output}: {summary['sessions']} sessions, {summary['outcomes']} outcome "
            f"entries and {summary['program_events']} program events of {summary['name']}."
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
    out.print(
        f"Imported {res['name']}: {res['sessions']} sessions, {res['outcomes']} outcome entries, "
        f"{res['program_events']} program events" + (" (as a copy)." if res["copy"] else ".")
    )


@user_errors
def forget(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a person, every stored row about them and every file analyze wrote for them."""
    from kneeback.store import forget_person

    if not yes and sys.stdin.isatty():
        typer.confirm(
            f"Delete {name} and all their sessions, outcomes and files? This cannot be undone",
            abort=True,
        )
    with _open(db) as database:
        res = forget_person(database, name)
    if as_json:
        _print_json(res)
        return
    rows = ", ".join(f"{n} {t.replace('_', ' ')}" for t, n in res["rows"].items() if n)
    out.print(f"Forgot {res['name']}: deleted {rows}.")
    out.print(
        f"Deleted {len(res['files_deleted'])} files"
        + (f" ({len(res['files_missing'])} were already gone)" if res["files_missing"] else "")
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


# ---- program -----------------------------------------------------------------------------------


def _print_program(view: dict[str, Any]) -> None:
    out.print(f"{view['name']} - {view['program']}")
    for t in view["tracks"]:
        out.print(f"\n{t['track_title']}")
        since = f" (since {_day(t['since'])})" if t["since"] else ""
        out.print(
            f"  Stage {t['stage_number']} of {t['stages']}: {t['stage_title']}{since}", style="bold"
        )
        for c in t["changes"]:
            verb = "Moved up" if c["kind"] == "advance" else "Moved back"
            out.print(f"  {verb} from {c['from']} to {c['to']} ({_day(c['at'])}): {c['reason']}")
        if t["why"] and not t["changes"]:
            out.print(f"  Why: {t['why']}")
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
            for c in t["targets"]:
                latest = (
                    "not measured yet"
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
        out.print(
            f"Recorded a coach override for {done['name']}: {done['track']} from {done['from']} "
            f"to {done['to']} ({done['reason']}).\n"
        )
    _print_program(view)


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
