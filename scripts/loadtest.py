"""Load test of the kneeback web app on the loopback: members browsing and uploading at once.

N browsing members (default 50) each log in and make M page and API requests (default 20) with a
short random think time, while U uploading members (default 10) each log in and upload one clip
through ``POST /api/uploads``, all at the same time, within a total deadline. Every request's
latency and status is recorded; any status of 400 or more, or any exception, is an error.

The accounts are created up front directly in the database
(:func:`kneeback.web.accounts.create_user`, not ``/api/register``, which is rate-limited per
address); with ``--seed-sessions`` each browsing member also gets stored sessions (one UI-PRMD
squat file analysed once, no pose model needed) so that the member pages have something to
compute. Browsing covers ``/``, ``/api/sessions``,
``/api/jobs``, ``/members/<me>``, ``/api/members/<me>/progress|history|program``, the seeded
sessions (page and API) and ``/articles`` and ``/podcast`` where they answer 200 (the report says
which paths were used and which were left out).

No upload may be lost: every upload must be accepted (2xx with a job id; the API answers 202),
and each accepted one must have a job row (``web_jobs``) whose stored clip has the size and SHA-256
of the source clip. The stored clips are read from this machine, so the server's data folder
must be readable here (it is on the loopback). With ``--wait-analyses`` the test also waits,
within the same deadline, until every uploaded clip's job is done or failed.

The server: either a running one (``--url`` and ``--db``; it must send its cookies over plain HTTP,
i.e. run with ``--insecure-cookies``), or ``--start`` to start ``kneeback serve`` in a temporary
folder (``--no-worker`` leaves the analyses queued, which keeps the run short).

Usage::

    python scripts/loadtest.py --start --no-worker
    python scripts/loadtest.py --url http://127.0.0.1:8000 --db sqlite:///kneeback.db
    python scripts/loadtest.py --start --wait-analyses --deadline 1800 --json-out load.json

The exit status is 0 when there were no errors, no lost uploads, the deadline held and (with
``--wait-analyses``) every analysis finished without failing; 1 otherwise; 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = ROOT.parent / "shared" / "data" / "videos" / "front-squat-3reps.mp4"
UIPRMD = ROOT.parent / "shared" / "data" / "ui-prmd" / "vicon"
DEFAULT_SEED_FILE = UIPRMD / "correct" / "m01_s01_e01_positions.txt.gz"
#: Pages that other parts of the app may or may not have yet: used only when they answer 200.
OPTIONAL_PATHS = ("/articles", "/podcast")
#: How long a started server may take to answer its first request.
START_TIMEOUT_S = 60.0
#: How often the job rows are read while waiting for the analyses.
POLL_S = 2.0
PASSWORD = "load-test-password-" + "x" * 8


# ---- records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One request: what it was, how it ended and how long it took.

    Attributes
    ----------
    kind
        ``"login"``, ``"browse"``, ``"upload"`` or ``"job"`` (the uploader reading its job back).
    path
        The request path, with the member's name replaced by ``<me>`` and ids by ``<id>``.
    status
        The HTTP status, or None when the request raised.
    latency_s
        Seconds from sending the request to reading the whole response.
    error
        Why it counts as an error (status >= 400 or the exception), or None.
    """

    kind: str
    path: str
    status: int | None
    latency_s: float
    error: str | None = None


@dataclass
class Upload:
    """One upload attempt and its job."""

    user: str
    status: int | None = None
    uid: str | None = None
    error: str | None = None


@dataclass
class Plan:
    """What the users do (from the command line)."""

    url: str
    database_url: str
    browsers: int
    requests: int
    uploaders: int
    clip: Path
    movement: str
    think_s: float
    ramp_s: float
    request_timeout_s: float
    seed: int
    browse_users: list[str] = field(default_factory=list)
    upload_users: list[str] = field(default_factory=list)
    sessions: dict[str, list[int]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)


