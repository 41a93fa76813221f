"""The ``kneeback`` command line. Commands only orchestrate: they call the pipeline and print."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kneeback import __version__
from kneeback.cli_models import models_app
from kneeback.errors import EXIT_CODES_HELP, KneebackError
from kneeback.io.video import VideoReadWarning
from kneeback.settings import ModelVariant, PoseSettings

__all__ = ["app"]

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="kneeback",
    help=f"Movement analysis and coaching from a phone video.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(models_app, name="models")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn :class:`KneebackError` into one sentence on stderr and its exit code, never a traceback.

    Unexpected exceptions print one line too (set ``KNEEBACK_DEBUG=1`` for the traceback).
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except KneebackError as exc:
            err.print(f"[bold red]Error:[/] {exc}", highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("Interrupted.")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            if os.environ.get("KNEEBACK_DEBUG"):
                raise
            err.print(
                f"[bold red]Internal error:[/] {type(exc).__name__}: {exc}. This is a bug in "
                "kneeback; rerun with KNEEBACK_DEBUG=1 to see the traceback and please report it.",
                highlight=False,
            )
            raise typer.Exit(1) from None

    return wrapper


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
                video, settings=settings, start_s=start, end_s=end, workers=workers, progress=update
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


@app.command()
@user_errors
def info(
    file: Annotated[Path, typer.Argument(help="A video or a pose file (.nc).")],
) -> None:
    """Show what a video or pose file holds."""
    from kneeback.report.describe import describe_file

    out.print(describe_file(file), highlight=False)


if __name__ == "__main__":  # pragma: no cover
    app()
