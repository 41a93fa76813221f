"""Joint angles, segment inclinations and height ratios of one person over time.

:func:`compute_angles` is the contract between the pose dataset and movement analysis. It works
either on the image coordinates (``source="2d"``: vertical = the image y axis, pointing down) or
on ``position_world`` (``source="world"``: vertical = the world y axis, pointing down, as in
MediaPipe world landmarks and every kneeback adapter).

Conventions
-----------
- Trunk = the segment from the hip centre (midpoint of the hips) to the shoulder centre; no spine
  landmark exists, so lumbar flexion cannot be measured. When one hip (or shoulder) is missing,
  as for the far side in a side view, the visible one stands in for the centre.
- Joint angles (knee and hip flexion, FPPA) are angles between segments: in 2D they do not change
  under rotation, translation or uniform scaling of the image, and mirroring the image while
  swapping the left/right labels swaps the left and right values.
- Inclinations are measured from the vertical and are signed, positive = leaning the way the
  person faces. The facing direction comes from :func:`~kneeback.kinematics.body.image_facing`
  (2D) or :func:`~kneeback.kinematics.body.body_frame` (world); when it is unknown (a front view)
  the unsigned angle from the vertical is returned instead, and the dataset's ``facing`` attr
  says so. In world coordinates inclinations are measured in the sagittal plane (up, anterior),
  which is what a side-view camera sees, while joint angles are full 3D angles (with abducted
  thighs a side view sees a few degrees less or more than the 3D knee or hip angle).
- Sagittal quantities need a side view and frontal ones (FPPA, pelvis drop, knee width) a front
  view when computed in 2D; choosing which to trust is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import xarray as xr

from kneeback.kinematics.body import body_frame, image_facing, nan_midpoint
from kneeback.kinematics.body import leg_length as body_leg_length
from kneeback.kinematics.geometry import IMAGE_UP, WORLD_UP, angle_between, spatial_dim

__all__ = [
    "ANGLE_SPECS",
    "PROJECTED_POSITION_SOURCES",
    "AngleSource",
    "AngleSpec",
    "choose_source",
    "compute_angles",
]

AngleSource = Literal["auto", "2d", "world"]

#: Values of the dataset attr ``position_from`` meaning that ``position`` is a projection of
#: ``position_world`` (a virtual or depth camera), so that ``source="auto"`` prefers the 3D data.
PROJECTED_POSITION_SOURCES: tuple[str, ...] = ("virtual_camera", "depth_camera")


@dataclass(frozen=True)
class AngleSpec:
    """One output variable of :func:`compute_angles`."""

    name: str
    units: str
    long_name: str
    definition: str

    @property
    def is_angle(self) -> bool:
        """Whether the variable is in degrees."""
        return self.units == "deg"


def _bilateral(
    stem: str, units: str, long_name: str, definition: str
) -> tuple[AngleSpec, AngleSpec]:
    left, right = (
        AngleSpec(f"{stem}_{s}", units, f"{long_name} ({s})", definition.replace("{side}", s))
        for s in ("left", "right")
    )
    return left, right


#: Every variable :func:`compute_angles` returns, as data.
ANGLE_SPECS: tuple[AngleSpec, ...] = (
    *_bilateral(
        "knee_flexion",
        "deg",
        "knee flexion",
        "angle between thigh ({side} hip -> knee) and shank (knee -> ankle); 0 = straight",
    ),
    *_bilateral(
        "hip_flexion",
        "deg",
        "hip flexion",
        "angle between the trunk (hip centre -> shoulder centre) and the {side} thigh reversed "
        "(knee -> hip); 0 = standing straight",
    ),
    AngleSpec(
        "trunk_inclination",
        "deg",
        "trunk inclination",
        "hip centre -> shoulder centre vs vertical; 0 = upright, positive = leaning forward",
    ),
    *_bilateral(
        "tibia_inclination",
        "deg",
        "tibia inclination",
        "{side} ankle -> knee vs vertical; 0 = vertical shin, positive = knee ahead of ankle "
        "(a proxy for ankle dorsiflexion)",
    ),
    *_bilateral(
        "trunk_minus_tibia",
        "deg",
        "trunk minus tibia inclination",
        "trunk_inclination - tibia_inclination_{side}; > 0 = trunk leans more than the shin",
    ),
    *_bilateral(
        "hip_height_rel_knee",
        "leg_length",
        "hip height above the knee",
        "vertical height of the {side} hip above the {side} knee / leg_length; "
        "negative = hip below knee",
    ),
    AngleSpec(
        "hip_height_rel_leg",
        "fraction",
        "hip height above the ankles",
        "vertical height of the hip centre above the ankle centre / leg_length",
    ),
    *_bilateral(
        "heel_lift",
        "foot_length",
        "heel lift",
        "rise of the {side} heel relative to the foot index, above its median in standing "
        "frames (hip_height_rel_leg in its top 20 %), / foot length",
    ),
    *_bilateral(
        "knee_fppa",
        "deg",
        "knee frontal plane projection angle",
        "angle between {side} hip -> knee and knee -> ankle in the frontal plane; positive = "
        "knee medial of the hip-ankle line (valgus), 0 = straight",
    ),
    AngleSpec(
        "pelvis_drop",
        "deg",
        "pelvis drop",
        "right hip -> left hip line vs horizontal; positive = left side lower",
    ),
    AngleSpec(
        "knee_width_ratio",
        "ratio",
        "knee width ratio",
        "distance between the knees / distance between the ankles",
    ),
    *_bilateral(
        "knee_inside_ankle",
        "leg_length",
        "knee inside the ankle",
        "distance of the {side} knee inside its ankle along the body's side-to-side axis "
        "(the frontal plane's horizontal axis), / leg_length; 0 = knee straight above the "
        "ankle, negative = knee outside it",
    ),
)

# Typical measurement error per kind of data: (degrees, ratio units). Sources: REFERENCES.md
# (single-camera lateral-view knee MAE ~7 deg; BlazePose all-view SD ~15 deg; marker-based
# joint centres a few degrees); Kinect v2 values are approximate. The ratio value is read as the
# error of a joint-centre position in leg lengths (0.02 ~ 2 cm for markers), which is the error
# of the heights in leg lengths; the knee-width ratio propagates it (see _knee_width_uncertainty).
_UNCERTAINTY: dict[str, tuple[float, float]] = {
    "video_2d": (7.0, 0.05),
    "video_world": (15.0, 0.1),
    "marker": (3.0, 0.02),
    "depth_camera": (8.0, 0.05),
}


def choose_source(ds: xr.Dataset, /, *, source: AngleSource = "auto") -> Literal["2d", "world"]:
    """Resolve ``source="auto"`` to ``"2d"`` or ``"world"``.

    Rule: ``"world"`` when the dataset has ``position_world`` and its 2D ``position`` is either a
    projection of it (attr ``position_from`` in :data:`PROJECTED_POSITION_SOURCES`, as the
    Vicon and Kinect adapters write) or entirely missing; ``"2d"`` otherwise, i.e. for real
    images, where the camera's own view is the better measurement.

    Parameters
    ----------
    ds
        A pose dataset.
    source
        ``"auto"``, ``"2d"`` or ``"world"``.

    Returns
    -------
    str
        ``"2d"`` or ``"world"``.

    Raises
    ------
    ValueError
        If ``"world"`` is asked for a dataset without ``position_world``, or ``source`` is unknown.
    """
    has_world = "position_world" in ds and bool(np.isfinite(ds["position_world"].values).any())
    if source == "2d":
        return "2d"
    if source == "world":
        if not has_world:
            raise ValueError("source='world' needs a dataset with position_world.")
        return "world"
    if source != "auto":
        raise ValueError(f"source must be 'auto', '2d' or 'world', not {source!r}.")
    projected = ds.attrs.get("position_from", "") in PROJECTED_POSITION_SOURCES
    no_2d = not bool(np.isfinite(ds["position"].values).any())
    return "world" if has_world and (projected or no_2d) else "2d"


def _measurement_kind(ds: xr.Dataset, source: str) -> str:
    """Return the measurement kind: marker, depth_camera, video_world or video_2d.

    The dataset's ``measurement`` attribute decides when present; otherwise the source software
    (a "PoseLandmarker" is video, not a marker system).
    """
    stated = str(ds.attrs.get("measurement", "")).lower()
    software = str(ds.attrs.get("source_software", "")).lower()
    if stated == "marker" or (stated == "" and ("vicon" in software or "plug-in-gait" in software)):
        return "marker"
    if stated == "depth_camera" or (stated == "" and "kinect" in software):
        return "depth_camera"
    return "video_world" if source == "world" else "video_2d"


def _knee_width_uncertainty(joint_error: float, ankle_gap: np.ndarray) -> float:
    """Uncertainty of knee width / ankle width near 1, from a joint-centre position error.

    Each width is a difference of two joint centres (error ``sqrt(2) * e``); for a ratio near 1
    the relative errors of both widths add in quadrature: ``2 * e / ankle_width``. With marker
    joint centres (2 % of leg length, ~2 cm) and ankles 30-60 cm apart that is about 0.05-0.1
    (0.057 on a UI-PRMD deep squat); from a 2D video (5 % of leg length) about 0.15-0.3.
    """
    gap = ankle_gap[np.isfinite(ankle_gap)]
    if not gap.size or not np.isfinite(joint_error):
        return float("nan")
    width = float(np.median(gap))
    return 2.0 * joint_error / width if width > 0 else float("nan")


def _knee_inside_ankle(
    knee: np.ndarray, ankle: np.ndarray, hip: np.ndarray, other_hip: np.ndarray, lateral: np.ndarray
) -> np.ndarray:
    """How far the knee lies inside its ankle, towards the body's midline.

    Measured along ``lateral``, the body's side-to-side axis (the first axis of the frontal
    plane that the knee's frontal plane projection angle uses: image x, or the body frame's left
    in 3D), pointed from this hip towards the other. One axis for the whole clip, so the knee's
    forward travel over the toes never leaks into it, whichever way the feet stand. Its length
    unit is that of the positions.
    """
    across = (other_hip - hip) @ lateral
    across = across[np.isfinite(across)]
    towards_other = float(np.median(across)) if across.size else 0.0
    if towards_other == 0:
        return np.full(knee.shape[0], np.nan)
    inward = np.sign(towards_other) * lateral
    return np.asarray((knee - ankle) @ inward, dtype=np.float64)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(a @ b, dtype=np.float64)


def _length(v: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.norm(v, axis=-1), dtype=np.float64)


def _p90(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, 90)) if x.size else float("nan")


def _inclination(vec: np.ndarray, up: np.ndarray, forward: np.ndarray | None) -> np.ndarray:
    if forward is None:
        return angle_between(vec, np.broadcast_to(up, vec.shape))
    u = _dot(vec, up)
    f = _dot(vec, forward)
    with np.errstate(invalid="ignore"):
        out = np.degrees(np.arctan2(f, u))
    return np.where(np.hypot(u, f) > 0, out, np.nan)


def _fppa(
    hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, other_hip: np.ndarray
) -> np.ndarray:
    """Signed frontal-plane projection angle from 2D points (valgus positive)."""
    magnitude = angle_between(knee - hip, ankle - knee)
    line = ankle - hip

    def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.asarray(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0], dtype=np.float64)

    knee_side = cross(line, knee - hip)
    medial_side = cross(line, other_hip - hip)
    sign = np.sign(knee_side) * np.sign(medial_side)
    return np.where(np.isfinite(sign), magnitude * np.where(sign < 0, -1.0, 1.0), np.nan)


def compute_angles(
    ds: xr.Dataset,
    /,
    *,
    individual: str | None = None,
    source: AngleSource = "auto",
) -> xr.Dataset:
    """Compute the kinematic variables of one person over time.

    Parameters
    ----------
    ds
        A pose dataset (see :mod:`kneeback.schema`) with BlazePose-33 keypoint names.
    individual
        Which individual; the first one by default.
    source
        ``"2d"``: image coordinates, vertical = image y axis. ``"world"``: ``position_world``,
        vertical = world -y. ``"auto"``: see :func:`choose_source`.

    Returns
    -------
    xarray.Dataset
        Over ``time``, the variables of :data:`ANGLE_SPECS` (``knee_flexion_left``,
        ``knee_flexion_right``, ``hip_flexion_left``, ``hip_flexion_right``,
        ``trunk_inclination``, ``tibia_inclination_left``, ``tibia_inclination_right``,
        ``trunk_minus_tibia_left``, ``trunk_minus_tibia_right``, ``hip_height_rel_knee_left``,
        ``hip_height_rel_knee_right``, ``hip_height_rel_leg``, ``heel_lift_left``,
        ``heel_lift_right``, ``knee_fppa_left``, ``knee_fppa_right``, ``pelvis_drop``,
        ``knee_width_ratio``, ``knee_inside_ankle_left``, ``knee_inside_ankle_right``) plus
        the scalar variable ``leg_length`` (units ``"px"`` or
        ``"m"``). Each variable has the attrs ``units``, ``source`` (``"2d"`` or ``"world"``),
        ``uncertainty`` (in its units; degree variables also carry ``uncertainty_deg``),
        ``long_name`` and ``definition``. Dataset attrs: ``source``, ``individual``, ``facing``,
        ``vertical`` and ``leg_length``.
    """
    src = choose_source(ds, source=source)
    individuals = [str(i) for i in ds["individuals"].values]
    ind = individual if individual is not None else individuals[0]
    if ind not in individuals:
        raise ValueError(f"No individual {ind!r} in the dataset; it has {individuals}.")
    if src == "2d":
        pts = ds["position"].sel(individuals=ind)
        up = np.asarray(IMAGE_UP, dtype=np.float64)
        length_units = str(ds["position"].attrs.get("units", "px"))
    else:
        pts = ds["position_world"].sel(individuals=ind)
        up = np.asarray(WORLD_UP, dtype=np.float64)
        length_units = str(ds["position_world"].attrs.get("units", "m"))
    dim = spatial_dim(pts)
    pts = pts.transpose("time", dim, "keypoints")
    names = [str(k) for k in pts["keypoints"].values]
    values = np.asarray(pts.values, dtype=np.float64)
    n_time, n_space = values.shape[0], values.shape[1]

    def p(name: str) -> np.ndarray:
        if name not in names:
            return np.full((n_time, n_space), np.nan)
        return values[:, :, names.index(name)]

    forward: np.ndarray | None
    frontal: np.ndarray | None  # (D, 2) basis of the frontal plane
    if src == "2d":
        facing = image_facing(pts)
        forward = np.array([float(facing), 0.0]) if facing else None
        frontal = np.eye(2)
        facing_attr = {1: "image +x", -1: "image -x", 0: "unknown"}[facing]
    else:
        anterior, left_dir, _ = body_frame(pts)
        ok = bool(np.isfinite(anterior).all())
        forward = anterior if ok else None
        frontal = np.stack([left_dir, up], axis=1) if ok else None
        facing_attr = (
            "anterior = [" + ", ".join(f"{c:.3f}" for c in anterior) + "]" if ok else "unknown"
        )

    hip_c = nan_midpoint(p("left_hip"), p("right_hip"))
    shoulder_c = nan_midpoint(p("left_shoulder"), p("right_shoulder"))
    ankle_c = nan_midpoint(p("left_ankle"), p("right_ankle"))
    trunk = shoulder_c - hip_c

    leg_length = body_leg_length(pts)

    out: dict[str, np.ndarray] = {}
    out["trunk_inclination"] = _inclination(trunk, up, forward)
    hip_height_leg = _dot(hip_c - ankle_c, up) / leg_length
    out["hip_height_rel_leg"] = hip_height_leg
    standing = np.zeros(n_time, dtype=bool)
    if np.isfinite(hip_height_leg).any():
        standing = hip_height_leg >= np.nanpercentile(hip_height_leg, 80)
    foot_lengths: dict[str, float] = {}
    for side in ("left", "right"):
        other = "right" if side == "left" else "left"
        hip, knee, ankle = p(f"{side}_hip"), p(f"{side}_knee"), p(f"{side}_ankle")
        out[f"knee_flexion_{side}"] = angle_between(knee - hip, ankle - knee)
        out[f"hip_flexion_{side}"] = angle_between(trunk, hip - knee)
        tibia = _inclination(knee - ankle, up, forward)
        out[f"tibia_inclination_{side}"] = tibia
        out[f"trunk_minus_tibia_{side}"] = out["trunk_inclination"] - tibia
        out[f"hip_height_rel_knee_{side}"] = _dot(hip - knee, up) / leg_length
        heel, toe = p(f"{side}_heel"), p(f"{side}_foot_index")
        foot_length = _p90(_length(toe - heel))
        foot_lengths[side] = foot_length
        rise = _dot(heel - toe, up)
        base_frames = standing & np.isfinite(rise)
        if not base_frames.any():
            base_frames = np.isfinite(rise)
        baseline = float(np.median(rise[base_frames])) if base_frames.any() else float("nan")
        out[f"heel_lift_{side}"] = (rise - baseline) / foot_length
        if frontal is None:
            out[f"knee_fppa_{side}"] = np.full(n_time, np.nan)
        else:
            out[f"knee_fppa_{side}"] = _fppa(
                hip @ frontal, knee @ frontal, ankle @ frontal, p(f"{other}_hip") @ frontal
            )
    hip_line = p("left_hip") - p("right_hip")
    vertical = _dot(hip_line, up)
    horizontal = _length(hip_line - vertical[:, None] * up)
    with np.errstate(invalid="ignore"):
        out["pelvis_drop"] = np.degrees(np.arctan2(-vertical, horizontal))
    knee_gap = _length(p("left_knee") - p("right_knee"))
    ankle_gap = _length(p("left_ankle") - p("right_ankle"))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["knee_width_ratio"] = np.where(ankle_gap > 0, knee_gap / ankle_gap, np.nan)
    for side, other in (("left", "right"), ("right", "left")):
        if frontal is None:
            out[f"knee_inside_ankle_{side}"] = np.full(n_time, np.nan)
            continue
        inside = _knee_inside_ankle(
            p(f"{side}_knee"),
            p(f"{side}_ankle"),
            p(f"{side}_hip"),
            p(f"{other}_hip"),
            frontal[:, 0],
        )
        out[f"knee_inside_ankle_{side}"] = inside / leg_length

    kind = _measurement_kind(ds, src)
    unc_deg, unc_ratio = _UNCERTAINTY[kind]
    knee_width_unc = _knee_width_uncertainty(unc_ratio * leg_length, ankle_gap)
    time = ds["time"]
    result = xr.Dataset(coords={"time": time})
    for spec in ANGLE_SPECS:
        da = xr.DataArray(out[spec.name], dims=("time",), coords={"time": time})
        attrs: dict[str, object] = {
            "units": spec.units,
            "source": src,
            "long_name": spec.long_name,
            "definition": spec.definition,
        }
        if spec.is_angle:
            attrs["uncertainty"] = unc_deg
            attrs["uncertainty_deg"] = unc_deg
        elif spec.name == "knee_width_ratio" and np.isfinite(knee_width_unc):
            attrs["uncertainty"] = round(knee_width_unc, 3)
        elif spec.name.startswith("knee_inside_ankle_"):
            # A difference of two joint centres, each with the joint-centre error.
            attrs["uncertainty"] = round(float(np.sqrt(2.0)) * unc_ratio, 3)
        else:
            attrs["uncertainty"] = unc_ratio
        if spec.name.startswith("heel_lift_"):
            attrs["foot_length"] = foot_lengths[spec.name.rsplit("_", 1)[1]]
            attrs["foot_length_units"] = length_units
        da.attrs.update(attrs)
        result[spec.name] = da
    result["leg_length"] = xr.DataArray(
        leg_length,
        attrs={
            "units": length_units,
            "source": src,
            "long_name": "leg length",
            "definition": "hip -> knee plus knee -> ankle length, 90th percentile over the clip, "
            "mean of both sides",
            "uncertainty": unc_ratio * leg_length,
        },
    )
    result.attrs.update(
        source=src,
        individual=ind,
        facing=facing_attr,
        vertical="image -y (y points down)" if src == "2d" else "world -y (y points down)",
        leg_length=leg_length,
        leg_length_units=length_units,
        measurement=kind,
    )
    return result
