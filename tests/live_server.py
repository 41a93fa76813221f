"""A real ``kneeback serve`` process on the loopback, for browser and load tests.

The server runs as a user would run it (the ``kneeback`` command, uvicorn, its own worker thread
unless ``worker=False``), on a free port, with its database and data folder in a temporary
directory and cookies allowed over plain HTTP. Its output goes to ``server.log`` in that folder,
whose last lines are printed (pytest shows them) when the ``with`` block raises.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: How long a server may take to answer its first request.
START_TIMEOUT_S = 60.0
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


def free_port() -> int:
    """Return a TCP port on the loopback that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    database_url = f"sqlite:///{root / 'kneeback.db'}"
    data_dir = root / "data"
    log = root / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "kneeback",
        "serve",
        "--port",
        str(port),
        "--db",
        database_url,
        "--data-dir",
        str(data_dir),
        "--insecure-cookies",
    ]
    if not worker:
        cmd.append("--no-worker")
    full_env = os.environ | {"KNEEBACK_SECRET_KEY": "s" * 64, "PYTHONUNBUFFERED": "1"}
    full_env |= env or {}
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as log_fh:
        proc = subprocess.Popen(cmd, stdout=log_fh, stderr=subprocess.STDOUT, env=full_env)
        try:
            _wait_until_up(url, proc, log)
            yield LiveServer(url=url, database_url=database_url, data_dir=data_dir, log=log)
        except Exception:
            print_log_tail(log)
            raise
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def print_log_tail(log: Path, *, lines: int = LOG_TAIL_LINES) -> None:
    """Print the last ``lines`` lines of a server's log (for a failing test's report)."""
    try:
        text = log.read_text(errors="replace")
    except OSError as exc:
        print(f"--- {log}: {exc}")
        return
    tail = text.splitlines()[-lines:]
    print(f"--- last {len(tail)} lines of {log}:", *tail, "--- end of server log", sep="\n")


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kneeback serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"kneeback serve did not answer within {START_TIMEOUT_S:.0f} s")
