"""A member's whole download as one zip, written while it is sent (``/account/export.zip``).

The zip holds ``kneeback-export.json`` (what ``kneeback export`` writes, without the server's file
paths: byte for byte the JSON download), ``account.json`` (the account, its coaches, uploads, the
share and review state of and coaches' comments on each session, the member's comments under
articles), a folder per analysed session with its report, annotated video and uploaded clip, and
``README.txt`` saying what each is. The database is read first (:func:`member_archive`); the files
are read while the zip is streamed (:func:`zip_chunks`), a megabyte at a time, so that neither the
zip nor a video is ever held whole in memory or written to disk. Only files inside the data folder
are included: reports and videos under its analyses, clips under its uploads
(:func:`~kneeback.web.queries.file_inside`), whatever a stored path says.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from kneeback.store import export_text
from kneeback.store.db import Database
from kneeback.store.models import Artifact, utcnow
from kneeback.store.models import Session as StoredSession
from kneeback.web.account import account_details, member_export
from kneeback.web.account_records import MemberRecords, member_records
from kneeback.web.accounts import Account
from kneeback.web.queries import SERVED_FILES, file_inside, jobs_page

__all__ = [
    "ACCOUNT_FORMAT",
    "MemberArchive",
    "ZipEntry",
    "account_record",
    "clip_suffix",
    "member_archive",
    "member_files_bytes",
    "zip_chunks",
]

#: ``format`` and ``format_version`` of ``account.json``.
ACCOUNT_FORMAT = ("kneeback-account", 1)
#: How much of a file is read, and of the zip sent, at a time, in bytes.
CHUNK_BYTES = 1024 * 1024
#: What the zip's README says, ``{username}`` and ``{date}`` filled in.
README_TEXT = (
    "This zip holds what kneeback keeps about the account {username}, as of {date}. "
    "kneeback-export.json: your analysed sessions with their findings and measurements, outcome "
    "entries and program stages, as `kneeback export` writes it (`kneeback import` reads it into "
    "another kneeback), without the server's file paths (the files are in the session "
    "folders). account.json: your account (username, role, since when), your coaches, your "
    "uploads and how their analyses went, for each session "
    "whether you shared it and when a coach reviewed it, with your coaches' comments on it (the "
    "moment in the video in seconds, the text, who wrote it, when), and your comments under "
    "articles (hidden: taken down by a coach or admin). sessions/DATE_ID/: for each analysed "
    "session, recorded on DATE, report.html (its report), annotated.mp4 (the video with the "
    "measurements drawn on it) and clip.* (the video you uploaded), those that are still kept.\n"
)
#: What the README says instead of the export's part when the member has no stored history.
NO_HISTORY_TEXT = (
    "kneeback-export.json: none; no history is stored for this account (it was forgotten)."
)


@dataclass(frozen=True)
class ZipEntry:
    """One file of the zip: bytes written by kneeback, or a file of the data folder.

    Attributes
    ----------
    name
        Its name in the zip.
    data
        Its content, for a file written here (``path`` is None).
    path
        The file copied, inside the data folder.
    size_bytes
        Its size when the zip was planned.
    video
        Stored as it is (videos do not compress), rather than deflated.
    """

    name: str
    data: bytes = b""
    path: Path | None = None
    size_bytes: int = 0
    video: bool = False


@dataclass(frozen=True)
class MemberArchive:
    """What a member's zip holds, in order, with how many sessions and files of theirs.

    Attributes
    ----------
    username
        The member.
    entries
        The zip's files, in order.
    sessions
        How many analysed sessions the member has.
    """

    username: str
    entries: list[ZipEntry] = field(default_factory=list)
    sessions: int = 0

    @property
    def files(self) -> list[ZipEntry]:
        """The files copied from the data folder (reports, videos, clips)."""
        return [e for e in self.entries if e.path is not None]

    @property
    def files_bytes(self) -> int:
        """How many bytes the copied files held when the zip was planned."""
        return sum(e.size_bytes for e in self.files)


@dataclass(frozen=True)
class _SessionFiles:
    """A member's session with the files of it that lie inside the data folder."""

    id: int
    uid: str
    recorded_at: dt.datetime
    movement: str
    files: dict[str, Path]  # "report.html", "annotated.mp4", "clip" -> resolved path

    @property
    def folder(self) -> str:
        return f"sessions/{self.recorded_at.date().isoformat()}_{self.id}/"