# ---- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on the loopback that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def start_server(
    root: Path, /, *, worker: bool = True, env: dict[str, str] | None = None
) -> Iterator[tuple[str, str, Path]]:
    """Run ``kneeback serve`` with its database and data folder in ``root``; stop it on exit.

    The tests' ``live_server`` (tests/live_server.py) runs its servers with this too.

    Parameters
    ----------
    root
        Folder for ``kneeback.db``, ``data/`` and ``server.log``.
    worker
        Run the analysis worker in the server process.
    env
        Extra environment variables for the server (e.g. ``KNEEBACK_MODEL_DIR``).

    Yields
    ------
    tuple of (str, str, pathlib.Path)
        The server's URL, its database URL and its log file.
    """
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    database_url = f"sqlite:///{root / 'kneeback.db'}"
    log = root / "server.log"
    cmd = [sys.executable, "-m", "kneeback", "serve", "--port", str(port)]
    cmd += ["--db", database_url, "--data-dir", str(root / "data"), "--insecure-cookies"]
    if not worker:
        cmd.append("--no-worker")
    full_env = os.environ | {"KNEEBACK_SECRET_KEY": secrets.token_hex(32), "PYTHONUNBUFFERED": "1"}
    full_env |= env or {}
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as log_fh:
        proc = subprocess.Popen(cmd, stdout=log_fh, stderr=subprocess.STDOUT, env=full_env)
        try:
            _wait_until_up(url, proc, log)
            yield url, database_url, log
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kneeback serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"kneeback serve did not answer within {START_TIMEOUT_S:.0f} s")


# ---- setup in the database -----------------------------------------------------------------------


def create_accounts(database_url: str, names: Sequence[str], /, *, password: str) -> None:
    """Create member accounts directly in the database (password hashing on all cores)."""
    from kneeback.store import open_database
    from kneeback.web.accounts import create_user

    with open_database(database_url) as db, ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(lambda name: create_user(db, name, password, role="member"), names))


def seed_sessions(
    database_url: str, members: Sequence[str], /, *, per_member: int, pose_file: Path
) -> dict[str, list[int]]:
    """Store ``per_member`` sessions (one day apart) for each member; return their ids.

    The pose file is analysed once (:func:`kneeback.analysis.analyse`; no pose model) and the
    result stored for every member, so that history, progress and program have data to work on.
    """
    from kneeback.analysis import analyse
    from kneeback.io.adapters import load_any
    from kneeback.store import open_database, store_session

    if per_member <= 0 or not members:
        return {}
    result = analyse(load_any(pose_file))
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=per_member)
    ids: dict[str, list[int]] = {}
    with open_database(database_url) as db:
        for name in members:
            ids[name] = [
                store_session(db, name, result, recorded_at=start + dt.timedelta(days=i))
                for i in range(per_member)
            ]
    return ids


# ---- the users -----------------------------------------------------------------------------------


async def timed(
    samples: list[Sample],
    client: httpx.AsyncClient,
    method: str,
    path: str,
    /,
    *,
    kind: str,
    label: str | None = None,
    **kwargs: Any,
) -> httpx.Response | None:
    """Send one request, record its sample, and return the response (None when it raised)."""
    t0 = time.perf_counter()
    try:
        response = await client.request(method, path, **kwargs)
        await response.aread()
    except (httpx.HTTPError, OSError) as exc:
        dt_s = time.perf_counter() - t0
        samples.append(Sample(kind, label or path, None, dt_s, f"{type(exc).__name__}: {exc}"))
        return None
    dt_s = time.perf_counter() - t0
    error = None if response.status_code < 400 else f"HTTP {response.status_code}"
    samples.append(Sample(kind, label or path, response.status_code, dt_s, error))
    return response


async def log_in(samples: list[Sample], client: httpx.AsyncClient, name: str, /) -> str | None:
    """Log in through the API; return the CSRF token, or None when the login failed."""
    body = {"username": name, "password": PASSWORD}
    r = await timed(samples, client, "POST", "/api/login", kind="login", json=body)
    if r is None or r.status_code != 200:
        return None
    return str(r.json()["csrf_token"])


def browse_paths(plan: Plan, name: str, /) -> list[tuple[str, str]]:
    """The (path, label) pairs a browsing member cycles through."""
    pairs = [(p.replace("<me>", name), p) for p in plan.paths]
    for sid in plan.sessions.get(name, [])[:2]:
        pairs += [
            (f"/sessions/{sid}", "/sessions/<id>"),
            (f"/api/sessions/{sid}", "/api/sessions/<id>"),
        ]
    return pairs


