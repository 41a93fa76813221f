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
6     the output folder cannot be written or replaced
7     the database cannot be opened, upgraded or written
8     no person of that name is stored, or no such session of theirs
9     a person of that name already exists (import)
10    a batch finished but some of its inputs failed
====  ==========================================================
"""

from __future__ import annotations

__all__ = [
    "BATCH_FAILURES_EXIT",
    "EXIT_CODES_HELP",
    "BadValueError",
    "DatabaseError",
    "InputError",
    "KneebackError",
    "ModelUnavailableError",
    "NoPersonError",
    "OutputError",
    "PersonExistsError",
    "ProgramFileError",
    "SchemaError",
    "StoreError",
    "UnknownPersonError",
    "UnknownSessionError",
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


class BadValueError(KneebackError):
    """A value given on the command line is out of range or malformed."""

    exit_code = 2


class ProgramFileError(InputError):
    """A program file cannot be read or does not follow the program format."""


class OutputError(KneebackError):
    """The output folder cannot be written or replaced."""

    exit_code = 6


class StoreError(KneebackError):
    """Base class of the errors of the history store."""

    exit_code = 7


class DatabaseError(StoreError):
    """The database URL is wrong, the server cannot be reached or a write failed."""

    exit_code = 7


class UnknownPersonError(StoreError):
    """No person of that name is stored."""

    exit_code = 8


class UnknownSessionError(StoreError):
    """No session of that id is stored, or it is not the named person's."""

    exit_code = 8


class PersonExistsError(StoreError):
    """A person of that name already exists."""

    exit_code = 9


#: Exit code of ``kneeback batch`` when it finished but some inputs failed (see summary.csv).
BATCH_FAILURES_EXIT = 10

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 internal error; 2 wrong usage; 3 unusable input file; "
    "4 nobody detected; 5 pose model unavailable; 6 output folder cannot be written; "
    "7 database error; 8 unknown person or session; 9 person already exists; "
    f"{BATCH_FAILURES_EXIT} a batch finished but some of its inputs failed."
)