def _member_sessions(
    db: Database, account: Account, *, upload_dir: Path, analysis_dir: Path
) -> list[_SessionFiles]:
    """Return the member's sessions, oldest first, each with its report, video and clip if kept.

    A report or video counts only inside ``analysis_dir``, a clip only inside ``upload_dir``
    (:func:`~kneeback.web.queries.file_inside`), whatever the stored path says.
    """
    if account.person_id is None:
        return []
    person_id = account.person_id

    def work(s: OrmSession) -> tuple[list[Any], list[Any]]:
        rows = s.execute(
            select(
                StoredSession.id,
                StoredSession.uid,
                StoredSession.recorded_at,
                StoredSession.movement,
                StoredSession.source_path,
            )
            .where(StoredSession.person_id == person_id)
            .order_by(StoredSession.recorded_at, StoredSession.id)
        ).all()
        artifacts = s.execute(
            select(Artifact.session_id, Artifact.kind, Artifact.path)
            .join(StoredSession, StoredSession.id == Artifact.session_id)
            .where(StoredSession.person_id == person_id, Artifact.kind.in_(SERVED_FILES.values()))
        ).all()
        return list(rows), list(artifacts)

    rows, artifacts = db.read(work)
    name_of = {kind: name for name, kind in SERVED_FILES.items()}
    stored: dict[int, dict[str, str]] = {}
    for session_id, kind, path in artifacts:
        stored.setdefault(session_id, {})[name_of[kind]] = path
    out = []
    for sid, uid, recorded_at, movement, source in rows:
        files = {
            name: found
            for name, path in stored.get(sid, {}).items()
            if (found := file_inside(path, analysis_dir)) is not None
        }
        if (clip := file_inside(source, upload_dir)) is not None:
            files["clip"] = clip
        out.append(_SessionFiles(sid, uid, recorded_at, movement, files))
    return out


def member_files_bytes(
    db: Database, account: Account, /, *, upload_dir: Path, analysis_dir: Path
) -> int:
    """How many bytes the member's reports, annotated videos and clips take (the zip's bulk).

    Parameters
    ----------
    db
        The database.
    account
        The member.
    upload_dir, analysis_dir
        The data folder's uploads and analyses: only files inside them count.
    """
    sessions = _member_sessions(db, account, upload_dir=upload_dir, analysis_dir=analysis_dir)
    return sum(_size(p) for s in sessions for p in s.files.values())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # deleted meanwhile
        return 0


def clip_suffix(head: bytes, /) -> str:
    """Return the file suffix of a video from its first bytes (uploads are kept without one).

    ``mp4`` (or ``mov`` for a QuickTime file), ``webm`` or ``mkv``, ``avi``, ``ts`` (MPEG
    transport stream), ``mpg`` (MPEG program stream); ``bin`` for anything else.
    """
    if head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head[:64] else "mkv"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if len(head) > 188 and head[0] == head[188] == 0x47:
        return "ts"
    if head[:4] == b"\x00\x00\x01\xba":
        return "mpg"
    return "bin"


