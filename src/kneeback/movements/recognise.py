"""Recognise the movement from the angle time series with interpretable rules.

Every rule reads a few features of each repetition window, each of which a coach would name:

- how far the knees bend (``knee_excursion_deg``) and how far the trunk inclines
  (``trunk_excursion_deg``);
- how unequal the legs are at the bottom: knee flexion (``knee_asymmetry_deg``, one leg straight
  in a side lunge) and hip flexion (``hip_asymmetry_deg``, front hip flexed and back hip extended
  in a lunge or split squat);
- how far the hips come down relative to the feet (``hip_drop``, in leg lengths; reported only:
  lifting one foot also changes it) and over the standing foot (``stance_hip_drop``: a step over
  a hurdle keeps the standing leg straight, see :mod:`kneeback.movements.stance`);
- whether the person sat: a flat plateau of knee flexion at the bottom (``bottom_plateau``, share of
  the rep spent within 5 deg of the deepest knee flexion), the trunk coming back upright while the
  knees stay bent (``trunk_dip_deg``: a seated rest between the lean to sit and the lean to rise;
  the smaller of the two leans above the upright moment),
  and near-vertical shins at the bottom (``tibia_bottom_deg``: one sits back onto a chair, while a
  free squat brings the knees forward over the feet);
- how far the hands reach below the knees (``hands_below_knees``, in leg lengths): a floor lift
  brings them to the floor, a squat with a deep forward lean does not (see
  :mod:`kneeback.movements.reach`).

A window in which the feet kept moving at its bottom is walking or stepping, not one of the
movements, and votes "other" (:mod:`kneeback.movements.travel`). Each repetition votes; the
majority names the movement. A movement the user states is used as stated, and the estimate
says when what was seen disagrees.

From a front or back view in 2D the bending angles are not measurable (REFERENCES.md rule 1), so
``recognise_movement(..., sagittal=False)`` reads only what the image shows: how far the hips come
down (``hip_drop``) and whether both knees come down alike (``knee_height_asymmetry``: the
difference between the left and right hip-above-knee heights at depth, in leg lengths). Both legs
alike is a squat (a sit-to-stand looks the same from the front); one knee far lower than the other
is a lunge or split squat (a side lunge looks similar from the front).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from kneeback.kinematics.body import side_mean
from kneeback.movements.reps import Rep, detect_reps, driving_signal
from kneeback.movements.specs import MIN_HIP_LOWERING_PCT, MOVEMENT_NAMES
from kneeback.movements.travel import feet_planted

__all__ = ["RECOGNITION_RULES", "MovementEstimate", "movement_features", "recognise_movement"]

#: Thresholds of the recognition rules (degrees unless noted). Round numbers chosen from the
#: movements' definitions, not fitted: a side lunge keeps one leg straight (knees differ by more
#: than ~30 deg); a step over a hurdle lifts one thigh (hips differ by more than ~45 deg) while
#: the hips stay up over the standing foot (they come down less than the 8 % of leg length that
#: every repetition needs, ``MIN_HIP_LOWERING_PCT``); a lunge bends both knees and extends the
#: back hip (hips differ by more than ~30 deg); sitting needs real knee bend and at least two of
#: the three sitting cues; a hinge bends the trunk more than the knees. Sitting on a chair needs
#: about 90 deg of knee flexion or more (chairs and stairs 90-120 deg, Rowe et al. 2000), so
#: sit-to-stand needs a peak knee flexion of at least 80 deg (90 less the ~10 deg single-camera
#: tolerance that the depth rule uses too). From the front: the hips must come down by 8 % of
#: leg length (as for reps, ``MIN_HIP_LOWERING_PCT``), and a lunge's knees differ in height by
#: more than 15 % of leg length (about a third of the thigh, far beyond the few percent of a
#: level squat). A floor lift bends the trunk far forward (70 deg) and, when the wrists are seen,
#: brings the hands a hand's breadth (0.1 leg length) below the knees
#: (:mod:`kneeback.movements.reach`).
RECOGNITION_RULES: dict[str, float] = {
    "min_lowering_deg": 25.0,
    "side_lunge_knee_asymmetry_deg": 30.0,
    "lunge_hip_asymmetry_deg": 30.0,
    "step_hip_asymmetry_deg": 45.0,
    "step_max_stance_hip_drop": MIN_HIP_LOWERING_PCT / 100.0,
    "sit_min_knee_deg": 45.0,
    "sit_min_knee_peak_deg": 80.0,
    "hinge_max_knee_deg": 45.0,
    "hinge_min_trunk_deg": 40.0,
    "floor_lift_min_trunk_deg": 70.0,
    "floor_lift_min_hands_below_knees": 0.1,
    "sit_plateau": 0.35,
    "sit_trunk_dip_deg": 10.0,
    "sit_tibia_max_deg": 20.0,
    "sit_min_cues": 2.0,
    "front_min_hip_drop": MIN_HIP_LOWERING_PCT / 100.0,
    "front_lunge_knee_height_asymmetry": 0.15,
}

#: Why a window whose feet kept moving at the bottom is not one of the movements.
_MOVING_FEET = (
    "the feet kept moving at the bottom: walking or stepping, not a movement done in place"
)

#: The features that a front or back view in 2D can measure.
_FRONT_FEATURES = ("hip_drop", "knee_height_asymmetry")

_WINDOW = {
    "upper_fraction": 0.5,
    "lower_fraction": 0.2,
    "min_duration_s": 0.3,
    "partial_fraction": 0.0,
    "bottom_fraction": 0.8,
}


@dataclass(frozen=True)
class MovementEstimate:
    """The recognised movement, and how it relates to what the user stated.

    Attributes
    ----------
    recognised
        What the rules saw.
    confidence
        Share of repetitions that voted for ``recognised``, in [0, 1].
    stated
        What the user said, or None.
    used
        What the analysis uses: the stated movement when given, else the recognised one.
    agreement
        Whether stated and recognised agree; None when nothing was stated.
    reasons
        Plain-language reasons for the recognition.
    features
        Median feature values over the repetitions.
    message
        A sentence for the user when the stated movement disagrees with what was seen.
    """

    recognised: str
    confidence: float
    stated: str | None = None
    used: str = "other"
    agreement: bool | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)
    features: dict[str, float] = field(default_factory=dict)
    message: str | None = None


def _v(angles: xr.Dataset, name: str) -> np.ndarray:
    if name not in angles:
        return np.full(angles.sizes["time"], np.nan)
    return np.asarray(angles[name].values, dtype=np.float64)


def _nanmed(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


def movement_features(
    angles: xr.Dataset,
    /,
    *,
    window: slice,
    stance_hip: np.ndarray | None = None,
    hands_low: np.ndarray | None = None,
) -> dict[str, float]:
    """Compute the recognition features over one repetition window.

    Parameters
    ----------
    angles
        Angle dataset from :func:`kneeback.kinematics.compute_angles`.
    window
        Frame slice holding one repetition (standing, lowering, rising).
    stance_hip
        Output of :func:`kneeback.movements.stance.hip_height_over_stance` for the same frames,
        for ``stance_hip_drop``; NaN when not given.
    hands_low
        Output of :func:`kneeback.movements.reach.hands_below_knees` for the same frames, for
        ``hands_below_knees``: the most over the frames where the trunk is bent (within 20 % of
        its deepest bend in the window), NaN when not given or when no wrist was seen there (a
        hand hidden at the bottom must not read as a hand held high).

    Returns
    -------
    dict
        Feature name to value (NaN where not measurable); see the module docstring.
    """
    w = window
    t = np.asarray(angles["time"].values, dtype=np.float64)[w]
    kl, kr = _v(angles, "knee_flexion_left")[w], _v(angles, "knee_flexion_right")[w]
    hl, hr = _v(angles, "hip_flexion_left")[w], _v(angles, "hip_flexion_right")[w]
    trunk = _v(angles, "trunk_inclination")[w]
    tib = side_mean(
        _v(angles, "tibia_inclination_left")[w], _v(angles, "tibia_inclination_right")[w]
    )
    hip_h = _v(angles, "hip_height_rel_leg")[w]
    kmean = side_mean(kl, kr)
    kmax = np.fmax(kl, kr)
    nan = float("nan")
    feats = dict.fromkeys(
        (
            "knee_excursion_deg",
            "knee_max_excursion_deg",
            "trunk_excursion_deg",
            "knee_asymmetry_deg",
            "hip_asymmetry_deg",
            "hip_drop",
            "bottom_plateau",
            "trunk_dip_deg",
            "tibia_bottom_deg",
            "knee_height_asymmetry",
            "knee_peak_deg",
            "stance_hip_drop",
            "hands_below_knees",
        ),
        nan,
    )
    hrk_l, hrk_r = (
        _v(angles, "hip_height_rel_knee_left")[w],
        _v(angles, "hip_height_rel_knee_right")[w],
    )
    if stance_hip is not None and np.isfinite(stance_hip[w]).any():
        feats["stance_hip_drop"] = float(np.nanmax(stance_hip[w]) - np.nanmin(stance_hip[w]))
    if np.isfinite(hip_h).any():
        feats["hip_drop"] = float(np.nanmax(hip_h) - np.nanmin(hip_h))
        with np.errstate(invalid="ignore"):
            low = hip_h <= np.nanmin(hip_h) + 0.2 * feats["hip_drop"]
        feats["knee_height_asymmetry"] = _nanmed(np.abs(hrk_l - hrk_r)[low])
    if not np.isfinite(kmax).any():
        return feats
    k0 = float(np.nanmin(kmean)) if np.isfinite(kmean).any() else nan
    kpk = float(np.nanmax(kmean)) if np.isfinite(kmean).any() else nan
    feats["knee_excursion_deg"] = kpk - k0
    m0, mpk = float(np.nanmin(kmax)), float(np.nanmax(kmax))
    feats["knee_max_excursion_deg"] = mpk - m0
    if np.isfinite(trunk).any():
        feats["trunk_excursion_deg"] = float(np.nanmax(trunk) - np.nanmin(trunk))
    with np.errstate(invalid="ignore"):
        deep_max = kmax >= m0 + 0.8 * (mpk - m0)
        deep_mean = kmean >= k0 + 0.8 * (kpk - k0)
        active = kmean >= k0 + 0.2 * (kpk - k0)
    feats["knee_asymmetry_deg"] = _nanmed(np.abs(kl - kr)[deep_max])
    feats["hip_asymmetry_deg"] = _nanmed(np.abs(hl - hr)[deep_max])
    if active.sum() > 0 and np.isfinite(kpk):
        dt = np.gradient(t) if t.size > 1 else np.ones_like(t)
        with np.errstate(invalid="ignore"):
            near_peak = kmean >= kpk - 5.0
        feats["bottom_plateau"] = float(dt[near_peak].sum() / dt[active].sum())
    feats["knee_peak_deg"] = kpk
    deep_trunk = np.where(deep_mean, trunk, np.nan)
    if np.isfinite(deep_trunk).any():
        # A seated rest: the trunk leans to sit, comes back upright while the knees stay bent,
        # and leans again to rise. Both leans must exceed the upright moment (a squat whose
        # trunk simply straightens on the way up has a lean on one side only).
        i = int(np.nanargmin(deep_trunk))
        before, after = np.nanmax(trunk[: i + 1]), np.nanmax(trunk[i:])
        feats["trunk_dip_deg"] = float(min(before, after) - trunk[i])
    if deep_mean.any():
        feats["tibia_bottom_deg"] = _nanmed(tib[deep_mean])
    if hands_low is not None and np.isfinite(trunk).any():
        lo, hi = float(np.nanmin(trunk)), float(np.nanmax(trunk))
        with np.errstate(invalid="ignore"):
            bent = trunk >= lo + 0.8 * (hi - lo)
        reach = hands_low[w][bent]
        if np.isfinite(reach).any():
            feats["hands_below_knees"] = float(np.nanmax(reach))
    return feats


def _ge(x: float, thr: float) -> bool:
    return bool(np.isfinite(x) and x >= thr)


def _classify(f: dict[str, float]) -> tuple[str, str]:
    """Apply the rules to one window's features; return (movement, reason)."""
    r = RECOGNITION_RULES
    knee, kmax = f["knee_excursion_deg"], f["knee_max_excursion_deg"]
    trunk = f["trunk_excursion_deg"]
    if not (_ge(kmax, r["min_lowering_deg"]) or _ge(trunk, r["min_lowering_deg"])):
        return "other", "neither the knees nor the trunk moved much"
    one_leg_lift = bool(
        _ge(f["hip_asymmetry_deg"], r["step_hip_asymmetry_deg"])
        and np.isfinite(f["stance_hip_drop"])
        and f["stance_hip_drop"] < r["step_max_stance_hip_drop"]
    )
    if _ge(f["knee_asymmetry_deg"], r["side_lunge_knee_asymmetry_deg"]):
        if one_leg_lift:
            return "other", "one leg lifted while the hips stayed up over the other foot (a step)"
        return "side_lunge", "one knee bent while the other leg stayed straight"
    if _ge(f["hip_asymmetry_deg"], r["lunge_hip_asymmetry_deg"]):
        return "lunge", "both knees bent with one hip flexed in front and the other extended"
    if _ge(knee, r["sit_min_knee_deg"]) and _ge(f["knee_peak_deg"], r["sit_min_knee_peak_deg"]):
        cues = [
            _ge(f["bottom_plateau"], r["sit_plateau"]),
            _ge(f["trunk_dip_deg"], r["sit_trunk_dip_deg"]),
            bool(
                np.isfinite(f["tibia_bottom_deg"])
                and f["tibia_bottom_deg"] <= r["sit_tibia_max_deg"]
            ),
        ]
        if sum(cues) >= r["sit_min_cues"]:
            return (
                "sit_to_stand",
                "a seated rest at the bottom: knees held bent, trunk upright, shins vertical",
            )
    hands = f["hands_below_knees"]
    if _ge(trunk, r["floor_lift_min_trunk_deg"]):
        if not np.isfinite(hands):
            return "floor_lift", "the trunk bent far forward, as when reaching the floor"
        if hands >= r["floor_lift_min_hands_below_knees"]:
            return (
                "floor_lift",
                "the trunk bent far forward and the hands reached below the knees, towards the "
                "floor",
            )
    if _ge(trunk, r["hinge_min_trunk_deg"]) and not _ge(knee, r["hinge_max_knee_deg"]):
        return "hip_hinge", "the trunk inclined much more than the knees bent"
    if not _ge(knee, r["min_lowering_deg"]):
        return "other", "the knees bent too little for a squat"
    if _ge(trunk, r["floor_lift_min_trunk_deg"]):
        return (
            "squat",
            "both knees bent together; the trunk bent far forward but the hands stayed above the "
            "knees (not a lift from the floor)",
        )
    return "squat", "both knees bent together"


