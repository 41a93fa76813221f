"""Synthetic angle datasets with the variable names of ``compute_angles``, for engine tests."""

from __future__ import annotations

import numpy as np
import xarray as xr

BILATERAL = (
    "knee_flexion",
    "hip_flexion",
    "tibia_inclination",
    "trunk_minus_tibia",
    "hip_height_rel_knee",
    "heel_lift",
    "knee_fppa",
)


def bump(t: np.ndarray, t0: float, dur: float) -> np.ndarray:
    """0 -> 1 -> 0 raised cosine over [t0, t0 + dur]."""
    out = np.zeros_like(t)
    inside = (t >= t0) & (t <= t0 + dur)
    out[inside] = 0.5 * (1 - np.cos(2 * np.pi * (t[inside] - t0) / dur))
    return out


def plateau(t: np.ndarray, t0: float, dur: float, hold: float) -> np.ndarray:
    """0 -> 1, held for ``hold`` s, -> 0: a rep with a seated rest."""
    half = (dur - hold) / 2
    out = np.zeros_like(t)
    down = (t >= t0) & (t < t0 + half)
    out[down] = 0.5 * (1 - np.cos(np.pi * (t[down] - t0) / half))
    out[(t >= t0 + half) & (t <= t0 + half + hold)] = 1.0
    up = (t > t0 + half + hold) & (t <= t0 + dur)
    out[up] = 0.5 * (1 + np.cos(np.pi * (t[up] - t0 - half - hold) / half))
    return out


def make_angles(
    kind: str = "squat",
    *,
    reps: int = 3,
    fps: float = 30.0,
    knee_deg: float = 110.0,
    trunk_deg: float = 30.0,
    tibia_deg: float = 32.0,
    knee_width_ratio: float = 1.2,
    knee_inside_ankle: float = -0.04,
    source: str = "world",
) -> xr.Dataset:
    """Build an angle dataset of a set of reps of one movement."""
    period = 3.0
    t = np.arange(0.0, 1.0 + period * reps, 1.0 / fps)
    v: dict[str, np.ndarray] = {}
    trunk = np.full(t.shape, 3.0)
    hip_h = np.full(t.shape, 0.98)
    for side in ("left", "right"):
        v[f"knee_flexion_{side}"] = np.full(t.shape, 5.0)
        v[f"hip_flexion_{side}"] = np.full(t.shape, 5.0)
        v[f"tibia_inclination_{side}"] = np.full(t.shape, 2.0)
        v[f"hip_height_rel_knee_{side}"] = np.full(t.shape, 0.5)
        v[f"heel_lift_{side}"] = np.zeros(t.shape)
        v[f"knee_fppa_{side}"] = np.zeros(t.shape)
    kw = np.full(t.shape, 1.0)
    inside = np.zeros(t.shape)
    for k in range(reps):
        t0 = 1.0 + k * period
        if kind == "sit_to_stand":
            b = plateau(t, t0, 2.6, 1.0)
            lean = bump(t, t0, 1.0) + bump(t, t0 + 1.6, 1.0)  # lean to sit and to rise
            trunk = trunk + trunk_deg * lean
            tib = 12.0
        else:
            b = bump(t, t0, 2.0)
            trunk = trunk + trunk_deg * b
            tib = tibia_deg
        hip_h = hip_h - 0.5 * b
        kw = kw + (knee_width_ratio - 1.0) * b
        inside = inside + knee_inside_ankle * b
        for side in ("left", "right"):
            knee, hip = knee_deg, knee_deg
            if kind == "side_lunge" and side == "right":
                knee, hip = 8.0, 30.0
            if kind == "lunge":
                hip = 100.0 if side == "left" else -5.0
            if kind == "hinge":
                knee, hip = 20.0, 80.0
            v[f"knee_flexion_{side}"] = v[f"knee_flexion_{side}"] + (knee - 5.0) * b
            v[f"hip_flexion_{side}"] = v[f"hip_flexion_{side}"] + (hip - 5.0) * b
            v[f"tibia_inclination_{side}"] = v[f"tibia_inclination_{side}"] + (tib - 2.0) * b
            v[f"hip_height_rel_knee_{side}"] = v[f"hip_height_rel_knee_{side}"] - 0.55 * b
    if kind == "hinge":
        trunk = 3.0 + (trunk - 3.0) * 2.5
    for side in ("left", "right"):
        v[f"trunk_minus_tibia_{side}"] = trunk - v[f"tibia_inclination_{side}"]
    v["trunk_inclination"] = trunk
    v["hip_height_rel_leg"] = hip_h
    v["knee_width_ratio"] = kw
    v["knee_inside_ankle_left"] = inside
    v["knee_inside_ankle_right"] = inside
    v["pelvis_drop"] = np.zeros(t.shape)
    ds = xr.Dataset(coords={"time": t})
    for name, values in v.items():
        units = "deg"
        if name.startswith(("hip_height", "heel_lift", "knee_width", "knee_inside")):
            units = "ratio"
        ds[name] = xr.DataArray(
            values,
            dims=("time",),
            attrs={"units": units, "source": source, "uncertainty_deg": 3.0},
        )
    ds["leg_length"] = xr.DataArray(0.9, attrs={"units": "m"})
    ds.attrs.update(source=source, measurement="marker" if source == "world" else "video_2d")
    return ds
