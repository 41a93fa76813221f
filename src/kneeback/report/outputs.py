"""Write an analysis output folder atomically: all of it, or nothing.

``kneeback analyze`` writes a folder of results::

    result.json    the AnalysisResult (JSON, with its schema version)
    reps.csv       one row per rep, every metric, units in the header (report.exports)
    pose.nc        the pose dataset (netCDF, opens in the ``movement`` package)
    report.html    the self-contained report (report.html)
    annotated.mp4  the annotated video (video input only; report.annotate)
    angles.mot     OpenSim motion file of the angles (with ``exports=("mot",)``)

Everything is written into a temporary sibling folder (same file system) that then takes the
target's place: on Linux with ``renameat2(RENAME_EXCHANGE)``, a single atomic swap, so that the
target path always holds either the complete old folder or the complete new one; elsewhere with
two renames, leaving the target path empty for an instant but never half-written. If anything
fails, the temporary folder is deleted and an existing target is left untouched.

To avoid deleting a user's files by mistake, an existing target is replaced only if it is empty
or a previous output: a ``result.json`` that kneeback wrote and no file kneeback does not write
(:data:`OUTPUT_FILES`); it must not contain the input either.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import html
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from kneeback.errors import OutputError
from kneeback.io.posefile import save_pose_dataset
from kneeback.report.annotate import MAX_SIDE_PX, write_annotated_video
from kneeback.report.exports import EXPORT_FORMATS, write_mot, write_reps_csv
from kneeback.report.output_names import OUTPUT_FILES, OUTPUT_MARKER, is_result_file
from kneeback.report.result import AnalysisResult

__all__ = [
    "EXPORT_FORMATS",
    "OUTPUT_FILES",
    "OUTPUT_MARKER",
    "OutputError",
    "OutputFiles",
    "StageProgress",
    "atomic_directory",
    "check_output_dir",
    "default_output_dir",
    "read_output_folder",
    "write_analysis_folder",
]

StageProgress = Callable[[str, int, int], None]
"""Called with (stage, done, total).

