"""The ``kneeback`` command line. Commands only orchestrate: they call the pipeline and print."""

from __future__ import annotations

import contextlib
import datetime as dt
import shlex
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from kneeback import __version__
from kneeback.cli_batch import register as register_batch_commands
from kneeback.cli_live import register as register_live_commands
from kneeback.cli_models import models_app
from kneeback.cli_options import (
    FormatOption,
    FpsOption,
    MovementChoice,
    PersonDbOption,
    SettingsOption,
    SubjectOption,
    VariantOption,
    ViewChoice,
)
from kneeback.cli_store import register as register_store_commands
from kneeback.cli_summary import print_summary
from kneeback.cli_support import err, out, progress_console, user_errors
from kneeback.errors import EXIT_CODES_HELP, BadValueError, InputError
from kneeback.io.video import VideoReadWarning
from kneeback.report.exports import ExportFormat
from kneeback.settings import ModelVariant, PoseSettings
from kneeback.settings_file import load_settings_file, settings_toml
from kneeback.web.cli import register as register_web_commands

if TYPE_CHECKING:
    pass


__all__ = ["app"]


app = typer.Typer(
    name="kneeback",
    help=f"Movement analysis and coaching from a phone video.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # paragraphs reflow to the terminal's width
)
app.add_typer(models_app, name="models")


def _progress_bar(description: str) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeRemainingColumn(),
        console=progress_console(),
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
    subject: SubjectOption = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: one per CPU core).", min=1)
    ] = None,
) -> None:
    """Estimate the pose in every frame of VIDEO and write a pose dataset (netCDF).

    The person followed is the largest and longest seen; how many people were seen is recorded.
    """
    import contextlib
    import os
    import tempfile

    from kneeback.errors import OutputError
    from kneeback.io.posefile import save_pose_dataset
    from kneeback.pipeline import pose_video

    if start is not None and end is not None and end <= start:
        raise typer.BadParameter("--end must be after --start.")
    # The output is checked before the work: a folder, an unwritable place or the video itself.
    if output.is_dir():
        raise OutputError(
            f"{output} is a folder: give the pose file to write, e.g. -o {output / 'pose.nc'}."
        )
    if output.exists() and output.resolve() == video.resolve():
        raise OutputError(f"-o {output} is the video itself: give another name, e.g. pose.nc.")
    missing = [d for d in output.absolute().parents if not d.exists()]  # made by the save
    folder = output.absolute().parents[len(missing)]
    try:
        fd, probe = tempfile.mkstemp(prefix=".kneeback-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"The pose file {output} cannot be written: nothing can be created in {folder} "
            f"({exc.strerror})."
        ) from None
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
    try:
        save_pose_dataset(ds, output)
    except OSError as exc:  # e.g. the disk is full: leave nothing behind
        output.with_name(f".{output.name}.tmp").unlink(missing_ok=True)  # the save's temporary
        for made in missing:  # deepest first
            with contextlib.suppress(OSError):
                made.rmdir()
        raise OutputError(
            f"The pose file {output} cannot be written ({exc.strerror or exc})."
        ) from None
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


_STAGE_LABELS = {
    "pose": ("Pose", "frames"),
    "analysis": ("Analysis", "step"),
    "video": ("Annotated video", "frames"),
    "report": ("Report", "steps"),
}


