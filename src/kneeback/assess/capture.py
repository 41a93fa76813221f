"""Capture quality: whether this clip supports each metric, and with what uncertainty.

Checks the body is fully in frame, the landmarks are visible, the person is large enough, the
frame rate suffices for timings, and the view suits each metric. Every metric ends up either
measurable, with an uncertainty, or not measurable, with the reason and a filming tip
(REFERENCES.md rule 1 and "How accurate a single camera is").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from kneeback.movements.specs import ALL_METRICS
from kneeback.movements.view import ViewEstimate

__all__ = [
    "METRIC_SOURCES",
    "CaptureReport",
    "MetricStatus",
    "assess_capture",
    "metric_family",
    "metric_uncertainty",
]

#: Landmarks that must be in frame for lower-body analysis.
KEY_LANDMARKS: tuple[str, ...] = (
    "left_shoulder",
    "right_shoulder",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

_FRONTAL = {"knee_fppa_peak_deg", "knee_width_ratio_bottom", "knee_inside_ankle_bottom"}
_TIMING = {"descent_s", "bottom_s", "ascent_s", "duration_s"}
_WITHIN = {"wobble_knee_deg", "wobble_hip_height"}

#: Uncertainty (deg) of angles from single-camera world landmarks seen from an unsuitable view:
#: BlazePose knee flexion over all views -13.9 +- 15.1 deg (Cosoli et al. 2026).
WORLD_OFF_VIEW_UNCERTAINTY_DEG = 15.0

TIP_SIDE = "Film from the side, camera at hip height, whole body in frame, 2-3 m away."
TIP_FRONT = "Film from the front, camera at knee-to-hip height, whole body in frame."


def metric_family(name: str, /) -> str:
    """Return ``"sagittal"``, ``"frontal"``, ``"timing"`` or ``"within_person"`` for a metric."""
    if name in _FRONTAL:
        return "frontal"
    if name in _TIMING:
        return "timing"
    if name in _WITHIN:
        return "within_person"
    return "sagittal"


@dataclass(frozen=True)
class MetricStatus:
    """Whether one metric can be measured from this clip.

    Attributes
    ----------
    measurable
        True when the metric is reported.
    uncertainty
        Its uncertainty in its own unit (degrees for ``_deg`` metrics), when measurable.
    reason
        Why not (or why the uncertainty is large).
    tip
        How to film so that it can be measured.
    judgeable
        True when critique rules may judge the metric: the camera view shows it, or it comes
        from marker or depth-camera 3D data. A metric estimated from single-camera 3D landmarks
        of a view that cannot show it is reported, with its larger uncertainty, but not judged
        (REFERENCES.md rule 1).
    """

    measurable: bool
    uncertainty: float | None = None
    reason: str | None = None
    tip: str | None = None
    judgeable: bool = True


@dataclass(frozen=True)
class CaptureReport:
    """Capture quality of a clip.

    Attributes
    ----------
    in_frame
        Share of frames with all key landmarks detected and inside the image.
    visibility
        Median landmark visibility (confidence) of the key landmarks.
    body_height_fraction
        Standing body height over image height (None when the image size is unknown).
    fps
        Frame rate.
    view
        The camera view used for the judgement.
    source
        ``"2d"`` or ``"world"``: where the angles came from.
    measurement
        ``"marker"``, ``"depth_camera"``, ``"video_world"`` or ``"video_2d"``.
    issues
        Plain-language problems found.
    tips
        How to film better.
    metrics
        Metric name to :class:`MetricStatus`.
    people_in_view
        Most people seen at once in a video (None for other data).
    people_tracked
        People followed over the video (one of whom was analysed); None for other data.
    person_followed
        Which of them was analysed (0 = the one seen largest and longest); None for other data.
    """

    in_frame: float
    visibility: float | None
    body_height_fraction: float | None
    fps: float
    view: ViewEstimate
    source: str
    measurement: str
    issues: tuple[str, ...] = field(default_factory=tuple)
    tips: tuple[str, ...] = field(default_factory=tuple)
    metrics: dict[str, MetricStatus] = field(default_factory=dict)
    people_in_view: int | None = None
    people_tracked: int | None = None
    person_followed: int | None = None

    @property
    def ok(self) -> bool:
        """True when nothing was found that limits the analysis."""
        return not self.issues


def _keypoints_array(ds: xr.Dataset, ind: object) -> tuple[np.ndarray, list[str]]:
    pos = ds["position"].sel(individuals=ind).transpose("time", "space", "keypoints")
    return np.asarray(pos.values, dtype=np.float64), [str(k) for k in pos["keypoints"].values]


def assess_capture(
    ds: xr.Dataset,
    angles: xr.Dataset,
    view: ViewEstimate,
    /,
    *,
    min_visibility: float,
    min_body_height_fraction: float,
    min_fps: float,
    individual: str | None = None,
) -> CaptureReport:
    """Assess capture quality and decide which metrics are measurable.

    Parameters
    ----------
    ds
        The pose dataset.
    angles
        Its angle dataset (attrs ``source``, ``measurement``; variables with ``uncertainty``).
    view
        The recognised (or stated) view.
    min_visibility
        Median key-landmark visibility below this is flagged.
    min_body_height_fraction
        Standing body height below this fraction of the image height is flagged.
    min_fps
        Frame rates below this make timings not measurable.
    individual
        Which individual; the first by default.

    Returns
    -------
    CaptureReport
        The report, with a :class:`MetricStatus` for every metric of
        :data:`kneeback.movements.specs.ALL_METRICS`.
    """
    ind = individual if individual is not None else ds["individuals"].values[0]
    pos, names = _keypoints_array(ds, ind)
    idx = [names.index(k) for k in KEY_LANDMARKS if k in names]
    key = pos[:, :, idx]
    width = float(ds.attrs.get("width", 0) or 0)
    height = float(ds.attrs.get("height", 0) or 0)
    detected = np.isfinite(key).all(axis=(1, 2))
    if width > 0 and height > 0:
        inside = (
            (key[:, 0] >= 0) & (key[:, 0] <= width) & (key[:, 1] >= 0) & (key[:, 1] <= height)
        ).all(axis=1)
        in_frame = float(np.mean(detected & inside)) if key.shape[0] else 0.0
    else:
        in_frame = float(np.mean(detected)) if key.shape[0] else 0.0
    conf = ds["confidence"].sel(individuals=ind).transpose("time", "keypoints").values[:, idx]
    visibility = float(np.nanmedian(conf)) if np.isfinite(conf).any() else None
    body_frac: float | None = None
    seen = np.isfinite(pos[:, 1]).any(axis=1)  # frames where any key landmark was found
    if height > 0 and seen.any():
        ys = pos[seen, 1]
        extent = np.nanmax(ys, axis=1) - np.nanmin(ys, axis=1)
        body_frac = float(np.percentile(extent, 90) / height)
    fps = float(ds.attrs.get("fps", float("nan")))
    source = str(angles.attrs.get("source", "2d"))
    measurement = str(angles.attrs.get("measurement", "video_2d" if source == "2d" else "world"))

    issues: list[str] = []
    tips: list[str] = []
    if in_frame < 0.9:
        issues.append(f"The whole body was in frame in only {in_frame:.0%} of the frames.")
        tips.append("Step back or turn the phone so that head and feet stay in the picture.")
    if visibility is not None and visibility < min_visibility:
        issues.append(f"Landmarks were hard to see (median visibility {visibility:.2f}).")
        tips.append("Film in good light, against a plain background, in fitted clothes.")
    if body_frac is not None and body_frac < min_body_height_fraction:
        issues.append(f"The person fills only {body_frac:.0%} of the picture height.")
        tips.append("Move the camera closer so that the body fills most of the picture height.")
    if np.isfinite(fps) and fps < min_fps:
        issues.append(f"The frame rate ({fps:.0f} frames/s) is too low for timing the phases.")
        tips.append("Record at 30 frames per second or more.")
    in_view = _count(ds.attrs.get("max_people_in_frame"))
    followed = _count(ds.attrs.get("subject_track"))
    if in_view is not None and in_view > 1:
        who = (
            "the person seen largest and longest"
            if not followed
            else f"tracked person {followed}, as asked (0 is the one seen largest and longest)"
        )
        issues.append(
            f"Up to {in_view} people were in view at once; the analysis followed one of them, "
            f"{who}."
        )
        tips.append(
            "Film with nobody else in the picture, and check in the annotated video that the "
            "right person was followed."
        )

    statuses = {
        name: _metric_status(name, angles, view, measurement, fps, min_fps) for name in ALL_METRICS
    }
    if view.name in ("unknown", "oblique") and measurement == "video_2d":
        tips.append(TIP_SIDE)
    return CaptureReport(
        in_frame=round(in_frame, 3),
        visibility=None if visibility is None else round(visibility, 3),
        body_height_fraction=None if body_frac is None else round(body_frac, 3),
        fps=fps,
        view=view,
        source=source,
        measurement=measurement,
        issues=tuple(issues),
        tips=tuple(dict.fromkeys(tips)),
        metrics=statuses,
        people_in_view=in_view,
        people_tracked=_count(ds.attrs.get("people_seen")),
        person_followed=followed,
    )


def _count(value: object) -> int | None:
    """Read a people count from a dataset attr (None when absent or not a number)."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _bilateral(stem: str) -> tuple[str, str]:
    return f"{stem}_left", f"{stem}_right"


