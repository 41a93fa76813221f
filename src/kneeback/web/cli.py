"""The ``kneeback serve``, ``kneeback worker`` and ``kneeback users`` commands.

Mount them on the main app with :func:`register` (like :func:`kneeback.cli_store.register`).
They need the ``web`` extra (FastAPI, uvicorn, python-multipart, argon2-cffi, markdown-it-py);
without it they say which package is missing.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TextIO

import typer

from kneeback.cli_support import out, user_errors
from kneeback.errors import BadValueError

if TYPE_CHECKING:
    from kneeback.settings import ModelVariant
    from kneeback.store.db import Database
    from kneeback.web.settings import WebSettings

__all__ = [
    "register",
    "serve",
    "users_add",
    "users_app",
    "users_assign",
    "users_password",
    "users_remove",
    "worker",
]

Role = Literal["member", "coach", "admin"]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: KNEEBACK_DATABASE_URL, else kneeback.db in the user data "
        "folder).",
        show_default=False,
    ),
]

users_app = typer.Typer(
    name="users", help="Manage web accounts.", no_args_is_help=True, add_completion=False
)


#: What a bad value of a web setting given on the command line should have looked like.
_SETTING_HINTS = {
    "public_url": "give the site's address, starting with https:// (or http://)",
    "podcast_email": "give an e-mail address, like podcast@example.org",
}


def _web_settings(db: str | None, data_dir: Path | None, /, **fields: object) -> WebSettings:
    """Validate the web settings given on the command line; a bad value is a usage error.

    ``db`` and ``data_dir`` are ``--db`` and ``--data-dir`` (None: the default database and
    data folder), ``fields`` any other settings.
    """
    from pydantic import ValidationError

    from kneeback.web.settings import WebSettings

    given = {"database_url": db, **fields}
    if data_dir is not None:
        given["data_dir"] = data_dir
    try:
        return WebSettings.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = "_".join(str(part) for part in first["loc"])
        hint = _SETTING_HINTS.get(field, first["msg"])
        raise BadValueError(f"--{field.replace('_', '-')}: {hint}.") from None


#: How kneeback's own log lines (a failed job, an unreachable database) look on stderr.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextmanager
def _log_stream() -> Iterator[TextIO]:
    """Yield a text stream on a copy of file descriptor 2, for log lines.

    While the pose model runs, descriptor 2 itself is pointed away from the terminal to hide the
    native libraries' logs (:mod:`kneeback.pose.native_logs`); log lines written to the copy
    still reach the operator. Where stderr has no descriptor (captured in tests) it is used as it
    is.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield sys.stderr
        return
    with os.fdopen(os.dup(fd), "w", buffering=1, closefd=True) as stream:
        yield stream


@contextmanager
def _logging_to_stderr() -> Iterator[TextIO]:
    """Send kneeback's log lines (INFO and up) to stderr, stamped, while a command runs.

    Without it they reach stderr bare (no time, no level) or not at all below WARNING. Yields
    the stream they go to (see :func:`_log_stream`), for uvicorn's own lines too.
    """
    with _log_stream() as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger = logging.getLogger("kneeback")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            yield stream
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)


def _uvicorn_log_config(stream: TextIO, /) -> dict[str, object]:
    """Return uvicorn's default logging, with times, its stderr lines on ``stream``.

    Its lines are stamped like kneeback's (the default has no time); ``stream`` is the copy of
    stderr of :func:`_log_stream`.
    """
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["default"]["stream"] = stream
    for formatter in config["formatters"].values():
        formatter["fmt"] = "%(asctime)s " + formatter["fmt"]
    return config


def _check_models(variant: ModelVariant, /) -> None:
    """Refuse to run jobs without the pose models they need (installed, never fetched here).

    Jobs use the variant of the settings, and the lite model to count the people in view.

    Raises
    ------
    ModelUnavailableError
        Naming the command that installs the missing model.
    """
    from kneeback.pose.models import installed_model

    for needed in dict.fromkeys((variant, "lite")):
        installed_model(needed)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Make SIGTERM (what systemd and ``kill`` send) stop the command as Ctrl-C does."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stopped(uid: str | None, /) -> None:
    back = "" if uid is None else f"; job {uid} is back in the queue"
    out.print(f"Stopped{back}.", highlight=False)