def _stage_progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeRemainingColumn(),
        console=progress_console(),
        transient=False,
        disable=not sys.stderr.isatty(),
    )


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
    variant: VariantOption = "full",
    subject: SubjectOption = None,
    format: FormatOption = "auto",
    fps: FpsOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output folder (default: `<input name>-kneeback` in the current folder); "
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
    recorded_at: Annotated[
        dt.datetime | None,
        typer.Option(
            "--recorded-at",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
            help="With --person: when the clip was recorded (UTC). Default: the date the "
            "video's metadata states, else now.",
            show_default=False,
        ),
    ] = None,
    db: PersonDbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Analyse a clip and write the critique, its evidence and an annotated video.

    INPUT is a video (the pose is estimated) or a pose file.

    The output folder gets result.json, reps.csv, pose.nc, report.html and, for a video,
    annotated.mp4. It is written completely before it replaces an earlier output:
    a failed run leaves nothing behind. With --person the session is also stored, in one
    transaction, in that person's history.
    """
    from kneeback import pipeline
    from kneeback.pipeline import analyse_input, is_pose_file
    from kneeback.report.outputs import check_output_dir, default_output_dir

    if start is not None and end is not None and end <= start:
        raise typer.BadParameter("--end must be after --start.")
    if recorded_at is not None and recorded_at.date() > dt.date.today():
        raise typer.BadParameter(
            f"--recorded-at {recorded_at:%Y-%m-%d} is after today: give the day the clip was "
            "filmed (a future session would count as the latest in the trends)."
        )
    if not input.exists():
        raise InputError(f"Input file {input} does not exist.")
    analysis_settings = None if settings_file is None else load_settings_file(settings_file)
    target = check_output_dir(output or default_output_dir(input), inputs=[input])
    if fps is not None and not is_pose_file(input, format=format):
        err.print("Note: --fps is ignored for a video: frame times come from the file.")
    if subject is not None and is_pose_file(input, format=format):
        err.print("Note: --subject is ignored for a pose file: it holds one person already.")

    database = None
    if person is not None:  # opened first: a database that cannot be used fails before the work
        from kneeback.store import open_database

        database = open_database(db)
    stored: int | None = None
    when = recorded_at

    def store(done: pipeline.AnalysedInput) -> None:
        """Store the session just before the output folder is replaced: all of it, or nothing."""
        nonlocal stored, when
        if database is None or person is None:
            return
        from kneeback.store import artifact_paths, store_session
        from kneeback.store.sessions import same_clip_session

        when = recorded_at or done.recorded_at
        same = same_clip_session(
            database, person, input, recorded_at=when, result=done.analysis.result
        )
        if same is not None:
            raise BadValueError(
                f"{person} already has session {same} from this clip: storing it again would "
                "count it twice in progress and the program, so nothing was stored or written. "
                f"To analyse it again, first `kneeback forget {shlex.quote(person)} --session "
                f"{same}`; to look at it without storing, leave out --person."
            )
        stored = store_session(
            database,
            person,
            done.analysis.result,
            artifacts=artifact_paths(done.files),
            recorded_at=when,
            source_path=input,
        )

    with (
        contextlib.closing(database) if database is not None else contextlib.nullcontext(),
        _stage_progress() as bar,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always", VideoReadWarning)
        tasks: dict[str, TaskID] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                label, unit = _STAGE_LABELS[stage]
                if stage == "pose":
                    label = f"Pose ({variant})"
                tasks[stage] = bar.add_task(label, total=None, unit=unit)
            bar.update(tasks[stage], completed=done, total=max(total, done) or None)

        done = analyse_input(
            input,
            target,
            movement=movement,
            view=view,
            format=format,
            fps=fps,
            start_s=start,
            end_s=end,
            settings=PoseSettings(variant=variant, subject=subject),
            exports=(export,) if export else (),
            progress=update,
            on_message=_say,
            analysis_settings=analysis_settings,
            before_publish=store,
        )
    analysis, files = done.analysis, done.files
    shown = (str(w.message) for w in caught if issubclass(w.category, UserWarning))
    for message in dict.fromkeys(shown):  # numerical RuntimeWarnings are not for the user
        err.print(f"Warning: {message}", highlight=False)
    if json_out:
        sys.stdout.write(analysis.result.to_json() + "\n")
        sys.stdout.flush()
        return
    print_summary(analysis.result, files.report_html)
    if stored is not None:
        dated = (
            f"recorded {when:%Y-%m-%d}"
            if when is not None
            else "dated today: the file does not say when it was recorded (--recorded-at)"
        )
        out.print(f"Stored as session {stored} in the history of {person}, {dated}.")


@app.command("settings")
@user_errors
def settings_command() -> None:
    """Print every analysis setting with its default and its source, as a TOML file.

    Save it (kneeback settings > mine.toml), keep the lines to change and pass the file with
    --settings to analyze, batch or live; settings left out keep their defaults.
    """
    sys.stdout.write(settings_toml())
    sys.stdout.flush()


@app.command()
@user_errors
def info(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A video, or a pose file (.nc, UI-PRMD, Kinect, keypoint JSON).",
        ),
    ],
    format: FormatOption = "auto",
    fps: FpsOption = None,
) -> None:
    """Show what a video or pose file holds: any input `kneeback analyze` accepts.

    A video: codec, size, duration, frame rate, frame count, recording date.

    A pose file: frames, duration, frame rate, keypoints, source, people, coverage.
    """
    from kneeback.report.describe import describe_file

    out.print(describe_file(file, format=format, fps=fps), highlight=False)


register_store_commands(app)
register_batch_commands(app)
register_live_commands(app)
register_web_commands(app)


if __name__ == "__main__":  # pragma: no cover
    app()