#: The angle-dataset variables each metric is computed from (see
#: :func:`kneeback.movements.metrics.rep_metrics`): a metric's uncertainty is that of these
#: variables, so that a front view's FPPA (from the image) and its knee flexion (from the 3D
#: estimate) each get their own.
METRIC_SOURCES: dict[str, tuple[str, ...]] = {
    "knee_flexion_peak_deg": _bilateral("knee_flexion"),
    "knee_flexion_peak_left_deg": ("knee_flexion_left",),
    "knee_flexion_peak_right_deg": ("knee_flexion_right",),
    "hip_flexion_peak_deg": _bilateral("hip_flexion"),
    "trunk_inclination_peak_deg": ("trunk_inclination",),
    "hip_below_knee": _bilateral("hip_height_rel_knee"),
    "thigh_angle_bottom_deg": _bilateral("hip_height_rel_knee"),
    "tibia_inclination_bottom_deg": _bilateral("tibia_inclination"),
    "trunk_minus_tibia_bottom_deg": _bilateral("trunk_minus_tibia"),
    "trunk_minus_tibia_peak_deg": _bilateral("trunk_minus_tibia"),
    "heel_lift_peak": _bilateral("heel_lift"),
    "knee_fppa_peak_deg": _bilateral("knee_fppa"),
    "knee_width_ratio_bottom": ("knee_width_ratio",),
    "knee_inside_ankle_bottom": _bilateral("knee_inside_ankle"),
    "knee_flexion_asymmetry_deg": _bilateral("knee_flexion"),
    "strategy_index": ("hip_height_rel_leg", "trunk_inclination"),
    "wobble_knee_deg": _bilateral("knee_flexion"),
    "wobble_hip_height": ("hip_height_rel_leg",),
}

