"""Movement specifications as data.

Each movement names the signal that drives its repetitions, whether its reps have a working side,
which per-rep metrics apply to it, which critique rules apply to it and which camera views suit it.
The tables are plain frozen data: tests check them for completeness and consistency; the compute
modules only read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ALL_METRICS",
    "MIN_HIP_LOWERING_PCT",
    "MOVEMENTS",
    "MOVEMENT_NAMES",
    "DrivingSignal",
    "MovementName",
    "MovementSpec",
    "get_spec",
]

MovementName = Literal[
    "squat", "lunge", "side_lunge", "hip_hinge", "sit_to_stand", "floor_lift", "other"
]

#: How a driving signal is built from the angle dataset (see :mod:`kneeback.movements.reps`):
#: ``knee_mean`` mean of left and right knee flexion; ``knee_max`` the more bent knee;
#: ``trunk`` trunk inclination; ``knee_plus_trunk`` mean knee flexion plus trunk inclination;
#: ``hip_lowering`` how far the hips are below their highest point, in % of leg length (the
#: signal for front views, where 2D bending angles are not measurable).
DrivingSignal = Literal["knee_mean", "knee_max", "trunk", "knee_plus_trunk", "hip_lowering"]

#: Smallest hip lowering, in % of leg length, that counts as a rep with ``hip_lowering``.
MIN_HIP_LOWERING_PCT = 8.0

#: Every per-rep metric name, with its unit in the name (``_deg``, ``_s``) or documented below.
#: ``heel_lift_peak`` is in foot lengths, ``knee_width_ratio_bottom`` is knee over ankle width,
#: ``knee_inside_ankle_bottom`` is in leg lengths (the knee further inside its ankle),
#: ``strategy_index`` runs 0 (all knees) to 100 (all trunk), ``hip_below_knee`` is a boolean.
ALL_METRICS: tuple[str, ...] = (
    "knee_flexion_peak_deg",
    "knee_flexion_peak_left_deg",
    "knee_flexion_peak_right_deg",
    "hip_flexion_peak_deg",
    "trunk_inclination_peak_deg",
    "hip_below_knee",
    "thigh_angle_bottom_deg",
    "tibia_inclination_bottom_deg",
    "trunk_minus_tibia_bottom_deg",
    "trunk_minus_tibia_peak_deg",
    "heel_lift_peak",
    "knee_fppa_peak_deg",
    "knee_width_ratio_bottom",
    "knee_inside_ankle_bottom",
    "knee_flexion_asymmetry_deg",
    "strategy_index",
    "descent_s",
    "bottom_s",
    "ascent_s",
    "duration_s",
    "wobble_knee_deg",
    "wobble_hip_height",
)

_SAGITTAL = (
    "knee_flexion_peak_deg",
    "knee_flexion_peak_left_deg",
    "knee_flexion_peak_right_deg",
    "hip_flexion_peak_deg",
    "trunk_inclination_peak_deg",
    "hip_below_knee",
    "thigh_angle_bottom_deg",
    "tibia_inclination_bottom_deg",
    "trunk_minus_tibia_bottom_deg",
    "trunk_minus_tibia_peak_deg",
    "heel_lift_peak",
    "strategy_index",
)
_FRONTAL = ("knee_fppa_peak_deg", "knee_width_ratio_bottom", "knee_inside_ankle_bottom")
#: One leg at a time, the feet apart: the knees' distance over the ankles' says nothing.
_FRONTAL_ONE_LEG = ("knee_fppa_peak_deg", "knee_inside_ankle_bottom")
_TIMING = (
    "descent_s",
    "bottom_s",
    "ascent_s",
    "duration_s",
    "wobble_knee_deg",
    "wobble_hip_height",
)


@dataclass(frozen=True)
class MovementSpec:
    """What kneeback knows about one movement.

    Attributes
    ----------
    name
        Identifier used in results.
    label
        Human name.
    driving_signal
        The signal whose excursions are the repetitions.
    per_side
        True when each rep has a working leg (lunges): the rep records which leg led.
    metrics
        Per-rep metrics that apply to this movement.
    rules
        Critique rule ids (see :mod:`kneeback.assess.rules`) that apply.
    views
        Views from which the movement is best filmed, best first.
    min_excursion_deg
        Smallest excursion of the driving signal, in degrees, that counts as a rep.
    """

    name: MovementName
    label: str
    driving_signal: DrivingSignal
    per_side: bool
    metrics: tuple[str, ...]
    rules: tuple[str, ...]
    views: tuple[str, ...]
    min_excursion_deg: float


MOVEMENTS: dict[str, MovementSpec] = {
    "squat": MovementSpec(
        name="squat",
        label="squat",
        driving_signal="knee_mean",
        per_side=False,
        metrics=_SAGITTAL + _FRONTAL + ("knee_flexion_asymmetry_deg",) + _TIMING,
        rules=(
            "view_check",
            "depth",
            "trunk_vs_tibia",
            "heel_lift",
            "ankle_mobility",
            "knee_tracking",
            "knee_valgus",
            "strategy",
            "tempo",
            "symmetry",
        ),
        views=("side", "oblique", "front"),
        min_excursion_deg=25.0,
    ),
    "lunge": MovementSpec(
        name="lunge",
        label="lunge / split squat",
        driving_signal="knee_max",
        per_side=True,
        metrics=_SAGITTAL + _FRONTAL_ONE_LEG + _TIMING,
        # Knees are judged against their own foot (knee_tracking), not by the frontal-plane
        # projection angle: its norms come from single-leg squats with the foot under the hip,
        # and a lunge's narrow (inline) or wide (side) stance angles the thigh by itself (on
        # UI-PRMD it noted 15 of 25 correct inline lunges, 8 of 24 incorrect). The angle is
        # still measured and shown.
        rules=("view_check", "lunge_depth", "knee_tracking", "tempo"),
        views=("side", "oblique", "front"),
        min_excursion_deg=25.0,
    ),
    "side_lunge": MovementSpec(
        name="side_lunge",
        label="side lunge",
        driving_signal="knee_max",
        per_side=True,
        metrics=_SAGITTAL + _FRONTAL_ONE_LEG + _TIMING,
        rules=("view_check", "knee_tracking", "tempo"),  # see the lunge's knees
        views=("front", "oblique"),
        min_excursion_deg=25.0,
    ),
    "hip_hinge": MovementSpec(
        name="hip_hinge",
        label="hip hinge (deadlift / RDL)",
        driving_signal="trunk",
        per_side=False,
        metrics=_SAGITTAL + _TIMING,
        rules=("view_check", "strategy", "tempo"),
        views=("side", "oblique"),
        min_excursion_deg=25.0,
    ),
    "sit_to_stand": MovementSpec(
        name="sit_to_stand",
        label="sit-to-stand",
        driving_signal="knee_mean",
        per_side=False,
        metrics=_SAGITTAL + _FRONTAL + ("knee_flexion_asymmetry_deg",) + _TIMING,
        rules=(
            "view_check",
            "sts_trunk_lean",
            "knee_tracking",
            "strategy",
            "sts_tests",
            "symmetry",
        ),
        views=("side", "oblique", "front"),
        min_excursion_deg=25.0,
    ),
    "floor_lift": MovementSpec(
        name="floor_lift",
        label="floor lift",
        driving_signal="knee_plus_trunk",
        per_side=False,
        metrics=_SAGITTAL + _TIMING,
        rules=("view_check", "strategy", "tempo"),
        views=("side", "oblique"),
        min_excursion_deg=30.0,
    ),
    "other": MovementSpec(
        name="other",
        label="other movement",
        driving_signal="knee_plus_trunk",
        per_side=False,
        metrics=_SAGITTAL + _FRONTAL + _TIMING,
        rules=("view_check",),
        views=("side", "front", "oblique"),
        min_excursion_deg=30.0,
    ),
}

MOVEMENT_NAMES: tuple[str, ...] = tuple(MOVEMENTS)


def get_spec(name: str, /) -> MovementSpec:
    """Return the specification of a movement.

    Parameters
    ----------
    name
        One of :data:`MOVEMENT_NAMES`.

    Returns
    -------
    MovementSpec
        Its specification.

    Raises
    ------
    ValueError
        If the movement is unknown.
    """
    try:
        return MOVEMENTS[name]
    except KeyError:
        raise ValueError(
            f"Unknown movement {name!r}; choose one of {', '.join(MOVEMENT_NAMES)}."
        ) from None
