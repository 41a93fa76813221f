"""The batch summary: one row per input, as ``summary.csv`` and ``summary.json``.

Both files are rewritten after every finished input (to a temporary file that then replaces the
old one), so that an interrupted batch still leaves a true summary of what was done.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from kneeback.batch.plan import BatchItem
from kneeback.batch.run import BatchOutcome, result_fields
from kneeback.errors import OutputError
from kneeback.report.outputs import OUTPUT_MARKER
from kneeback.report.result import AnalysisResult

__all__ = ["SUMMARY_FIELDS", "count_outcomes", "earlier_outcome", "write_summary"]

#: Columns of ``summary.csv``, in order.
SUMMARY_FIELDS = tuple(f.name for f in dataclasses.fields(BatchOutcome))


def _recorded_at(pose_nc: Path) -> str | None:
    """Read the ``recorded_at`` attribute of a pose file without loading its data."""
    try:
        with xr.open_dataset(pose_nc, engine="h5netcdf") as ds:
            value = ds.attrs.get("recorded_at")
    except (OSError, ValueError):
        return None
    return value if isinstance(value, str) else None


def earlier_outcome(item: BatchItem, /) -> BatchOutcome:
    """Read the outcome of an input analysed by an earlier run from its ``result.json``.

    Parameters
    ----------
    item
        An input whose output folder holds a result.

    Returns
    -------
    BatchOutcome
        Status ``"earlier"`` with the stored movement, view, reps and verdict; ``"failed"`` if
        the stored result cannot be read.
    """
    common: dict[str, Any] = {"source": str(item.source), "output": str(item.output)}
    try:
        result = AnalysisResult.from_json((item.output / OUTPUT_MARKER).read_text(encoding="utf-8"))
        return BatchOutcome(
            **common,
            status="earlier",
            **result_fields(result),
            recorded_at=_recorded_at(item.output / "pose.nc"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return BatchOutcome(
            **common,
            status="failed",
            error=f"the earlier result cannot be read ({exc}); rerun with --redo",
        )


def _replace(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{path} cannot be written ({exc.strerror}).") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{path} cannot be written ({exc.strerror}).") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def count_outcomes(outcomes: Sequence[BatchOutcome], /) -> dict[str, int]:
    """Count the inputs by status: ``{"done": ..., "earlier": ..., "failed": ...}``."""
    return {s: sum(o.status == s for o in outcomes) for s in ("done", "earlier", "failed")}


def write_summary(folder: str | os.PathLike[str], outcomes: Sequence[BatchOutcome], /) -> Path:
    """Write ``summary.csv`` and ``summary.json`` into ``folder``, in the order of ``outcomes``.

    Parameters
    ----------
    folder
        The batch's output folder (created if missing).
    outcomes
        One per input.

    Returns
    -------
    pathlib.Path
        The path of ``summary.csv``.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"The output folder {folder} cannot be made ({exc.strerror}).") from None
    rows = [dataclasses.asdict(o) for o in outcomes]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    _replace(folder / "summary.csv", buffer.getvalue())
    counts = count_outcomes(outcomes)
    _replace(
        folder / "summary.json",
        json.dumps({"counts": counts, "inputs": rows}, indent=2) + "\n",
    )
    return folder / "summary.csv"
