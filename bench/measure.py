"""Run a benchmarked command as a program and measure its wall time and peak memory."""

from __future__ import annotations

import subprocess
import threading
import time

import psutil

__all__ = ["run_measured"]


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return its wall seconds and the peak summed RSS of its process tree (MB).

    Parameters
    ----------
    cmd
        The program and its arguments; its output is captured, not shown.

    Returns
    -------
    elapsed : float
        Wall seconds from launch to exit.
    peak : float
        Peak of the summed resident memory of the process and all its descendants, in MiB,
        sampled every 50 ms.

    Raises
    ------
    RuntimeError
        If the command exits with a non-zero status (the end of its stderr is included).
    """
    peak = 0.0
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                procs = [proc, *proc.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
                peak = max(peak, rss / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    elapsed = time.perf_counter() - t0
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {stderr.decode(errors='replace')[-2000:]}")
    return elapsed, peak