The pipeline reports ``"pose"`` (frames, videos only), ``"analysis"``, ``"video"`` (frames,
videos only) and ``"report"`` (steps); :func:`write_analysis_folder` itself reports the last two.
"""

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def default_output_dir(input_path: str | os.PathLike[str], /, *, cwd: Path | None = None) -> Path:
    """Return ``<input stem>-kneeback`` in the current folder.

    Parameters
    ----------
    input_path
        The analysed file; a ``.gz`` suffix is dropped with the one before it
        (``m01_s01_e01_positions.txt.gz`` -> ``m01_s01_e01_positions-kneeback``).
    cwd
        Folder to put it in (default: the current working directory).

    Returns
    -------
    pathlib.Path
        The output folder.
    """
    name = Path(input_path).name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem = Path(name).stem or name or "kneeback"
    return (cwd or Path.cwd()) / f"{stem}-kneeback"


def check_output_dir(
    target: str | os.PathLike[str], /, *, inputs: Sequence[str | os.PathLike[str]] = ()
) -> Path:
    """Check that ``target`` can be (re)placed by a new output folder.

    Parameters
    ----------
    target
        The output folder.
    inputs
        Input files, which must not lie inside ``target`` (replacing it would delete them).

    Returns
    -------
    pathlib.Path
        ``target`` as an absolute path.

    Raises
    ------
    OutputError
        If ``target`` is a file, a folder that is neither empty nor a previous kneeback output,
        or holds one of ``inputs``.
    """
    path = Path(os.path.abspath(target))
    if path.exists() and not path.is_dir():
        raise OutputError(f"The output path {path} is a file; give a folder with -o.")
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise OutputError(
            f"The output folder {path} cannot be made: {blocking} is a file, not a folder."
        )
    if path.is_dir():
        try:
            entries = [p.name for p in path.iterdir()]
        except OSError as exc:
            raise OutputError(f"The output folder {path} cannot be read ({exc.strerror}).") from exc
        if entries and (OUTPUT_MARKER not in entries or not is_result_file(path / OUTPUT_MARKER)):
            raise OutputError(
                f"The output folder {path} already exists and is not a kneeback output (it has "
                f"no {OUTPUT_MARKER} that kneeback wrote); choose another folder with -o or "
                "empty it first."
            )
        foreign = sorted(set(entries) - OUTPUT_FILES)
        if foreign:
            shown = ", ".join(foreign[:3]) + (
                f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            )
            raise OutputError(
                f"The output folder {path} holds files kneeback did not write ({shown}), which "
                "replacing it would delete; choose another folder with -o or move them first."
            )
    for item in inputs:
        real = Path(os.path.realpath(item))
        if path == real or path in real.parents or Path(os.path.realpath(path)) in real.parents:
            raise OutputError(
                f"The input {item} lies inside the output folder {path}, which would be "
                "replaced; choose another folder with -o."
            )
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux ``renameat2``; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(new: Path, target: Path) -> None:
    """Put the complete folder ``new`` at ``target``, replacing what is there."""
    if not target.exists():
        new.rename(target)
        return
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # now holds the old folder
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old.rmdir()
    target.rename(old)
    try:
        new.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(
    target: str | os.PathLike[str],
    /,
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    before_swap: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """Write a folder completely, then let it take the place of ``target``.

    Parameters
    ----------
    target
        The folder to create or replace (see :func:`check_output_dir`).
    inputs
        Input files that must not lie inside ``target``.
    before_swap
        Called with the complete temporary folder just before it replaces ``target``; if it
        raises, nothing is replaced (e.g. storing the session in a database: a failure there
        leaves the earlier output in place).

    Yields
    ------
    pathlib.Path
        A new empty temporary folder beside ``target``; write everything into it. When the
        ``with`` block ends normally it replaces ``target``; when it raises, it is deleted and
        ``target`` is untouched.

    Raises
    ------
    OutputError
        If ``target`` may not be replaced, or the file system refuses to write or rename.
    """
    path = check_output_dir(target, inputs=inputs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; give it a folder's usual mode
    except OSError as exc:
        raise OutputError(f"Cannot create the output folder {path} ({exc.strerror}).") from exc
    try:
        try:
            yield tmp
        except OSError as exc:
            raise OutputError(f"Writing the output folder {path} failed ({exc}).") from exc
        check_output_dir(path, inputs=inputs)  # it may have changed meanwhile
        if before_swap is not None:
            before_swap(tmp)
        try:
            _swap_in(tmp, path)
        except OSError as exc:
            raise OutputError(f"Replacing the output folder {path} failed ({exc}).") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class OutputFiles:
    """The files of an output folder (paths at their final place).

    Attributes
    ----------
    folder
        The output folder.
    result_json, reps_csv, pose_nc, report_html
        Always written.
    annotated_mp4
        The annotated video, for video input.
    mot
        OpenSim motion files, when asked for.
    """

    folder: Path
    result_json: Path
    reps_csv: Path
    pose_nc: Path
    report_html: Path
    annotated_mp4: Path | None = None
    mot: tuple[Path, ...] = ()


def _render_html(result: AnalysisResult, angles: xr.Dataset, video: Path | None, title: str) -> str:
    """Render the HTML report; a plain one if the report module (or Jinja2) is not installed."""
    try:
        from kneeback.report.html import render_report
    except ModuleNotFoundError as exc:
        if exc.name not in ("kneeback.report.html", "jinja2", "markupsafe"):
            raise
        return _plain_html(result, title)
    return render_report(result, angles, video=video, title=title)


def _plain_html(result: AnalysisResult, title: str) -> str:
    heading = html.escape(title or result.movement.used.replace("_", " ").capitalize())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{heading}</title></head><body><h1>{heading}</h1>"
        "<p>The full report needs the kneeback report module; here is the result.</p>"
        f"<pre>{html.escape(result.to_json())}</pre></body></html>\n"
    )


def read_output_folder(folder: str | os.PathLike[str], /) -> OutputFiles:
    """Describe an output folder written earlier by :func:`write_analysis_folder`.

    Parameters
    ----------
    folder
        The output folder.

    Returns
    -------
    OutputFiles
        Its files; ``annotated_mp4`` and ``mot`` only when present.

    Raises
    ------
    OutputError
        If the folder holds no ``result.json``.
    """
    final = Path(os.path.abspath(folder))
    if not (final / OUTPUT_MARKER).is_file():
        raise OutputError(f"{final} is not a kneeback output folder (it has no {OUTPUT_MARKER}).")
    return _files_of(final, final)


def _files_of(final: Path, written: Path) -> OutputFiles:
    """Return the files at ``final`` of an output folder whose contents lie in ``written`` now."""
    return OutputFiles(
        folder=final,
        result_json=final / "result.json",
        reps_csv=final / "reps.csv",
        pose_nc=final / "pose.nc",
        report_html=final / "report.html",
        annotated_mp4=final / "annotated.mp4" if (written / "annotated.mp4").is_file() else None,
        mot=(final / "angles.mot",) if (written / "angles.mot").is_file() else (),
    )


def write_analysis_folder(
    target: str | os.PathLike[str],
    /,
    *,
    result: AnalysisResult,
    angles: xr.Dataset,
    pose: xr.Dataset,
    processed: xr.Dataset | None = None,
    video: str | os.PathLike[str] | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    exports: Sequence[str] = (),
    title: str = "",
    inputs: Sequence[str | os.PathLike[str]] = (),
    max_side_px: int | None = MAX_SIDE_PX,
    progress: StageProgress | None = None,
    before_publish: Callable[[OutputFiles], None] | None = None,
) -> OutputFiles:
    """Write every output of an analysis into ``target``, atomically (see the module notes).

    Parameters
    ----------
    target
        The output folder, created or replaced.
    result, angles
        The analysis result and the angle time series it used.
    pose
        The pose dataset as estimated or loaded (written to ``pose.nc``).
    processed
        The preprocessed pose dataset, whose smoothed positions draw the skeleton on the video
        (default: ``pose``).
    video
        The analysed video, for ``annotated.mp4``; ``None`` for pose-file input.
    start_s, end_s
        The span of the video that was analysed.
    exports
        Extra formats: ``"mot"`` writes ``angles.mot``.
    title
        Heading of the HTML report (default: the movement).
    inputs
        Input files, which must not lie inside ``target``.
    max_side_px
        Longest side of the annotated video.
    progress
        Called with (stage, done, total) as the video and the report are written.
    before_publish
        Called with the files (at their final paths) once everything is written, just before
        the folder takes ``target``'s place; if it raises, ``target`` is left as it was.

    Returns
    -------
    OutputFiles
        Where everything was written.

    Raises
    ------
    OutputError
        If ``target`` cannot be written or replaced.
    ValueError
        If an export format is unknown.
    """
    unknown = sorted(set(exports) - set(EXPORT_FORMATS))
    if unknown:
        raise ValueError(f"Unknown export format(s) {unknown}; choose from {EXPORT_FORMATS}.")
    final = check_output_dir(target, inputs=inputs)
    report = 2 + len(exports)

    def step(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    def publish(tmp: Path) -> None:
        if before_publish is not None:
            before_publish(_files_of(final, tmp))

    with atomic_directory(final, inputs=inputs, before_swap=publish) as tmp:
        (tmp / "result.json").write_text(result.to_json() + "\n", encoding="utf-8")
        write_reps_csv(result, tmp / "reps.csv")
        save_pose_dataset(pose, tmp / "pose.nc")
        if "mot" in exports:
            write_mot(result, angles, tmp / "angles.mot")
        if video is not None:
            write_annotated_video(
                video,
                tmp / "annotated.mp4",
                result=result,
                angles=angles,
                pose=processed if processed is not None else pose,
                start_s=start_s,
                end_s=end_s,
                max_side_px=max_side_px,
                progress=lambda done, total: step("video", done, total),
            )
        step("report", 1, report)
        page = _render_html(
            result, angles, tmp / "annotated.mp4" if video is not None else None, title
        )
        (tmp / "report.html").write_text(page, encoding="utf-8")
        step("report", report, report)
    return read_output_folder(final)
