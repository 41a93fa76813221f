"""Analysis settings from a TOML file, and the defaults written out as one.

A coach who wants other thresholds (a slower tempo target, a stricter heel allowance) writes the
settings to change in a TOML file and passes it with ``--settings``; every setting left out keeps
its default. ``kneeback settings`` prints all of them with their defaults and where each comes
from, as a file to start from::

    # Descent or ascent faster than this is flagged (ACSM; rule 8).
    tempo_min_phase_s = 1.5

The names and limits are those of :class:`kneeback.settings.AnalysisSettings`: a misspelt name or
a value out of range is an error that names it, never a silent default.
"""

from __future__ import annotations

import difflib
import textwrap
from os import PathLike
from pathlib import Path

from pydantic import ValidationError

from kneeback.errors import BadValueError
from kneeback.settings import AnalysisSettings
from kneeback.toml_file import read_toml

__all__ = ["load_settings_file", "settings_toml"]


def load_settings_file(path: str | PathLike[str], /) -> AnalysisSettings:
    """Read analysis settings from a TOML file; unnamed settings keep their defaults.

    Parameters
    ----------
    path
        A TOML file of ``name = value`` lines (names of
        :class:`~kneeback.settings.AnalysisSettings`).

    Returns
    -------
    AnalysisSettings
        The defaults with the file's values in their place.

    Raises
    ------
    BadValueError
        When the file is missing, unreadable or not TOML, names an unknown setting (with the
        nearest known name), or gives a value of the wrong type or out of range.
    """
    p = Path(path)
    data = read_toml(p, what="settings file", error=BadValueError)
    known = AnalysisSettings.model_fields
    for name in data:
        if name not in known:
            near = difflib.get_close_matches(name, list(known), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise BadValueError(
                f"The settings file {p} names an unknown setting {name!r}{hint}; "
                "`kneeback settings` lists them all."
            )
    try:
        return AnalysisSettings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        msg = str(first["msg"])
        raise BadValueError(
            f"In the settings file {p}, {where} is refused: {msg[:1].lower()}{msg[1:]}."
        ) from None


def settings_toml() -> str:
    """Write every analysis setting with its default and its description, as TOML.

    Returns
    -------
    str
        A TOML document that :func:`load_settings_file` reads back to the defaults.
    """
    lines = [
        "# kneeback analysis settings: every one with its default and where it comes from.",
        "# Keep the lines you change (the others keep their defaults) and pass the file with",
        "# `kneeback analyze INPUT --settings FILE` (also `batch` and `live`).",
    ]
    for name, field in AnalysisSettings.model_fields.items():
        lines.append("")
        for row in textwrap.wrap(field.description or "", width=97, break_on_hyphens=False):
            lines.append(f"# {row}")
        lines.append(f"{name} = {field.default!r}")
    return "\n".join(lines) + "\n"
