"""Follow a data folder that was restored or moved to another path.

The database names uploads, analysis folders and their files by absolute paths (the command
line stores sessions whose files lie anywhere, so paths are not relative to one folder). When an
operator restores a backup of the data folder at another path, or points a copy of the service at
a copy of the data, those paths would still name the old place: reports and videos would be
404, and deleting a member would delete nothing (or, on the same machine, the original's files).
:func:`follow_data_folder` finds the old data folders the database names and, when the current
one holds their files, rewrites the stored paths to point into it, in one transaction.

An old folder that still holds its files is most likely still in use: the same database started
once with another ``--data-dir`` (a typing slip, a share mounted elsewhere) must not move every
path away from a running server. Its paths are rewritten only when the caller says so
(``over_live``: the database is a copy too, made together with the data folder).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session as OrmSession

from kneeback.store.db import Database
from kneeback.store.models import Artifact
from kneeback.store.models import Session as StoredSession
from kneeback.web.models import Job

__all__ = ["Relocation", "follow_data_folder"]

log = logging.getLogger(__name__)

#: The data folder's sub-folders whose files the database names (see ``WebSettings``).
_PARTS = ("uploads", "analyses")


@dataclasses.dataclass(frozen=True)
class Relocation:
    """What :func:`follow_data_folder` found for one old data folder.

    Attributes
    ----------
    old
        The data folder the database named.
    found
        How many of the stored uploads and analysis folders under ``old`` the current data folder
        holds.
    missing
        How many it does not hold.
    still_there
        How many are still at their stored place under ``old`` (a folder still in use, or
        copied rather than moved).
    rewritten
        How many stored paths now point into the current data folder (0 when none was found
        there: then nothing is changed).
    """

    old: Path
    found: int
    missing: int
    still_there: int
    rewritten: int


def _old_root(stored: str | None, current: Path) -> Path | None:
    """Return the data folder a stored upload or analysis path lies in, unless ``current``."""
    if not stored:
        return None
    path = Path(stored)
    if path.parent.name not in _PARTS:
        return None
    root = path.parent.parent
    return None if root == current else root


def _moved(stored: str | None, old: Path, new: Path) -> str | None:
    """Return ``stored`` with the prefix ``old`` replaced by ``new`` (None outside ``old``)."""
    if stored is None or not stored.startswith(str(old) + os.sep):
        return None
    return str(new) + stored[len(str(old)) :]


def follow_data_folder(
    db: Database, data_dir: Path, /, *, rewrite: bool = True, over_live: bool = False
) -> list[Relocation]:
    """Point the stored paths of an earlier data folder into ``data_dir``, if it holds them.

    Old data folders are recognised from the jobs' upload and analysis folders
    (``OLD/uploads/FILE``, ``OLD/analyses/UID``). For each, the uploads and analysis folders are
    looked up under ``data_dir`` and at their stored place. When ``data_dir`` holds at least one
    and the old folder none (it was moved, or restored elsewhere), every stored path under the
    old folder (jobs' uploads and analysis folders, sessions' artifacts and source clips) is
    rewritten to ``data_dir``, in one transaction. When the old folder still holds them, only
    with ``over_live``. When ``data_dir`` holds none (a data folder that was not restored),
    nothing is changed and the caller should warn.

    Parameters
    ----------
    db
        The open database of the web app.
    data_dir
        The data folder in use (``WebSettings.data_dir``).
    rewrite
        False to only look: nothing is changed, ``rewritten`` is 0.
    over_live
        Rewrite the paths of an old folder that still holds its files too (the database is a
        copy, made together with ``data_dir``).

    Returns
    -------
    list of Relocation
        One entry per old data folder named in the database; empty when every stored path is
        already in ``data_dir``.
    """
    new = data_dir.expanduser().resolve()

    def work(s: OrmSession) -> list[Relocation]:
        jobs = s.execute(select(Job.upload_path, Job.output_dir)).all()
        olds = sorted(
            {root for row in jobs for p in row if (root := _old_root(p, new)) is not None}
        )
        done = []
        for old in olds:
            stored = [p for row in jobs for p in row if _moved(p, old, new) is not None]
            found = sum(1 for p in stored if Path(str(_moved(p, old, new))).exists())
            there = sum(1 for p in stored if p is not None and Path(p).exists())
            move = rewrite and found > 0 and (there == 0 or over_live)
            rewritten = _rewrite(s, old, new) if move else 0
            done.append(Relocation(old, found, len(stored) - found, there, rewritten))
        return done

    relocations = db.write(work) if rewrite else db.read(work)
    for r in relocations:
        if r.rewritten:
            log.info("data folder moved from %s to %s: %d paths updated", r.old, new, r.rewritten)
        elif rewrite and not r.found:
            log.warning("the database names files in %s, and %s holds none of them", r.old, new)
    return relocations


def _rewrite(s: OrmSession, old: Path, new: Path) -> int:
    """Rewrite every stored path under ``old`` to ``new``; return how many changed."""
    columns: list[Any] = [
        Job.upload_path,
        Job.output_dir,
        Artifact.path,
        StoredSession.source_path,
    ]
    n = 0
    for column in columns:
        table = column.class_
        prefix = str(old) + os.sep
        rows = s.execute(select(table.id, column).where(column.startswith(prefix, autoescape=True)))
        for row_id, stored in rows.all():
            moved = _moved(stored, old, new)
            if moved is not None:
                s.execute(update(table).where(table.id == row_id).values({column.key: moved}))
                n += 1
    return n
