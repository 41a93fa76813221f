"""Read a TOML file that a user wrote, with one clear sentence for each way it can fail."""

from __future__ import annotations

import tomllib
from os import PathLike
from pathlib import Path
from typing import Any

from kneeback.errors import KneebackError

__all__ = ["read_toml"]


def read_toml(
    path: str | PathLike[str], /, *, what: str, error: type[KneebackError]
) -> dict[str, Any]:
    """Parse a TOML file.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for the messages (``"program file"``, ``"settings file"``).
    error
        The error raised (its exit code is the command's).

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    KneebackError
        ``error``, when the file is missing, unreadable or not valid TOML.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"The {what} {p} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"The {what} {p} cannot be read ({exc}).") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"The {what} {p} is not valid TOML: {exc}.") from None
