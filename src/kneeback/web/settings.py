"""The web app's settings: one pydantic model, every default written here once."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from kneeback.errors import BadValueError, OutputError
from kneeback.settings import ModelVariant

__all__ = [
    "MIN_SECRET_KEY_CHARS",
    "SECRET_KEY_ENV",
    "SECRET_KEY_FILE",
    "WebSettings",
    "load_secret_key",
]

#: Environment variable holding the secret key that signs CSRF tokens.
SECRET_KEY_ENV = "KNEEBACK_SECRET_KEY"
#: Name of the generated secret key file inside the data directory (mode 0600).
SECRET_KEY_FILE = "secret_key"
#: The shortest secret key accepted (from the environment or the key file), in characters.
MIN_SECRET_KEY_CHARS = 32


def _default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("kneeback")) / "web"


def load_secret_key(data_dir: Path, /) -> SecretStr:
    """Return the secret key: ``KNEEBACK_SECRET_KEY``, else the key file in ``data_dir``.

    The key file is created on first use with 48 random bytes (hex), readable by its owner only
    (mode 0600), so that the key never lives in the repository.

    Parameters
    ----------
    data_dir
        The web app's data directory.

    Returns
    -------
    pydantic.SecretStr
        The key.

    Raises
    ------
    BadValueError
        When the key (from the environment or the file) is shorter than
        :data:`MIN_SECRET_KEY_CHARS`.
    OutputError
        When the key file cannot be created or read.
    """
    env = os.environ.get(SECRET_KEY_ENV)
    if env:
        if len(env) < MIN_SECRET_KEY_CHARS:
            raise BadValueError(
                f"{SECRET_KEY_ENV} is too short ({len(env)} characters, at least "
                f"{MIN_SECRET_KEY_CHARS}): anyone could forge its CSRF tokens; make one with "
                "python -c 'import secrets; print(secrets.token_hex(48))'."
            )
        return SecretStr(env)
    path = data_dir / SECRET_KEY_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = _read_key(path)
        if len(key) < MIN_SECRET_KEY_CHARS:
            raise BadValueError(
                f"The secret key in {path} is too short ({len(key)} characters, at least "
                f"{MIN_SECRET_KEY_CHARS}); delete the file to have a new one made."
            ) from None
        return SecretStr(key)
    except OSError as exc:
        raise OutputError(
            f"Cannot create the secret key file {path} ({exc.strerror or exc}); set "
            f"{SECRET_KEY_ENV} or choose a data folder that can be written with --data-dir."
        ) from None
    key = secrets.token_hex(48)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return SecretStr(key)


def _read_key(path: Path, /) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not plain text"
        raise OutputError(
            f"Cannot read the secret key file {path} ({why}); delete it to have a new one made."
        ) from None


class WebSettings(BaseModel):
    """Settings of one web app instance.

    Attributes
    ----------
    database_url
        SQLAlchemy URL; None for ``KNEEBACK_DATABASE_URL`` or the default SQLite file.
    data_dir
        Where uploads (``uploads/``), analysis outputs (``analyses/``) and the generated secret
        key live.
    max_upload_bytes
        Largest accepted upload; a bigger one is refused with 413.
    max_audio_bytes
        Largest accepted podcast audio file; a bigger one is refused with 413.
    public_url
        The site's public base URL (e.g. ``https://kneeback.example``) for absolute links in
        the podcast feed; None to use the base URL of each request.
    podcast_email
        The podcast owner's e-mail address for the feed's ``itunes:owner`` (podcast directories
        such as Apple's ask for one before they list a feed); None to leave it out.
    secret_key
        Key that signs CSRF tokens; None to read ``KNEEBACK_SECRET_KEY`` or the key file in
        ``data_dir`` (see :func:`load_secret_key`).
    cookie_secure
        Send cookies over HTTPS only. Turn off only for plain HTTP on the loopback.
    session_max_age_s
        Lifetime of a login session.
    login_max_failures_per_account, login_max_failures_per_ip, login_window_s
        Failed logins allowed per account and per client address within the window; further
        attempts are refused with 429 until the window has passed.
    register_max_per_ip, register_window_s
        Account registrations allowed per client address within the window (every attempt
        counts); further attempts are refused with 429.
    run_worker
        Start the in-process analysis worker thread with the app.
    worker_poll_s
        How often an idle worker looks for queued jobs.
    pose_variant
        Pose model variant for uploaded videos.
    job_lease_s
        A running job whose worker has not refreshed its heartbeat for this long (the worker
        stopped) goes back in the queue.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str | None = None
    data_dir: Path = Field(default_factory=_default_data_dir)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_audio_bytes: int = Field(default=300 * 1024 * 1024, gt=0)
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    podcast_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    secret_key: SecretStr | None = None
    cookie_secure: bool = True
    session_max_age_s: int = Field(default=14 * 24 * 3600, gt=0)
    login_max_failures_per_account: int = Field(default=5, gt=0)
    login_max_failures_per_ip: int = Field(default=20, gt=0)
    login_window_s: float = Field(default=15 * 60.0, gt=0)
    register_max_per_ip: int = Field(default=10, gt=0)
    register_window_s: float = Field(default=3600.0, gt=0)
    run_worker: bool = True
    worker_poll_s: float = Field(default=1.0, gt=0)
    pose_variant: ModelVariant = "full"
    job_lease_s: float = Field(default=60.0, gt=0)

    def make_folders(self, *, uploads: bool = True) -> None:
        """Create the data folder's ``analyses/`` (and ``uploads/``) and check they can be written.

        Parameters
        ----------
        uploads
            Also ``uploads/`` (the web app writes it; a worker only reads it).

        Raises
        ------
        OutputError
            With one sentence naming the folder, when one cannot be created or written (the data
            folder is a file, read-only, on a full disk, or not the server's to write).
        """
        folders = [self.upload_dir, self.analysis_dir] if uploads else [self.analysis_dir]
        for folder in folders:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check.")
                os.close(fd)
                os.unlink(probe)
            except OSError as exc:
                raise OutputError(
                    f"The data folder {self.data_dir} cannot be used: {folder} cannot be written "
                    f"({exc.strerror or exc}); choose another with --data-dir or fix its "
                    "permissions."
                ) from None

    @property
    def upload_dir(self) -> Path:
        """Folder of uploaded clips (random names only)."""
        return self.data_dir / "uploads"

    @property
    def analysis_dir(self) -> Path:
        """Folder of analysis outputs, one subfolder per job."""
        return self.data_dir / "analyses"

    def key(self) -> bytes:
        """Return the secret key as bytes (from the settings, the environment or the key file)."""
        secret = self.secret_key or load_secret_key(self.data_dir)
        return secret.get_secret_value().encode("utf-8")
