"""``kneeback batch``: analyse many clips or pose files at once, here or on a Ray cluster."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kneeback.cli_options import (
    FormatOption,
    FpsOption,
    MovementChoice,
    PersonDbOption,
    SettingsOption,
    VariantOption,
    ViewChoice,
)
from kneeback.cli_support import err, out, progress_console, user_errors
from kneeback.errors import BATCH_FAILURES_EXIT
from kneeback.settings import ModelVariant
from kneeback.settings_file import load_settings_file

if TYPE_CHECKING:
    from kneeback.batch import BatchOutcome, BatchPlan
    from kneeback.store import Database

__all__ = ["register"]


def _provision_models(variant: ModelVariant) -> None:
    """Install the pose models once, before parallel workers would each try to."""
    from kneeback.pose.models import ensure_model
    from kneeback.settings import PoseSettings

    ensure_model(variant, progress=lambda m: err.print(m, highlight=False))
    if PoseSettings(variant=variant).max_people > 1:
        ensure_model("lite", progress=lambda m: err.print(m, highlight=False))


@user_errors
def batch(
    inputs: Annotated[
        list[Path],
        typer.Argument(
            metavar="INPUT",
            help="Videos, pose files, or folders to search for them.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="Output folder: one folder per input, plus summary.csv and summary.json.",
        ),
    ] = Path("kneeback-batch"),
    movement: Annotated[
        MovementChoice, typer.Option(help="The movement of every input, or auto.")
    ] = "auto",
    view: Annotated[ViewChoice, typer.Option(help="The camera view, or auto.")] = "auto",
    variant: VariantOption = "full",
    format: FormatOption = "auto",
    fps: FpsOption = None,
    pattern: Annotated[
        str | None,
        typer.Option(
            "--glob",
            help="Take only the folder files whose name matches (e.g. '*.mp4'); "
            "default: videos and pose files.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Inputs analysed at the same time on this machine (default: one per CPU core).",
            min=1,
        ),
    ] = None,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="Run on Ray: a cluster given by --ray-address or RAY_ADDRESS, else a Ray "
            "instance started on this machine (needs the 'scale' extra).",
        ),
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster address (implies --ray), e.g. auto or ray://head:10001."),
    ] = None,
    redo: Annotated[
        bool, typer.Option("--redo", help="Analyse again inputs that already have a result.")
    ] = False,
    person: Annotated[
        str | None,
        typer.Option(
            help="Store each input analysed now in the history of the person of this name, "
            "dated when its clip was recorded (else now)."
        ),
    ] = None,
    db: PersonDbOption = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON instead of a table.")
    ] = False,
    settings_file: SettingsOption = None,
) -> None:
    """Analyse many inputs, each into its own folder, as `kneeback analyze` would.

    Folders are searched for videos and pose files. Inputs already analysed in the output folder
    are kept (use --redo to analyse them again), so an interrupted batch resumes. One failing
    input does not stop the others: summary.csv says why it failed, and the exit code is 10.
    With --person, each input analysed now is also stored in that person's history (one
    analysed again, e.g. with --redo, becomes a second session). On Ray, inputs and the
    output folder must be on a file system every node sees.
    """
    from kneeback.batch import plan_batch
    from kneeback.pipeline import is_pose_file

    analysis_settings = None if settings_file is None else load_settings_file(settings_file)
    use_ray = ray or ray_address is not None
    address = ray_address or (os.environ.get("RAY_ADDRESS") if use_ray else None)
    plan = plan_batch(
        inputs,
        output,
        movement=movement,
        view=view,
        format=format,
        fps=fps,
        variant=variant,
        pattern=pattern,
        redo=redo,
        settings=analysis_settings,
    )
    if plan.passed_over:
        n = len(plan.passed_over)
        names = ", ".join(str(p) for p in plan.passed_over[:3]) + (
            f" and {n - 3} more" if n > 3 else ""
        )
        err.print(
            f"Passed over {n} file{'s' if n != 1 else ''} that {'are' if n != 1 else 'is'} "
            f"neither a video nor a known pose file: {names}.",
            highlight=False,
        )
    if plan.done:
        err.print(
            f"{len(plan.done)} input(s) already analysed in {output} are kept (--redo to "
            "analyse them again).",
            highlight=False,
        )
    if not use_ray and any(not is_pose_file(i.source, format=format) for i in plan.to_run):
        _provision_models(variant)
    with contextlib.ExitStack() as stack:
        database = None
        if person is not None:  # opened first: a wrong URL stops the batch before it starts
            from kneeback.store import open_database

            database = stack.enter_context(open_database(db))
        outcomes, stored = _run(plan, output, workers, use_ray, address, database, person)
    _report(outcomes, output, json_out, person, stored)


def _run(
    plan: BatchPlan,
    output: Path,
    workers: int | None,
    use_ray: bool,
    address: str | None,
    database: Database | None,
    person: str | None,
) -> tuple[list[BatchOutcome], int]:
    """Run the batch with a progress bar; store each new result when a database is given."""
    from kneeback.batch import run_batch

    n_workers = workers or os.cpu_count() or 1
    failures: list[tuple[str, str]] = []
    stored = 0
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("inputs, {task.fields[failed]} failed"),
        TimeElapsedColumn(),
        console=progress_console(),
        disable=not sys.stderr.isatty(),
    )
    where = "on Ray" if use_ray else f"with {min(n_workers, max(1, len(plan.to_run)))} worker(s)"
    with bar:
        task = bar.add_task(f"Analysing {where}", total=len(plan.to_run), failed=0)

        def finished(outcome: BatchOutcome) -> None:
            nonlocal stored
            if outcome.status == "done" and database is not None and person is not None:
                same = _store(database, person, outcome)
                if same is None:
                    stored += 1
                else:
                    bar.console.print(
                        f"Not stored: {outcome.source}: {person} already has session {same} "
                        "from this clip (it would count twice in progress and the program).",
                        highlight=False,
                    )
            if outcome.status == "failed":
                failures.append((outcome.source, outcome.error or ""))
                why = (outcome.error or "").replace(str(outcome.source), Path(outcome.source).name)
                bar.console.print(f"[bold red]Failed:[/] {outcome.source}: {why}", highlight=False)
            bar.update(task, advance=1, failed=len(failures))

        outcomes = run_batch(
            plan,
            output,
            workers=n_workers,
            ray=use_ray,
            ray_address=address,
            on_outcome=finished,
        )
    return outcomes, stored


def _store(database: Database, person: str, outcome: BatchOutcome) -> int | None:
    """Store one analysed input in the person's history, dated when it was recorded.

    Returns the id of the person's session already stored from this same clip instead, if any
    (nothing is stored then).
    """
    from kneeback.report.outputs import read_output_folder
    from kneeback.report.result import AnalysisResult
    from kneeback.store import artifact_paths, store_session
    from kneeback.store.sessions import same_clip_session

    files = read_output_folder(outcome.output)
    result = AnalysisResult.from_json(files.result_json.read_text(encoding="utf-8"))
    when = None if outcome.recorded_at is None else dt.datetime.fromisoformat(outcome.recorded_at)
    same = same_clip_session(database, person, outcome.source, recorded_at=when, result=result)
    if same is not None:
        return same
    store_session(
        database,
        person,
        result,
        artifacts=artifact_paths(files),
        recorded_at=when,
        source_path=outcome.source,
    )
    return None


def _report(
    outcomes: list[BatchOutcome], output: Path, json_out: bool, person: str | None, stored: int
) -> None:
    """Print the outcome of every input and the counts; exit 10 when some failed."""
    from kneeback.batch.summary import count_outcomes

    counts = count_outcomes(outcomes)
    if json_out:
        rows = [dataclasses.asdict(o) for o in outcomes]
        sys.stdout.write(json.dumps({"counts": counts, "inputs": rows}, indent=2) + "\n")
    else:
        for o in outcomes:
            name = Path(o.source).name
            if o.status == "failed":
                out.print(f"  {name}: failed ({o.error})", highlight=False)
            else:
                verdict = (o.verdict or "").replace("_", " ")
                out.print(
                    f"  {name}: {(o.movement or '').replace('_', ' ')}, {o.view} view, "
                    f"{o.reps} rep{'s' if o.reps != 1 else ''}, {verdict}"
                    f"{' (earlier run)' if o.status == 'earlier' else ''}",
                    highlight=False,
                )
        out.print(
            f"{counts['done']} analysed, {counts['earlier']} from an earlier run, "
            f"{counts['failed']} failed. Summary: {Path(output).resolve() / 'summary.csv'}",
            highlight=False,
        )
        if person is not None:
            out.print(f"{stored} stored in the history of {person}.", highlight=False)
    if counts["failed"]:
        raise typer.Exit(BATCH_FAILURES_EXIT)


def register(app: typer.Typer, /) -> None:
    """Add ``kneeback batch`` to the command line."""
    app.command("batch")(batch)
