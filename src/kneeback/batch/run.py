"""Run a batch: the same analysis for every input, in this process, a process pool or on Ray.

:func:`run_item` is the unit of work: :func:`kneeback.pipeline.analyse_input` for one input,
with every failure turned into a sentence in its outcome, so that one bad file never stops the
others. The runners only decide where :func:`run_item` runs and yield outcomes as they finish:

- :func:`run_local` runs items one after the other in this process (``workers=1``) or in a pool
  of worker processes, each analysing one input at a time (a video's pose estimation then runs in
  that worker's process, not in further chunk processes);
- :func:`run_ray` submits each item as a Ray task needing one CPU, to the cluster at ``address``
  or to a Ray instance started for the run. Inputs and the output folder must be on a file system
  that every node sees (workers read the input and write the output folder themselves).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from kneeback.batch.plan import BatchItem
from kneeback.errors import BadValueError, KneebackError

if TYPE_CHECKING:
    from kneeback.report.result import AnalysisResult

__all__ = ["BatchOutcome", "check_ray_address", "result_fields", "run_item", "run_local", "run_ray"]

Status = Literal["done", "failed", "earlier"]


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one input.

    Attributes
    ----------
    source, output
        The input file and its output folder.
    status
        ``"done"`` (analysed now), ``"failed"`` or ``"earlier"`` (its result was already there).
    movement, view, reps, verdict
        From the result (None when failed).
    recorded_at
        When the clip was recorded (ISO 8601, UTC), if its file said so.
    notes
        What limited the clip (several people in view, body out of frame ...), or why it has
        no repetition; None when there is nothing to say.
    error
        Why it failed, in one sentence.
    seconds
        Wall time of the analysis.
    host
        The machine that ran it (``host:pid``).
    """

    source: str
    output: str
    status: Status
    movement: str | None = None
    view: str | None = None
    reps: int | None = None
    verdict: str | None = None
    recorded_at: str | None = None
    notes: str | None = None
    error: str | None = None
    seconds: float = 0.0
    host: str = ""


def result_fields(result: AnalysisResult, /) -> dict[str, Any]:
    """Read the fields of a :class:`BatchOutcome` that an analysis result gives.

    Parameters
    ----------
    result
        An analysis result.

    Returns
    -------
    dict
        ``movement``, ``view``, ``reps``, ``verdict`` and ``notes``: what limited the clip and,
        without reps, why (None when there is nothing to say).
    """
    notes = list(result.capture.issues)
    if not result.reps:
        notes.insert(0, result.movement.no_repetition_text())
    return {
        "movement": result.movement.used,
        "view": result.view.used,
        "reps": len(result.reps),
        "verdict": result.verdict,
        "notes": " ".join(notes) or None,
    }


def _where() -> str:
    return f"{platform.node()}:{os.getpid()}"


def run_item(item: BatchItem, /) -> BatchOutcome:
    """Analyse one input into its output folder; never raises for a bad input.

    Parameters
    ----------
    item
        The input and its options.

    Returns
    -------
    BatchOutcome
        ``done`` with the verdict, or ``failed`` with the reason (a bad file, nobody in view, an
        output folder that cannot be written; an unexpected error is named as such).
    """
    from kneeback.pipeline import analyse_input
    from kneeback.settings import PoseSettings

    start = time.perf_counter()
    common: dict[str, Any] = {"source": str(item.source), "output": str(item.output)}
    try:
        done = analyse_input(
            item.source,
            item.output,
            movement=item.movement,
            view=item.view,
            format=item.format,
            fps=item.fps,
            settings=PoseSettings(variant=item.variant),
            workers=1,
            analysis_settings=item.settings,
        )
    except KneebackError as exc:
        error = str(exc)
    except Exception as exc:  # one broken input must not end the batch
        error = f"internal error ({type(exc).__name__}: {exc}); please report it"
    else:
        return BatchOutcome(
            **common,
            status="done",
            **result_fields(done.analysis.result),
            recorded_at=None if done.recorded_at is None else done.recorded_at.isoformat(),
            seconds=round(time.perf_counter() - start, 3),
            host=_where(),
        )
    return BatchOutcome(
        **common,
        status="failed",
        error=error,
        seconds=round(time.perf_counter() - start, 3),
        host=_where(),
    )


def run_local(
    items: Sequence[BatchItem],
    /,
    *,
    workers: int = 1,
    work: Callable[[BatchItem], BatchOutcome] = run_item,
) -> Iterator[BatchOutcome]:
    """Run items here (``workers=1``) or in a pool of worker processes; yield as they finish.

    Parameters
    ----------
    items
        The inputs.
    workers
        Processes analysing at the same time.
    work
        The function applied to each item (a module-level function, for the pool).

    Yields
    ------
    BatchOutcome
        One per item, in the order they finish.
    """
    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield work(item)
        return
    with ProcessPoolExecutor(
        max_workers=min(workers, len(items)), mp_context=mp.get_context("spawn")
    ) as pool:
        pending: set[Future[BatchOutcome]] = {pool.submit(work, item) for item in items}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:
            for future in pending:  # interrupted: do not start what has not started
                future.cancel()


def check_ray_address(address: str, /, *, timeout_s: float = 5.0) -> None:
    """Fail fast, with a sentence, when a ``host:port`` Ray address does not answer.

    (Ray itself retries an unreachable head node for minutes.) ``"auto"`` and ``"local"`` are
    left to Ray, which answers at once when no cluster runs here.

    Parameters
    ----------
    address
        ``"auto"``, ``"local"``, ``"ray://host:port"`` or ``"host:port"``.
    timeout_s
        How long to wait for the TCP connection.

    Raises
    ------
    BadValueError
        If the address is malformed or nothing accepts a connection there.
    """
    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise BadValueError(f"Ray address {address!r} is not auto, host:port or ray://host:port.")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise BadValueError(
            f"The Ray cluster at {address} cannot be reached ({exc.strerror or exc})."
        ) from None


def run_ray(
    items: Sequence[BatchItem],
    /,
    *,
    address: str | None = None,
    work: Callable[[BatchItem], BatchOutcome] = run_item,
    num_cpus: int | None = None,
) -> Iterator[BatchOutcome]:
    """Run each item as a Ray task (one CPU each); yield outcomes as they finish.

    Parameters
    ----------
    items
        The inputs; their paths must be visible to every node.
    address
        A running cluster (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``); None starts a
        Ray instance on this machine for the run and stops it afterwards.
    work
        The function applied to each item.
    num_cpus
        CPUs of the Ray instance started here (default: all); ignored with ``address``.

    Yields
    ------
    BatchOutcome
        One per item, in the order they finish.

    Raises
    ------
    BadValueError
        If Ray is not installed or the cluster cannot be reached.
    """
    try:
        import ray
    except ImportError:
        raise BadValueError(
            "Ray is not installed; install it with: pip install 'kneeback[scale]'."
        ) from None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            if address is None:
                ray.init(
                    num_cpus=num_cpus,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            else:
                check_ray_address(address)
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise BadValueError(f"Ray cluster {address} cannot be reached: {exc}") from None
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(work)
        pending = [task.remote(item) for item in items]
        try:
            while pending:
                finished, pending = ray.wait(pending, num_returns=1)
                for ref in finished:
                    yield ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref)
    finally:
        if started_here:
            ray.shutdown()
