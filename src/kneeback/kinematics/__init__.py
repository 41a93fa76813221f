"""Kinematics: pure functions from pose datasets to named angles with units.

:func:`compute_angles` is the entry point; :mod:`~kneeback.kinematics.geometry` holds the
primitives and :mod:`~kneeback.kinematics.body` the facing-direction estimates.
"""

from __future__ import annotations

from kneeback.kinematics.angles import (
    ANGLE_SPECS,
    PROJECTED_POSITION_SOURCES,
    AngleSource,
    AngleSpec,
    choose_source,
    compute_angles,
)
from kneeback.kinematics.body import body_frame, image_facing, nan_midpoint
from kneeback.kinematics.geometry import (
    IMAGE_UP,
    WORLD_UP,
    angle_between,
    flexion_angle,
    joint_angle,
    segment_inclination,
    spatial_dim,
)

__all__ = [
    "ANGLE_SPECS",
    "IMAGE_UP",
    "PROJECTED_POSITION_SOURCES",
    "WORLD_UP",
    "AngleSource",
    "AngleSpec",
    "angle_between",
    "body_frame",
    "choose_source",
    "compute_angles",
    "flexion_angle",
    "image_facing",
    "joint_angle",
    "nan_midpoint",
    "segment_inclination",
    "spatial_dim",
]