#: Angle uncertainty (deg) when the angle dataset records none: single-camera lateral-view MAE.
DEFAULT_ANGLE_UNCERTAINTY_DEG = 7.0


def _finite(value: object) -> float | None:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _source_of(angles: xr.Dataset, name: str) -> str:
    """``"2d"`` or ``"world"``: where a metric's variables came from."""
    for var in METRIC_SOURCES.get(name, ()):
        if var in angles and angles[var].attrs.get("source"):
            return str(angles[var].attrs["source"])
    return str(angles.attrs.get("source", "2d"))


def _degree_uncertainty(angles: xr.Dataset, source: str) -> float:
    """Return the angle uncertainty (deg) of the variables that came from ``source``."""
    for var in angles.data_vars:
        attrs = angles[var].attrs
        if str(attrs.get("source", angles.attrs.get("source", ""))) != source:
            continue
        unc = _finite(attrs.get("uncertainty_deg"))
        if unc is not None:
            return unc
    return DEFAULT_ANGLE_UNCERTAINTY_DEG


def metric_uncertainty(angles: xr.Dataset, name: str, /) -> float | None:
    """Uncertainty of one metric, in its own unit, from the variables it is computed from.

    Parameters
    ----------
    angles
        The angle dataset (variables with ``source``, ``uncertainty``, ``uncertainty_deg``).
    name
        A metric of :data:`kneeback.movements.specs.ALL_METRICS`.

    Returns
    -------
    float or None
        Degrees for ``_deg`` metrics (the largest ``uncertainty_deg`` among its variables, or
        that of the angles with the same source when its variables are not angles); the
        variables' own ``uncertainty`` for ratios; None for booleans, the strategy index and
        timings.
    """
    sources = [v for v in METRIC_SOURCES.get(name, ()) if v in angles]
    if name.endswith("_deg"):
        degs = [
            u for v in sources if (u := _finite(angles[v].attrs.get("uncertainty_deg"))) is not None
        ]
        if degs:
            return max(degs)
        return _degree_uncertainty(angles, _source_of(angles, name))
    if name in ("hip_below_knee", "strategy_index") or not sources:
        return None
    vals = [u for v in sources if (u := _finite(angles[v].attrs.get("uncertainty"))) is not None]
    return max(vals) if vals else None


