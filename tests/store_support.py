"""Helpers for the store, progress and program tests: real analysis results from UI-PRMD
recordings (shared data, never copied into the repository). Fixtures are in store_fixtures.py.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from kneeback.report.result import AnalysisResult

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ui-prmd" / "vicon"

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared UI-PRMD data not present")


def uiprmd_file(movement: int, subject: int, episode: int, *, correct: bool = True) -> Path:
    """Path of one UI-PRMD repetition file."""
    label = "correct" if correct else "incorrect"
    suffix = "" if correct else "_inc"
    return DATA / label / f"m{movement:02d}_s{subject:02d}_e{episode:02d}_positions{suffix}.txt.gz"


def concat_reps(paths: list[Path]) -> xr.Dataset:
    """One clip of several repetitions: UI-PRMD files (one rep each) joined end to end in time."""
    from kneeback.io.adapters import load_any

    parts = []
    offset = 0.0
    for p in paths:
        ds = load_any(p)
        t = np.asarray(ds["time"].values, dtype=np.float64)
        step = float(np.median(np.diff(t)))
        parts.append(ds.assign_coords(time=t - t[0] + offset))
        offset += float(t[-1] - t[0]) + step
    out = xr.concat(
        parts,
        dim="time",
        data_vars="minimal",
        coords="minimal",
        compat="override",
        combine_attrs="override",
    )
    return out


@functools.cache
def session_result(movement: int, subject: int, episodes: tuple[int, ...], correct: bool) -> str:
    """Analyse a clip made of the given repetitions; return the result as JSON (cached)."""
    from kneeback.analysis import analyse

    ds = concat_reps([uiprmd_file(movement, subject, e, correct=correct) for e in episodes])
    return analyse(ds).to_json(indent=None)


def result(
    movement: int, subject: int, episodes: tuple[int, ...], *, correct: bool = True
) -> AnalysisResult:
    """A real :class:`AnalysisResult` of a multi-rep clip (see :func:`session_result`)."""
    return AnalysisResult.from_json(session_result(movement, subject, episodes, correct))


def day(n: int) -> dt.datetime:
    """Midday UTC, ``n`` days after 2026-01-05."""
    return dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC) + dt.timedelta(days=n)


def output_folder(folder: Path, res: AnalysisResult, /, *names: str) -> dict[str, Path]:
    """Write an output folder as ``kneeback analyze`` leaves one; return its artifacts by kind.

    ``result.json`` holds ``res``; each of ``names`` (``report.html``, ``annotated.mp4``, ...)
    holds its own name. Kinds are the names with ``_`` for ``.`` (``report_html``), as
    :func:`kneeback.store.artifact_paths` names them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(res.to_json() + "\n", encoding="utf-8")
    arts = {"result_json": folder / "result.json"}
    for name in names:
        (folder / name).write_text(name, encoding="utf-8")
        arts[name.replace(".", "_")] = folder / name
    return arts
