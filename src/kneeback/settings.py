"""Every default of kneeback, in one place.

Settings are pydantic models with ``extra="forbid"``: a misspelt option is an error, not a silent
default. Functions take the settings object (or single values from it) as keyword arguments.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AnalysisSettings", "ModelVariant", "PoseSettings"]

ModelVariant = Literal["lite", "full", "heavy"]


class PoseSettings(BaseModel):
    """How pose estimation runs on a video."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variant: ModelVariant = Field("full", description="BlazePose GHUM model variant.")
    max_people: int = Field(
        4, ge=1, le=10, description="People the landmarker looks for in each frame."
    )
    scan_interval_s: float = Field(
        0.5,
        gt=0,
        description="How often to look for other people while only one is tracked.",
    )
    scan_detection_confidence: float = Field(
        0.2, ge=0, le=1, description="Detection threshold of the scans that count people."
    )
    scan_presence_confidence: float = Field(
        0.3, ge=0, le=1, description="Presence threshold of the scans that count people."
    )
    min_detection_confidence: float = Field(0.5, ge=0, le=1)
    min_presence_confidence: float = Field(0.5, ge=0, le=1)
    min_tracking_confidence: float = Field(0.5, ge=0, le=1)
    max_side_px: int = Field(
        960,
        ge=256,
        description=(
            "Frames are downscaled so their longer side is at most this many pixels before "
            "inference; the model itself works at 224-256 px, landmarks are scaled back."
        ),
    )
    subject: int | None = Field(
        None,
        ge=0,
        description="Track index to follow; None picks the largest, longest-seen person.",
    )


# --------------------------------------------------------------------------------------------
# Analysis settings: processing and kinematics below; movement, repetition and critique fields
# are added to the same class further down this block. Every default lives here, once.
# --------------------------------------------------------------------------------------------


class AnalysisSettings(BaseModel):
    """How a pose dataset is cleaned and analysed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # processing (kneeback.processing)
    confidence_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Landmarks with a confidence (visibility) below this are treated as missing.",
    )
    max_gap_s: float = Field(
        default=0.25,
        ge=0,
        description=(
            "Gaps up to this long (time between the valid samples around them) are filled by "
            "linear interpolation; longer gaps stay missing."
        ),
    )
    cutoff_hz: float = Field(
        default=6.0,
        gt=0,
        description=(
            "Cut-off of the zero-lag Butterworth low-pass applied to the landmark positions; "
            "6 Hz keeps squat-speed movement and removes landmark jitter."
        ),
    )
    filter_order: int = Field(
        default=2,
        ge=1,
        le=8,
        description="Order of each pass of the Butterworth filter (run forwards and backwards).",
    )

    # ---- movements, repetitions and critique (kneeback.movements, kneeback.assess) -------------
    # Rep segmentation: hysteresis thresholds as fractions of the clip's range between standing and
    # the deepest point of the driving signal (kineticstoolkit cycles.py style).
    rep_upper_fraction: float = Field(
        0.4,
        gt=0,
        lt=1,
        description=(
            "A rep must rise above this fraction of the clip's range (low enough that a "
            "half-depth rep still counts, and is then marked partial)."
        ),
    )
    rep_lower_fraction: float = Field(
        0.2, gt=0, lt=1, description="A rep ends when the signal falls back below this fraction."
    )
    rep_min_duration_s: float = Field(
        0.5, ge=0, description="Excursions shorter than this are noise, not reps."
    )
    rep_partial_fraction: float = Field(
        0.7,
        gt=0,
        le=1,
        description="A rep shallower than this fraction of the set's median excursion is partial.",
    )
    rep_bottom_fraction: float = Field(
        0.9, gt=0, lt=1, description="The bottom phase: above this fraction of the rep's excursion."
    )
    rep_min_pause_s: float = Field(
        0.3, ge=0, description="Standing rests between reps shorter than this are not a pause."
    )
    # Critique tolerances (REFERENCES.md, "Rules a critique engine can defend").
    depth_thigh_tolerance_deg: float = Field(
        10.0,
        ge=0,
        description=(
            "FMS depth criterion 'femur below horizontal', met within this many degrees "
            "(about the single-camera measurement error)."
        ),
    )
    trunk_tibia_tolerance_deg: float = Field(
        10.0,
        ge=0,
        description="Trunk inclination may exceed tibia inclination by this much (FMS; rule 3).",
    )
    ankle_limited_tibia_deg: float = Field(
        30.0, description="Tibia inclination below this suggests limited ankle dorsiflexion."
    )
    heel_lift_tolerance: float = Field(
        0.1,
        ge=0,
        description=(
            "Heel rise above its height in standing, in foot lengths, beyond which (by more than "
            "the measurement's uncertainty) the heels count as lifted (FMS: the deep squat is "
            "done with the heels flat). 0.1 is about "
            "2.5 cm for an adult foot, the foot tilted about 6 deg: a heel visibly off the floor, "
            "and 5 times the heel's wander while standing in UI-PRMD's marker data (standard "
            "deviation 0.007 foot lengths, median over deep squats; 0.02 at the 90th percentile)."
        ),
    )
    knee_valgus_fppa_deg: float = Field(
        13.5, description="Knee frontal plane projection angle above this is noted (rule 5)."
    )
    knee_inside_ankle_max: float = Field(
        0.056,
        ge=0,
        description=(
            "FMS 'knees aligned over feet': at the bottom each knee should stay above its foot, "
            "i.e. no further inside its ankle than the inner edge of the foot: half the foot's "
            "breadth, 0.055 of stature (Drillis & Contini 1966, in Winter's anthropometric "
            "table), which is 0.056 of the hip-to-ankle leg length (0.491 of stature). A knee "
            "further inside than this, by more than the measurement error (two joint centres, "
            "each 2 % of leg length with markers and 5 % from a video: 0.028 and 0.071 leg "
            "lengths), moved inside the line of the feet."
        ),
    )
    sts_trunk_inclination_max_deg: float = Field(
        36.0,
        gt=0,
        description=(
            "Sit-to-stand: peak trunk inclination above this, by more than the measurement's "
            "uncertainty, means the trunk led the rise. "
            "36 deg is the 90th percentile of the correct sit-to-stands of UI-PRMD (data README: "
            "23.5 (15-36) deg correct vs 44 (31-63) incorrect; REFERENCES.md): a description of "
            "that data set, used as a provisional norm until a published one is found."
        ),
    )
    tempo_min_phase_s: float = Field(
        1.0, ge=0, description="Descent or ascent faster than this is flagged (ACSM; rule 8)."
    )
    asymmetry_tolerance_deg: float = Field(
        10.0, ge=0, description="Left/right knee flexion difference noted above this (about SDC)."
    )
    strategy_squat_like_max: float = Field(
        30.0, description="Strategy index below this is squat-like (Schmid 2022)."
    )
    strategy_stoop_like_min: float = Field(
        90.0, description="Strategy index above this is stoop-like (Schmid 2022)."
    )
    min_visibility: float = Field(
        0.5, ge=0, le=1, description="Median landmark visibility below this is unreliable."
    )
    min_body_height_fraction: float = Field(
        0.25,
        gt=0,
        le=1,
        description="Standing body height below this fraction of the frame height is too small.",
    )
    min_fps: float = Field(
        15.0, gt=0, description="Frame rates below this make phase timings unreliable."
    )
