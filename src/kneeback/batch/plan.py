"""Plan a batch: which inputs, and which output folder each gets.

Inputs are files and folders. A file named on the command line is always analysed (a corrupt one
is reported as failed); a folder is searched recursively for videos (by their name) and pose
files (by :func:`kneeback.io.adapters.detect_format`), skipping hidden entries and earlier
kneeback output folders, so that a ``README.txt`` beside the clips is not mistaken for data.

Each input gets a folder in the batch's output folder, named after the file (the ``.gz`` and the
last suffix dropped); inputs whose names collide are told apart by their path below the folder
that was given (``correct__m01_s01_e01_positions``). A rerun into the same output folder keeps
each input's earlier folder (as the earlier run's ``summary.json`` records it), so adding an input
whose name collides does not leave the earlier output behind under its old name; and an output
folder counts as done only for the input that wrote it.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kneeback.errors import InputError, OutputError
from kneeback.io.adapters import detect_format
from kneeback.pipeline import InputFormat
from kneeback.report.outputs import OUTPUT_MARKER
from kneeback.settings import AnalysisSettings, ModelVariant

__all__ = ["VIDEO_SUFFIXES", "BatchItem", "BatchPlan", "find_inputs", "plan_batch"]

#: File name endings taken as videos when a folder is searched.
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".3gp", ".mpg"})
#: File name endings that may hold a pose file; the content decides (see the module notes).
_POSE_CANDIDATES = (".nc", ".netcdf", ".json", ".txt", ".txt.gz", ".csv", ".csv.gz", ".tsv")


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch and how to analyse it (picklable: it travels to worker processes).

    Attributes
    ----------
    source
        The input file (absolute).
    output
        Its output folder (absolute).
    movement, view, format, fps, variant
        As for ``kneeback analyze``.
    settings
        Analysis settings (None: the defaults).
    """

    source: Path
    output: Path
    movement: str = "auto"
    view: str = "auto"
    format: InputFormat = "auto"
    fps: float | None = None
    variant: ModelVariant = "full"
    settings: AnalysisSettings | None = None


@dataclass(frozen=True)
class BatchPlan:
    """The items to run, those already done, and the folder files passed over.

    Attributes
    ----------
    to_run
        Items whose output folder does not hold a result yet (all of them with ``redo``).
    done
        Items whose output folder already holds a ``result.json``, unless the earlier run's
        ``summary.json`` names another input as the one analysed into that folder (none with
        ``redo``).
    passed_over
        Files in the searched folders that are not videos (by their ending) but whose name makes
        them a candidate (a pose-file ending such as ``.txt`` or ``.json``, or a match of
        ``pattern``) and that hold no known pose data; other files are left out uncounted.
    """

    to_run: tuple[BatchItem, ...]
    done: tuple[BatchItem, ...]
    passed_over: tuple[Path, ...]


def _is_candidate(path: Path, pattern: str | None) -> bool:
    name = path.name.lower()
    if pattern is not None:
        return fnmatch.fnmatch(path.name, pattern)
    return path.suffix.lower() in VIDEO_SUFFIXES or name.endswith(_POSE_CANDIDATES)


def _is_pose_data(path: Path) -> bool:
    try:
        detect_format(path)
    except InputError:
        return False
    return True


def _walk(folder: Path, skip: Path | None) -> Iterable[Path]:
    """Files below ``folder`` in a stable order, without hidden entries or kneeback outputs."""
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and (skip is None or (here / d).resolve() != skip)
            and not (here / d / OUTPUT_MARKER).is_file()
        )
        yield from (here / f for f in sorted(files) if not f.startswith("."))


