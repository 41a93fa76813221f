"""The ``kneeback`` command line. Commands only orchestrate: they call the pipeline and print."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from kneeback import __version__
from kneeback.cli_models import models_app
from kneeback.cli_store import register as register_store_commands
from kneeback.cli_support import err, out, user_errors
from kneeback.errors import EXIT_CODES_HELP, InputError
from kneeback.io.adapters import PoseFormat
from kneeback.io.adapters.virtual_camera import View
from kneeback.io.video import VideoReadWarning
from kneeback.movements.specs import MovementName
from kneeback.report.exports import ExportFormat
from kneeback.settings import ModelVariant, PoseSettings
from kneeback.web.cli import register as register_web_commands

if TYPE_CHECKING:
    import xarray as xr

    from kneeback.report.result import AnalysisResult

MovementChoice = Literal["auto", MovementName]
ViewChoice = Literal["auto", View]
FormatChoice = Literal[PoseFormat, "video"]

__all__ = ["app"]


app = typer.Typer(
    name="kneeback",
    help=f"Movement analysis and coaching from a phone video.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(models_app, name="models")


def _progress_console() -> Console:
    """Return a console on a duplicate of the terminal's stderr.

    While the model runs, file descriptor 2 is sent to /dev/null to hide native library logs;
    the progress bar keeps drawing on its own copy of the descriptor.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # captured stderr (tests): use it as it is
        return err
    if not os.isatty(fd):
        return err
    return Console(file=os.fdopen(os.dup(fd), "w", closefd=True), soft_wrap=True)


def _progress_bar(description: str) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeRemainingColumn(),
        console=_progress_console(),
        transient=False,
        disable=not sys.stderr.isatty(),
    )


def _say(message: str) -> None:
    err.print(message, highlight=False)


def _version(value: bool) -> None:
    if value:
        out.print(f"kneeback {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Movement analysis and coaching from a phone video."""


@app.command()
@user_errors
def pose(
    video: Annotated[Path, typer.Argument(help="The video file to analyse.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Pose file to write (.nc).")],
    variant: Annotated[ModelVariant, typer.Option(help="Model variant: lite, full or heavy.")] = (
        "full"
    ),
    start: Annotated[float | None, typer.Option(help="Start time in seconds.", min=0)] = None,
    end: Annotated[float | None, typer.Option(help="End time in seconds.", min=0)] = None,
    subject: Annotated[
        int | None,
        typer.Option(help="Follow this tracked person (0 = largest and longest seen)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per CPU core).", min=1)
    ] = None,
) -> None:
    """Estimate the pose in every frame of VIDEO and write a pose dataset (netCDF).

    The person followed is the largest and longest seen; how many people were seen is recorded.
    """
    from kneeback.io.posefile import save_pose_dataset
    from kneeback.pipeline import pose_video

    if start is not None and end is not None and end <= start:
        raise typer.BadParameter("--end must be after --start.")
    settings = PoseSettings(variant=variant, subject=subject)
    with _progress_bar("pose") as bar:
        task = bar.add_task(f"Pose ({variant})", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=max(total, done) or None)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", VideoReadWarning)
            ds = pose_video(
                video,
                settings=settings,
                start_s=start,
                end_s=end,
                workers=workers,
                progress=update,
                on_message=_say,
            )
    for warning in caught:
        err.print(f"Warning: {warning.message}", highlight=False)
    save_pose_dataset(ds, output)
    n = ds.sizes["time"]
    cov = float(ds.attrs["coverage"])
    out.print(
        f"Wrote {output}: {n} frames at {ds.attrs['width']}x{ds.attrs['height']}, "
        f"person found in {cov:.0%} of frames, {ds.attrs['people_seen']} "
        f"{'person' if ds.attrs['people_seen'] == 1 else 'people'} seen.",
        highlight=False,
    )
    if cov < 0.95:
        out.print(
            f"Note: the person was not found in {1 - cov:.0%} of frames; those frames are NaN "
            "gaps in the pose file.",
            highlight=False,
        )


_VIDEO_FORMAT = "video"
_POSE_SUFFIXES = frozenset({".nc", ".netcdf", ".json", ".txt", ".gz", ".csv", ".tsv"})
_POSE_MAGIC = (b"CDF\x01", b"CDF\x02", b"\x89HDF\r\n\x1a\n")
_VERDICT_TEXT = {"good": "good", "needs_work": "needs work", "not_assessed": "not assessed"}
_STAGE_LABELS = {"video": "Annotated video", "report": "Report"}


def _is_pose_file(path: Path, fmt: str) -> bool:
    """Whether INPUT is read as a pose file (True) or as a video (False)."""
    if fmt != "auto":
        return fmt != _VIDEO_FORMAT
    if path.suffix.lower() in _POSE_SUFFIXES:
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return False  # the video reader explains what is wrong with the file
    return head.startswith(_POSE_MAGIC)


def _stage_progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeRemainingColumn(),
        console=_progress_console(),
        transient=False,
        disable=not sys.stderr.isatty(),
    )


