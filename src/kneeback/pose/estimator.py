"""The ``PoseEstimator`` protocol: one RGB frame in, the people found in it out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["PersonPose", "PoseEstimator"]


@dataclass(frozen=True)
class PersonPose:
    """One person's landmarks in one frame.

    Attributes
    ----------
    position_px
        Shape (K, 2): image x, y in pixels of the full (upright, not downscaled) frame.
    confidence
        Shape (K,): landmark visibility in [0, 1].
    position_world
        Shape (K, 3) metric coordinates in metres, or None if the estimator has none.
    """

    position_px: np.ndarray
    confidence: np.ndarray
    position_world: np.ndarray | None = None

    def bbox(self) -> tuple[float, float, float, float]:
        """Return (x_min, y_min, x_max, y_max) of the confidently seen landmarks, in pixels."""
        pts = self.position_px[self.confidence >= 0.5]
        if len(pts) < 2:
            pts = self.position_px
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts) == 0:
            return (np.nan, np.nan, np.nan, np.nan)
        return (
            float(pts[:, 0].min()),
            float(pts[:, 1].min()),
            float(pts[:, 0].max()),
            float(pts[:, 1].max()),
        )


@runtime_checkable
class PoseEstimator(Protocol):
    """Something that finds people's landmarks in a stream of frames.

    Frames must be given in order of increasing time: VIDEO-mode estimators track between frames.
    """

    #: Names of the landmarks, in output order.
    keypoints: tuple[str, ...]
    #: Human-readable description of the model, stored in the dataset's ``model`` attribute.
    description: str

    def estimate(
        self, image: np.ndarray, /, *, time_s: float, full_size: tuple[int, int]
    ) -> list[PersonPose]:
        """Return the people found in one frame.

        Parameters
        ----------
        image
            RGB uint8 array (H, W, 3), possibly downscaled from the full frame.
        time_s
            The frame's presentation time in seconds (increasing).
        full_size
            (width, height) of the full upright frame: positions are returned in its pixels.

        Returns
        -------
        list of PersonPose
            One entry per person found; empty if nobody.
        """
        ...

    def close(self) -> None:
        """Release the model."""
        ...
