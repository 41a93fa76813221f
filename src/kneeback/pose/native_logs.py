"""Keep the native logs of MediaPipe and LiteRT off the user's terminal.

They write model-loading chatter from C++ straight to file descriptor 2, which Python cannot
filter. :func:`native_stderr_captured` points that descriptor at a temporary file for the length of
a block and hands back what was written, e.g. to quote an error line. Python's own warnings are not
affected when recorded with :func:`warnings.catch_warnings`. Set ``KNEEBACK_DEBUG=1`` to see the
native logs as they are written.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator

__all__ = ["native_stderr_captured"]


@contextlib.contextmanager
def native_stderr_captured() -> Iterator[Callable[[], str]]:
    """Capture file descriptor 2 for the length of the block.

    Yields
    ------
    callable
        Returns what was captured so far. Output other threads write to stderr meanwhile is
        captured too.
    """
    if os.environ.get("KNEEBACK_DEBUG"):
        yield lambda: ""
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (embedded interpreters): capture nothing
        yield lambda: ""
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)

        def captured() -> str:
            sink.flush()
            sink.seek(0)
            return sink.read().decode("utf-8", "replace")

        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