def _classify_front(f: dict[str, float]) -> tuple[str, str]:
    """Classify one window seen from the front in 2D, from the hips' and knees' heights only."""
    r = RECOGNITION_RULES
    if not _ge(f["hip_drop"], r["front_min_hip_drop"]):
        return "other", "seen from the front, the hips hardly came down"
    if _ge(f["knee_height_asymmetry"], r["front_lunge_knee_height_asymmetry"]):
        return (
            "lunge",
            "seen from the front, one knee went much lower than the other (a lunge or split "
            "squat; a side lunge looks similar from the front)",
        )
    return (
        "squat",
        "seen from the front, the hips came down with both knees alike (a squat; a "
        "sit-to-stand looks the same from the front)",
    )


def recognise_movement(
    angles: xr.Dataset,
    /,
    *,
    stated: str | None = None,
    sagittal: bool = True,
    feet_speed: np.ndarray | None = None,
    stance_hip: np.ndarray | None = None,
    hands_low: np.ndarray | None = None,
) -> MovementEstimate:
    """Recognise the movement in an angle dataset.

    Parameters
    ----------
    angles
        Angle dataset from :func:`kneeback.kinematics.compute_angles`.
    stated
        The movement the user says they did (one of
        :data:`kneeback.movements.specs.MOVEMENT_NAMES`), or None / ``"auto"``.
    sagittal
        False when the bending angles are not measurable (a front or back view in 2D): the
        movement is then recognised from the hips' and knees' heights only.
    feet_speed
        Output of :func:`kneeback.movements.travel.feet_speed` for the same frames: a window in
        which the feet kept moving at the bottom (walking, stepping) votes ``"other"``.
    stance_hip
        Output of :func:`kneeback.movements.stance.hip_height_over_stance` for the same frames:
        a leg lifted while the hips stay up over the other foot is a step, ``"other"``. Without
        it no window is taken for a step.
    hands_low
        Output of :func:`kneeback.movements.reach.hands_below_knees` for the same frames: a deep
        forward bend is a floor lift only if the hands reach below the knees. Without it (or
        where no wrist was seen) the trunk alone decides.

    Returns
    -------
    MovementEstimate
        The recognised movement with confidence and reasons; ``used`` is the stated movement when
        one was given.
    """
    if stated == "auto":
        stated = None
    if stated is not None and stated not in MOVEMENT_NAMES:
        raise ValueError(f"Unknown movement {stated!r}; choose one of {', '.join(MOVEMENT_NAMES)}.")
    t = np.asarray(angles["time"].values, dtype=np.float64)
    if sagittal:
        signal = driving_signal(angles, kind="knee_plus_trunk")
        if not np.isfinite(signal).any():
            signal = driving_signal(angles, kind="knee_max")
        min_excursion = RECOGNITION_RULES["min_lowering_deg"]
    else:
        signal = driving_signal(angles, kind="hip_lowering")
        min_excursion = 100.0 * RECOGNITION_RULES["front_min_hip_drop"]
    classify = _classify if sagittal else _classify_front
    reps = detect_reps(signal, time_s=t, min_excursion=min_excursion, **_WINDOW)
    windows: list[tuple[slice, Rep | None]] = [(slice(r.start, r.end + 1), r) for r in reps]
    votes: list[str] = []
    reasons: list[str] = []
    feats: list[dict[str, float]] = []
    for w, rep in windows or [(slice(0, t.size), None)]:
        f = movement_features(angles, window=w, stance_hip=stance_hip, hands_low=hands_low)
        if not sagittal:  # the angle-based features mean nothing here: do not report them
            f = {k: (v if k in _FRONT_FEATURES else float("nan")) for k, v in f.items()}
        if rep is not None and feet_speed is not None and not feet_planted(feet_speed, rep):
            name, why = "other", _MOVING_FEET
        else:
            name, why = classify(f)
        votes.append(name)
        reasons.append(why)
        feats.append(f)
    counts = Counter(votes)
    recognised, n = counts.most_common(1)[0]
    confidence = n / len(votes)
    median_feats = {
        k: round(_nanmed(np.array([f[k] for f in feats], dtype=np.float64)), 3) for k in feats[0]
    }
    why_all = tuple(
        dict.fromkeys(r for v, r in zip(votes, reasons, strict=True) if v == recognised)
    )
    used = stated if stated is not None else recognised
    agreement = None if stated is None else stated == recognised
    message = None
    if agreement is False and stated is not None:
        message = (
            f"You said {stated.replace('_', ' ')}; the movement looked more like "
            f"{recognised.replace('_', ' ')} ({why_all[0]}). "
            f"It was analysed as {used.replace('_', ' ')}."
        )
    return MovementEstimate(
        recognised=recognised,
        confidence=round(confidence, 3),
        stated=stated,
        used=used,
        agreement=agreement,
        reasons=why_all,
        features=median_feats,
        message=message,
    )
