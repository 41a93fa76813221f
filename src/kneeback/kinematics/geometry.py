"""Geometric primitives: angles between vectors, joint angles and segment inclinations.

Every function works on points given as :class:`xarray.DataArray` objects that share a spatial
dimension (``"space"`` for image coordinates, ``"space3"`` for world coordinates) and returns a
named DataArray in degrees with ``units`` in its attrs. Missing points (NaN) and zero-length
segments give NaN, never 0.

Vertical directions used across kneeback:

- images: x to the right, y down, so "up" is :data:`IMAGE_UP` ``(0, -1)``;
- ``position_world``: y down along gravity (MediaPipe's convention, which every adapter
  follows), so "up" is :data:`WORLD_UP` ``(0, -1, 0)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

__all__ = [
    "IMAGE_UP",
    "SPATIAL_DIMS",
    "WORLD_UP",
    "angle_between",
    "flexion_angle",
    "joint_angle",
    "segment_inclination",
    "spatial_dim",
]

#: The up direction in image coordinates (x right, y down).
IMAGE_UP: tuple[float, float] = (0.0, -1.0)
#: The up direction in ``position_world`` coordinates (y down along gravity).
WORLD_UP: tuple[float, float, float] = (0.0, -1.0, 0.0)
#: Names a spatial dimension may have.
SPATIAL_DIMS: tuple[str, ...] = ("space", "space3")

_EPS = 1e-12


def spatial_dim(da: xr.DataArray, /) -> str:
    """Return the name of the spatial dimension of ``da``.

    Parameters
    ----------
    da
        Points with a ``"space"`` or ``"space3"`` dimension.

    Returns
    -------
    str
        The dimension name.

    Raises
    ------
    ValueError
        If ``da`` has neither.
    """
    for dim in SPATIAL_DIMS:
        if dim in da.dims:
            return dim
    raise ValueError(f"Expected a spatial dimension {SPATIAL_DIMS}, got dims {da.dims}.")


def angle_between(u: np.ndarray, v: np.ndarray, /) -> np.ndarray:
    """Unsigned angle between vectors along the last axis, in degrees.

    Uses ``atan2(|u x v|, u . v)``, which stays accurate near 0 and 180 degrees.

    Parameters
    ----------
    u, v
        Arrays of shape (..., 2) or (..., 3).

    Returns
    -------
    numpy.ndarray
        Angles in [0, 180]; NaN where a vector is missing or has zero length.
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    dot = np.sum(u * v, axis=-1)
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    else:
        cross = np.linalg.norm(np.cross(u, v), axis=-1)
    with np.errstate(invalid="ignore"):
        angle = np.degrees(np.arctan2(cross, dot))
        degenerate = (np.linalg.norm(u, axis=-1) < _EPS) | (np.linalg.norm(v, axis=-1) < _EPS)
    return np.where(degenerate, np.nan, angle)


def _as_points(da: xr.DataArray, dim: str | None) -> tuple[str, xr.DataArray]:
    dim = dim or spatial_dim(da)
    return dim, da.transpose(..., dim)


def joint_angle(
    a: xr.DataArray, b: xr.DataArray, c: xr.DataArray, /, *, dim: str | None = None
) -> xr.DataArray:
    """Angle ABC at the vertex ``b`` between the segments to ``a`` and to ``c``.

    Parameters
    ----------
    a, b, c
        Points (for example hip, knee, ankle) sharing a spatial dimension.
    dim
        The spatial dimension; found automatically by default.

    Returns
    -------
    xarray.DataArray
        ``joint_angle`` in degrees, in [0, 180]: 180 when the three points are in line.
    """
    dim, a = _as_points(a, dim)
    b = b.transpose(..., dim)
    c = c.transpose(..., dim)
    ba = a - b
    bc = c - b
    values = angle_between(ba.values, bc.values)
    out = xr.DataArray(
        values, dims=ba.dims[:-1], coords={k: v for k, v in ba.coords.items() if dim not in v.dims}
    )
    out.name = "joint_angle"
    out.attrs.update(units="deg", long_name="joint angle", definition="angle ABC at vertex B")
    return out


def flexion_angle(
    a: xr.DataArray, b: xr.DataArray, c: xr.DataArray, /, *, dim: str | None = None
) -> xr.DataArray:
    """Flexion at ``b``: 0 when ``a``, ``b`` and ``c`` are in line, ``180 - joint_angle``.

    Parameters
    ----------
    a, b, c
        Proximal point, joint, distal point (for example hip, knee, ankle).
    dim
        The spatial dimension; found automatically by default.

    Returns
    -------
    xarray.DataArray
        ``flexion_angle`` in degrees, in [0, 180] (unsigned: hyperextension also reads positive).
    """
    out = 180.0 - joint_angle(a, b, c, dim=dim)
    out.name = "flexion_angle"
    out.attrs.update(
        units="deg",
        long_name="flexion angle",
        definition="180 deg minus the angle ABC: the angle between segments AB and BC",
    )
    return out


def segment_inclination(
    distal: xr.DataArray,
    proximal: xr.DataArray,
    /,
    *,
    up: Sequence[float],
    forward: Sequence[float] | None = None,
    dim: str | None = None,
) -> xr.DataArray:
    """Inclination of the segment ``distal -> proximal`` from the vertical.

    Parameters
    ----------
    distal, proximal
        Segment end points (for example ankle and knee for the tibia).
    up
        The up direction in the points' coordinates (:data:`IMAGE_UP`, :data:`WORLD_UP`).
    forward
        A horizontal direction (unit vector, perpendicular to ``up``). When given, the segment is
        projected onto the plane spanned by ``up`` and ``forward`` and the angle is signed:
        positive when the proximal end lies ahead of the distal end. When omitted, the unsigned
        3D angle between the segment and ``up`` is returned.
    dim
        The spatial dimension; found automatically by default.

    Returns
    -------
    xarray.DataArray
        ``segment_inclination`` in degrees: 0 = vertical, in (-180, 180] when signed, else [0, 180].
    """
    dim, distal = _as_points(distal, dim)
    proximal = proximal.transpose(..., dim)
    vec = (proximal - distal).values
    up_v = np.asarray(up, dtype=np.float64)
    if forward is None:
        values = angle_between(vec, np.broadcast_to(up_v, vec.shape))
        definition = "unsigned angle between the segment and the vertical"
    else:
        fwd = np.asarray(forward, dtype=np.float64)
        u = vec @ up_v
        f = vec @ fwd
        with np.errstate(invalid="ignore"):
            values = np.degrees(np.arctan2(f, u))
        values = np.where(np.hypot(u, f) < _EPS, np.nan, values)
        definition = "angle from the vertical in the up-forward plane, positive forward"
    coords = {k: v for k, v in distal.coords.items() if dim not in v.dims}
    out = xr.DataArray(values, dims=distal.dims[:-1], coords=coords, name="segment_inclination")
    out.attrs.update(units="deg", long_name="segment inclination", definition=definition)
    return out