def _missing_extra(exc: ModuleNotFoundError) -> BadValueError:
    return BadValueError(
        f"The web app needs the package {exc.name!r}: pip install 'kneeback[web]'."
    )


def _read_password(from_stdin: bool, prompt: str, /) -> str:
    """Read a password: one line of standard input, or asked twice on the terminal (hidden)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=True))


@users_app.command("add")
@user_errors
def users_add(
    username: Annotated[str, typer.Argument(help="The account's username.")],
    role: Annotated[Role, typer.Option(help="member, coach or admin.")] = "member",
    person: Annotated[
        str | None,
        typer.Option(help="Link a member to this stored person (e.g. one analysed before)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Add an account, e.g. the first admin: ``kneeback users add alice --role admin``.

    The password is asked for twice (hidden), or read from standard input.
    """
    try:
        from kneeback.web.accounts import create_user
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from None
    from kneeback.store import open_database

    password = _read_password(password_stdin, "Password")
    with open_database(db) as database:
        account = create_user(database, username, password, role=role, person=person)
    out.print(f"Added the {account.role} account {account.username}.", highlight=False)


@users_app.command("password")
@user_errors
def users_password(
    username: Annotated[str, typer.Argument(help="The account's username.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Set a new password for an account (e.g. a forgotten one); its logins end.

    The password is asked for twice (hidden), or read from standard input.
    """
    try:
        from kneeback.web.accounts import set_password
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from None
    from kneeback.store import open_database

    password = _read_password(password_stdin, "New password")
    with open_database(db) as database:
        ended = set_password(database, username, password)
    out.print(
        f"New password set for {username}; {ended} login{'s' if ended != 1 else ''} ended.",
        highlight=False,
    )


@users_app.command("list")
@user_errors
def users_list(db: DbOption = None) -> None:
    """List every account: role, since when, and the coach groups it is in."""
    try:
        from kneeback.web.people import all_accounts
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from None
    from rich.table import Table

    from kneeback.store import open_database

    with open_database(db) as database:
        accounts = all_accounts(database)
    if not accounts:
        out.print("No accounts yet: add the first admin with kneeback users add NAME --role admin.")
        return
    table = Table("username", "role", "since", "coaches", "members", box=None)
    for a in accounts:
        table.add_row(
            a["username"],
            a["role"],
            a["created_at"][:10],
            ", ".join(a["coaches"]) or ("-" if a["role"] == "member" else ""),
            ", ".join(a["members"]) or ("-" if a["role"] == "coach" else ""),
        )
    out.print(table)
    out.print(f"{len(accounts)} account{'s' if len(accounts) != 1 else ''}.", highlight=False)


@users_app.command("assign")
@user_errors
def users_assign(
    coach: Annotated[str, typer.Argument(help="The coach's username.")],
    member: Annotated[str, typer.Argument(help="The member's username.")],
    db: DbOption = None,
) -> None:
    """Assign a member to a coach, who may then read the member's sessions."""
    try:
        from kneeback.web.accounts import assign_member
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from None
    from kneeback.store import open_database

    with open_database(db) as database:
        assign_member(database, coach, member)
    out.print(f"{member} is now a member of {coach}'s group.", highlight=False)


@users_app.command("remove")
@user_errors
def users_remove(
    username: Annotated[str, typer.Argument(help="The account's username.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="The data folder of the web app, where a member's uploads and analyses are "
            "deleted: the one serve uses (default: web/ in the user data folder, "
            "~/.local/share/kneeback/web on Linux)."
        ),
    ] = None,
) -> None:
    """Remove an account; a member's with everything deleting it on its account page deletes.

    A member's person and history, uploads and analysis files (inside the data folder) go with
    it; nothing goes while an analysis of theirs runs. A coach's or admin's account goes with
    its logins, its group (the members and their data stay) and its comments under articles;
    its comments on members' sessions stay (by "a former coach"), sessions it reviewed stay
    reviewed, articles it wrote stay, and a person linked to it stays with their history
    (kneeback forget removes that). The last admin is not removed. Says what goes and
    asks first on a terminal; elsewhere (a script, a pipe) it removes only with --yes.
    """
    try:
        from kneeback.web.account import row_phrases
        from kneeback.web.removal import plan_removal, removal_lines, remove_account
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from None
    from kneeback.cli_store import _ask
    from kneeback.store import open_database

    settings = _web_settings(db, data_dir)
    with open_database(settings.database_url) as database:
        _follow_data_folder(database, settings.data_dir)
        plan = plan_removal(database, username)
        if not yes:
            for line in removal_lines(plan):
                out.print(line, highlight=False)
            if not _ask(f"Remove {username}? This cannot be undone", f"Not removing {username}"):
                out.print(f"Kept {username}; nothing was deleted.", highlight=False)
                return
        done = remove_account(
            database,
            username,
            upload_dir=settings.upload_dir,
            analysis_dir=settings.analysis_dir,
        )
    rows = ", ".join(row_phrases(done.rows))
    rows = f" with {rows}" if rows else ""
    files = done.files_deleted
    out.print(
        f"Removed the {plan.account.role} account {username}{rows}; {files} "
        f"file{'' if files == 1 else 's'} deleted.",
        highlight=False,
    )
    for k in done.files_kept:
        out.print(f"  kept {k['path']}: {k['why']}", highlight=False)


def _follow_data_folder(
    database: Database, data_dir: Path, /, *, serving: bool = False, relocate: bool = False
) -> None:
    """Check that the database's uploads and analyses are in ``data_dir``; follow a moved one.

    Only ``serve`` (``serving``) points the stored paths of a data folder restored or moved
    elsewhere into ``data_dir``, and of one that still holds its files only with ``relocate``.
    ``worker`` and ``users remove`` refuse to run on another data folder than the database's:
    a worker would analyse into a folder the server does not serve, and a removal would delete
    the rows but none of the files.

    Raises
    ------
    BadValueError
        When the database's files are in another data folder that this command must not take
        over; nothing is changed then.
    """
    from kneeback.web.relocate import follow_data_folder

    for r in follow_data_folder(database, data_dir, rewrite=False):
        if serving and r.still_there and not (relocate and r.found):
            copy = (
                f" Only if this database is a copy, made together with {data_dir} as a copy of "
                f"that folder, add --relocate to point its paths into {data_dir}."
                if r.found
                else ""
            )
            raise BadValueError(
                f"The database's uploads and analyses are in {r.old}, which still holds them, "
                f"not in {data_dir}: give --data-dir {r.old}.{copy}"
            )
        if not serving and r.still_there:
            raise BadValueError(
                f"The database's uploads and analyses are in {r.old}, not in {data_dir}: give "
                f"--data-dir {r.old} (the data folder `kneeback serve` uses)."
            )
        if not serving and r.found:
            raise BadValueError(
                f"The database's uploads and analyses were in {r.old}, and {data_dir} holds them "
                f"now: start `kneeback serve --data-dir {data_dir}` once, which points the "
                "database there, then run this again."
            )
    relocations = follow_data_folder(database, data_dir, rewrite=serving, over_live=relocate)
    for r in relocations:
        if r.rewritten:
            out.print(
                f"The data folder was moved from {r.old}: {r.rewritten} stored paths now point "
                f"into {data_dir}.",
                highlight=False,
            )
        elif not r.found:
            out.print(
                f"Warning: the database names {r.missing} uploads and analyses in {r.old}, and "
                f"{data_dir} holds none of them: restore the data folder there (README, backup "
                "and restore), or their reports and videos stay missing.",
                style="red",
                highlight=False,
            )


def _check_listen(host: str, port: int, /) -> None:
    """Refuse, before anything starts, an address this machine cannot listen on.

    The socket is bound the way uvicorn binds it (``SO_REUSEADDR``) and closed again at once.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        raise BadValueError(
            f"--host {host}: not an address or a name this machine knows."
        ) from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise BadValueError(
                    f"--port {port}: {host}:{port} is already in use (another server, or kneeback "
                    "serve already running); stop it or choose another port."
                ) from None
            raise BadValueError(
                f"--host {host}: cannot listen on {host}:{port} ({exc.strerror or exc})."
            ) from None


@user_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    db: DbOption = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder for uploads, analyses and the secret key (default: web/ in the user "
            "data folder, ~/.local/share/kneeback/web on Linux)."
        ),
    ] = None,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            "--insecure-cookies",
            help="Send cookies over plain HTTP (only for trying it out on this computer).",
        ),
    ] = False,
    worker: Annotated[bool, typer.Option(help="Run the analysis worker in this process.")] = True,
    public_url: Annotated[
        str | None,
        typer.Option(help="The site's public address, for the podcast feed's absolute links."),
    ] = None,
    podcast_email: Annotated[
        str | None, typer.Option(help="The podcast owner's e-mail address, for the feed.")
    ] = None,
    relocate: Annotated[
        bool,
        typer.Option(
            "--relocate",
            help="Point the database's stored paths into --data-dir although the data folder "
            "they name still holds its files: only for a copy of both the database and that "
            "folder.",
        ),
    ] = False,
) -> None:
    """Run the web app (members upload clips and read reports; coaches read their members')."""
    try:
        import uvicorn

        from kneeback.web import create_app
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from None

    settings = _web_settings(
        db,
        data_dir,
        cookie_secure=not insecure_cookies,
        run_worker=worker,
        public_url=public_url,
        podcast_email=podcast_email,
    )
    _check_listen(host, port)
    from kneeback.store import open_database

    with open_database(settings.database_url) as database:
        _follow_data_folder(database, settings.data_dir, serving=True, relocate=relocate)
    app = create_app(settings)
    if settings.run_worker:
        _check_models(settings.pose_variant)
    if insecure_cookies and host not in ("127.0.0.1", "localhost", "::1"):
        out.print("Warning: cookies without the secure flag on a network address.", style="red")
    out.print(f"Serving on http://{host}:{port} (data in {settings.data_dir}).", highlight=False)
    with _logging_to_stderr() as stream:
        uvicorn.run(
            app,
            host=host,
            port=port,
            proxy_headers=True,
            log_level="info",
            log_config=_uvicorn_log_config(stream),
        )


@user_errors
def worker(
    db: DbOption = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="The data folder of the web app, the one serve uses (default: web/ in the user "
            "data folder, ~/.local/share/kneeback/web on Linux)."
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Run the queued jobs, then exit.")] = False,
) -> None:
    """Run analysis jobs in this process (next to ``kneeback serve --no-worker``), until Ctrl-C.

    Ctrl-C or SIGTERM stops it at once: the job in progress goes back in the queue.
    """
    try:
        from kneeback.web.jobs import JobWorker, resume_unfinished
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from None
    from kneeback.store import open_database

    settings = _web_settings(db, data_dir)
    settings.make_folders(uploads=False)
    _check_models(settings.pose_variant)
    with (
        _logging_to_stderr(),
        _sigterm_as_interrupt(),
        open_database(settings.database_url) as database,
    ):
        _follow_data_folder(database, settings.data_dir)
        jobs = JobWorker(
            database,
            analysis_dir=settings.analysis_dir,
            poll_s=settings.worker_poll_s,
            pose_variant=settings.pose_variant,
            lease_s=settings.job_lease_s,
            upload_dir=settings.upload_dir,
        )
        if once:
            resume_unfinished(database, stale_after_s=settings.job_lease_s)
            try:
                n = jobs.run_pending()  # puts its job back itself when interrupted
            except KeyboardInterrupt:
                _stopped(None)
                return
            out.print(f"Ran {n} job{'s' if n != 1 else ''}.", highlight=False)
            return
        out.print(f"Running analysis jobs from {database.url} (Ctrl-C stops).", highlight=False)
        jobs.start()
        with suppress(KeyboardInterrupt):
            jobs.join()  # until Ctrl-C or SIGTERM
        _stopped(jobs.stop(timeout_s=0))


def register(app: typer.Typer, /) -> None:
    """Add ``serve``, ``worker`` and the ``users`` commands to a typer app.

    Parameters
    ----------
    app
        The ``kneeback`` app (``kneeback.cli.app``).
    """
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.add_typer(users_app, name="users")
