"""Batch analysis: the pipeline mapped over many inputs, on this machine or on a Ray cluster.

``kneeback batch`` and :func:`run_batch` analyse every video and pose file they are given (folders
are searched) into one folder per input below an output folder, exactly as ``kneeback analyze``
would, and keep ``summary.csv`` / ``summary.json`` up to date. Inputs whose output already holds a
result are not analysed again (unless ``redo``), so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from kneeback.batch.plan import BatchItem, BatchPlan, find_inputs, plan_batch
from kneeback.batch.run import BatchOutcome, run_item, run_local, run_ray
from kneeback.batch.summary import earlier_outcome, write_summary

__all__ = [
    "BatchItem",
    "BatchOutcome",
    "BatchPlan",
    "earlier_outcome",
    "find_inputs",
    "plan_batch",
    "run_batch",
    "run_item",
    "run_local",
    "run_ray",
    "write_summary",
]


def run_batch(
    plan: BatchPlan,
    output: str | os.PathLike[str],
    /,
    *,
    workers: int = 1,
    ray: bool = False,
    ray_address: str | None = None,
    on_outcome: Callable[[BatchOutcome], None] | None = None,
) -> list[BatchOutcome]:
    """Run a planned batch and keep its summary up to date.

    Parameters
    ----------
    plan
        From :func:`plan_batch`.
    output
        The batch's output folder (``summary.csv`` and ``summary.json`` go there).
    workers
        Processes on this machine (ignored with ``ray``).
    ray, ray_address
        Run on Ray: on the cluster at ``ray_address``, or on a Ray instance started here.
    on_outcome
        Called after each input is finished (for progress).

    Returns
    -------
    list of BatchOutcome
        One per input, in the plan's order (earlier results first).
    """
    earlier = [earlier_outcome(item) for item in plan.done]
    order = {str(item.source): i for i, item in enumerate((*plan.done, *plan.to_run))}
    outcomes = list(earlier)
    write_summary(output, outcomes)
    todo = plan.to_run
    finished: Iterable[BatchOutcome] = ()
    if todo:  # nothing new: do not start Ray or a pool
        finished = run_ray(todo, address=ray_address) if ray else run_local(todo, workers=workers)
    for outcome in finished:
        outcomes.append(outcome)
        outcomes.sort(key=lambda o: order[o.source])
        write_summary(output, outcomes)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes
