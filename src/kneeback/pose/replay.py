"""A pose estimator that plays back stored landmarks: the pipeline tested without a model."""

from __future__ import annotations

import numpy as np
import xarray as xr

from kneeback.pose.estimator import PersonPose

__all__ = ["ReplayEstimator"]


class ReplayEstimator:
    """Play back the landmarks of a pose dataset frame by frame.

    Each call to :meth:`estimate` returns the people stored for the frame whose time is nearest to
    ``time_s`` (within half a frame), so the replay follows whatever frames the caller decodes.

    Parameters
    ----------
    ds
        A pose dataset (see :mod:`kneeback.schema`); every individual in it is played back.
    """

    def __init__(self, ds: xr.Dataset, /) -> None:
        self._time = np.asarray(ds["time"].values, dtype=np.float64)
        self._pos = np.asarray(
            ds["position"].transpose("time", "individuals", "keypoints", "space")
        )
        self._conf = np.asarray(ds["confidence"].transpose("time", "individuals", "keypoints"))
        self._world = (
            np.asarray(ds["position_world"].transpose("time", "individuals", "keypoints", "space3"))
            if "position_world" in ds
            else None
        )
        self._src_size = (int(ds.attrs.get("width", 0)), int(ds.attrs.get("height", 0)))
        self.keypoints: tuple[str, ...] = tuple(str(k) for k in ds["keypoints"].values)
        self.description = f"replay of {ds.attrs.get('model') or ds.attrs.get('source_software')}"
        dt = np.diff(self._time)
        self._tolerance = float(np.median(dt)) / 2 if dt.size else np.inf

    def estimate(
        self, image: np.ndarray, /, *, time_s: float, full_size: tuple[int, int]
    ) -> list[PersonPose]:
        """Return the stored people of the frame nearest ``time_s`` (see the class docstring)."""
        if self._time.size == 0:
            return []
        i = int(np.argmin(np.abs(self._time - time_s)))
        if abs(self._time[i] - time_s) > self._tolerance + 1e-9:
            return []
        scale = np.ones(2)
        if all(self._src_size):
            scale = np.asarray(full_size, dtype=np.float64) / np.asarray(self._src_size)
        people = []
        for j in range(self._pos.shape[1]):
            pos = self._pos[i, j] * scale
            if not np.isfinite(pos).any():
                continue
            world = self._world[i, j] if self._world is not None else None
            people.append(PersonPose(pos, np.nan_to_num(self._conf[i, j]), world))
        return people

    def close(self) -> None:
        """Nothing to release."""