async def browsing_user(plan: Plan, name: str, index: int, samples: list[Sample], /) -> None:
    """Log in, then make ``plan.requests`` GET requests with a random think time between."""
    rng = random.Random(plan.seed * 100_003 + index)
    await asyncio.sleep(rng.uniform(0.0, plan.ramp_s))
    async with httpx.AsyncClient(base_url=plan.url, timeout=plan.request_timeout_s) as client:
        if await log_in(samples, client, name) is None:
            return
        pairs = browse_paths(plan, name)
        rng.shuffle(pairs)
        for i in range(plan.requests):
            path, label = pairs[i % len(pairs)]
            await timed(samples, client, "GET", path, kind="browse", label=label)
            await asyncio.sleep(rng.uniform(0.0, 2.0 * plan.think_s))


async def uploading_user(
    plan: Plan, name: str, index: int, data: bytes, samples: list[Sample], upload: Upload, /
) -> None:
    """Log in, upload the clip once, and read the job back."""
    rng = random.Random(plan.seed * 100_003 - 1 - index)
    await asyncio.sleep(rng.uniform(0.0, plan.ramp_s))
    async with httpx.AsyncClient(base_url=plan.url, timeout=plan.request_timeout_s) as client:
        csrf = await log_in(samples, client, name)
        if csrf is None:
            upload.error = "login failed"
            return
        r = await timed(
            samples,
            client,
            "POST",
            "/api/uploads",
            kind="upload",
            files={"file": (plan.clip.name, data, "video/mp4")},
            data={"movement": plan.movement},
            headers={"X-CSRF-Token": csrf},
        )
        if r is None:
            upload.error = "the request raised (see the errors)"
            return
        upload.status = r.status_code
        if r.status_code // 100 != 2:
            upload.error = f"HTTP {r.status_code}: {r.text[:200]}"
            return
        upload.uid = str(r.json()["id"])
        await timed(
            samples, client, "GET", f"/api/jobs/{upload.uid}", kind="job", label="/api/jobs/<uid>"
        )


async def probe_optional_paths(plan: Plan, /) -> tuple[list[str], list[str]]:
    """Return the optional paths that answer 200 to a logged-in member, and those that do not."""
    used: list[str] = []
    skipped: list[str] = []
    async with httpx.AsyncClient(base_url=plan.url, timeout=plan.request_timeout_s) as client:
        if await log_in([], client, plan.browse_users[0]) is None:
            return [], list(OPTIONAL_PATHS)
        for path in OPTIONAL_PATHS:
            try:
                ok = (await client.get(path)).status_code == 200
            except httpx.HTTPError:
                ok = False
            (used if ok else skipped).append(path)
    return used, skipped


async def run_users(
    plan: Plan, data: bytes, /, *, deadline: float
) -> tuple[list[Sample], list[Upload], bool]:
    """Run every user at once until all are done or the deadline passes.

    Returns
    -------
    tuple of (list of Sample, list of Upload, bool)
        The samples, the uploads, and whether the deadline passed before all users were done.
    """
    samples: list[Sample] = []
    uploads = [Upload(user=name) for name in plan.upload_users]
    tasks = [
        asyncio.create_task(browsing_user(plan, name, i, samples))
        for i, name in enumerate(plan.browse_users)
    ]
    tasks += [
        asyncio.create_task(uploading_user(plan, name, i, data, samples, up))
        for i, (name, up) in enumerate(zip(plan.upload_users, uploads, strict=True))
    ]
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            samples.append(Sample("user", "-", None, 0.0, f"{type(exc).__name__}: {exc}"))
    return samples, uploads, bool(pending)


# ---- checks --------------------------------------------------------------------------------------


def sha256_of(path: Path, /) -> str:
    """Return the SHA-256 of a file, in hex."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def job_rows(database_url: str, uids: Sequence[str], /) -> dict[str, dict[str, Any]]:
    """Read the job rows of these uids: upload path, state, error and times."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session as OrmSession

    from kneeback.store import open_database
    from kneeback.web.models import Job

    def work(s: OrmSession) -> dict[str, dict[str, Any]]:
        rows = s.scalars(select(Job).where(Job.uid.in_(list(uids))))
        return {
            r.uid: {
                "upload_path": r.upload_path,
                "state": r.state,
                "error": r.error,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }
            for r in rows
        }

    with open_database(database_url, upgrade=False) as db:
        return db.read(work)


