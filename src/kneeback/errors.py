"""Errors a user can act on, each with one clear sentence and a CLI exit code.

Exit codes (also listed in ``kneeback --help``):

====  ==========================================================
code  meaning
====  ==========================================================
0     success
1     unexpected internal error (a bug: please report it)
2     wrong command-line usage
3     the input file cannot be used (missing, empty, not a video)
4     nobody was detected in the video
5     the pose model could not be provisioned
====  ==========================================================
"""

from __future__ import annotations

__all__ = [
    "EXIT_CODES_HELP",
    "InputError",
    "KneebackError",
    "ModelUnavailableError",
    "NoPersonError",
    "SchemaError",
]


class KneebackError(Exception):
    """Base class: the message is one sentence meant for the user."""

    exit_code: int = 1


class InputError(KneebackError):
    """The input file is missing, empty, corrupt or of the wrong kind."""

    exit_code = 3


class SchemaError(InputError):
    """A pose dataset does not follow the kneeback schema."""


class NoPersonError(KneebackError):
    """No person was detected in any frame."""

    exit_code = 4


class ModelUnavailableError(KneebackError):
    """The pose model is not cached and could not be downloaded or built."""

    exit_code = 5


EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 internal error; 2 wrong usage; 3 unusable input file; "
    "4 nobody detected; 5 pose model unavailable."
)
