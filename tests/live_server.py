"""A real ``kneeback serve`` process on the loopback, for browser and load tests.

The server runs as a user would run it (the ``kneeback`` command, uvicorn, its own worker thread
unless ``worker=False``), on a free port, with its database and data folder in a temporary
directory and cookies allowed over plain HTTP. Its output goes to ``server.log`` in that folder,
whose last lines are printed (pytest shows them) when the ``with`` block raises. Starting and
stopping it is ``start_server`` of scripts/loadtest.py, which the load test script uses too.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: How many lines of the server's log a failing test prints.
LOG_TAIL_LINES = 80


@dataclass(frozen=True)
class LiveServer:
    """A running server: its address, database URL, data folder and log."""

    url: str
    database_url: str
    data_dir: Path
    log: Path

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``kneeback ARGS --db <this server's database>`` (e.g. ``users add``)."""
        return subprocess.run(
            [sys.executable, "-m", "kneeback", *args, "--db", self.database_url],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )

    def add_user(self, name: str, password: str, *, role: str = "member") -> None:
        """Add an account with ``kneeback users add NAME --role ROLE --password-stdin``."""
        self.cli("users", "add", name, "--role", role, "--password-stdin", stdin=password + "\n")


def _load_start_server() -> Any:
    """``start_server`` of scripts/loadtest.py, which starts and stops the server for both."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "loadtest.py"
    spec = importlib.util.spec_from_file_location("kneeback_loadtest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module.start_server


_start_server = _load_start_server()


@contextmanager
def live_server(
    root: Path, *, env: dict[str, str] | None = None, worker: bool = True
) -> Iterator[LiveServer]:
    """Start ``kneeback serve`` in ``root``; stop it (Ctrl-C, then kill) on exit.

    Parameters
    ----------
    root
        Empty folder for the database, the data folder and the log.
    env
        Extra environment variables (e.g. ``KNEEBACK_MODEL_DIR``).
    worker
        Run the analysis worker in the server process.
    """
    with _start_server(root, worker=worker, env=env) as (url, database_url, log):
        try:
            yield LiveServer(url=url, database_url=database_url, data_dir=root / "data", log=log)
        except Exception:
            print_log_tail(log)
            raise


def print_log_tail(log: Path, *, lines: int = LOG_TAIL_LINES) -> None:
    """Print the last ``lines`` lines of a server's log (for a failing test's report)."""
    try:
        text = log.read_text(errors="replace")
    except OSError as exc:
        print(f"--- {log}: {exc}")
        return
    tail = text.splitlines()[-lines:]
    print(f"--- last {len(tail)} lines of {log}:", *tail, "--- end of server log", sep="\n")
