"""The staged program: stages as data (``stages.toml``) and the progression logic."""

from __future__ import annotations

from kneeback.program.model import Criterion, Gate, Program, Stage, Track, load_program
from kneeback.program.progression import SessionSummary, check_gate, replay_track

__all__ = [
    "Criterion",
    "Gate",
    "Program",
    "SessionSummary",
    "Stage",
    "Track",
    "check_gate",
    "load_program",
    "replay_track",
]
