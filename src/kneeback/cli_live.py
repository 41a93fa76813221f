"""``kneeback live``: analyse a camera or stream while the person moves."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from kneeback.cli_options import (
    MovementChoice,
    PersonDbOption,
    SettingsOption,
    VariantOption,
    ViewChoice,
)
from kneeback.cli_summary import print_summary, rep_line
from kneeback.cli_support import err, out, user_errors
from kneeback.errors import BadValueError
from kneeback.settings_file import load_settings_file

if TYPE_CHECKING:
    from kneeback.report.result import AnalysisResult, RepInfo

__all__ = ["register"]


def _terminal_stderr(stack: contextlib.ExitStack) -> Console:
    """Return a console on a copy of stderr: it keeps writing while fd 2 hides native logs."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr is not a file (tests): use it as it is
        return err
    copy = stack.enter_context(os.fdopen(os.dup(fd), "w", closefd=True))
    return Console(file=copy, soft_wrap=True, highlight=False)


@user_errors
def live(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help=(
                "A camera (0, /dev/video0) or a stream URL (rtsp://, rtsps://, rtmp://, srt://, "
                "udp://, tcp://, http://, https://)."
            ),
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output folder (default: `live-<date>-<time>-kneeback` in the current folder).",
        ),
    ] = None,
    movement: Annotated[
        MovementChoice, typer.Option(help="The movement, or auto to recognise it.")
    ] = "auto",
    view: Annotated[ViewChoice, typer.Option(help="The camera view, or auto.")] = "auto",
    variant: VariantOption = "lite",
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: when the source ends).", min=1),
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(help="Store the session in the history of the person of this name."),
    ] = None,
    db: PersonDbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Count and judge repetitions from a camera or stream as they happen.

    Each repetition is reported a moment after it ends. Ctrl-C (or the end of the stream, or
    --duration) ends the session: the recording is then analysed as a whole and written like
    `kneeback analyze` writes a clip (report.html, annotated.mp4, ...), with the recording
    itself as recording.mp4. The lite model is the default here: it keeps up with a camera on
    a laptop; frames it has no time for are skipped.
    """
    from kneeback.live import LiveStatus, run_live
    from kneeback.pose.native_logs import native_stderr_captured
    from kneeback.report.outputs import check_output_dir
    from kneeback.settings import PoseSettings

    if Path(source).is_file():
        raise BadValueError(
            f"{source} is a file: analyse it with `kneeback analyze {source}` (live reads "
            "cameras and streams as they run)."
        )
    analysis_settings = None if settings_file is None else load_settings_file(settings_file)
    started = dt.datetime.now(dt.UTC)
    target = check_output_dir(
        output or Path.cwd() / f"live-{started:%Y%m%d-%H%M%S}-kneeback", inputs=[]
    )
    stop = threading.Event()
    stack = contextlib.ExitStack()
    if person is not None:  # checked first: a database that cannot be used fails before filming
        from kneeback.store import open_database

        open_database(db).close()
    say = _terminal_stderr(stack)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop at once, write nothing
        stop.set()

    def on_rep(rep: RepInfo, result: AnalysisResult) -> None:
        out.print(rep_line(rep, list(result.findings)), highlight=False)

    shown = [-1.0]

    def on_status(status: LiveStatus) -> None:
        if status.time_s - shown[0] >= 10.0:  # a sign of life every 10 s
            shown[0] = status.time_s
            say.print(
                f"{status.time_s:.0f} s: {status.reps} reps, {status.analysed} frames analysed, "
                f"{status.skipped} skipped",
                highlight=False,
            )

    def on_ready() -> None:
        say.print(f"Reading {source}. Ctrl-C ends the session and writes the report.")

    def on_loading() -> None:
        say.print(f"Loading the pose model ({variant}) ...")

    previous = signal.signal(signal.SIGINT, on_signal)
    # The source is checked before the model loads; MediaPipe's native logs are kept off the
    # terminal as in `kneeback pose`, while our own lines go to a copy of stderr.
    try:
        with stack, native_stderr_captured(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            done = run_live(
                source,
                target,
                movement=movement,
                view=view,
                settings=PoseSettings(variant=variant),
                duration_s=duration,
                stop=stop,
                on_rep=on_rep,
                on_status=on_status,
                on_ready=on_ready,
                on_loading=on_loading,
                analysis_settings=analysis_settings,
            )
    finally:
        signal.signal(signal.SIGINT, previous)
    said = (str(w.message) for w in caught if issubclass(w.category, UserWarning))
    for message in dict.fromkeys(said):
        err.print(f"Warning: {message}", highlight=False)
    out.print("", highlight=False)
    print_summary(done.analysis.result, done.files.report_html)
    if person is not None:
        # Stored after the folder is written: a session cannot be filmed again, so whatever
        # happens to the database, the recording and its report stay.
        from kneeback.store import artifact_paths, open_database, store_session

        with open_database(db) as database:
            stored = store_session(
                database,
                person,
                done.analysis.result,
                artifacts=artifact_paths(done.files),
                recorded_at=started,
                source_path=done.files.folder / "recording.mp4",
            )
        out.print(f"Stored as session {stored} in the history of {person}.", highlight=False)


def register(app: typer.Typer, /) -> None:
    """Add ``kneeback live`` to the command line."""
    app.command("live")(live)