def _select_span(ds: xr.Dataset, start: float | None, end: float | None, path: Path) -> xr.Dataset:
    """Keep the frames of a pose dataset with ``start <= time < end``."""
    if start is None and end is None:
        return ds
    t = ds["time"].values
    keep = (t >= (start if start is not None else -float("inf"))) & (
        t < (end if end is not None else float("inf"))
    )
    if not keep.any():
        raise InputError(
            f"No frame of {path} lies between {start or 0:g} s and "
            f"{'the end' if end is None else f'{end:g} s'} (it spans {t[0]:.2f}-{t[-1]:.2f} s)."
        )
    return ds.isel(time=keep.nonzero()[0])


def _print_summary(result: AnalysisResult, report: Path) -> None:
    """Print the summary: movement, view, reps with verdicts, clip verdict, main cues."""
    from kneeback.movements.specs import get_spec

    label = get_spec(result.movement.used).label
    n = len(result.reps)
    view = result.view.used
    out.print(
        f"[bold]{label.capitalize()}[/], {view} view: {n} rep{'s' if n != 1 else ''}.",
        highlight=False,
    )
    for note in (result.movement.message,):
        if note:
            out.print(f"Note: {note}", highlight=False)
    if result.view.agreement is False:
        out.print(
            f"Note: you said {result.view.stated} view; it looks like a "
            f"{result.view.recognised} view. The analysis used {view}.",
            highlight=False,
        )
    titles = {f.id: f.title for f in result.findings}
    for rep in result.reps:
        side = f", {rep.side} leg" if rep.side else ""
        partial = ", partial" if rep.partial else ""
        worked = [
            titles[i]
            for i in rep.findings
            if any(
                f.id == i and f.rep == rep.index and f.severity in ("major", "minor")
                for f in result.findings
            )
        ]
        why = f" ({', '.join(worked)})" if worked and rep.verdict == "needs_work" else ""
        out.print(
            f"  Rep {rep.index + 1}: {rep.start_s:.1f}-{rep.end_s:.1f} s{side}{partial}, "
            f"{_VERDICT_TEXT[rep.verdict]}{why}",
            highlight=False,
        )
    if n == 0:
        out.print("  No repetitions were found.", highlight=False)
    tests = result.tests
    if tests is not None and tests.five_times_sts_s is not None:
        out.print(f"Five-times sit-to-stand: {tests.five_times_sts_s:.1f} s", highlight=False)
    if tests is not None and tests.chair_stands_30s is not None:
        out.print(f"30-second chair stands: {tests.chair_stands_30s}", highlight=False)
    out.print(f"Verdict: [bold]{_VERDICT_TEXT[result.verdict]}[/]", highlight=False)
    order = {"major": 0, "minor": 1, "info": 2}
    cues = sorted(
        (f for f in result.findings if f.cue and f.severity in order),
        key=lambda f: order[f.severity],
    )
    unique = list(dict.fromkeys(f.cue for f in cues))[:3]
    if unique:
        out.print("Main cues:", highlight=False)
        for cue in unique:
            out.print(f"  - {cue}", highlight=False)
    for tip in result.capture.tips[:1]:
        out.print(f"Filming tip: {tip}", highlight=False)
    out.print(f"Report: {report}", highlight=False)


