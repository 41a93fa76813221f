"""Defaults of progress tracking and outcome judgement, in one place.

Kept beside the progress code rather than in :mod:`kneeback.settings` only to keep this change
apart from the analysis settings; it follows the same rules (pydantic, ``extra="forbid"``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ProgressSettings"]


class ProgressSettings(BaseModel):
    """How progress over sessions is judged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_sessions_for_own_sdc: int = Field(
        3,
        ge=2,
        description=(
            "Sessions with at least two full reps of a metric needed before the smallest "
            "detectable change is estimated from the person's own repeated measurements."
        ),
    )
    min_df_for_own_sdc: int = Field(
        6,
        ge=2,
        description="Degrees of freedom (reps minus sessions) the pooled rep-to-rep SD needs.",
    )
    reference_sdc_angle_deg: float = Field(
        9.0,
        gt=0,
        description=(
            "Smallest detectable change of a single-camera angle until the person's own data say "
            "more: upper end of 'about 7-9 deg' (REFERENCES.md, 'How accurate a single camera is')."
        ),
    )
    reference_sdc_fppa_deg: float = Field(
        8.9,
        gt=0,
        description="Knee FPPA smallest real change 7.5-8.9 deg, upper end (Munro et al. 2012).",
    )
    trend_window_sessions: int = Field(
        3,
        ge=1,
        description=(
            "Baseline and recent level are means over up to this many first and last sessions, "
            "so that one session never makes a trend (REFERENCES.md rule 9)."
        ),
    )
    min_window_sessions: int = Field(
        2,
        ge=1,
        description=(
            "A change is called real only when the baseline and the recent level each average at "
            "least this many sessions: one session against one is never a trend (rule 9)."
        ),
    )
    min_trend_days: float = Field(
        14.0,
        ge=0,
        description=(
            "...and when the first and the last session lie at least this many days apart: "
            "trends over weeks, not single sessions (REFERENCES.md rule 9)."
        ),
    )
    odi_meaningful_points: float = Field(
        10.0, gt=0, description="ODI change that is meaningful, in points (Ostelo 2008)."
    )
    odi_meaningful_fraction: float = Field(
        0.30, gt=0, description="ODI change that is meaningful, as a fraction of the baseline."
    )