def lost_uploads(
    database_url: str, uploads: Sequence[Upload], source: Path, /
) -> list[dict[str, Any]]:
    """Return each upload that was refused, has no job row, or whose stored clip differs."""
    size, digest = source.stat().st_size, sha256_of(source)
    rows = job_rows(database_url, [u.uid for u in uploads if u.uid])
    lost: list[dict[str, Any]] = []
    for u in uploads:
        if u.uid is None:
            lost.append({"user": u.user, "why": u.error or "not sent before the deadline"})
            continue
        row = rows.get(u.uid)
        if row is None:
            lost.append({"user": u.user, "uid": u.uid, "why": "no job row"})
            continue
        stored = Path(row["upload_path"])
        if not stored.is_file():
            lost.append({"user": u.user, "uid": u.uid, "why": f"stored clip missing: {stored}"})
        elif stored.stat().st_size != size or sha256_of(stored) != digest:
            lost.append({"user": u.user, "uid": u.uid, "why": "stored clip differs from source"})
    return lost


def wait_for_analyses(
    database_url: str, uids: Sequence[str], /, *, deadline: float, started: float
) -> dict[str, Any]:
    """Wait until every job is done or failed, or the deadline passes; summarise them."""
    rows: dict[str, dict[str, Any]] = {}
    while True:
        rows = job_rows(database_url, uids)
        if all(rows.get(u, {}).get("state") in ("done", "failed") for u in uids):
            break
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    waited = time.monotonic() - started
    states: dict[str, int] = {}
    for u in uids:
        state = rows.get(u, {}).get("state", "missing")
        states[state] = states.get(state, 0) + 1
    per_job = [
        (r["updated_at"] - r["created_at"]).total_seconds()
        for r in rows.values()
        if r["state"] in ("done", "failed")
    ]
    return {
        "jobs": len(uids),
        "states": states,
        "done": states.get("done", 0),
        "failed": states.get("failed", 0),
        "unfinished": len(uids) - states.get("done", 0) - states.get("failed", 0),
        "errors": sorted({r["error"] for r in rows.values() if r["error"]}),
        "queued_to_finished_s": _stats(per_job),
        "total_s": round(waited, 1),
    }


# ---- the report ----------------------------------------------------------------------------------


def _stats(values: Sequence[float], /) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    arr = np.asarray(values, dtype=np.float64)
    return {
        "n": int(arr.size),
        "p50": round(float(np.percentile(arr, 50)), 4),
        "p95": round(float(np.percentile(arr, 95)), 4),
        "max": round(float(arr.max()), 4),
    }


def summarise(samples: Sequence[Sample], /) -> dict[str, Any]:
    """Counts, errors and latencies (seconds) per kind of request and per path."""
    kinds: dict[str, Any] = {}
    for kind in sorted({s.kind for s in samples}):
        mine = [s for s in samples if s.kind == kind]
        kinds[kind] = _stats([s.latency_s for s in mine]) | {
            "errors": sum(s.error is not None for s in mine)
        }
    paths: dict[str, Any] = {}
    for label in sorted({(s.kind, s.path) for s in samples}):
        mine = [s for s in samples if (s.kind, s.path) == label]
        paths[f"{label[0]} {label[1]}"] = _stats([s.latency_s for s in mine]) | {
            "errors": sum(s.error is not None for s in mine)
        }
    errors = [asdict(s) for s in samples if s.error is not None]
    return {"kinds": kinds, "paths": paths, "errors": len(errors), "error_samples": errors[:50]}


def _ms(value: float | int | None) -> str:
    return "-" if value is None else f"{1000 * value:.0f}"


