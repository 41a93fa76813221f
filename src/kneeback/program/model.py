"""The staged program as validated data, read from a TOML file.

The program shipped with kneeback is ``kneeback/program/stages.toml``; a coach can copy it, edit it
and pass the copy with ``--program FILE``. The format is documented at the top of that file.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kneeback.errors import ProgramFileError
from kneeback.movements.labels import metric_label, metric_value_text
from kneeback.movements.specs import ALL_METRICS, MOVEMENT_NAMES
from kneeback.toml_file import read_toml

__all__ = [
    "DEFAULT_PROGRAM_FILE",
    "Criterion",
    "Gate",
    "Program",
    "Stage",
    "Track",
    "load_program",
]

#: Name of the program file shipped in this package.
DEFAULT_PROGRAM_FILE = "stages.toml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Criterion(_Model):
    """One measured criterion: a metric at least or at most a value."""

    metric: str
    at_least: float | None = None
    at_most: float | None = None
    why: str = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.metric not in ALL_METRICS:
            raise ValueError(f"unknown metric {self.metric!r}")
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError(f"criterion on {self.metric} needs exactly one of at_least, at_most")
        return self

    def passes(self, value: float) -> bool:
        """Whether a value meets the criterion."""
        if self.at_least is not None:
            return value >= self.at_least
        assert self.at_most is not None
        return value <= self.at_most

    @property
    def bound(self) -> str:
        """``">= 100"`` or ``"<= 45"``."""
        return f">= {self.at_least:g}" if self.at_least is not None else f"<= {self.at_most:g}"

    @property
    def label(self) -> str:
        """The metric's name for people, e.g. ``"Peak knee flexion"``."""
        return metric_label(self.metric)[0]

    @property
    def bound_text(self) -> str:
        """The bound for people, e.g. ``"at least 100°"``."""
        if self.at_least is not None:
            return f"at least {metric_value_text(self.metric, self.at_least)}"
        assert self.at_most is not None
        return f"at most {metric_value_text(self.metric, self.at_most)}"

    @property
    def text(self) -> str:
        """The criterion for people, e.g. ``"Peak knee flexion at least 100°"``."""
        return f"{self.label} {self.bound_text}"


class Gate(_Model):
    """Criteria that must hold (exit) or keep holding (keep) over several sessions."""

    sessions: int = Field(ge=2, description="Sessions in a row; never one.")
    min_reps: int = Field(3, ge=1, description="Full reps a session needs to count.")
    min_span_days: float = Field(0.0, ge=0, description="Days from the first to the last session.")
    criteria: list[Criterion] = Field(min_length=1)


class Stage(_Model):
    """One stage of a track."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    movement: str
    film: str
    measure: list[str] = Field(default_factory=list)
    plan: list[str] = Field(min_length=1)
    exit: Gate | None = None
    keep: Gate | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.movement not in MOVEMENT_NAMES:
            raise ValueError(f"stage {self.id}: unknown movement {self.movement!r}")
        bad = [m for m in self.measure if m not in ALL_METRICS]
        if bad:
            raise ValueError(f"stage {self.id}: unknown metrics {bad}")
        return self


class Track(_Model):
    """An ordered progression of stages."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.stages[-1].exit is not None:
            raise ValueError(f"track {self.id}: the last stage has nowhere to exit to")
        for s in self.stages[:-1]:
            if s.exit is None:
                raise ValueError(f"track {self.id}: stage {s.id} needs exit criteria")
        if self.stages[0].keep is not None:
            raise ValueError(f"track {self.id}: the first stage has nowhere to go back to")
        return self

    def index(self, stage_id: str, /) -> int:
        """Position of a stage in the track."""
        return [s.id for s in self.stages].index(stage_id)


class Program(_Model):
    """A staged program."""

    name: str
    version: int = 1
    description: str = ""
    tracks: list[Track] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        ids = [s.id for t in self.tracks for s in t.stages]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"stage ids must be unique across tracks: {dup}")
        tids = [t.id for t in self.tracks]
        if len(set(tids)) != len(tids):
            raise ValueError("track ids must be unique")
        return self

    def stage_title(self, stage_id: str | None, /) -> str:
        """Return a stage's title for people (its id when the program has no such stage)."""
        if stage_id is None:
            return "-"
        try:
            return self.find_stage(stage_id)[1].title
        except KeyError:
            return stage_id

    def track_title(self, track_id: str, /) -> str:
        """Return a track's title for people (its id when the program has no such track)."""
        return next((t.title for t in self.tracks if t.id == track_id), track_id)

    def find_stage(self, stage_id: str, /) -> tuple[Track, Stage]:
        """Return the track and stage of a stage id.

        Raises
        ------
        KeyError
            When no stage has that id.
        """
        for t in self.tracks:
            for s in t.stages:
                if s.id == stage_id:
                    return t, s
        raise KeyError(stage_id)

    def track(self, track_id: str, /) -> Track:
        """Return a track by id."""
        for t in self.tracks:
            if t.id == track_id:
                return t
        raise KeyError(track_id)

    def stage_ids(self) -> list[str]:
        """Every stage id, track by track."""
        return [s.id for t in self.tracks for s in t.stages]


def load_program(path: str | Path | None = None, /) -> Program:
    """Read and validate a program file.

    Parameters
    ----------
    path
        A TOML program file; None for the program shipped with kneeback.

    Returns
    -------
    Program
        The validated program.

    Raises
    ------
    ProgramFileError
        When the file is missing, not TOML, or not a valid program (the message names the first
        problem).
    """
    if path is None:
        text = resources.files("kneeback.program").joinpath(DEFAULT_PROGRAM_FILE).read_text("utf-8")
        where = "the built-in program"
        data = tomllib.loads(text)  # shipped with kneeback and tested
    else:
        where = str(path)
        data = read_toml(path, what="program file", error=ProgramFileError)
    try:
        return Program.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(x) for x in first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise ProgramFileError(
            f"{where} is not a valid program: {loc + ': ' if loc else ''}{msg}."
        ) from None