def find_inputs(
    paths: Sequence[str | os.PathLike[str]],
    /,
    *,
    pattern: str | None = None,
    skip: str | os.PathLike[str] | None = None,
) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Expand files and folders into the input files of a batch.

    Parameters
    ----------
    paths
        Files and folders, as the user gave them.
    pattern
        Only files whose name matches this shell pattern (e.g. ``"*.mp4"``) are taken from
        folders; by default videos and pose files.
    skip
        A folder not to search (the batch's own output folder).

    Returns
    -------
    inputs
        ``(file, base)`` pairs, each file once, in the order given (folders sorted); ``base`` is
        the folder the file was found in, or the file's own folder.
    passed_over
        Folder files that matched by name but hold no known pose data.

    Raises
    ------
    InputError
        If a path does not exist, or nothing to analyse was found.
    """
    skip_path = None if skip is None else Path(skip).resolve()
    seen: set[Path] = set()
    inputs: list[tuple[Path, Path]] = []
    passed_over: list[Path] = []
    for given in map(Path, paths):
        if not given.exists():
            raise InputError(f"Input {given} does not exist.")
        if given.is_file():
            found = [given.resolve()]
            base = given.resolve().parent
        else:
            base = given.resolve()
            found = []
            for f in _walk(base, skip_path):
                if not _is_candidate(f, pattern):
                    continue
                if f.suffix.lower() in VIDEO_SUFFIXES or _is_pose_data(f):
                    found.append(f.resolve())
                else:
                    passed_over.append(f)
        for f in found:
            if f not in seen:
                seen.add(f)
                inputs.append((f, base))
    if not inputs:
        names = ", ".join(str(p) for p in paths)
        raise InputError(f"No video or pose file was found in {names}.")
    return inputs, passed_over


def _stem(path: Path) -> str:
    name = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    return Path(name).stem or name


def _folder_names(inputs: Sequence[tuple[Path, Path]]) -> list[str]:
    """One output folder name per input: the file's stem, its path below the base if taken."""
    stems = [_stem(f) for f, _ in inputs]
    taken = Counter(stems)
    names: list[str] = []
    for (f, base), stem in zip(inputs, stems, strict=True):
        name = stem
        if taken[stem] > 1:
            parts = f.parent.relative_to(base).parts if f.is_relative_to(base) else ()
            name = "__".join([*parts, stem]) if parts else stem
        names.append(name)
    # Still the same (same stem and relative path under different bases): number them.
    counts = Counter(names)
    seen: Counter[str] = Counter()
    unique: list[str] = []
    for name in names:
        if counts[name] > 1:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        unique.append(name)
    return unique


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(path)


def _earlier_sources(out: Path) -> dict[str, str]:
    """Output folder name -> the input analysed into it, from an earlier run's summary.json."""
    try:
        rows = json.loads((out / "summary.json").read_text(encoding="utf-8"))["inputs"]
        return {
            Path(r["output"]).name: _key(r["source"])
            for r in rows
            if r.get("status") in ("done", "earlier") and r.get("output") and r.get("source")
        }
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # no earlier run, or a summary not to rely on


def _keep_earlier_names(
    inputs: Sequence[tuple[Path, Path]], names: list[str], earlier: dict[str, str], out: Path
) -> list[str]:
    """Give each input the folder an earlier run analysed it into, when no other input has it."""
    where = {source: name for name, source in earlier.items()}
    kept = list(names)
    for i, (source, _) in enumerate(inputs):
        old = where.get(_key(source))
        if old is None or old == kept[i] or not (out / old / OUTPUT_MARKER).is_file():
            continue
        if old not in kept:  # free in this run: the earlier output stays where it is
            kept[i] = old
    return kept


def plan_batch(
    paths: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    /,
    *,
    movement: str = "auto",
    view: str = "auto",
    format: InputFormat = "auto",
    fps: float | None = None,
    variant: ModelVariant = "full",
    pattern: str | None = None,
    redo: bool = False,
    settings: AnalysisSettings | None = None,
) -> BatchPlan:
    """Find the inputs and give each an output folder below ``output``.

    Parameters
    ----------
    paths
        Files and folders to analyse.
    output
        The batch's output folder.
    movement, view, format, fps, variant
        How every input is analysed.
    pattern
        Shell pattern for the files taken from folders (see :func:`find_inputs`).
    redo
        Analyse again inputs whose output folder already holds a result.
    settings
        Analysis settings for every input (None: the defaults).

    Returns
    -------
    BatchPlan
        What to run and what was done before.

    Raises
    ------
    InputError
        If an input is missing or nothing to analyse was found.
    OutputError
        If ``output`` is a file.
    """
    out = Path(output).resolve()
    if out.exists() and not out.is_dir():
        raise OutputError(f"The output path {out} is a file; give a folder with -o.")
    inputs, passed_over = find_inputs(paths, pattern=pattern, skip=out)
    to_run: list[BatchItem] = []
    done: list[BatchItem] = []
    earlier = _earlier_sources(out)
    names = _keep_earlier_names(inputs, _folder_names(inputs), earlier, out)
    for (source, _), name in zip(inputs, names, strict=True):
        item = BatchItem(
            source=source,
            output=out / name,
            movement=movement,
            view=view,
            format=format,
            fps=fps,
            variant=variant,
            settings=settings,
        )
        wrote = earlier.get(name)  # the input an earlier run analysed into this folder
        finished = (item.output / OUTPUT_MARKER).is_file() and wrote in (None, _key(source))
        (done if finished and not redo else to_run).append(item)
    return BatchPlan(to_run=tuple(to_run), done=tuple(done), passed_over=tuple(passed_over))