def print_report(report: dict[str, Any], /) -> None:
    """Print the report as a short table."""
    print(
        f"{report['browsers']} browsing x {report['requests']} requests, "
        f"{report['uploaders']} uploads, against {report['url']} "
        f"({report['elapsed_s']:.1f} s)"
    )
    print(f"paths: {' '.join(report['paths_used'])}")
    if report["paths_skipped"]:
        print(f"left out (not 200): {' '.join(report['paths_skipped'])}")
    head = f"{'kind / path':42} {'n':>5} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    print(head)
    print("-" * len(head))
    for title, table in (("", report["latency"]["kinds"]), ("  ", report["latency"]["paths"])):
        for name, row in table.items():
            print(
                f"{title + name:42} {row['n']:>5} {row['errors']:>4} {_ms(row['p50']):>8} "
                f"{_ms(row['p95']):>8} {_ms(row['max']):>8}"
            )
    up = report["uploads"]
    print(f"uploads: {up['accepted']}/{up['attempted']} accepted, {len(up['lost'])} lost")
    for item in up["lost"]:
        print(f"  lost: {item}")
    for s in report["latency"]["error_samples"][:10]:
        print(f"  error: {s['kind']} {s['path']}: {s['error']}")
    if report["deadline_passed"]:
        print(f"DEADLINE of {report['deadline_s']:.0f} s passed before the users were done")
    an = report.get("analyses")
    if an is not None:
        q = an["queued_to_finished_s"]
        print(
            f"analyses: {an['done']} done, {an['failed']} failed, {an['unfinished']} unfinished "
            f"in {an['total_s']:.0f} s after the load started "
            f"(upload to finished: p50 {q['p50'] or 0:.0f} s, max {q['max'] or 0:.0f} s)"
        )
        for e in an["errors"]:
            print(f"  failed: {e}")
    print("OK" if report["ok"] else "FAILED")


# ---- main ----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None, /) -> argparse.Namespace:
    """Parse the command line."""
    p = argparse.ArgumentParser(
        prog="loadtest.py",
        description="Load-test the kneeback web app: members browsing and uploading at once.",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="A running server, e.g. http://127.0.0.1:8000.")
    where.add_argument(
        "--start", action="store_true", help="Start `kneeback serve` in a temporary folder."
    )
    p.add_argument("--db", help="The running server's database URL (with --url).")
    p.add_argument(
        "--no-worker",
        action="store_true",
        help="With --start: no analysis worker (uploads stay queued).",
    )
    p.add_argument(
        "--work-dir",
        type=Path,
        help="With --start: use (and keep) this folder, not a temporary one.",
    )
    p.add_argument("--browsers", type=int, default=50, help="Browsing members (default 50).")
    p.add_argument(
        "--requests", type=int, default=20, help="Requests per browsing member (default 20)."
    )
    p.add_argument("--uploads", type=int, default=10, help="Uploading members (default 10).")
    p.add_argument("--clip", type=Path, default=DEFAULT_CLIP, help="The clip to upload.")
    p.add_argument("--movement", default="auto", help="Movement sent with the uploads.")
    p.add_argument(
        "--think-s",
        type=float,
        default=0.1,
        help="Mean think time between a member's requests, seconds (uniform 0..2x; default 0.1).",
    )
    p.add_argument(
        "--ramp-s",
        type=float,
        default=0.0,
        help="Start each user at a random moment in this many seconds (default 0: all at once).",
    )
    p.add_argument(
        "--seed-sessions",
        type=int,
        default=2,
        help="Stored sessions per browsing member before the run (default 2; 0 for none).",
    )
    p.add_argument(
        "--seed-file", type=Path, default=DEFAULT_SEED_FILE, help="Pose file analysed for them."
    )
    p.add_argument(
        "--deadline",
        type=float,
        default=120.0,
        help="Seconds the whole run (and --wait-analyses) may take (default 120).",
    )
    p.add_argument(
        "--request-timeout", type=float, default=60.0, help="Seconds per request (default 60)."
    )
    p.add_argument(
        "--wait-analyses",
        action="store_true",
        help="Also wait until every upload's analysis is done or failed.",
    )
    p.add_argument("--json-out", type=Path, help="Write the report as JSON here.")
    p.add_argument("--seed", type=int, default=0, help="Random seed of the think times.")
    args = p.parse_args(argv)
    if args.url and not args.db:
        p.error("--url needs --db (the server's database URL)")
    if args.no_worker and not args.start:
        p.error("--no-worker goes with --start")
    if (
        args.browsers < 0
        or args.uploads < 0
        or args.requests < 1
        or args.browsers + args.uploads < 1
    ):
        p.error("need at least one user, and --requests >= 1")
    if args.uploads and not args.clip.is_file():
        p.error(f"no clip at {args.clip}")
    return args