def _metric_status(
    name: str,
    angles: xr.Dataset,
    view: ViewEstimate,
    measurement: str,
    fps: float,
    min_fps: float,
) -> MetricStatus:
    family = metric_family(name)
    unc = metric_uncertainty(angles, name)
    if family == "timing":
        if np.isfinite(fps) and fps < min_fps:
            return MetricStatus(
                False, reason="frame rate too low for timing", tip="Record at 30 frames/s."
            )
        return MetricStatus(True, uncertainty=2.0 / fps if np.isfinite(fps) and fps > 0 else None)
    if family == "within_person":
        return MetricStatus(
            True, uncertainty=unc, reason="for comparison within the same person and setup only"
        )
    three_d = _source_of(angles, name) == "world"
    good_3d = three_d and measurement in ("marker", "depth_camera")
    if family == "sagittal":
        suited = view.name in ("side", "oblique")
        tip = TIP_SIDE
        what = (
            "a bending angle seen from the side"
            if name.endswith("_deg")
            else "a side-view measure (heights and proportions of the bend)"
        )
    else:
        suited = view.name in ("front", "back")
        tip = TIP_FRONT
        what = "a knee position seen from the front"
    if good_3d or (suited and view.name != "oblique"):
        return MetricStatus(True, uncertainty=unc)
    if suited:  # oblique view: usable (45-90 deg works) with a larger error
        return MetricStatus(
            True,
            uncertainty=None if unc is None else unc * 1.5,
            reason="oblique view: larger error than from a square-on view",
            tip=tip,
        )
    if three_d:
        # REFERENCES.md rule 1: reported from the single-camera 3D estimate, never judged.
        return MetricStatus(
            True,
            uncertainty=(
                unc
                if unc is None or not name.endswith("_deg")
                else max(unc, WORLD_OFF_VIEW_UNCERTAINTY_DEG)
            ),
            reason=f"{what}, here from the 3D estimate with a larger error; shown, not judged",
            tip=tip,
            judgeable=False,
        )
    return MetricStatus(
        False,
        reason=f"{what} cannot be measured in 2D from a {view.name} view",
        tip=tip,
        judgeable=False,
    )
