"""The movement engine: pose dataset in, :class:`~kneeback.report.result.AnalysisResult` out.

``preprocess -> compute_angles -> recognise view and movement -> reps -> per-rep metrics ->
capture quality -> critique``. Pure compute: no files, no video, no database.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import xarray as xr

from kneeback.assess.capture import CaptureReport, assess_capture
from kneeback.assess.critique import (
    Finding,
    Tolerances,
    clip_findings,
    clip_verdict,
    critique_rep,
    rep_verdict,
)
from kneeback.kinematics import compute_angles
from kneeback.kinematics.body import side_mean
from kneeback.movements.metrics import TRUNK_TO_LEG_RATIO, rep_metrics
from kneeback.movements.reach import hands_below_knees
from kneeback.movements.recognise import MovementEstimate, recognise_movement
from kneeback.movements.reps import Rep, chair_stand_tests, detect_reps, driving_signal, rep_side
from kneeback.movements.specs import (
    MIN_HIP_LOWERING_PCT,
    MOVEMENT_NAMES,
    MovementSpec,
    get_spec,
)
from kneeback.movements.stance import hip_height_over_stance
from kneeback.movements.travel import feet_planted, feet_speed
from kneeback.movements.view import ViewEstimate, recognise_view
from kneeback.processing import preprocess
from kneeback.report.result import (
    AnalysisResult,
    CaptureInfo,
    FindingInfo,
    MetricInfo,
    MovementInfo,
    PhaseInfo,
    RepInfo,
    TestsInfo,
    ViewInfo,
)
from kneeback.schema import validate_pose_dataset
from kneeback.settings import AnalysisSettings

__all__ = ["VIEW_NAMES", "AnalysisOutput", "analyse", "analyse_detailed"]

VIEW_NAMES: tuple[str, ...] = ("side", "front", "back", "oblique")

#: Angle variables that describe the frontal plane; the rest are sagittal.
#: The shortest clip that can hold a whole repetition: 1 s down and 1 s up (REFERENCES.md, rep
#: tempo 1-2 s each way); a clip without reps that is shorter is said to be too short.
MIN_WHOLE_REP_S = 2.0
TIP_WHOLE_SET = "Film the whole set: start filming while standing, and stop after the last rise."

_FRONTAL_VARS = (
    "knee_fppa_left",
    "knee_fppa_right",
    "pelvis_drop",
    "knee_width_ratio",
    "knee_inside_ankle_left",
    "knee_inside_ankle_right",
)


def _angles(ds: xr.Dataset, view: str, source: str) -> xr.Dataset:
    """Compute angles, taking each plane from the data that can show it.

    With ``source="auto"``, a video seen from the front that also has 3D world landmarks gets its
    sagittal angles from the world landmarks (with a larger uncertainty, see
    :mod:`kneeback.assess.capture`) and its frontal ones from the image; a side view the other way.
    """
    if source != "auto":
        return compute_angles(ds, source=source)  # type: ignore[arg-type]
    angles = compute_angles(ds, source="auto")
    if "position_world" not in ds or angles.attrs.get("source") == "world":
        return angles
    if view not in ("front", "back", "side"):
        return angles
    world = compute_angles(ds, source="world")
    mixed = angles.copy()
    for name in world.data_vars:
        if name == "leg_length":
            continue
        frontal = name in _FRONTAL_VARS
        if (view == "side" and frontal) or (view in ("front", "back") and not frontal):
            mixed[name] = world[name]
    return mixed


def _trunk_to_leg(ds: xr.Dataset, angles: xr.Dataset) -> float:
    """Trunk over leg length measured in the data the sagittal angles came from."""
    src = str(angles["knee_flexion_left"].attrs.get("source", angles.attrs.get("source", "2d")))
    var = "position_world" if src == "world" and "position_world" in ds else "position"
    pts = ds[var].isel(individuals=0)
    dim = "space3" if var == "position_world" else "space"
    names = [str(k) for k in pts["keypoints"].values]

    def p(n: str) -> np.ndarray:
        if n not in names:
            return np.full((pts.sizes["time"], pts.sizes[dim]), np.nan)
        return np.asarray(pts.sel(keypoints=n).transpose("time", dim).values, dtype=np.float64)

    sh = 0.5 * (p("left_shoulder") + p("right_shoulder"))
    hip = 0.5 * (p("left_hip") + p("right_hip"))
    legs = []
    for s in ("left", "right"):
        legs.append(
            np.linalg.norm(p(f"{s}_knee") - p(f"{s}_hip"), axis=1)
            + np.linalg.norm(p(f"{s}_ankle") - p(f"{s}_knee"), axis=1)
        )
    trunk = np.linalg.norm(sh - hip, axis=1)
    leg = side_mean(legs[0], legs[1])
    if not (np.isfinite(trunk).any() and np.isfinite(leg).any()):
        return TRUNK_TO_LEG_RATIO
    ratio = float(np.nanpercentile(trunk, 90) / np.nanpercentile(leg, 90))
    return ratio if 0.3 < ratio < 1.0 else TRUNK_TO_LEG_RATIO


def _finding_info(f: Finding) -> FindingInfo:
    return FindingInfo(
        id=f.rule_id,
        severity=f.severity,
        grade=f.grade,
        source=f.source,
        title=f.title,
        text=f.text,
        cue=f.cue,
        rep=f.rep,
        time_s=f.time_s,
        value=None if f.value is None else round(float(f.value), 3),
        threshold=f.threshold,
    )


def _round(v: float | bool | None) -> float | bool | None:
    if v is None or isinstance(v, bool):
        return v
    return round(float(v), 3) if np.isfinite(v) else None


def _span_s(t: np.ndarray, fps: float) -> float | None:
    """Return the analysed span's length: first frame to last, plus one frame's duration."""
    if not t.size:
        return None
    frame = 1.0 / fps if np.isfinite(fps) and fps > 0 else 0.0
    return round(float(t[-1] - t[0]) + frame, 3)


def _capture_info(capture: CaptureReport, *, duration_s: float | None) -> CaptureInfo:
    return CaptureInfo(
        in_frame=capture.in_frame,
        visibility=capture.visibility,
        body_height_fraction=capture.body_height_fraction,
        fps=capture.fps if np.isfinite(capture.fps) else None,
        duration_s=duration_s,
        source=capture.source,
        measurement=capture.measurement,
        issues=list(capture.issues),
        tips=list(capture.tips),
        people_in_view=capture.people_in_view,
        people_tracked=capture.people_tracked,
        person_followed=capture.person_followed,
        metrics={
            k: MetricInfo(
                measurable=s.measurable,
                uncertainty=None if s.uncertainty is None else round(s.uncertainty, 3),
                reason=s.reason,
                tip=s.tip,
                judgeable=s.measurable and s.judgeable,
            )
            for k, s in capture.metrics.items()
        },
    )


@dataclasses.dataclass(frozen=True)
class AnalysisOutput:
    """Everything :func:`analyse_detailed` computed, for plots and annotated videos.

    Attributes
    ----------
    result
        The analysis result, as returned by :func:`analyse`.
    angles
        The angle time series actually used (over ``time``), each variable with its ``source``
        (``"2d"`` or ``"world"``) and units in attrs.
    processed
        The preprocessed pose dataset (confidence-masked, gap-filled, low-passed).
    """

    result: AnalysisResult
    angles: xr.Dataset
    processed: xr.Dataset


def _detect_reps(
    angles: xr.Dataset,
    spec: MovementSpec,
    settings: AnalysisSettings,
    speed: np.ndarray,
    *,
    no_sagittal: bool,
) -> list[Rep]:
    """Find the repetitions of ``spec``'s driving signal (the hips' lowering from the front).

    Excursions at whose bottom the feet kept moving (walking strides, see
    :mod:`kneeback.movements.travel`) are not repetitions and are left out.
    """
    kind, min_exc = spec.driving_signal, spec.min_excursion_deg
    if no_sagittal:
        kind, min_exc = "hip_lowering", MIN_HIP_LOWERING_PCT
    found = detect_reps(
        driving_signal(angles, kind=kind),
        time_s=np.asarray(angles["time"].values, dtype=np.float64),
        upper_fraction=settings.rep_upper_fraction,
        lower_fraction=settings.rep_lower_fraction,
        min_excursion=min_exc,
        min_duration_s=settings.rep_min_duration_s,
        partial_fraction=settings.rep_partial_fraction,
        bottom_fraction=settings.rep_bottom_fraction,
        min_pause_s=settings.rep_min_pause_s,
    )
    in_place = [r for r in found if feet_planted(speed, r)]
    return [dataclasses.replace(r, index=i) for i, r in enumerate(in_place)]


def analyse(
    dataset: xr.Dataset,
    /,
    *,
    movement: str = "auto",
    view: str = "auto",
    settings: AnalysisSettings | None = None,
    source: str = "auto",
) -> AnalysisResult:
    """Analyse a movement clip.

    Same as ``analyse_detailed(...).result``; see :func:`analyse_detailed` for the parameters.
    """
    return analyse_detailed(
        dataset, movement=movement, view=view, settings=settings, source=source
    ).result


def analyse_detailed(
    dataset: xr.Dataset,
    /,
    *,
    movement: str = "auto",
    view: str = "auto",
    settings: AnalysisSettings | None = None,
    source: str = "auto",
) -> AnalysisOutput:
    """Analyse a movement clip and keep the intermediate time series.

    Parameters
    ----------
    dataset
        A pose dataset (see :mod:`kneeback.schema`).
    movement
        ``"auto"`` to recognise it, or one of :data:`kneeback.movements.specs.MOVEMENT_NAMES`.
        A stated movement is used as stated; the result says when what was seen disagrees.
    view
        ``"auto"`` to recognise it, or ``"side"``, ``"front"``, ``"back"``, ``"oblique"``.
    settings
        Analysis settings; defaults to :class:`~kneeback.settings.AnalysisSettings`.
    source
        Where angles come from: ``"auto"``, ``"2d"`` (image) or ``"world"`` (3D landmarks).

    Returns
    -------
    AnalysisOutput
        ``result``: movement, view, capture quality, reps with phases, metrics and verdicts,
        findings with their evidence, the clip verdict and (for sit-to-stand) the chair-stand
        tests; ``angles``: the angle time series used; ``processed``: the preprocessed pose data.
    """
    settings = settings or AnalysisSettings()
    if movement != "auto" and movement not in MOVEMENT_NAMES:
        raise ValueError(f"Unknown movement {movement!r}; choose 'auto' or {MOVEMENT_NAMES}.")
    if view != "auto" and view not in VIEW_NAMES:
        raise ValueError(f"Unknown view {view!r}; choose 'auto' or one of {VIEW_NAMES}.")
    ds = preprocess(validate_pose_dataset(dataset), settings=settings)

    seen_view = recognise_view(ds)
    used_view = seen_view.name if view == "auto" else view
    view_est = (
        seen_view
        if view == "auto"
        else ViewEstimate(
            name=used_view,  # type: ignore[arg-type]
            angle_deg=seen_view.angle_deg,
            confidence=seen_view.confidence,
            facing=seen_view.facing,
        )
    )
    angles = _angles(ds, used_view, source)
    sagittal_2d = angles["knee_flexion_left"].attrs.get("source") == "2d"
    # REFERENCES.md rule 1: from the front, 2D bending angles say nothing; recognise without them.
    no_sagittal = sagittal_2d and used_view in ("front", "back")

    speed = feet_speed(ds)
    move: MovementEstimate = recognise_movement(
        angles,
        stated=None if movement == "auto" else movement,
        sagittal=not no_sagittal,
        feet_speed=speed,
        stance_hip=hip_height_over_stance(ds),
        hands_low=hands_below_knees(ds),
    )
    spec = get_spec(move.used)
    reps = _detect_reps(angles, spec, settings, speed, no_sagittal=no_sagittal)
    t = np.asarray(angles["time"].values, dtype=np.float64)
    if spec.per_side:
        reps = [
            dataclasses.replace(r, side=rep_side(angles, r, lateral=spec.name == "side_lunge"))
            for r in reps
        ]

    capture = assess_capture(
        ds,
        angles,
        view_est,
        min_visibility=settings.min_visibility,
        min_body_height_fraction=settings.min_body_height_fraction,
        min_fps=settings.min_fps,
    )
    clip_s = float(t[-1] - t[0]) if t.size else 0.0
    if not reps and clip_s < MIN_WHOLE_REP_S:  # first: nothing else matters until it is mended
        capture = dataclasses.replace(
            capture,
            issues=(
                f"The clip lasts only {clip_s:.1f} s, too short for a whole repetition (1-2 s "
                "down and 1-2 s up).",
                *capture.issues,
            ),
            tips=(TIP_WHOLE_SET, *capture.tips),
        )
    tolerances = Tolerances.from_settings(settings)
    trunk_to_leg = _trunk_to_leg(ds, angles)

    rep_infos: list[RepInfo] = []
    findings: list[Finding] = []
    verdicts = []
    for r in reps:
        raw = rep_metrics(angles, r, per_side=spec.per_side, trunk_to_leg=trunk_to_leg)
        metrics: dict[str, float | bool | None] = {}
        for name in spec.metrics:
            status = capture.metrics.get(name)
            metrics[name] = _round(raw.get(name)) if status is None or status.measurable else None
        rep_findings = critique_rep(
            metrics,
            spec=spec,
            capture=capture,
            tolerances=tolerances,
            rep=r.index,
            time_s=r.peak_s,
            partial=r.partial,
        )
        # A movement that was not recognised has no rules to judge it by.
        verdict = "not_assessed" if spec.name == "other" else rep_verdict(rep_findings)
        verdicts.append(verdict)
        findings.extend(rep_findings)
        rep_infos.append(
            RepInfo(
                index=r.index,
                start_s=round(r.start_s, 3),
                end_s=round(r.end_s, 3),
                peak_s=round(r.peak_s, 3),
                side=r.side,
                partial=r.partial,
                phases=[
                    PhaseInfo(name=p.name, start_s=round(p.start_s, 3), end_s=round(p.end_s, 3))
                    for p in r.phases
                ],
                metrics=metrics,
                verdict=verdict,
                findings=list(dict.fromkeys(f.rule_id for f in rep_findings)),
            )
        )

    tests: TestsInfo | None = None
    test_values: dict[str, Any] | None = None
    if spec.name == "sit_to_stand":
        test_values = chair_stand_tests(reps, clip_end_s=float(t[-1]) if t.size else 0.0)
        tests = TestsInfo(**test_values)
    findings.extend(clip_findings(spec=spec, capture=capture, tests=test_values))

    result = AnalysisResult(
        movement=MovementInfo(
            stated=move.stated,
            recognised=move.recognised,
            used=move.used,
            agreement=move.agreement,
            confidence=move.confidence,
            reasons=list(move.reasons),
            message=move.message,
            features={k: (None if not np.isfinite(v) else v) for k, v in move.features.items()},
        ),
        view=ViewInfo(
            stated=None if view == "auto" else view,
            recognised=seen_view.name,
            used=used_view,
            agreement=None if view == "auto" else view == seen_view.name,
            angle_deg=None if seen_view.angle_deg is None else round(seen_view.angle_deg, 1),
            confidence=seen_view.confidence,
            facing=seen_view.facing,
        ),
        capture=_capture_info(capture, duration_s=_span_s(t, capture.fps)),
        reps=rep_infos,
        findings=[_finding_info(f) for f in findings],
        verdict=clip_verdict(verdicts, partial=[r.partial for r in reps]),
        tests=tests,
        settings=settings.model_dump(),
    )
    return AnalysisOutput(result=result, angles=angles, processed=ds)
