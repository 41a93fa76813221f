"""Analysis jobs: a durable queue in the database and a worker that runs them off the request path.

A job row is written when a clip is uploaded (``queued``). A worker claims the oldest queued job
(``running``), runs the same chain as ``kneeback analyze --person`` (pose, analysis, output folder,
stored session) and marks it ``done`` with the session id, or ``failed`` with a reason in plain
words. Rows survive a restart: a worker refreshes the heartbeat of the job it runs, and
:func:`resume_unfinished` puts ``running`` jobs whose heartbeat is older than the lease (their
worker stopped) back in the queue, where a worker picks them up again. Several workers (the
in-process thread of ``kneeback serve`` and ``kneeback worker`` processes) can share one database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
import shutil
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from kneeback.errors import DatabaseError, KneebackError, ModelUnavailableError
from kneeback.settings import ModelVariant
from kneeback.store.db import Database
from kneeback.store.models import Person, utcnow
from kneeback.store.models import Session as StoredSession
from kneeback.web.models import Job, User

__all__ = [
    "IDEMPOTENCY_WINDOW",
    "DuplicateUploadError",
    "JobWorker",
    "KeyedJob",
    "claim_next_job",
    "enqueue_job",
    "enqueue_keyed_job",
    "find_keyed_job",
    "heartbeat",
    "job_view",
    "put_back",
    "resume_unfinished",
    "run_job",
]

log = logging.getLogger(__name__)

#: A job interrupted this many times is failed instead of retried again.
MAX_ATTEMPTS = 3
_STAGE_TEXT = {
    "queued": "Waiting for its turn",
    "not-ready": "Waiting: the analysis service is not ready",
    "running": "Starting the analysis",
    "pose": "Finding the body in each frame",
    "analysis": "Measuring the reps",
    "video": "Drawing the annotated video",
    "report": "Writing the report",
    "store": "Saving to your history",
    "done": "Finished",
    "failed": "Failed",
}


class DuplicateUploadError(Exception):
    """The account uploaded the same file before, and that upload's analysis stands.

    Parameters
    ----------
    uid
        The earlier upload's job (queued, running, or done with a session that still exists).
    created_at
        When that upload arrived.
    """

    def __init__(self, uid: str, created_at: dt.datetime) -> None:
        super().__init__(f"The same file was uploaded on {created_at:%Y-%m-%d} (job {uid}).")
        self.uid = uid
        self.created_at = created_at


def _refuse_same_upload(
    s: OrmSession, user_id: int, upload_sha256: str, /, *, key: str | None = None
) -> None:
    """Raise :class:`DuplicateUploadError` when the account's earlier upload of the file stands.

    A failed job, or a done one whose session was deleted, does not count: the member may try
    again. Only the account's own jobs are looked at, and not the job that Idempotency-Key
    ``key`` names (a retry, which the key answers). The account's row is locked first, so that
    of two uploads of one file at the same moment the second waits for the first to be queued,
    then sees it (PostgreSQL; SQLite's writers take turns anyway).
    """
    s.execute(select(User.id).where(User.id == user_id).with_for_update())
    mine = [Job.user_id == user_id, Job.upload_sha256 == upload_sha256]
    if key is not None:
        mine.append(or_(Job.idempotency_key.is_(None), Job.idempotency_key != key))
    row = s.execute(
        select(Job.uid, Job.created_at)
        .outerjoin(StoredSession, StoredSession.id == Job.session_id)
        .where(
            *mine,
            or_(
                Job.state.in_(("queued", "running")),
                and_(Job.state == "done", StoredSession.id.is_not(None)),
            ),
        )
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        raise DuplicateUploadError(row[0], row[1])


def enqueue_job(
    db: Database,
    user_id: int,
    upload: Path,
    /,
    *,
    movement: str = "auto",
    upload_sha256: str | None = None,
) -> str:
    """Queue an uploaded clip for analysis; return the job's uid.

    Parameters
    ----------
    db
        The open database.
    user_id
        The uploading account.
    upload
        The stored clip.
    movement
        ``auto`` or a movement name.
    upload_sha256
        The SHA-256 (hex) of the clip, kept on the job. When given, the clip is not queued if
        the account's earlier upload of the same file stands (looked for in the same
        transaction).

    Raises
    ------
    DuplicateUploadError
        When ``upload_sha256`` names an earlier upload of the account that is queued, running,
        or done with a session that still exists.
    """
    uid = secrets.token_hex(16)

    def work(s: OrmSession) -> None:
        if upload_sha256 is not None:
            _refuse_same_upload(s, user_id, upload_sha256)
        s.add(_queued_job(uid, user_id, upload, movement, utcnow(), upload_sha256=upload_sha256))

    db.write(work)
    return uid


def _queued_job(
    uid: str, user_id: int, upload: Path, movement: str, at: dt.datetime, /, **extra: Any
) -> Job:
    """Return a new job in the queue, created at ``at`` (``extra``: further columns)."""
    return Job(
        uid=uid,
        user_id=user_id,
        upload_path=str(upload),
        movement=movement,
        state="queued",
        created_at=at,
        updated_at=at,
        **extra,
    )


#: How long an upload's Idempotency-Key names its job; a key sent later starts a new job.
IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class KeyedJob:
    """The job of an upload sent with an Idempotency-Key.

    Attributes
    ----------
    uid
        The job's uid.
    upload_sha256
        The SHA-256 (hex) of the file the key was first sent with.
    created
        True when this call queued the job; False when the key already named it.
    """

    uid: str
    upload_sha256: str | None
    created: bool


def _fresh_keyed_job(s: OrmSession, user_id: int, key: str, now: dt.datetime) -> KeyedJob | None:
    row = s.execute(
        select(Job.uid, Job.upload_sha256).where(
            Job.user_id == user_id,
            Job.idempotency_key == key,
            Job.created_at > now - IDEMPOTENCY_WINDOW,
        )
    ).first()
    return None if row is None else KeyedJob(uid=row[0], upload_sha256=row[1], created=False)


def find_keyed_job(
    db: Database, user_id: int, key: str, /, *, now: dt.datetime | None = None
) -> KeyedJob | None:
    """Return the job an account's Idempotency-Key names, if it was sent within the window.

    Parameters
    ----------
    db
        The open database.
    user_id
        The uploading account.
    key
        The Idempotency-Key.
    now
        The present (default: the clock); a key sent more than :data:`IDEMPOTENCY_WINDOW`
        before it names nothing any more.
    """
    return db.read(lambda s: _fresh_keyed_job(s, user_id, key, now or utcnow()))


def enqueue_keyed_job(
    db: Database,
    user_id: int,
    upload: Path,
    /,
    *,
    key: str,
    upload_sha256: str,
    movement: str = "auto",
    now: dt.datetime | None = None,
) -> KeyedJob:
    """Queue an upload sent with an Idempotency-Key, unless the key already names a job.

    Looking for the key and queueing are one transaction, and the key is unique per account in
    the database: of two requests with one key, one queues the job and the other gets it.

    Parameters
    ----------
    db
        The open database.
    user_id
        The uploading account.
    upload
        The stored clip.
    key
        The Idempotency-Key (unique per account within :data:`IDEMPOTENCY_WINDOW`; an older
        job's key is cleared, so that the key can name the new one).
    upload_sha256
        The SHA-256 (hex) of the clip, kept to recognise a retry of the same file (and a
        later upload of it, see :func:`enqueue_job`).
    movement
        ``auto`` or a movement name.
    now
        The present (default: the clock).

    Returns
    -------
    KeyedJob
        The new job (``created``), or the one the key already named.

    Raises
    ------
    DuplicateUploadError
        When the key names no job but the account's earlier upload of the same file stands
        (as for :func:`enqueue_job`).
    """

    def work(s: OrmSession) -> KeyedJob:
        at = now or utcnow()
        found = _fresh_keyed_job(s, user_id, key, at)
        if found is not None:
            return found
        s.execute(  # an expired key: its job stays, the key moves on (a fresh one never does)
            update(Job)
            .where(
                Job.user_id == user_id,
                Job.idempotency_key == key,
                Job.created_at <= at - IDEMPOTENCY_WINDOW,
            )
            .values(idempotency_key=None)
        )
        # a job that still has the key was queued by a racing request: the unique index answers
        _refuse_same_upload(s, user_id, upload_sha256, key=key)
        uid = secrets.token_hex(16)
        s.add(
            _queued_job(
                uid, user_id, upload, movement, at, idempotency_key=key, upload_sha256=upload_sha256
            )
        )
        return KeyedJob(uid=uid, upload_sha256=upload_sha256, created=True)

    try:
        return db.write(work)
    except DatabaseError as exc:
        # Another request with this key queued its job between our look and our insert
        # (PostgreSQL; SQLite serialises the two transactions): that job is the answer.
        if not isinstance(exc.__cause__, IntegrityError):
            raise
        found = find_keyed_job(db, user_id, key, now=now)
        if found is None:
            raise
        return found


def resume_unfinished(db: Database, /, *, stale_after_s: float) -> int:
    """Put running jobs whose worker stopped back in the queue; return how many.

    Parameters
    ----------
    db
        The open database.
    stale_after_s
        A running job whose heartbeat is older than this many seconds is taken to be abandoned.
    """

    def work(s: OrmSession) -> int:
        now = utcnow()
        res = s.execute(
            update(Job)
            .where(
                Job.state == "running",
                or_(
                    Job.heartbeat_at.is_(None),
                    Job.heartbeat_at < now - dt.timedelta(seconds=stale_after_s),
                ),
            )
            .values(state="queued", stage="", done=0, total=0, updated_at=now, heartbeat_at=None)
        )
        return int(getattr(res, "rowcount", 0) or 0)

    n = db.write(work)
    if n:
        log.info("put %d abandoned job(s) back in the queue", n)
    return n


def put_back(db: Database, uid: str, /) -> bool:
    """Put a running job whose worker is stopping back in the queue now; True if it was running.

    Its next run starts from the beginning (and deletes what this one half wrote); without this,
    the job would wait for its lease to expire.
    """

    def work(s: OrmSession) -> int:
        res = s.execute(
            update(Job)
            .where(Job.uid == uid, Job.state == "running")
            .values(
                state="queued", stage="", done=0, total=0, updated_at=utcnow(), heartbeat_at=None
            )
        )
        return int(getattr(res, "rowcount", 0) or 0)

    if db.write(work) != 1:
        return False
    log.info("job %s: put back in the queue, its worker is stopping", uid)
    return True


def heartbeat(db: Database, uid: str, /) -> None:
    """Refresh the heartbeat of a running job."""
    db.write(
        lambda s: s.execute(
            update(Job).where(Job.uid == uid, Job.state == "running").values(heartbeat_at=utcnow())
        )
    )


def claim_next_job(db: Database, /) -> str | None:
    """Mark the oldest queued job ``running`` and return its uid (None when the queue is empty).

    The claim is one transaction on a row still ``queued``, so two workers never take the same job.
    On PostgreSQL the row is locked with ``FOR UPDATE SKIP LOCKED``: workers on several machines
    each take the oldest job nobody else is taking, without waiting for one another (SQLite
    serialises writers instead).
    """

    def work(s: OrmSession) -> str | None:
        row = s.scalar(
            select(Job)
            .where(Job.state == "queued")
            .order_by(Job.created_at, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if row is None:
            return None
        res = s.execute(
            update(Job)
            .where(Job.id == row.id, Job.state == "queued")
            .values(
                state="running",
                stage="",
                done=0,
                total=0,
                attempts=Job.attempts + 1,
                updated_at=utcnow(),
                heartbeat_at=utcnow(),
            )
        )
        return row.uid if getattr(res, "rowcount", 0) == 1 else None

    return db.write(work)


def _set(db: Database, uid: str, /, *, attempt: int | None = None, **values: Any) -> bool:
    """Update a job; with ``attempt``, only while that attempt still holds it (running).

    A worker that stopped put its job back in the queue, where another may have claimed it
    (a later attempt): what the stopped attempt's thread writes afterwards changes nothing.
    Returns whether the job was updated.
    """
    values["updated_at"] = utcnow()
    query = update(Job).where(Job.uid == uid)
    if attempt is not None:
        query = query.where(Job.state == "running", Job.attempts == attempt)
    done = db.write(lambda s: s.execute(query.values(**values)))
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _fail(
    db: Database, uid: str, attempt: int, clip: Path, upload_dir: Path | None, error: str
) -> None:
    """Fail a job for good; its uploaded clip, of no further use, is deleted.

    The member is asked to upload again, and the clip would otherwise stay on the server with no
    way for them to remove it but deleting their account. Only a clip inside ``upload_dir`` is
    deleted, and only when this attempt still held the job.
    """
    if not _set(db, uid, attempt=attempt, state="failed", error=error) or upload_dir is None:
        return
    if clip.resolve().is_relative_to(upload_dir.resolve()):
        try:
            clip.unlink(missing_ok=True)
        except OSError as exc:  # e.g. a worker that may read the uploads but not delete them
            log.warning("job %s: its clip could not be deleted: %s", uid, exc.strerror or exc)


def _plain_reason(exc: BaseException, clip: Path, /) -> str:
    """Return why a job failed, in words for the member.

    The upload's stored (random) name, which means nothing to them, becomes "your clip".
    """
    if isinstance(exc, (KneebackError, ValueError)):
        text = str(exc)
        for name in (str(clip), clip.name, clip.stem):
            if name:
                text = text.replace(name, "your clip")
        text = text.replace(str(Path.cwd()), ".")
        return text if isinstance(exc, KneebackError) else f"The clip could not be analysed: {text}"
    return "Something went wrong on our side while analysing the clip; please try again later."


class _LostJobError(Exception):
    """The attempt storing a job's session no longer holds the job."""


def _mark_done(
    s: OrmSession, session_id: int, /, *, uid: str, attempt: int, output_dir: Path
) -> None:
    """Mark a job done with its session, in the transaction storing the session.

    Raises :class:`_LostJobError` (which stores nothing) when ``attempt`` no longer holds the job.
    """
    marked = s.execute(
        update(Job)
        .where(Job.uid == uid, Job.state == "running", Job.attempts == attempt)
        .values(
            state="done",
            stage="done",
            done=1,
            total=1,
            session_id=session_id,
            output_dir=str(output_dir),
            error=None,
            updated_at=utcnow(),
        )
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        raise _LostJobError(uid)


def run_job(
    db: Database,
    uid: str,
    /,
    *,
    analysis_dir: Path,
    pose_variant: ModelVariant = "full",
    upload_dir: Path | None = None,
) -> None:
    """Run one claimed job to the end: analyse the clip, write the outputs, store the session.

    The job ends ``done`` (with its session) or ``failed`` (with a plain-words reason); a job
    already interrupted :data:`MAX_ATTEMPTS` times is failed without running again. When the pose
    model is unavailable, the service is at fault, not the clip: the job goes back in the queue
    (stage ``not-ready``) without using up an attempt, the log says why and the error is raised.

    Parameters
    ----------
    db
        The open database.
    uid
        The uid of a job in state ``running``.
    analysis_dir
        Parent folder of the output folders (one per job, named by its uid).
    pose_variant
        Pose model variant.
    upload_dir
        The upload folder: the clip of a job that fails is deleted when it lies there.

    Raises
    ------
    ModelUnavailableError
        When the pose model cannot be found or installed; the job is back in the queue.
    DatabaseError
        When the database fails during the job; the job is back in the queue (or will be, after
        its lease, when the database is still unreachable), its attempt not counted.
    """
    from kneeback import pipeline
    from kneeback.settings import PoseSettings
    from kneeback.store import artifact_paths, store_session

    def load(s: OrmSession) -> tuple[int, str, str, str]:
        job = s.scalar(select(Job).where(Job.uid == uid))
        if job is None:
            raise LookupError(uid)
        user = s.get(User, job.user_id)
        person = None if user is None or user.person_id is None else s.get(Person, user.person_id)
        if person is None:
            raise KneebackError("This account has no history to store the session in.")
        return job.attempts, job.upload_path, job.movement, person.name

    try:
        attempts, upload_path, movement, person = db.read(load)
    except LookupError:
        return
    except KneebackError as exc:
        _set(db, uid, state="failed", error=str(exc))
        return
    if attempts > MAX_ATTEMPTS:
        _fail(
            db,
            uid,
            attempts,
            Path(upload_path),
            upload_dir,
            "The analysis was interrupted several times; please upload the clip again.",
        )
        return
    log.info("job %s: started (attempt %d)", uid, attempts)
    clip = Path(upload_path)
    target = analysis_dir / uid
    # What an interrupted attempt was writing (see report.outputs.atomic_directory): its worker
    # has lost the job's lease by now, so nobody else writes there.
    for leftover in analysis_dir.glob(f".{uid}.*.partial"):
        shutil.rmtree(leftover, ignore_errors=True)
    last_stage, last_done = "", -1

    def progress(stage: str, done: int, total: int) -> None:
        # Write at most ~20 updates per stage, not one per frame.
        nonlocal last_stage, last_done
        step = max(1, total // 20) if total else 25
        if stage != last_stage or done - last_done >= step or done == total:
            last_stage, last_done = stage, done
            _set(db, uid, attempt=attempts, stage=stage, done=done, total=total)

    try:
        if not clip.is_file():
            raise KneebackError("The uploaded clip is missing on the server; upload it again.")
        done = pipeline.analyse_input(
            clip,
            target,
            movement=movement,
            format="video",
            settings=PoseSettings(variant=pose_variant),
            workers=1,
            progress=progress,
        )
        files = done.files
        progress("store", 0, 1)
        session_id = store_session(
            db,
            person,
            done.analysis.result,
            artifacts=artifact_paths(files),
            recorded_at=done.recorded_at,
            source_path=clip,
            then=partial(_mark_done, uid=uid, attempt=attempts, output_dir=files.folder),
        )
    except _LostJobError:
        # This attempt stopped holding the job (its worker was stopped or stalled past the
        # lease) and another attempt has it: storing its session too would count the clip twice.
        log.warning(
            "job %s: attempt %d no longer holds the job; its result is dropped", uid, attempts
        )
        return
    except (ModelUnavailableError, DatabaseError) as exc:
        # The service's fault, not the clip's: back in the queue without using an attempt (a
        # database that does not take even that write hands it back after the job's lease), and
        # the worker waits longer before it looks again. The member reads that the service is
        # not ready, never a model folder or a database address.
        if isinstance(exc, ModelUnavailableError):
            log.error("job %s: back in the queue, the pose model is unavailable: %s", uid, exc)
        else:
            log.warning("job %s: back in the queue, the database failed: %s", uid, exc)
        shutil.rmtree(target, ignore_errors=True)
        with contextlib.suppress(DatabaseError):
            _set(
                db,
                uid,
                attempt=attempts,
                state="queued",
                stage="not-ready",
                done=0,
                total=0,
                heartbeat_at=None,
                attempts=Job.attempts - 1,
            )
        raise
    except Exception as exc:
        log.warning("job %s failed: %r", uid, exc)
        shutil.rmtree(target, ignore_errors=True)
        _fail(db, uid, attempts, clip, upload_dir, _plain_reason(exc, clip))
        return
    log.info("job %s: done, session %s", uid, session_id)


def _stage_text(job: Job) -> str:
    """Return what the job is doing, in words; a finished or failed job says so at any stage."""
    key = job.state if job.state in ("done", "failed") else (job.stage or job.state)
    return _STAGE_TEXT.get(key, key)


#: The stages of an analysis in order, with their rough share of its time (on the 2-core demo
#: clip the pose model takes most of it, the annotated video most of the rest): the overall
#: progress one bar can show.
_STAGE_SHARES = (
    ("pose", 0.6),
    ("analysis", 0.05),
    ("video", 0.25),
    ("report", 0.05),
    ("store", 0.05),
)


def _fraction(job: Job) -> float:
    """Return how much of the whole analysis is done, from 0 to 1, never going back."""
    if job.state == "done":
        return 1.0
    before = 0.0
    for stage, share in _STAGE_SHARES:
        if stage == job.stage:
            part = min(1.0, job.done / job.total) if job.total else 0.0
            return round(before + share * part, 3)
        before += share
    return 0.0  # queued, or claimed before its first stage


def job_view(job: Job, /) -> dict[str, Any]:
    """Return the job as the status page and the API show it.

    ``done`` and ``total`` count within the current ``stage`` (frames, steps); ``fraction`` is
    the whole analysis, 0 to 1, for a single progress bar.
    """
    return {
        "id": job.uid,
        "state": job.state,
        "stage": job.stage,
        "stage_text": _stage_text(job),
        "done": job.done,
        "total": job.total,
        "fraction": _fraction(job),
        "movement": job.movement,
        "error": job.error,
        "session_id": job.session_id,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


class JobWorker:
    """A thread that runs queued jobs one at a time until stopped.

    Parameters
    ----------
    db
        The open database.
    analysis_dir
        Parent folder of the output folders.
    poll_s
        How long to wait between looks at an empty queue.
    pose_variant
        Pose model variant.
    lease_s
        A running job without a heartbeat for this long is taken back into the queue; the
        worker refreshes the heartbeat of its own job four times per lease.
    upload_dir
        The upload folder, where a failed job's clip is deleted (see :func:`run_job`).
    max_backoff_s
        While the database cannot be reached or the pose model is unavailable, the worker waits
        twice as long after each failed look at the queue, from ``2 * poll_s`` up to this many
        seconds.
    """

    def __init__(
        self,
        db: Database,
        /,
        *,
        analysis_dir: Path,
        poll_s: float = 1.0,
        pose_variant: ModelVariant = "full",
        lease_s: float = 60.0,
        max_backoff_s: float = 30.0,
        upload_dir: Path | None = None,
    ) -> None:
        self.db = db
        self.upload_dir = upload_dir
        self.lease_s = lease_s
        self.max_backoff_s = max_backoff_s
        self.analysis_dir = analysis_dir
        self.poll_s = poll_s
        self.pose_variant = pose_variant
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._current: str | None = None  # the job being run

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._loop, name="kneeback-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (called after a job is queued)."""
        self._wake.set()

    def run_pending(self) -> int:
        """Run every queued job in this thread; return how many ran (for tests and batch use).

        Raises
        ------
        ModelUnavailableError
            When a job found no pose model (it is back in the queue): the rest wait too.
        """
        n = 0
        while not self._stop.is_set():
            uid = claim_next_job(self.db)
            if uid is None:
                return n
            finished = threading.Event()
            beat = threading.Thread(
                target=self._beat, args=(uid, finished), name="kneeback-heartbeat", daemon=True
            )
            beat.start()
            self._current = uid
            try:
                run_job(
                    self.db,
                    uid,
                    analysis_dir=self.analysis_dir,
                    pose_variant=self.pose_variant,
                    upload_dir=self.upload_dir,
                )
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM while this (main) thread runs it
                self._put_back(uid)
                raise
            finally:
                self._current = None
                finished.set()
                beat.join()
            n += 1
        return n

    def _beat(self, uid: str, finished: threading.Event) -> None:
        # No backoff here: a heartbeat missed for a whole lease gives the job to another worker.
        failing = False
        while not finished.wait(self.lease_s / 4):
            try:
                heartbeat(self.db, uid)
            except DatabaseError as exc:
                if not failing:
                    log.warning("job %s: could not refresh its heartbeat: %s", uid, exc)
                failing = True
            else:
                if failing:
                    log.info("job %s: its heartbeat is refreshed again", uid)
                failing = False

    def _loop(self) -> None:
        failures = 0  # failed looks at the queue in a row: the wait doubles with each
        unreachable = False
        while not self._stop.is_set():
            try:
                resume_unfinished(self.db, stale_after_s=self.lease_s)
                self.run_pending()
            except DatabaseError as exc:
                if not unreachable:  # one line per outage, not one per look
                    log.warning(
                        "the job worker cannot reach the database (trying again with longer "
                        "waits, up to %g s): %s",
                        self.max_backoff_s,
                        exc,
                    )
                unreachable = True
                failures = min(failures + 1, 32)
            except ModelUnavailableError:  # run_job logged it: look again after a longer wait
                failures = min(failures + 1, 32)
            except Exception:  # a bug: say it with its traceback, then carry on
                log.exception("the job worker failed")
                failures = min(failures + 1, 32)
            else:
                if unreachable:
                    log.info("the job worker reaches the database again")
                unreachable = False
                failures = 0
            wait = min(self.max_backoff_s, self.poll_s * 2**failures) if failures else self.poll_s
            self._wake.wait(wait)
            self._wake.clear()

    def join(self) -> None:
        """Wait until the thread ends (after :meth:`stop`, or never)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(1.0)

    def _put_back(self, uid: str) -> bool:
        try:
            return put_back(self.db, uid)
        except DatabaseError as exc:
            log.warning(
                "job %s: not put back in the queue (it will be after its lease): %s", uid, exc
            )
            return False

    def stop(self, timeout_s: float = 10.0) -> str | None:
        """Ask the thread to stop after the current job and wait up to ``timeout_s`` for it.

        A job still running then is put back in the queue at once (the thread, a daemon, ends
        with the process).

        Returns
        -------
        str or None
            The uid of the job put back, if any.
        """
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        # Not is_alive(): after a Ctrl-C inside join() it can say False of a running thread.
        uid = self._current
        return uid if uid is not None and self._put_back(uid) else None