def run(args: argparse.Namespace, url: str, database_url: str, /) -> dict[str, Any]:
    """Set up the accounts, run the users, check the uploads; return the report."""
    t_start = time.monotonic()
    deadline = t_start + args.deadline
    tag = secrets.token_hex(3)
    plan = Plan(
        url=url.rstrip("/"),
        database_url=database_url,
        browsers=args.browsers,
        requests=args.requests,
        uploaders=args.uploads,
        clip=args.clip,
        movement=args.movement,
        think_s=args.think_s,
        ramp_s=args.ramp_s,
        request_timeout_s=args.request_timeout,
        seed=args.seed,
        browse_users=[f"load-{tag}-b{i:03d}" for i in range(args.browsers)],
        upload_users=[f"load-{tag}-u{i:03d}" for i in range(args.uploads)],
    )
    create_accounts(database_url, plan.browse_users + plan.upload_users, password=PASSWORD)
    seeded = args.seed_sessions if args.seed_file.is_file() else 0
    plan.sessions = seed_sessions(
        database_url, plan.browse_users, per_member=seeded, pose_file=args.seed_file
    )
    t_setup = time.monotonic() - t_start
    base = ["/", "/api/sessions", "/api/jobs", "/members/<me>"]
    base += ["/api/members/<me>/progress", "/api/members/<me>/history", "/api/members/<me>/program"]
    skipped: list[str] = []
    if plan.browse_users:
        optional, skipped = asyncio.run(probe_optional_paths(plan))
        plan.paths = base + optional
    data = args.clip.read_bytes() if plan.upload_users else b""
    t_load = time.monotonic()
    samples, uploads, late = asyncio.run(run_users(plan, data, deadline=deadline))
    load_s = time.monotonic() - t_load
    lost = lost_uploads(database_url, uploads, args.clip) if uploads else []
    report: dict[str, Any] = {
        "url": plan.url,
        "browsers": plan.browsers,
        "requests": plan.requests,
        "uploaders": plan.uploaders,
        "clip": str(args.clip),
        "clip_bytes": args.clip.stat().st_size if uploads else 0,
        "think_s": plan.think_s,
        "ramp_s": plan.ramp_s,
        "seeded_sessions_per_member": seeded,
        "paths_used": [*plan.paths, *(["/sessions/<id>", "/api/sessions/<id>"] if seeded else [])],
        "paths_skipped": skipped,
        "deadline_s": args.deadline,
        "setup_s": round(t_setup, 2),
        "load_s": round(load_s, 2),
        "deadline_passed": late,
        "latency": summarise(samples),
        "uploads": {
            "attempted": len(uploads),
            "accepted": sum(u.uid is not None for u in uploads),
            "lost": lost,
            "uids": [u.uid for u in uploads if u.uid],
        },
    }
    ok = not late and report["latency"]["errors"] == 0 and not lost
    if args.wait_analyses and report["uploads"]["uids"]:
        an = wait_for_analyses(
            database_url, report["uploads"]["uids"], deadline=deadline, started=t_load
        )
        report["analyses"] = an
        ok = ok and an["failed"] == 0 and an["unfinished"] == 0
    report["elapsed_s"] = round(time.monotonic() - t_start, 2)
    report["ok"] = ok
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load test from the command line; return the exit status."""
    args = parse_args(argv)
    log: Path | None = None
    with ExitStack() as stack:
        if args.start:
            root = args.work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url, database_url, log = stack.enter_context(
                start_server(root, worker=not args.no_worker)
            )
            print(f"started kneeback serve at {url} (log: {log})")
        else:
            url, database_url = args.url, args.db
        report = run(args, url, database_url)
        print_report(report)
        if log is not None and not report["ok"]:
            print("---- server log (last 40 lines) ----")
            print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))
    if args.json_out is not None:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
