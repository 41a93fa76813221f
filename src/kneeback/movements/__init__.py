"""Movements: specifications (data), view and movement recognition, reps and per-rep metrics."""

from __future__ import annotations

from kneeback.movements.metrics import TRUNK_TO_LEG_RATIO, rep_metrics, strategy_index
from kneeback.movements.recognise import MovementEstimate, movement_features, recognise_movement
from kneeback.movements.reps import (
    Phase,
    Rep,
    chair_stand_tests,
    detect_reps,
    driving_signal,
    rep_side,
)
from kneeback.movements.specs import ALL_METRICS, MOVEMENT_NAMES, MOVEMENTS, MovementSpec, get_spec
from kneeback.movements.view import ViewEstimate, recognise_view

__all__ = [
    "ALL_METRICS",
    "MOVEMENTS",
    "MOVEMENT_NAMES",
    "TRUNK_TO_LEG_RATIO",
    "MovementEstimate",
    "MovementSpec",
    "Phase",
    "Rep",
    "ViewEstimate",
    "chair_stand_tests",
    "detect_reps",
    "driving_signal",
    "get_spec",
    "movement_features",
    "recognise_movement",
    "recognise_view",
    "rep_metrics",
    "rep_side",
    "strategy_index",
]
