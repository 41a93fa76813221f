"""A virtual pinhole camera: project ``position_world`` to image pixels from a chosen view.

Used to give 3D data (motion capture, Kinect) a 2D ``position`` so that the dataset validates,
and to test 2D kinematics against 3D ground truth.

Camera model: an ideal pinhole (no distortion) with focal length ``focal_px`` and the principal
point at the image centre, looking horizontally (no pitch or roll) at the body from
``distance_m`` metres, so image "up" is world up and a side view shows the sagittal plane
undistorted by tilt. The view is an azimuth around the body's vertical axis, measured from the
direction the body faces (estimated over the whole clip from the hips and shoulders by
:func:`kneeback.kinematics.body_frame`): 0 deg = in front of the person, +90 deg = at their
left, -90 deg = at their right, 180 deg = behind.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from kneeback.kinematics import WORLD_UP, body_frame, nan_midpoint
from kneeback.schema import make_pose_dataset

__all__ = ["View", "project", "view_azimuth_deg"]

View = Literal["side", "front", "oblique", "back"]

_FOOT_KEYPOINTS = (
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)


def view_azimuth_deg(view: View | float, /, *, side: Literal["left", "right"] = "left") -> float:
    """Return the camera azimuth in degrees for a named view.

    Parameters
    ----------
    view
        ``"front"`` (0), ``"side"`` (90), ``"oblique"`` (45), ``"back"`` (180), or a number of
        degrees, positive towards the person's left.
    side
        For ``"side"`` and ``"oblique"``: which side of the person the camera is on.

    Returns
    -------
    float
        Azimuth in degrees.
    """
    if isinstance(view, int | float) and not isinstance(view, bool):
        return float(view)
    named = {"front": 0.0, "side": 90.0, "oblique": 45.0, "back": 180.0}
    if view not in named:
        raise ValueError(f"view must be one of {sorted(named)} or a number, not {view!r}.")
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', not {side!r}.")
    az = named[str(view)]
    return -az if side == "right" and view in ("side", "oblique") else az


def project(
    ds_world: xr.Dataset,
    /,
    *,
    view: View | float = "side",
    side: Literal["left", "right"] = "left",
    distance_m: float = 3.0,
    focal_px: float = 1000.0,
    image_size: tuple[int, int] = (1080, 1920),
    height_m: float | None = None,
) -> xr.Dataset:
    """Project ``position_world`` into a virtual camera and return a pose dataset.

    Parameters
    ----------
    ds_world
        A pose dataset with ``position_world`` in metres (y down). Its ``position`` is replaced.
    view
        ``"side"``, ``"front"``, ``"oblique"``, ``"back"`` or an azimuth in degrees (see the
        module docstring).
    side
        The person's side the camera is on, for ``"side"`` and ``"oblique"``.
    distance_m
        Horizontal distance from the camera to the body's centre (median hip centre).
    focal_px
        Focal length in pixels.
    image_size
        ``(height, width)`` of the image in pixels (array shape order).
    height_m
        Camera height above the floor (the lowest foot landmarks); by default the camera sits
        at the middle of the body's vertical extent.

    Returns
    -------
    xarray.Dataset
        A validated pose dataset: ``position`` in pixels (x right, y down; NaN behind the
        camera), ``position_world`` and ``confidence`` kept, attrs ``width``, ``height``,
        ``position_from = "virtual_camera"`` and ``virtual_camera_*`` describing the camera.
        The camera is placed from the first individual.
    """
    if "position_world" not in ds_world:
        raise ValueError("project() needs a dataset with position_world.")
    if distance_m <= 0 or focal_px <= 0:
        raise ValueError("distance_m and focal_px must be positive.")
    img_h, img_w = (int(v) for v in image_size)
    azimuth = view_azimuth_deg(view, side=side)
    pw = ds_world["position_world"].transpose("time", "space3", "keypoints", "individuals")
    world = np.asarray(pw.values, dtype=np.float64)  # (T, 3, K, I)
    first = pw.isel(individuals=0)
    anterior, left, up = body_frame(first)
    if not np.isfinite(anterior).all():
        # Nothing tells the facing direction: assume the person faces a camera looking along +z.
        anterior = np.array([0.0, 0.0, -1.0])
        left = np.cross(up, anterior)
    up = np.asarray(WORLD_UP, dtype=np.float64)
    names = [str(k) for k in pw["keypoints"].values]

    def point(name: str) -> np.ndarray:
        if name not in names:
            return np.full((world.shape[0], 3), np.nan)
        return world[:, :, names.index(name), 0]

    all_points = np.moveaxis(world[..., 0], 1, -1).reshape(-1, 3)  # (T*K, 3)
    hip_c = nan_midpoint(point("left_hip"), point("right_hip"))
    centre_src = hip_c if np.isfinite(hip_c).all(axis=1).any() else all_points
    centre = np.nanmedian(centre_src, axis=0)
    heights = all_points @ up
    feet = np.concatenate([point(n) for n in _FOOT_KEYPOINTS if n in names] or [all_points]) @ up
    if not np.isfinite(heights).any():
        raise ValueError("position_world has no finite point to project.")
    floor = float(np.nanpercentile(feet if np.isfinite(feet).any() else heights, 1))
    top = float(np.nanpercentile(heights, 99))
    cam_height = 0.5 * (floor + top) if height_m is None else floor + float(height_m)

    az = np.radians(azimuth)
    cam_dir = np.cos(az) * anterior + np.sin(az) * left  # from the body towards the camera
    centre_h = centre - (centre @ up) * up
    cam_pos = centre_h + cam_height * up + distance_m * cam_dir
    z_c = -cam_dir
    y_c = -up
    x_c = np.cross(y_c, z_c)
    rot = np.stack([x_c, y_c, z_c])  # rows: camera axes in world coordinates

    rel = np.moveaxis(world, 1, -1) - cam_pos  # (T, K, I, 3)
    cam = rel @ rot.T
    with np.errstate(invalid="ignore", divide="ignore"):
        in_front = cam[..., 2] > 1e-3
        u = np.where(in_front, focal_px * cam[..., 0] / cam[..., 2] + 0.5 * img_w, np.nan)
        v = np.where(in_front, focal_px * cam[..., 1] / cam[..., 2] + 0.5 * img_h, np.nan)
    position = np.stack([u, v], axis=1)  # (T, 2, K, I)
    finite = np.isfinite(position).all(axis=1)
    if "confidence" in ds_world:
        conf = ds_world["confidence"].transpose("time", "keypoints", "individuals").values
        confidence = np.where(finite, conf, np.nan)
    else:
        confidence = np.where(finite, 1.0, np.nan)
    attrs: dict[str, Any] = dict(ds_world.attrs)
    attrs.update(
        width=img_w,
        height=img_h,
        rotation=0,
        position_from="virtual_camera",
        virtual_camera_azimuth_deg=float(azimuth),
        virtual_camera_distance_m=float(distance_m),
        virtual_camera_focal_px=float(focal_px),
        virtual_camera_height_m=float(cam_height - floor),
    )
    return make_pose_dataset(
        position,
        time_s=np.asarray(ds_world["time"].values, dtype=np.float64),
        confidence=confidence,
        position_world=world,
        keypoints=names,
        individuals=[str(i) for i in pw["individuals"].values],
        fps=float(ds_world.attrs["fps"]) if "fps" in ds_world.attrs else None,
        source_software=str(ds_world.attrs.get("source_software", "kneeback")),
        attrs=attrs,
    )
