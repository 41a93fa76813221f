"""What every kneeback command shares: the consoles and the error handling."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from kneeback.errors import KneebackError

__all__ = ["err", "out", "progress_console", "user_errors"]

P = ParamSpec("P")
R = TypeVar("R")

#: Results go to stdout, messages and progress to stderr.
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


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
        except (typer.Exit, typer.Abort, typer.BadParameter):
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


def progress_console() -> Console:
    """Return a console on a duplicate of the terminal's stderr, for progress bars.

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