@app.command()
@user_errors
def analyze(
    input: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT",
            help="A video, or a pose file (.nc, UI-PRMD, Kinect, keypoint JSON).",
        ),
    ],
    movement: Annotated[
        MovementChoice, typer.Option(help="The movement, or auto to recognise it.")
    ] = "auto",
    view: Annotated[ViewChoice, typer.Option(help="The camera view, or auto to recognise it.")] = (
        "auto"
    ),
    variant: Annotated[
        ModelVariant, typer.Option(help="Pose model for videos: lite, full or heavy.")
    ] = "full",
    format: Annotated[
        FormatChoice,
        typer.Option("--format", help="Input format (auto: from the file name and content)."),
    ] = "auto",
    fps: Annotated[
        float | None,
        typer.Option(help="Frame rate of a pose file that does not store one.", min=0.1),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output folder (default: <input name>-kneeback in the current folder); "
            "a previous output there is replaced.",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON instead of the summary.")
    ] = False,
    export: Annotated[
        ExportFormat | None,
        typer.Option(help="Also write this format: mot (OpenSim .mot angle files)."),
    ] = None,
    start: Annotated[float | None, typer.Option(help="Start time in seconds.", min=0)] = None,
    end: Annotated[float | None, typer.Option(help="End time in seconds.", min=0)] = None,
    person: Annotated[
        str | None,
        typer.Option(help="Store this session in the history of the person of this name."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL for --person (default: KNEEBACK_DATABASE_URL, else kneeback.db "
            "in the user data folder).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Analyse a clip and write the critique, its evidence and an annotated video.

    INPUT is a video (the pose is estimated) or a pose file.

    The output folder gets result.json, reps.csv, pose.nc, report.html and, for a video,
    annotated.mp4. It is written completely before it replaces an earlier output:
    a failed run leaves nothing behind. With --person the session is also stored, in one
    transaction, in that person's history.
    """
    from kneeback.analysis import analyse_detailed
    from kneeback.io.adapters import load_any
    from kneeback.report.outputs import check_output_dir, default_output_dir, write_analysis_folder

    if start is not None and end is not None and end <= start:
        raise typer.BadParameter("--end must be after --start.")
    if not input.exists():
        raise InputError(f"Input file {input} does not exist.")
    target = check_output_dir(output or default_output_dir(input), inputs=[input])
    pose_file = _is_pose_file(input, format)
    if fps is not None and not pose_file:
        err.print("Note: --fps is ignored for a video: frame times come from the file.")

    with _stage_progress() as bar, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VideoReadWarning)
        tasks: dict[str, TaskID] = {}

        def update(stage: str, label: str, unit: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(label, total=None, unit=unit)
            bar.update(tasks[stage], completed=done, total=max(total, done) or None)

        if pose_file:
            ds = load_any(input, format=format, fps=fps)  # type: ignore[arg-type]  # not "video"
            ds = _select_span(ds, start, end, input)
        else:
            from kneeback.pipeline import pose_video

            ds = pose_video(
                input,
                settings=PoseSettings(variant=variant),
                start_s=start,
                end_s=end,
                progress=lambda d, t: update("pose", f"Pose ({variant})", "frames", d, t),
                on_message=_say,
            )
        update("analysis", "Analysis", "step", 0, 1)
        try:
            analysis = analyse_detailed(ds, movement=movement, view=view)
        except ValueError as exc:
            raise InputError(f"{input} cannot be analysed: {exc}") from exc
        update("analysis", "Analysis", "step", 1, 1)
        files = write_analysis_folder(
            target,
            result=analysis.result,
            angles=analysis.angles,
            pose=ds,
            processed=analysis.processed,
            video=None if pose_file else input,
            start_s=start,
            end_s=end,
            exports=(export,) if export else (),
            inputs=[input],
            progress=lambda stage, d, t: update(
                stage, _STAGE_LABELS[stage], "frames" if stage == "video" else "steps", d, t
            ),
        )
    stored = None
    if person is not None:
        from kneeback.store import artifact_paths, open_database, store_session

        with open_database(db) as database:
            stored = store_session(
                database,
                person,
                analysis.result,
                artifacts=artifact_paths(files),
                source_path=input,
            )
    shown = (str(w.message) for w in caught if issubclass(w.category, UserWarning))
    for message in dict.fromkeys(shown):  # numerical RuntimeWarnings are not for the user
        err.print(f"Warning: {message}", highlight=False)
    if json_out:
        sys.stdout.write(analysis.result.to_json() + "\n")
        sys.stdout.flush()
        return
    _print_summary(analysis.result, files.report_html)
    if stored is not None:
        out.print(f"Stored as session {stored} in the history of {person}.")


@app.command()
@user_errors
def info(
    file: Annotated[Path, typer.Argument(help="A video or a pose file (.nc).")],
) -> None:
    """Show what a video or pose file holds."""
    from kneeback.report.describe import describe_file

    out.print(describe_file(file), highlight=False)


register_store_commands(app)
register_web_commands(app)


if __name__ == "__main__":  # pragma: no cover
    app()