def _clip_name(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        head = b""
    return f"clip.{clip_suffix(head)}"


def _session_record(row: _SessionFiles, records: MemberRecords) -> dict[str, Any]:
    """Return a session as ``account.json`` lists it: its folder, share state, comments."""
    share = records.share(row.id)
    return {
        "id": row.id,
        "uid": row.uid,
        "recorded_at": row.recorded_at.isoformat(),
        "movement": row.movement,
        "folder": row.folder if row.files else None,
        "shared": share["shared"],
        "shared_at": share["shared_at"],
        "reviewed_at": share["reviewed_at"],
        "reviewed_by": share["reviewed_by"],
        "comments": records.comments.get(row.id, []),
    }


def account_record(
    db: Database, account: Account, /, *, upload_dir: Path, analysis_dir: Path
) -> dict[str, Any]:
    """Return what ``account.json`` holds for a member: the account and its web app's rows.

    Returns
    -------
    dict
        ``format``, ``format_version``, ``written_at``; ``account`` (``username``, ``role``,
        ``created_at``); ``coaches`` (usernames); ``uploads`` (``id``, ``created_at``, ``state``,
        ``movement``, ``error``, ``session_id``; newest first); ``sessions`` (oldest first:
        ``id`` and ``uid`` (as in ``kneeback-export.json``), ``recorded_at``, ``movement``,
        ``folder`` in the zip or None, ``shared``, ``shared_at``, ``reviewed_at``,
        ``reviewed_by``, ``comments`` with ``time_s``, ``text``, ``author`` (None when its
        coach's account is gone), ``created_at``); ``article_comments`` (``article`` with
        ``title`` and ``slug``, ``text``, ``created_at``, ``hidden``; oldest first). No server
        path and nothing of another member.
    """
    sessions = _member_sessions(db, account, upload_dir=upload_dir, analysis_dir=analysis_dir)
    return _account_record(db, account, sessions)


def _account_record(
    db: Database, account: Account, sessions: list[_SessionFiles]
) -> dict[str, Any]:
    details = account_details(db, account)
    records = member_records(db, account)  # a fixed number of queries, however many sessions
    return {
        "format": ACCOUNT_FORMAT[0],
        "format_version": ACCOUNT_FORMAT[1],
        "written_at": utcnow().isoformat(),
        "account": {k: details[k] for k in ("username", "role", "created_at")},
        "coaches": records.coaches,
        "uploads": [
            {k: j[k] for k in ("id", "created_at", "state", "movement", "error", "session_id")}
            for j in jobs_page(db, account).items
        ],
        "sessions": [_session_record(row, records) for row in sessions],
        "article_comments": records.article_comments,
    }


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()


def member_archive(
    db: Database,
    account: Account,
    /,
    *,
    upload_dir: Path,
    analysis_dir: Path,
    today: dt.date | None = None,
) -> MemberArchive:
    """Plan a member's zip: read the database now, name the files to copy while it is sent.

    Parameters
    ----------
    db
        The database.
    account
        The member downloading their data.
    upload_dir, analysis_dir
        The data folder's uploads and analyses: only files inside them go into the zip.
    today
        The date the README names (today by default).

    Returns
    -------
    MemberArchive
        ``README.txt``, ``kneeback-export.json`` (left out when no history is stored for the
        account: it was forgotten with ``kneeback forget``), ``account.json``
        (:func:`account_record`), then each session's folder.

    Raises
    ------
    NotAllowedError
        When the account is not a member's.
    """
    export = member_export(db, account)  # refuses a coach's or admin's account
    sessions = _member_sessions(db, account, upload_dir=upload_dir, analysis_dir=analysis_dir)
    readme = README_TEXT.format(
        username=account.username, date=(today or dt.date.today()).isoformat()
    )
    if export is None:
        readme += NO_HISTORY_TEXT + "\n"
    entries = [ZipEntry("README.txt", readme.encode())]
    if export is not None:
        entries.append(ZipEntry("kneeback-export.json", export_text(export).encode()))
    entries.append(ZipEntry("account.json", _json_bytes(_account_record(db, account, sessions))))
    for row in sessions:
        for name, path in sorted(row.files.items()):
            is_clip = name == "clip"
            entries.append(
                ZipEntry(
                    row.folder + (_clip_name(path) if is_clip else name),
                    path=path,
                    size_bytes=_size(path),
                    video=is_clip or name.endswith(".mp4"),
                )
            )
    return MemberArchive(account.username, entries, sessions=len(sessions))


class _Sink:
    """Where the zip is written: the bytes wait here until sent.

    It has no ``seek``, so :class:`zipfile.ZipFile` writes each entry's sizes and checksum after
    its data rather than going back for them.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def write(self, b: bytes, /) -> int:
        self._parts.append(bytes(b))
        self._written += len(b)
        return len(b)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        """Nothing to do: the bytes are sent by :func:`zip_chunks`."""

    def close(self) -> None:
        """Nothing to do."""

    def take(self) -> bytes:
        """Return the bytes written since the last call."""
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _entry_info(entry: ZipEntry) -> zipfile.ZipInfo:
    if entry.path is not None:
        info = zipfile.ZipInfo.from_file(entry.path, entry.name, strict_timestamps=False)
    else:
        info = zipfile.ZipInfo(entry.name, date_time=time.localtime()[:6])
        info.file_size = len(entry.data)
        info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_STORED if entry.video else zipfile.ZIP_DEFLATED
    return info


def zip_chunks(archive: MemberArchive, /, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Write the zip while yielding its bytes, about ``chunk_bytes`` at a time.

    A file deleted since the zip was planned is left out. Stopping early (the client went
    away) closes every file: nothing is left open or on disk.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for entry in archive.entries:
            try:
                source: BinaryIO = (
                    io.BytesIO(entry.data) if entry.path is None else entry.path.open("rb")
                )
                info = _entry_info(entry)
            except OSError:  # deleted meanwhile
                continue
            with source, zf.open(info, "w") as out:
                while block := source.read(chunk_bytes):
                    out.write(block)
                    if sent := sink.take():
                        yield sent
            if sent := sink.take():
                yield sent
    yield sink.take()
