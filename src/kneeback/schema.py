"""The pose dataset: an ``xarray.Dataset`` compatible with the ``movement`` package.

Variables
---------
position : (time, space, keypoints, individuals)
    Image coordinates in pixels, ``space = ["x", "y"]``, x to the right and y down, in the upright
    (rotation-corrected) frame. Missing is NaN, never 0.
confidence : (time, keypoints, individuals)
    Landmark visibility in [0, 1]; NaN where the person was not detected.
position_world : (time, space3, keypoints, individuals), optional
    Metric 3D coordinates in metres (MediaPipe world landmarks: origin at the hip centre,
    x to the image right, y down, z towards the camera negative).

Coordinates: ``time`` in seconds from the real frame timestamps, ``keypoints`` names,
``individuals`` names. Attrs: ``fps``, ``source_software``, ``model``, ``video``, ``width``,
``height``, ``rotation``, ``schema_version`` and ``ds_type = "poses"`` (as ``movement`` expects).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from kneeback.errors import SchemaError
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS

__all__ = [
    "REQUIRED_ATTRS",
    "SCHEMA_VERSION",
    "SPACE_2D",
    "SPACE_3D",
    "coverage",
    "make_pose_dataset",
    "validate_pose_dataset",
]

#: Bumped whenever the layout changes in a way an older reader cannot handle.
SCHEMA_VERSION = 1
SPACE_2D = ("x", "y")
SPACE_3D = ("x", "y", "z")
REQUIRED_ATTRS = ("fps", "source_software", "schema_version", "ds_type")


def make_pose_dataset(
    position: np.ndarray,
    /,
    *,
    time_s: np.ndarray,
    confidence: np.ndarray | None = None,
    position_world: np.ndarray | None = None,
    keypoints: Sequence[str] = BLAZEPOSE_KEYPOINTS,
    individuals: Sequence[str] = ("person_0",),
    fps: float | None = None,
    source_software: str = "kneeback",
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Build a validated pose dataset from arrays.

    Parameters
    ----------
    position
        Array of shape (time, 2, keypoints, individuals) in pixels (or any 2D unit), NaN if missing.
    time_s
        Frame times in seconds, strictly increasing, shape (time,).
    confidence
        Shape (time, keypoints, individuals); defaults to 1 where position is finite, else NaN.
    position_world
        Optional metric 3D positions, shape (time, 3, keypoints, individuals).
    keypoints, individuals
        Names along those dimensions.
    fps
        Nominal frame rate; defaults to the median rate of ``time_s``.
    source_software
        What produced the data (``"MediaPipe PoseLandmarker"``, ``"Vicon"`` ...).
    attrs
        Further attributes (``model``, ``video``, ``width``, ``height``, ``rotation`` ...).

    Returns
    -------
    xarray.Dataset
        The dataset, checked by :func:`validate_pose_dataset`.
    """
    position = np.asarray(position, dtype=np.float64)
    time_s = np.asarray(time_s, dtype=np.float64)
    if confidence is None:
        finite = np.isfinite(position).all(axis=1)
        confidence = np.where(finite, 1.0, np.nan)
    if fps is None:
        fps = float(1.0 / np.median(np.diff(time_s))) if time_s.size > 1 else float("nan")
    coords = {
        "time": time_s,
        "space": list(SPACE_2D),
        "keypoints": list(keypoints),
        "individuals": list(individuals),
    }
    data_vars: dict[str, Any] = {
        "position": (("time", "space", "keypoints", "individuals"), position),
        "confidence": (("time", "keypoints", "individuals"), np.asarray(confidence, np.float64)),
    }
    if position_world is not None:
        coords["space3"] = list(SPACE_3D)
        data_vars["position_world"] = (
            ("time", "space3", "keypoints", "individuals"),
            np.asarray(position_world, dtype=np.float64),
        )
    all_attrs: dict[str, Any] = {
        "fps": float(fps),
        "source_software": source_software,
        "ds_type": "poses",
        "schema_version": SCHEMA_VERSION,
        "model": "",
        "video": "",
        "width": 0,
        "height": 0,
        "rotation": 0,
    }
    all_attrs.update(attrs or {})
    ds = xr.Dataset(data_vars=data_vars, coords=coords, attrs=all_attrs)
    ds["time"].attrs["units"] = "s"
    ds["position"].attrs["units"] = "px"
    if position_world is not None:
        ds["position_world"].attrs["units"] = "m"
    return validate_pose_dataset(ds)


def validate_pose_dataset(ds: xr.Dataset, /) -> xr.Dataset:
    """Check that a dataset follows the pose schema and return it unchanged.

    Parameters
    ----------
    ds
        The dataset to check.

    Returns
    -------
    xarray.Dataset
        The same dataset.

    Raises
    ------
    SchemaError
        With a sentence naming the first problem found.
    """
    if "position" not in ds:
        raise SchemaError("This is not a pose dataset: it has no 'position' variable.")
    version = ds.attrs.get("schema_version")
    if version is None:
        raise SchemaError("This pose dataset has no schema_version attribute.")
    if int(version) > SCHEMA_VERSION:
        raise SchemaError(
            f"This pose dataset has schema version {int(version)}, newer than this kneeback "
            f"understands ({SCHEMA_VERSION}); upgrade kneeback to read it."
        )
    expected = {
        "position": ("time", "space", "keypoints", "individuals"),
        "confidence": ("time", "keypoints", "individuals"),
        "position_world": ("time", "space3", "keypoints", "individuals"),
    }
    for name, dims in expected.items():
        if name in ds and tuple(ds[name].dims) != dims:
            raise SchemaError(f"Variable '{name}' has dimensions {ds[name].dims}, expected {dims}.")
    if tuple(ds["space"].values.tolist()) != SPACE_2D:
        raise SchemaError("The 'space' coordinate must be ['x', 'y'].")
    missing = [a for a in REQUIRED_ATTRS if a not in ds.attrs]
    if missing:
        raise SchemaError(f"The pose dataset lacks the attributes {missing}.")
    t = np.asarray(ds["time"].values, dtype=np.float64)
    if t.size > 1 and not np.all(np.diff(t) > 0):
        raise SchemaError("Frame times must be strictly increasing.")
    conf = ds["confidence"].values
    finite = conf[np.isfinite(conf)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise SchemaError("Confidence values must lie in [0, 1].")
    return ds


def coverage(ds: xr.Dataset, /, *, individual: str | None = None) -> float:
    """Return the fraction of frames in which the person was detected.

    Parameters
    ----------
    ds
        A pose dataset.
    individual
        Which individual; the first one by default.

    Returns
    -------
    float
        Fraction in [0, 1] of frames with at least one finite keypoint.
    """
    ind = individual if individual is not None else ds["individuals"].values[0]
    pos = ds["position"].sel(individuals=ind).values
    if pos.shape[0] == 0:
        return 0.0
    return float(np.isfinite(pos).any(axis=(1, 2)).mean())
