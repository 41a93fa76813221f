"""Every default of kneeback, in one place.

Settings are pydantic models with ``extra="forbid"``: a misspelt option is an error, not a silent
default. Functions take the settings object (or single values from it) as keyword arguments.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelVariant", "PoseSettings"]

ModelVariant = Literal["lite", "full", "heavy"]


class PoseSettings(BaseModel):
    """How pose estimation runs on a video."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variant: ModelVariant = Field("full", description="BlazePose GHUM model variant.")
    max_people: int = Field(
        4, ge=1, le=10, description="People the landmarker looks for in each frame."
    )
    min_detection_confidence: float = Field(0.5, ge=0, le=1)
    min_presence_confidence: float = Field(0.5, ge=0, le=1)
    min_tracking_confidence: float = Field(0.5, ge=0, le=1)
    max_side_px: int = Field(
        1280,
        ge=256,
        description=(
            "Frames are downscaled so their longer side is at most this many pixels before "
            "inference; the model itself works at 224-256 px, landmarks are scaled back."
        ),
    )
    subject: int | None = Field(
        None, ge=0, description="Track index to follow; None picks the largest, longest-seen person."
    )
