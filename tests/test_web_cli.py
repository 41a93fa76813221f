"""``kneeback users add``, ``kneeback users assign`` and ``kneeback serve`` (mounted on a test app
with :func:`kneeback.web.cli.register`, as ``kneeback.cli`` mounts them)."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

pytest.importorskip("fastapi")
pytest.importorskip("argon2")

from kneeback.store import open_database
from kneeback.web.accounts import authenticate, visible_user_ids
from kneeback.web.cli import register

PASSWORD = "correct horse battery"


@pytest.fixture
def cli():
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return run


def test_users_add_the_first_admin_and_a_coach_with_a_member(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    r = cli(
        "users", "add", "root", "--role", "admin", "--db", url, input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert r.exit_code == 0, r.output
    assert "Added the admin account root." in r.output
    r = cli(
        "users",
        "add",
        "coachy",
        "--role",
        "coach",
        "--password-stdin",
        "--db",
        url,
        input=f"{PASSWORD}\n",
    )
    assert r.exit_code == 0, r.output
    r = cli("users", "add", "mia", "--password-stdin", "--db", url, input=f"{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    r = cli("users", "assign", "coachy", "mia", "--db", url)
    assert r.exit_code == 0, r.output
    with open_database(url) as db:
        admin = authenticate(db, "root", PASSWORD)
        assert admin is not None and admin.role == "admin" and admin.person_id is None
        coach = authenticate(db, "coachy", PASSWORD)
        member = authenticate(db, "mia", PASSWORD)
        assert member is not None and member.person_id is not None
        assert coach is not None and visible_user_ids(db, coach) == {coach.id, member.id}
        assert visible_user_ids(db, admin) is None
        assert authenticate(db, "root", "wrong password") is None
    r = cli("users", "list", "--db", url)
    assert r.exit_code == 0, r.output
    rows = [line.split() for line in r.output.splitlines()[1:4]]
    assert [row[:2] for row in rows] == [["coachy", "coach"], ["mia", "member"], ["root", "admin"]]
    assert rows[0][-1] == "mia" and rows[1][-1] == "coachy"  # the group, from both sides
    assert "3 accounts." in r.output


def test_users_list_without_accounts_says_how_to_add_the_first(cli, tmp_path):
    r = cli("users", "list", "--db", f"sqlite:///{tmp_path / 'k.db'}")
    assert r.exit_code == 0 and "kneeback users add NAME --role admin" in r.output


def test_users_add_refuses_bad_input_with_one_sentence(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    r = cli("users", "add", "root", "--password-stdin", "--db", url, input="short\n")
    assert r.exit_code == 2 and "at least 10 characters" in r.output
    assert (
        cli(
            "users", "add", "root", "--password-stdin", "--db", url, input=f"{PASSWORD}\n"
        ).exit_code
        == 0
    )
    r = cli("users", "add", "root", "--password-stdin", "--db", url, input=f"{PASSWORD}\n")
    assert r.exit_code == 2 and "taken" in r.output
    r = cli("users", "assign", "root", "nobody", "--db", url)
    assert r.exit_code == 2 and "No coach account named 'root'" in r.output
    r = cli("users", "add", "x", "--role", "owner", "--db", url, input="")
    assert r.exit_code == 2


def test_users_add_links_a_member_to_a_person_stored_before(cli, tmp_path):
    """A person analysed with the command line can get a web account for their history."""
    from kneeback.store.models import Person

    url = f"sqlite:///{tmp_path / 'k.db'}"
    with open_database(url) as db:
        db.write(lambda s: s.add(Person(uid="u" * 32, name="Ann Example")))
    r = cli(
        "users",
        "add",
        "ann",
        "--person",
        "Ann Example",
        "--password-stdin",
        "--db",
        url,
        input=f"{PASSWORD}\n",
    )
    assert r.exit_code == 0, r.output
    r = cli(
        "users",
        "add",
        "ann2",
        "--person",
        "Ann Example",
        "--password-stdin",
        "--db",
        url,
        input=f"{PASSWORD}\n",
    )
    assert r.exit_code == 2 and "already belongs to another account" in r.output


def test_serve_builds_the_app_and_runs_uvicorn(cli, tmp_path, monkeypatch):
    import uvicorn

    seen = {}

    def fake_run(app, **kwargs):
        seen["app"] = app
        seen.update(kwargs)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    r = cli(
        "serve",
        "--port",
        "8123",
        "--db",
        url,
        "--data-dir",
        str(tmp_path / "data"),
        "--insecure-cookies",
        "--no-worker",
    )
    assert r.exit_code == 0, r.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    settings = seen["app"].state.web.settings
    assert settings.cookie_secure is False and settings.run_worker is False
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert "Serving on http://127.0.0.1:8123" in r.output


def test_worker_once_runs_the_queued_jobs(cli, tmp_path, monkeypatch, model_dir_full):
    from kneeback.errors import NoPersonError
    from kneeback.web.accounts import create_user
    from kneeback.web.jobs import enqueue_job

    def nobody(*args, **kwargs):
        raise NoPersonError("Nobody was found in the video.")

    monkeypatch.setattr("kneeback.pipeline.pose_video", nobody)
    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(model_dir_full))
    url = f"sqlite:///{tmp_path / 'k.db'}"
    with open_database(url) as db:
        account = create_user(db, "nia", PASSWORD)
        enqueue_job(db, account.id, tmp_path / "missing.mp4")
    r = cli("worker", "--once", "--db", url, "--data-dir", str(tmp_path / "data"))
    assert r.exit_code == 0, r.output
    assert "Ran 1 job." in r.output


def test_every_web_module_exports_what_it_names():
    import importlib
    import pkgutil

    import kneeback.web

    for info in pkgutil.iter_modules(kneeback.web.__path__):
        module = importlib.import_module(f"kneeback.web.{info.name}")
        names = module.__all__
        assert [n for n in names if not hasattr(module, n)] == [], info.name


def test_serve_refuses_a_bad_public_url_or_podcast_email(cli):
    r = cli("serve", "--public-url", "ftp://example.org", "--port", "8123")
    assert r.exit_code == 2
    assert "--public-url: give the site's address" in r.output
    r = cli("serve", "--podcast-email", "nobody", "--port", "8123")
    assert r.exit_code == 2
    assert "--podcast-email: give an e-mail address" in r.output


def test_serve_and_worker_refuse_a_data_folder_they_cannot_write(cli, tmp_path, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file where the data folder should be\n")
    for args in (("serve", "--port", "8123"), ("worker", "--once")):
        r = cli(*args, "--db", url, "--data-dir", str(not_a_folder))
        assert r.exit_code == 6, r.output
        assert f"The data folder {not_a_folder} cannot be used" in r.output
        assert "Internal error" not in r.output and "Traceback" not in r.output


def test_serve_says_when_the_secret_key_file_cannot_be_read(cli, tmp_path, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    monkeypatch.delenv("KNEEBACK_SECRET_KEY", raising=False)
    data = tmp_path / "data"
    (data / "secret_key").mkdir(parents=True)  # not a file
    r = cli("serve", "--db", f"sqlite:///{tmp_path / 'k.db'}", "--data-dir", str(data))
    assert r.exit_code == 6, r.output
    assert f"Cannot read the secret key file {data / 'secret_key'}" in r.output


def test_serve_says_when_the_port_is_taken_before_it_starts_anything(cli, tmp_path, monkeypatch):
    import socket

    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.append(kwargs))
    where = ("--db", f"sqlite:///{tmp_path / 'k.db'}", "--data-dir", str(tmp_path / "data"))
    with socket.socket() as other_server:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        port = other_server.getsockname()[1]
        r = cli("serve", "--port", str(port), *where)
    assert r.exit_code == 2, r.output
    assert f"--port {port}: 127.0.0.1:{port} is already in use" in r.output
    assert started == [] and not (tmp_path / "k.db").exists()
    r = cli("serve", "--host", "no-such-host.invalid", *where)
    assert r.exit_code == 2 and "--host no-such-host.invalid: not an address" in r.output


def test_serve_refuses_a_secret_key_too_short_to_be_secret(cli, tmp_path, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    where = ("--db", f"sqlite:///{tmp_path / 'k.db'}", "--data-dir", str(tmp_path / "data"))
    monkeypatch.setenv("KNEEBACK_SECRET_KEY", "abc")
    r = cli("serve", *where)
    assert r.exit_code == 2, r.output
    assert "KNEEBACK_SECRET_KEY is too short (3 characters, at least 32)" in r.output
    monkeypatch.delenv("KNEEBACK_SECRET_KEY")
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "secret_key").write_text("abc\n")
    r = cli("serve", *where)
    assert r.exit_code == 2, r.output
    assert "too short (3 characters, at least 32); delete the file" in r.output
    assert "Internal error" not in r.output


def test_worker_log_lines_say_when_and_how_bad(cli, tmp_path, monkeypatch, model_dir_full):
    import logging
    import re

    from kneeback.web.accounts import create_user
    from kneeback.web.jobs import enqueue_job

    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(model_dir_full))
    url = f"sqlite:///{tmp_path / 'k.db'}"
    with open_database(url) as db:
        account = create_user(db, "nia", PASSWORD, person="Nia")
        uid = enqueue_job(db, account.id, tmp_path / "deleted-by-someone.mp4")
    r = cli("worker", "--once", "--db", url, "--data-dir", str(tmp_path / "data"))
    assert r.exit_code == 0, r.output
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert re.search(rf"^{stamp} WARNING kneeback\.web\.jobs: job {uid} failed", r.output, re.M), (
        r.output
    )
    assert logging.getLogger("kneeback").handlers == []  # nothing left behind after the command


def test_users_password_replaces_a_forgotten_password_and_ends_its_logins(cli, tmp_path):
    from kneeback.web.accounts import session_account, start_session

    url = f"sqlite:///{tmp_path / 'k.db'}"
    r = cli(
        "users",
        "add",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        "--db",
        url,
        input=f"{PASSWORD}\n",
    )
    assert r.exit_code == 0, r.output
    with open_database(url) as db:
        account = authenticate(db, "root", PASSWORD)
        assert account is not None
        token = start_session(db, account, max_age_s=3600)
    new = "a new long passphrase"
    r = cli("users", "password", "root", "--db", url, input=f"{new}\n{new}\n")
    assert r.exit_code == 0, r.output
    assert "New password set for root; 1 login ended." in r.output
    with open_database(url) as db:
        assert authenticate(db, "root", PASSWORD) is None
        assert authenticate(db, "root", new) is not None
        assert session_account(db, token) is None
    r = cli("users", "password", "nobody", "--password-stdin", "--db", url, input=f"{new}\n")
    assert r.exit_code == 2 and "No account named 'nobody'." in r.output
    r = cli("users", "password", "root", "--password-stdin", "--db", url, input="short\n")
    assert r.exit_code == 2 and "at least 10 characters" in r.output


def test_the_web_code_names_only_flags_its_commands_have():
    """A docstring or message that says "use --some-flag" must name a flag a command has."""
    import re
    from pathlib import Path

    import kneeback.web

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)

    def options(command) -> set[str]:
        found = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        for sub in getattr(command, "commands", {}).values():
            found |= options(sub)
        return found

    flags = options(typer.main.get_command(app))
    assert {"--no-worker", "--insecure-cookies", "--password-stdin"} <= flags
    named = {
        (path.name, flag)
        for path in Path(kneeback.web.__file__).parent.glob("*.py")
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", path.read_text(encoding="utf-8"))
    }
    assert sorted((name, flag) for name, flag in named if flag not in flags) == []
    from kneeback.web.flows import client_ip

    assert "FORWARDED_ALLOW_IPS" in (client_ip.__doc__ or "")  # what the README tells operators


def test_serve_and_worker_refuse_to_start_without_the_pose_models(cli, tmp_path, monkeypatch):
    """Jobs would only wait; the operator is told at start, and nothing is downloaded then."""
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.append(kwargs))
    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(empty))
    where = ("--db", f"sqlite:///{tmp_path / 'k.db'}", "--data-dir", str(tmp_path / "data"))
    for args in (("worker", "--once"), ("serve", "--port", "8123"), ("worker",)):
        r = cli(*args, *where)
        assert r.exit_code == 5, (args, r.output)
        assert "pose_landmarker_full.task is not installed" in r.output
        assert "run `kneeback models install`" in r.output
        assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert started == [] and list(empty.iterdir()) == []
    r = cli("serve", "--port", "8123", "--no-worker", *where)  # the web app alone needs none
    assert r.exit_code == 0, r.output
    assert len(started) == 1


def test_serve_and_worker_start_with_the_pose_models(cli, tmp_path, monkeypatch, model_dir_full):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.append(kwargs))
    monkeypatch.setenv("KNEEBACK_MODEL_DIR", str(model_dir_full))
    where = ("--db", f"sqlite:///{tmp_path / 'k.db'}", "--data-dir", str(tmp_path / "data"))
    r = cli("serve", "--port", "8123", *where)
    assert r.exit_code == 0 and len(started) == 1, r.output
    r = cli("worker", "--once", *where)
    assert r.exit_code == 0 and "Ran 0 jobs." in r.output, r.output


def test_log_lines_reach_the_operator_while_the_pose_model_runs():
    """Descriptor 2 is pointed away from the terminal while the model runs (native chatter); the
    service's log lines, kneeback's and uvicorn's, go to a copy of it and are not lost."""
    import subprocess
    import sys

    script = """
import logging, logging.config, os
from kneeback.pose.native_logs import native_stderr_captured
from kneeback.web.cli import _logging_to_stderr, _uvicorn_log_config
with _logging_to_stderr() as stream:
    logging.config.dictConfig(_uvicorn_log_config(stream))
    with native_stderr_captured() as captured:
        logging.getLogger("kneeback.web.jobs").info("job abc: started (attempt 1)")
        logging.getLogger("uvicorn.error").info("Shutting down")
        os.write(2, b"W0000 00:00:1.0 1 inference_feedback_manager.cc:114] chatter\\n")
        assert "started" not in captured() and "chatter" in captured()
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "INFO kneeback.web.jobs: job abc: started (attempt 1)" in done.stderr
    assert "chatter" not in done.stderr
    # uvicorn's lines are stamped with the time too (its default has none)
    assert re.search(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO: +Shutting down$", done.stderr, re.M
    )
