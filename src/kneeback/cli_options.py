"""Command-line options that several ``kneeback`` commands share, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from kneeback.io.adapters import PoseFormat
from kneeback.io.adapters.virtual_camera import View
from kneeback.movements.specs import MovementName
from kneeback.settings import ModelVariant

__all__ = [
    "FormatChoice",
    "FormatOption",
    "FpsOption",
    "MovementChoice",
    "PersonDbOption",
    "SettingsOption",
    "SubjectOption",
    "VariantOption",
    "ViewChoice",
]

MovementChoice = Literal["auto", MovementName]
ViewChoice = Literal["auto", View]
FormatChoice = Literal[PoseFormat, "video"]

VariantOption = Annotated[
    ModelVariant, typer.Option(help="Pose model for videos: lite, full or heavy.")
]
SubjectOption = Annotated[
    int | None,
    typer.Option(
        help="In a video with several people, follow this tracked person (0 = the one seen "
        "largest and longest).",
        min=0,
    ),
]
FormatOption = Annotated[
    FormatChoice,
    typer.Option("--format", help="Input format (auto: from the file's name and content)."),
]
FpsOption = Annotated[
    float | None,
    typer.Option(help="Frame rate of a pose file that does not store one.", min=0.1),
]
PersonDbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL for --person (default: KNEEBACK_DATABASE_URL, else kneeback.db "
        "in the user data folder).",
        show_default=False,
    ),
]
SettingsOption = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        help="Analysis settings (TOML) in place of the defaults, e.g. another tempo target; "
        "`kneeback settings` prints them all.",
        show_default=False,
    ),
]
