"""What an analysis output folder holds, by name: light enough for the store to import.

:mod:`kneeback.report.outputs` writes the folders; these names and checks say whether a folder
or a file is one of them, for code that must never touch anything else (replacing a folder,
deleting a forgotten session's files).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["OUTPUT_FILES", "OUTPUT_MARKER", "is_output_file", "is_result_file"]

OUTPUT_MARKER = "result.json"
"""A folder holding this file (a kneeback result) is a kneeback output and may be replaced."""

#: Every file kneeback writes into an output folder (``recording.mp4``: ``kneeback live``). A
#: folder holding anything else also holds someone's own files and is never replaced.
OUTPUT_FILES = frozenset(
    {
        "result.json",
        "reps.csv",
        "pose.nc",
        "report.html",
        "annotated.mp4",
        "angles.mot",
        "recording.mp4",
    }
)


def is_result_file(path: Path, /) -> bool:
    """Whether ``path`` holds a kneeback analysis result (JSON with its schema version).

    Parameters
    ----------
    path
        The file to look at; only its first 4 KiB are read.

    Returns
    -------
    bool
        False for anything unreadable or missing.
    """
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and b'"schema_version"' in head


def is_output_file(path: Path, /) -> bool:
    """Whether ``path`` is a file kneeback writes, in a folder that holds a kneeback result.

    Parameters
    ----------
    path
        A file path, such as a stored artifact's.

    Returns
    -------
    bool
        True when its name is one of :data:`OUTPUT_FILES` and its folder's ``result.json`` is a
        kneeback result; a path that merely ends in ``report.html`` in someone's own folder, or
        a folder, is not.
    """
    return (
        path.name in OUTPUT_FILES
        and not path.is_dir()
        and is_result_file(path.parent / OUTPUT_MARKER)
    )
