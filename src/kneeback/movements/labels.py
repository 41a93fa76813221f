"""People's names and units of the per-rep metrics, shared by the report, progress and program.

Every page and summary that names a metric to a person uses these, never the metric's code name
(``knee_fppa_peak_deg``), which stays in files and the JSON API.
"""

from __future__ import annotations

__all__ = ["METRIC_LABELS", "metric_label", "metric_value_text"]

#: People's names and units of the per-rep metrics (:data:`kneeback.movements.specs.ALL_METRICS`).
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "knee_flexion_peak_deg": ("Peak knee flexion", "°"),
    "knee_flexion_peak_left_deg": ("Peak knee flexion, left", "°"),
    "knee_flexion_peak_right_deg": ("Peak knee flexion, right", "°"),
    "hip_flexion_peak_deg": ("Peak hip flexion", "°"),
    "trunk_inclination_peak_deg": ("Peak trunk lean", "°"),
    "hip_below_knee": ("Hips below knees at the lowest moment", ""),
    "thigh_angle_bottom_deg": (
        "Thigh above horizontal, typical over the bottom phase (below 0: below it)",
        "°",
    ),
    "tibia_inclination_bottom_deg": ("Shin lean at the bottom", "°"),
    "trunk_minus_tibia_bottom_deg": (
        "Trunk lean minus shin lean at the bottom (below 0: trunk more upright)",
        "°",
    ),
    "trunk_minus_tibia_peak_deg": ("Trunk lean minus shin lean, largest in the rep", "°"),
    "heel_lift_peak": ("Heel lift", "foot lengths"),
    "knee_fppa_peak_deg": ("Knee angle seen from the front (above 0: inwards)", "°"),
    "knee_width_ratio_bottom": ("Knee width / ankle width at the bottom", "ratio"),
    "knee_inside_ankle_bottom": (
        "Knee inside its ankle at the bottom (below 0: outside)",
        "leg lengths",
    ),
    "knee_flexion_asymmetry_deg": ("Left/right knee difference", "°"),
    "strategy_index": ("Strategy index (0 knees, 100 trunk)", "0-100"),
    "descent_s": ("Time down", "s"),
    "bottom_s": ("Time at the bottom", "s"),
    "ascent_s": ("Time up", "s"),
    "duration_s": ("Rep duration", "s"),
    "wobble_knee_deg": ("Knee wobble at depth", "°"),
    "wobble_hip_height": ("Hip wobble at depth", "leg lengths"),
}


def metric_label(name: str, /) -> tuple[str, str]:
    """Return a metric's people-facing name and unit.

    Parameters
    ----------
    name
        A per-rep metric name (see :data:`kneeback.movements.specs.ALL_METRICS`).

    Returns
    -------
    label, unit : str
        The name for people and the unit its values are shown in (``"°"``, ``"s"``, ...); an
        unknown metric gets its own name, spaced out, and no unit.
    """
    return METRIC_LABELS.get(name, (name.replace("_", " ").capitalize(), ""))


def metric_value_text(name: str, value: float, /) -> str:
    """Return a metric's value with its unit, for a sentence (``"100°"``, ``"0.15 foot lengths"``).

    Parameters
    ----------
    name
        The metric.
    value
        Its value: angles to 0.1 deg and times to 0.01 s (no more than a camera resolves, and
        never so coarse that 114.7 reads as a bound of 115), other values to 3 significant
        digits; trailing zeros dropped.

    Returns
    -------
    str
        The value and unit (none for a 0-100 index or a ratio).
    """
    unit = metric_label(name)[1]
    if unit in ("°", "s"):
        number = f"{value:.{1 if unit == '°' else 2}f}".rstrip("0").rstrip(".")
        number = "0" if number in ("-0", "") else number
    else:
        number = f"{value:.3g}"
    if unit == "°":
        return f"{number}°"
    if unit in ("", "0-100", "ratio"):
        return number
    return f"{number} {unit}"
