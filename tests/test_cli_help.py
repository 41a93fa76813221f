"""Every command's --help shows all of its text: paragraphs reflow, no word is lost to markup."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from kneeback.cli import app

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.$-]*[A-Za-z0-9]")


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command under ``group`` with its path (Typer's commands are click-like objects)."""
    found = [(path, group)]
    if hasattr(group, "commands"):
        for name, sub in sorted(group.commands.items()):
            found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.replace("`", "")))


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "kneeback" for p, _ in COMMANDS]
)
def test_help_shows_every_word_of_the_command_and_its_options(
    path: tuple[str, ...], command: Any
) -> None:
    out = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"}, terminal_width=100)
    assert out.exit_code == 0, out.output
    shown = _words(out.output)
    texts = [command.help or ""] + [
        getattr(p, "help", None) or "" for p in command.params if not getattr(p, "hidden", False)
    ]
    for text in texts:
        missing = _words(text) - shown
        assert not missing, f"{' '.join(path)}: {sorted(missing)} missing from --help"


def test_paragraphs_reflow_to_the_terminal() -> None:
    out = CliRunner().invoke(app, ["analyze", "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    # The docstring breaks its lines at 100 characters; on 80 columns the paragraph is refilled,
    # not broken twice (a short line in mid-sentence).
    lines = [line.strip() for line in out.output.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("The output folder gets"))
    paragraph = lines[start : lines.index("", start)]
    assert len(paragraph) >= 3 and all(len(line) > 60 for line in paragraph[:-1])
