"""Per-repetition metrics, with units in their names.

All metrics are computed from the angle dataset of :func:`kneeback.kinematics.compute_angles` over
the frames of one repetition. "Bottom" values are medians over the bottom phase. A metric that
cannot be computed (its angles are missing) is None; whether a computed metric can be trusted from
the camera view is decided in :mod:`kneeback.assess.capture`.

The knee-vs-trunk strategy index (0 = all knees, 100 = all trunk) is documented in
``docs/strategy-index.md``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from kneeback.kinematics.body import side_mean
from kneeback.movements.reps import Rep

__all__ = ["THIGH_TO_LEG_RATIO", "TRUNK_TO_LEG_RATIO", "rep_metrics", "strategy_index"]

#: Thigh length over leg length (hip to ankle): 0.245 H / 0.491 H (Winter's segment-length table).
THIGH_TO_LEG_RATIO = 0.50

#: Trunk length (hip centre to shoulder centre) over leg length (hip to ankle) for a typical adult:
#: 0.288 H / 0.491 H from Winter's segment-length table (Biomechanics and Motor Control of Human
#: Movement); used when the clip does not measure it.
TRUNK_TO_LEG_RATIO = 0.59


def _v(angles: xr.Dataset, name: str, sl: slice) -> np.ndarray:
    if name not in angles:
        n = len(range(*sl.indices(angles.sizes["time"])))
        return np.full(n, np.nan)
    return np.asarray(angles[name].values[sl], dtype=np.float64)


def _max(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.max(x)) if x.size else None


def _min(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.min(x)) if x.size else None


def _med(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else None


def _wobble(x: np.ndarray) -> float | None:
    """SD of a signal about its smooth (quadratic) course: the unsteadiness while at depth."""
    idx = np.flatnonzero(np.isfinite(x))
    if idx.size < 5:
        return None
    coef = np.polyfit(idx.astype(np.float64), x[idx], 2)
    resid = x[idx] - np.polyval(coef, idx.astype(np.float64))
    return float(np.std(resid, ddof=3))


def strategy_index(
    hip_height_rel_leg: np.ndarray,
    trunk_inclination_deg: np.ndarray,
    /,
    *,
    trunk_to_leg: float = TRUNK_TO_LEG_RATIO,
) -> float | None:
    """Knee-vs-trunk strategy index of one lowering: 0 all knees, 100 all trunk.

    The shoulders come down in two ways: the legs bend and lower the hips, or the trunk inclines
    about the hips. With heights in standing leg lengths,
    ``hip_drop = h_hip(start) - h_hip(t)`` and
    ``trunk_drop = r * (cos(theta(start)) - cos(theta(t)))`` with ``r`` the trunk-to-leg length
    ratio and ``theta`` the trunk inclination. At the frame where the shoulders are lowest the
    index is ``100 * trunk_drop / (hip_drop + trunk_drop)``.

    Parameters
    ----------
    hip_height_rel_leg
        Hip height over standing leg length, one value per frame of the repetition (first frame
        standing).
    trunk_inclination_deg
        Trunk inclination from vertical over the same frames.
    trunk_to_leg
        Trunk length over leg length.

    Returns
    -------
    float or None
        The index in [0, 100]; None when not measurable or when the shoulders did not come down.
    """
    h = np.asarray(hip_height_rel_leg, dtype=np.float64)
    th = np.radians(np.asarray(trunk_inclination_deg, dtype=np.float64))
    ok = np.isfinite(h) & np.isfinite(th)
    if ok.sum() < 2 or not ok[0]:
        first = np.flatnonzero(ok)
        if first.size < 2:
            return None
        h, th = h[first[0] :], th[first[0] :]
        ok = ok[first[0] :]
    hip_drop = np.clip(h[0] - h, 0.0, None)
    trunk_drop = np.clip(trunk_to_leg * (np.cos(th[0]) - np.cos(th)), 0.0, None)
    total = np.where(ok, hip_drop + trunk_drop, np.nan)
    if not np.isfinite(total).any():
        return None
    k = int(np.nanargmax(total))
    if total[k] <= 0.02:  # shoulders lowered by less than 2 % of leg length: no lowering
        return None
    return float(100.0 * trunk_drop[k] / total[k])


def rep_metrics(
    angles: xr.Dataset,
    rep: Rep,
    /,
    *,
    per_side: bool = False,
    trunk_to_leg: float = TRUNK_TO_LEG_RATIO,
) -> dict[str, float | bool | None]:
    """Compute the per-repetition metrics.

    Parameters
    ----------
    angles
        Angle dataset over the whole clip.
    rep
        The repetition (frame indices into ``angles``).
    per_side
        When True (lunges), knee, hip, tibia, heel and frontal-plane values are those of the
        working leg ``rep.side`` (a lunge's back heel rises by design); otherwise both legs are
        averaged (peaks: the larger knee valgus, the higher heel).
    trunk_to_leg
        Trunk-to-leg length ratio for the strategy index.

    Returns
    -------
    dict
        Metric name (see :data:`kneeback.movements.specs.ALL_METRICS`) to value or None.
    """
    sl = slice(rep.start, rep.end + 1)
    b = slice(rep.bottom[0], rep.bottom[1] + 1)
    t = np.asarray(angles["time"].values, dtype=np.float64)

    def side_or_mean(base: str, s: slice) -> np.ndarray:
        left, right = _v(angles, f"{base}_left", s), _v(angles, f"{base}_right", s)
        if per_side and rep.side in ("left", "right"):
            return left if rep.side == "left" else right
        return side_mean(left, right)

    knee = side_or_mean("knee_flexion", sl)
    knee_b = side_or_mean("knee_flexion", b)
    tib_b = side_or_mean("tibia_inclination", b)
    trunk = _v(angles, "trunk_inclination", sl)
    trunk_b = _v(angles, "trunk_inclination", b)
    tmt = side_or_mean("trunk_minus_tibia", sl)
    tmt_b = side_or_mean("trunk_minus_tibia", b)
    if not np.isfinite(tmt_b).any():
        tmt_b = trunk_b - tib_b
    hrk = side_or_mean("hip_height_rel_knee", sl)
    hip_rel_leg = _v(angles, "hip_height_rel_leg", sl)
    hip_rel_leg_b = _v(angles, "hip_height_rel_leg", b)
    fppa_l, fppa_r = _v(angles, "knee_fppa_left", sl), _v(angles, "knee_fppa_right", sl)
    if per_side and rep.side in ("left", "right"):
        fppa = fppa_l if rep.side == "left" else fppa_r
    else:
        fppa = np.fmax(fppa_l, fppa_r)
    kl_b, kr_b = _v(angles, "knee_flexion_left", b), _v(angles, "knee_flexion_right", b)
    heel_l, heel_r = _v(angles, "heel_lift_left", sl), _v(angles, "heel_lift_right", sl)
    if per_side and rep.side in ("left", "right"):  # the working leg's: a back heel rises anyway
        heel = heel_l if rep.side == "left" else heel_r
    else:
        heel = np.fmax(heel_l, heel_r)
    inside_l, inside_r = (
        _v(angles, "knee_inside_ankle_left", b),
        _v(angles, "knee_inside_ankle_right", b),
    )
    if per_side and rep.side in ("left", "right"):
        inside_b = inside_l if rep.side == "left" else inside_r
    else:  # the knee further inside, frame by frame
        inside_b = np.fmax(inside_l, inside_r)

    # Thigh elevation above horizontal (FMS "femur below horizontal" <=> hip at or below knee):
    # the hip's height over the knee, in leg lengths, over the thigh's share of the leg.
    hrk_b = side_or_mean("hip_height_rel_knee", b)
    thigh_b = np.degrees(np.arcsin(np.clip(hrk_b / THIGH_TO_LEG_RATIO, -1.0, 1.0)))
    min_hrk = _min(hrk)
    asym = _med(np.abs(kl_b - kr_b))
    descent, bottom, ascent = rep.phase("descent"), rep.phase("bottom"), rep.phase("ascent")
    si = strategy_index(hip_rel_leg, trunk, trunk_to_leg=trunk_to_leg)
    return {
        "knee_flexion_peak_deg": _max(knee),
        "knee_flexion_peak_left_deg": _max(_v(angles, "knee_flexion_left", sl)),
        "knee_flexion_peak_right_deg": _max(_v(angles, "knee_flexion_right", sl)),
        "hip_flexion_peak_deg": _max(side_or_mean("hip_flexion", sl)),
        "trunk_inclination_peak_deg": _max(trunk),
        "hip_below_knee": None if min_hrk is None else bool(min_hrk < 0.0),
        "thigh_angle_bottom_deg": _med(thigh_b),
        "tibia_inclination_bottom_deg": _med(tib_b),
        "trunk_minus_tibia_bottom_deg": _med(tmt_b),
        "trunk_minus_tibia_peak_deg": _max(tmt),
        "heel_lift_peak": _max(heel),
        "knee_fppa_peak_deg": _max(fppa),
        "knee_width_ratio_bottom": _med(_v(angles, "knee_width_ratio", b)),
        "knee_inside_ankle_bottom": _med(inside_b),
        "knee_flexion_asymmetry_deg": asym,
        "strategy_index": None if si is None else round(si, 1),
        "descent_s": None if descent is None else descent.duration_s,
        "bottom_s": None if bottom is None else bottom.duration_s,
        "ascent_s": None if ascent is None else ascent.duration_s,
        "duration_s": float(t[rep.end] - t[rep.start]),
        "wobble_knee_deg": _wobble(knee_b),
        "wobble_hip_height": _wobble(hip_rel_leg_b),
    }
