"""The annotated video: skeleton, angles, rep counter and phase, and the findings' captions.

The source clip is drawn on with the skeleton, the angles that matter, the rep counter and phase,
and each finding's caption while its rep is on screen.

Three layers, in the style of ``supervision`` (``annotate(scene, ...) -> scene``):

* :class:`Annotator` turns an analysis (result, angle time series, pose) into an :class:`Overlay`
  for any moment of the clip (:meth:`Annotator.overlay_at`), and draws it
  (:meth:`Annotator.annotate`);
* :func:`draw_overlay` draws an overlay on an RGB image: skeleton and joint labels with OpenCV
  (anti-aliased lines), text with Pillow (its built-in scalable font, so no font file is needed);
  sizes scale with the image so that the text stays readable on a phone;
* :func:`write_annotated_video` decodes the clip upright (:func:`kneeback.io.video.iter_frames`),
  annotates every frame and writes an H.264 MP4 (:class:`kneeback.io.video_writer.VideoWriter`)
  with the same frames at the same times, downscaled to at most ``max_side_px``.

Which angles are drawn follows the result: for side and oblique views, knee flexion and hip
flexion on the side nearer the camera and trunk inclination (with a vertical reference line); for
front and back views, the knee frontal plane projection angle (FPPA) at both knees, and knee
flexion when the analysis measured it from the 3D landmarks. An angle the capture report marks
not measurable is never drawn; one with an uncertainty above 10 deg is shown as ``~95°``, and a
note under the title says what the ``~`` means (a rough estimate, and "not judged" where no rule
reads it from this view: a front view's knee flexion from the 3D landmarks). Where
knee tracking is judged (squats and sit-to-stands seen from the front or back), a dashed line
rises from each ankle at the inner edge of the foot as the rule sees it (the allowance plus the
measurement error, :func:`kneeback.assess.critique.rule_limit`): green while the knee stays
outside it, red when the knee passes it. Where heels are judged (squats from the side), a heel
that has risen beyond the rule's allowance is ringed in red and labelled.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import xarray as xr
from PIL import Image, ImageDraw, ImageFont

from kneeback.assess.critique import Tolerances, rule_limit
from kneeback.assess.rules import RULES
from kneeback.io.video import iter_frames, probe_video
from kneeback.io.video_writer import VideoWriter
from kneeback.kinematics.body import leg_length
from kneeback.movements.specs import MOVEMENT_NAMES, get_spec
from kneeback.report.exports import ANGLE_METRIC, angle_measurable
from kneeback.report.result import AnalysisResult, FindingInfo, RepInfo
from kneeback.settings import AnalysisSettings
from kneeback.skeletons import BLAZEPOSE_EDGES, FACE_KEYPOINTS

__all__ = [
    "MAX_SIDE_PX",
    "AngleLabel",
    "Annotator",
    "Caption",
    "FootEdge",
    "Overlay",
    "draw_overlay",
    "write_annotated_video",
]

MAX_SIDE_PX = 1280
"""Default longest side of the annotated video, in pixels (larger sources are downscaled)."""

HOLD_S = 1.5
"""How long a rep's captions stay on screen after the rep ends (unless the next rep starts)."""

UNCERTAIN_DEG = 10.0
"""Angles with a larger uncertainty are drawn with a ``~``."""

RGB = tuple[int, int, int]

LEFT: RGB = (255, 170, 50)
RIGHT: RGB = (50, 170, 255)
CENTRE: RGB = (240, 240, 240)
SEVERITY_COLOURS: dict[str, RGB] = {
    "major": (240, 95, 80),
    "minor": (245, 200, 60),
    "info": (120, 160, 220),
    "positive": (70, 190, 90),
}
VERDICT_COLOURS: dict[str, RGB] = {
    "good": SEVERITY_COLOURS["positive"],
    "needs_work": SEVERITY_COLOURS["major"],
    "not_assessed": SEVERITY_COLOURS["info"],
}
_SEVERITY_ORDER = {"major": 0, "minor": 1, "info": 2, "positive": 3}
_VERDICT_TEXT = {"good": "good", "needs_work": "needs work", "not_assessed": "not assessed"}
_MAX_CHIPS = 4

ProgressCallback = Callable[[int, int], None]


# --------------------------------------------------------------------------------------------------
# What to draw


@dataclass(frozen=True)
class AngleLabel:
    """A value drawn beside a joint.

    Attributes
    ----------
    xy
        The joint, in pixels of the full-resolution upright picture.
    text
        What to write, e.g. ``"knee 95°"``.
    colour
        RGB colour of the label's marker (the side of the body).
    direction
        +1 to place the label right of the joint, -1 left of it.
    """

    xy: tuple[float, float]
    text: str
    colour: RGB
    direction: int = 1


@dataclass(frozen=True)
class Caption:
    """A finding's short caption."""

    text: str
    severity: str


@dataclass(frozen=True)
class FootEdge:
    """The inner edge of one foot as the knee-tracking rule sees it, drawn up from the ankle.

    Attributes
    ----------
    x
        Image x of the line, in pixels of the full-resolution upright picture.
    y_ankle, y_knee
        Where the line starts (the ankle) and ends (the knee).
    passed
        Whether the knee is further inside than the line at this moment.
    """

    x: float
    y_ankle: float
    y_knee: float
    passed: bool


@dataclass(frozen=True)
class Overlay:
    """Everything drawn on one frame.

    Attributes
    ----------
    keypoints
        ``(keypoints, 2)`` positions in pixels of the full-resolution upright picture, NaN where
        unknown (empty when no pose is known at this time).
    names
        Keypoint names, in the order of ``keypoints``.
    labels
        Angle values beside the joints.
    title
        Movement and view, e.g. ``"Squat · front view"``.
    note
        What a ``~`` before an angle means, when one is drawn (e.g. ``"~ rough estimate, not
        judged"``), else ``""``.
    counter
        Rep counter, e.g. ``"Rep 2 / 3"``.
    phase
        Phase of the rep (``"descent"``, ``"bottom"``, ``"ascent"``, ``"pause"``) or the rep's
        verdict once it has ended.
    phase_colour
        Colour of the phase text.
    captions
        Findings of the rep on screen (or of the clip, after the last rep).
    cue
        The most useful cue among them, or ``""``.
    trunk_reference
        ``(hip centre, shoulder centre)`` when the trunk inclination is drawn, for a vertical
        reference line.
    foot_edges
        The feet's inner edges for knee tracking (front and back views).
    raised_heels
        Heels risen beyond the heel rule's allowance at this moment (side views), in pixels.
    """

    keypoints: np.ndarray = field(repr=False)
    names: tuple[str, ...]
    labels: tuple[AngleLabel, ...] = ()
    title: str = ""
    note: str = ""
    counter: str = ""
    phase: str = ""
    phase_colour: RGB = CENTRE
    captions: tuple[Caption, ...] = ()
    cue: str = ""
    trunk_reference: tuple[tuple[float, float], tuple[float, float]] | None = None
    foot_edges: tuple[FootEdge, ...] = ()
    raised_heels: tuple[tuple[float, float], ...] = ()


# --------------------------------------------------------------------------------------------------
# From the analysis to overlays


def _nearest(times: np.ndarray, t: float, tolerance: float) -> int | None:
    if times.size == 0:
        return None
    i = int(np.searchsorted(times, t))
    best = min((j for j in (i - 1, i) if 0 <= j < times.size), key=lambda j: abs(times[j] - t))
    return best if abs(times[best] - t) <= tolerance else None


def _tolerance(times: np.ndarray) -> float:
    dt = np.diff(times)
    return float(np.median(dt)) / 2 + 1e-6 if dt.size else math.inf


def _pretty(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _degrees(value: float, uncertainty: float | None) -> str:
    approx = "~" if uncertainty is not None and uncertainty > UNCERTAIN_DEG else ""
    return f"{approx}{round(value):d}°"  # round(), not :.0f, so that -0.4 shows as 0


class Annotator:
    """Overlays for the moments of an analysed clip, and drawing them on frames.

    Parameters
    ----------
    result
        The analysis result: movement, view, reps with phases, findings, measurability.
    angles
        The angle time series the analysis used (``AnalysisOutput.angles``).
    pose
        The pose dataset whose ``position`` (pixels of the upright video) draws the skeleton;
        normally the preprocessed one (``AnalysisOutput.processed``).
    """

    def __init__(self, result: AnalysisResult, angles: xr.Dataset, pose: xr.Dataset, /) -> None:
        self.result = result
        self._angle_t = np.asarray(angles["time"].values, dtype=np.float64)
        self._angle_tol = _tolerance(self._angle_t)
        pos = pose["position"].isel(individuals=0).transpose("time", "keypoints", "space")
        self._pos = np.asarray(pos.values, dtype=np.float64)
        self._pose_t = np.asarray(pose["time"].values, dtype=np.float64)
        self._pose_tol = _tolerance(self._pose_t)
        self.names: tuple[str, ...] = tuple(str(k) for k in pose["keypoints"].values)
        self._index = {n: i for i, n in enumerate(self.names)}
        self.view = result.view.used
        self._sides = self._shown_sides(pose)
        self._series = self._choose_series(angles)
        self._edge_px = self._foot_edge_offset(pose)
        self._heel_limit = self._judged_limit("heel_lift", "heel_lift_peak")
        self._heel_lift = {
            side: np.asarray(angles[f"heel_lift_{side}"].values, dtype=np.float64)
            for side in ("left", "right")
            if f"heel_lift_{side}" in angles
        }
        self.title = f"{_pretty(result.movement.used)} · {result.view.used} view"
        self.note = self._approx_note()
        self._reps = sorted(result.reps, key=lambda r: r.start_s)
        self._rep_findings: dict[int, list[FindingInfo]] = {}
        for f in result.findings:
            if f.rep is not None:
                self._rep_findings.setdefault(f.rep, []).append(f)
        self._clip_findings = [f for f in result.findings if f.rep is None]

    # ---------------------------------------------------------------------------------------------
    def _shown_sides(self, pose: xr.Dataset) -> tuple[str, ...]:
        """Both sides for front and back views; the better-seen side otherwise."""
        if self.view in ("front", "back"):
            return ("left", "right")
        conf = pose["confidence"].isel(individuals=0)
        score = {}
        for side in ("left", "right"):
            names = [
                f"{side}_{j}" for j in ("hip", "knee", "ankle") if f"{side}_{j}" in self._index
            ]
            vals = np.asarray(conf.sel(keypoints=names).values, dtype=np.float64).ravel()
            score[side] = float(np.nanmean(vals)) if np.isfinite(vals).any() else -1.0
        return (max(score, key=lambda s: score[s]),)

    def _approx_note(self) -> str:
        """Say what the ``~`` of the rough angles drawn means; ``""`` when none is rough."""
        rough = [
            self.result.capture.metrics.get(
                ANGLE_METRIC.get(var.removesuffix("_left").removesuffix("_right"), "")
            )
            for var, *_ in self._series
            if (u := angle_measurable(self.result, var)[1]) is not None and u > UNCERTAIN_DEG
        ]
        if not rough:
            return ""
        if all(status is not None and not status.judgeable for status in rough):
            return "~ rough estimate, not judged"
        return "~ rough estimate"

    def _judged_limit(self, rule_id: str, metric: str) -> float | None:
        """Return the limit a rule applies to this clip, None where it does not judge it."""
        used = self.result.movement.used
        status = self.result.capture.metrics.get(metric)
        if (
            self.view not in RULES[rule_id].views
            or used not in MOVEMENT_NAMES
            or rule_id not in get_spec(used).rules
            or status is None
            or not (status.measurable and status.judgeable)
        ):
            return None
        known = AnalysisSettings.model_fields
        settings = AnalysisSettings.model_validate(
            {k: v for k, v in self.result.settings.items() if k in known}
        )
        tolerances = Tolerances.from_settings(settings)
        return rule_limit(rule_id, tolerances, uncertainty=status.uncertainty)

    def _foot_edge_offset(self, pose: xr.Dataset) -> float | None:
        """How far inside its ankle a knee may go, in pixels; None where it is not judged."""
        limit = self._judged_limit("knee_tracking", "knee_inside_ankle_bottom")
        if limit is None:
            return None
        leg_px = leg_length(pose["position"].isel(individuals=0))
        return limit * leg_px if np.isfinite(leg_px) else None

    def _raised_heels(self, kp: np.ndarray, ai: int | None) -> tuple[tuple[float, float], ...]:
        if self._heel_limit is None or ai is None or kp.size == 0:
            return ()
        out = []
        for side in self._sides:
            lift = self._heel_lift.get(side)
            heel = self._point(kp, f"{side}_heel")
            if lift is not None and heel is not None and lift[ai] > self._heel_limit:
                out.append((float(heel[0]), float(heel[1])))
        return tuple(out)

    def _foot_edges(self, kp: np.ndarray) -> tuple[FootEdge, ...]:
        if self._edge_px is None or kp.size == 0:
            return ()
        edges = []
        for side, other in (("left", "right"), ("right", "left")):
            hip, other_hip = self._point(kp, f"{side}_hip"), self._point(kp, f"{other}_hip")
            knee, ankle = self._point(kp, f"{side}_knee"), self._point(kp, f"{side}_ankle")
            if hip is None or other_hip is None or knee is None or ankle is None:
                continue
            inward = float(np.sign(other_hip[0] - hip[0]))  # image x towards the other hip
            if inward == 0:
                continue
            x = float(ankle[0]) + inward * self._edge_px
            passed = (float(knee[0]) - float(ankle[0])) * inward > self._edge_px
            edges.append(FootEdge(x, float(ankle[1]), float(knee[1]), passed))
        return tuple(edges)

    def _choose_series(self, angles: xr.Dataset) -> list[tuple[str, str, str, np.ndarray, str]]:
        """``(var, short name, keypoint, values, side)`` of each angle to draw."""
        # FPPA is a single-leg measure (Herrington 2014): a bilateral movement seen from the
        # front shows how wide the knees are instead (knee width over ankle width).
        bilateral = not _per_side(self.result.movement.used)
        if self.view in ("front", "back"):
            wanted = [("knee_flexion", "knee", "knee")]
            if not bilateral:
                wanted.append(("knee_fppa", "FPPA", "knee"))
        else:
            wanted = [("knee_flexion", "knee", "knee"), ("hip_flexion", "hip", "hip")]
        out: list[tuple[str, str, str, np.ndarray, str]] = []
        for stem, short, joint in wanted:
            for side in self._sides:
                var = f"{stem}_{side}"
                if var in angles and angle_measurable(self.result, var)[0]:
                    values = np.asarray(angles[var].values, dtype=np.float64)
                    out.append((var, short, f"{side}_{joint}", values, side))
        if (
            self.view in ("front", "back")
            and bilateral
            and "knee_width_ratio" in angles
            and angle_measurable(self.result, "knee_width_ratio")[0]
        ):
            values = np.asarray(angles["knee_width_ratio"].values, dtype=np.float64)
            out.append(("knee_width_ratio", "knees", "knees", values, "centre"))
        if (
            self.view not in ("front", "back")
            and "trunk_inclination" in angles
            and angle_measurable(self.result, "trunk_inclination")[0]
        ):
            values = np.asarray(angles["trunk_inclination"].values, dtype=np.float64)
            out.append(("trunk_inclination", "trunk", "trunk", values, "centre"))
        return out

    # ---------------------------------------------------------------------------------------------
    def _point(self, kp: np.ndarray, name: str) -> np.ndarray | None:
        i = self._index.get(name)
        if i is None or not np.isfinite(kp[i]).all():
            return None
        return kp[i]

    def _centre(self, kp: np.ndarray, joint: str) -> np.ndarray | None:
        pts = [p for s in ("left", "right") if (p := self._point(kp, f"{s}_{joint}")) is not None]
        return np.mean(pts, axis=0) if pts else None

    def _labels(
        self, kp: np.ndarray, ai: int | None
    ) -> tuple[tuple[AngleLabel, ...], tuple[tuple[float, float], tuple[float, float]] | None]:
        if ai is None or kp.size == 0:
            return (), None
        hip_c, sh_c, knee_c = (self._centre(kp, j) for j in ("hip", "shoulder", "knee"))
        behind = -1
        if hip_c is not None and knee_c is not None and abs(knee_c[0] - hip_c[0]) > 1:
            behind = -int(np.sign(knee_c[0] - hip_c[0]))
        labels: list[AngleLabel] = []
        trunk_ref = None
        for var, short, joint, values, side in self._series:
            value = values[ai]
            if not np.isfinite(value):
                continue
            if joint == "knees":
                if knee_c is None:
                    continue
                labels.append(
                    AngleLabel(
                        xy=(float(knee_c[0]), float(knee_c[1])),
                        text=f"knees {value:.2f}x ankle width",
                        colour=CENTRE,
                        direction=1,
                    )
                )
                continue
            if joint == "trunk":
                if hip_c is None or sh_c is None:
                    continue
                xy = (hip_c + sh_c) / 2
                direction = behind
                trunk_ref = ((float(hip_c[0]), float(hip_c[1])), (float(sh_c[0]), float(sh_c[1])))
            else:
                p = self._point(kp, joint)
                if p is None:
                    continue
                xy = p
                dx = p[0] - hip_c[0] if hip_c is not None else 0.0
                if joint.endswith("hip") and self.view not in ("front", "back"):
                    direction = behind
                else:
                    direction = int(np.sign(dx)) or 1
            colour = {"left": LEFT, "right": RIGHT}.get(side, CENTRE)
            uncertainty = angle_measurable(self.result, var)[1]
            labels.append(
                AngleLabel(
                    xy=(float(xy[0]), float(xy[1])),
                    text=f"{short} {_degrees(float(value), uncertainty)}",
                    colour=colour,
                    direction=direction,
                )
            )
        return tuple(labels), trunk_ref

    def _captions(self, findings: Sequence[FindingInfo]) -> tuple[tuple[Caption, ...], str]:
        ordered = sorted(findings, key=lambda f: _SEVERITY_ORDER.get(f.severity, 9))
        seen: set[str] = set()
        captions = []
        for f in ordered:
            if f.title in seen:
                continue
            seen.add(f.title)
            captions.append(Caption(text=f.title, severity=f.severity))
        cue = next((f.cue for f in ordered if f.cue and f.severity != "positive"), "")
        return tuple(captions[:_MAX_CHIPS]), cue

    def _rep_state(self, t: float) -> tuple[str, str, RGB, list[FindingInfo]]:
        """Counter, phase text, phase colour and the findings on screen at time ``t``."""
        n = len(self._reps)
        if n == 0:
            return "No reps found", "", CENTRE, list(self._clip_findings)
        started = [i for i, r in enumerate(self._reps) if r.start_s <= t]
        if not started:
            return f"Rep 0 / {n}", "", CENTRE, []
        i = started[-1]
        rep = self._reps[i]
        findings = self._rep_findings.get(rep.index, [])
        next_start = self._reps[i + 1].start_s if i + 1 < n else math.inf
        if t < rep.end_s:
            return self._counter(i, rep, n), self._phase(rep, t), CENTRE, findings
        if t < min(next_start, rep.end_s + HOLD_S):
            verdict = _VERDICT_TEXT[rep.verdict]
            return self._counter(i, rep, n), verdict, VERDICT_COLOURS[rep.verdict], findings
        if i == n - 1:
            verdict = self.result.verdict
            phase = f"clip: {_VERDICT_TEXT[verdict]}"
            return f"{n} / {n} reps", phase, VERDICT_COLOURS[verdict], list(self._clip_findings)
        return self._counter(i, rep, n), "", CENTRE, []

    @staticmethod
    def _counter(i: int, rep: RepInfo, n: int) -> str:
        text = f"Rep {i + 1} / {n}"
        if rep.side:
            text += f" · {rep.side} leg"
        if rep.partial:
            text += " (partial)"
        return text

    @staticmethod
    def _phase(rep: RepInfo, t: float) -> str:
        for p in rep.phases:
            if p.start_s <= t < p.end_s:
                return p.name
        return ""

    # ---------------------------------------------------------------------------------------------
    def overlay_at(self, time_s: float, /) -> Overlay:
        """Return what to draw at ``time_s`` seconds.

        Parameters
        ----------
        time_s
            A time on the clip's clock (the pose dataset's ``time``).

        Returns
        -------
        Overlay
            Skeleton, angle labels, rep counter and phase, captions and cue.
        """
        pi = _nearest(self._pose_t, time_s, self._pose_tol)
        kp = self._pos[pi] if pi is not None else np.empty((0, 2))
        ai = _nearest(self._angle_t, time_s, self._angle_tol)
        labels, trunk_ref = self._labels(kp, ai)
        counter, phase, colour, findings = self._rep_state(time_s)
        captions, cue = self._captions(findings)
        return Overlay(
            keypoints=kp,
            names=self.names,
            labels=labels,
            title=self.title,
            note=self.note,
            counter=counter,
            phase=phase,
            phase_colour=colour,
            captions=captions,
            cue=cue,
            trunk_reference=trunk_ref,
            foot_edges=self._foot_edges(kp),
            raised_heels=self._raised_heels(kp, ai),
        )

    def annotate(self, scene: np.ndarray, /, *, time_s: float, scale: float = 1.0) -> np.ndarray:
        """Draw the overlay of ``time_s`` on an RGB image.

        Parameters
        ----------
        scene
            ``uint8`` RGB image, upright; drawn on in place (see :func:`draw_overlay`).
        time_s
            The frame's time.
        scale
            Full-resolution size over the image's size (:attr:`kneeback.io.video.Frame.scale`).

        Returns
        -------
        numpy.ndarray
            The annotated image.
        """
        return draw_overlay(scene, self.overlay_at(time_s), scale=scale)


# --------------------------------------------------------------------------------------------------
# Drawing


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class _Style:
    """Sizes in pixels for one image size."""

    unit: int  # base text size
    line: int
    dot: int
    pad: int

    @classmethod
    def for_image(cls, width: int, height: int) -> _Style:
        short = min(width, height)
        unit = max(12, round(short / 24))
        return cls(
            unit=unit,
            line=max(2, round(short / 240)),
            dot=max(3, round(short / 150)),
            pad=max(3, round(unit / 4)),
        )


def _shade(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, alpha: float = 0.55) -> None:
    h, w = img.shape[:2]
    x0, x1 = max(0, x0), min(w, x1)
    y0, y1 = max(0, y0), min(h, y1)
    if x1 > x0 and y1 > y0:
        region = img[y0:y1, x0:x1]
        keep = round(256 * (1 - alpha))
        region[...] = (region.astype(np.uint16) * keep >> 8).astype(np.uint8)


def _per_side(movement: str | None) -> bool:
    """Whether a movement is done one leg at a time (lunges), from its spec."""
    if movement is None or movement not in MOVEMENT_NAMES:
        return False
    return get_spec(movement).per_side


def _edge_colour(a: str, b: str) -> RGB:
    if a.startswith("left") and b.startswith("left"):
        return LEFT
    if a.startswith("right") and b.startswith("right"):
        return RIGHT
    return CENTRE


def _draw_skeleton(img: np.ndarray, ov: Overlay, scale: float, st: _Style) -> None:
    if ov.keypoints.size == 0:
        return
    kp = ov.keypoints / scale
    index = {n: i for i, n in enumerate(ov.names)}
    shadow = (20, 20, 20)
    for a, b in BLAZEPOSE_EDGES:
        ia, ib = index.get(a), index.get(b)
        if (
            ia is None
            or ib is None
            or not (np.isfinite(kp[ia]).all() and np.isfinite(kp[ib]).all())
        ):
            continue
        pa = (round(kp[ia][0]), round(kp[ia][1]))
        pb = (round(kp[ib][0]), round(kp[ib][1]))
        width = max(1, st.line // 2) if a in FACE_KEYPOINTS else st.line
        cv2.line(img, pa, pb, shadow, width + 2, cv2.LINE_AA)
        cv2.line(img, pa, pb, _edge_colour(a, b), width, cv2.LINE_AA)
    if ov.trunk_reference is not None:
        (hx, hy), (sx, sy) = ov.trunk_reference
        hx, hy, sx, sy = hx / scale, hy / scale, sx / scale, sy / scale
        length = math.hypot(sx - hx, sy - hy)
        _dashed_vertical(img, (hx, hy), length, st)
        cv2.line(img, (round(hx), round(hy)), (round(sx), round(sy)), CENTRE, st.line, cv2.LINE_AA)
    for name, i in index.items():
        if name in FACE_KEYPOINTS or not np.isfinite(kp[i]).all():
            continue
        colour = LEFT if name.startswith("left") else RIGHT if name.startswith("right") else CENTRE
        p = (round(kp[i][0]), round(kp[i][1]))
        cv2.circle(img, p, st.dot + 1, shadow, -1, cv2.LINE_AA)
        cv2.circle(img, p, st.dot, colour, -1, cv2.LINE_AA)


def _dashed_vertical(
    img: np.ndarray,
    start: tuple[float, float],
    length: float,
    st: _Style,
    *,
    colour: RGB = (200, 200, 200),
    width: int = 1,
) -> None:
    """Draw a dashed line from ``start`` up by ``length`` pixels."""
    x, y = start
    dash = max(4, st.unit // 2)
    for y0 in np.arange(y, y - length, -2 * dash):
        y1 = max(y0 - dash, y - length)
        cv2.line(img, (round(x), round(y0)), (round(x), round(y1)), colour, width, cv2.LINE_AA)


@dataclass
class _Text:
    xy: tuple[int, int]
    text: str
    size: int
    fill: RGB = CENTRE


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _box(img: np.ndarray, x: int, y: int, w: int, h: int) -> None:
    _shade(img, x, y, x + w, y + h)


@lru_cache(maxsize=1024)
def _text_mask(text: str, size: int) -> np.ndarray:
    """Coverage (0-255) of ``text`` rendered by FreeType, cropped to its box; cached."""
    font = _font(size)
    left, top, right, bottom = font.getbbox(text, anchor="lt")
    dx, dy = -min(left, 0), -min(top, 0)
    width, height = max(1, math.ceil(right + dx)), max(1, math.ceil(bottom + dy))
    canvas = Image.new("L", (width, height), 0)
    ImageDraw.Draw(canvas).text((dx, dy), text, font=font, fill=255, anchor="lt")
    mask = np.asarray(canvas, dtype=np.uint8)
    mask.flags.writeable = False
    return mask


def _text_size(text: str, size: int) -> tuple[int, int]:
    h, w = _text_mask(text, size).shape
    return w, h


def _put_text(img: np.ndarray, t: _Text) -> None:
    """Blend the text's glyphs into the image (only the pixels of its box are touched)."""
    mask = _text_mask(t.text, t.size)
    x, y = t.xy
    h, w = img.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w, x + mask.shape[1]), min(h, y + mask.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    alpha = mask[y0 - y : y1 - y, x0 - x : x1 - x, None].astype(np.uint16)
    region = img[y0:y1, x0:x1]
    colour = np.asarray(t.fill, dtype=np.uint16)
    region[...] = ((region * (255 - alpha) + colour * alpha + 127) // 255).astype(np.uint8)


@lru_cache(maxsize=64)
def _wrap(text: str, size: int, width_px: int, max_lines: int = 2) -> tuple[str, ...]:
    font = _font(size)
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        trial = f"{current} {word}".strip()
        if current and font.getlength(trial) > width_px:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width_px:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return tuple(lines)


#: Bottom share of the frame that a browser's video controls cover when the clip is paused or
#: tapped (Chromium's bar with its timeline, on a landscape clip shown 360 px wide on a phone).
_CONTROLS_BAND = 0.2


def _cue_layout(
    cue: str, width: int, height: int, /, *, top: int
) -> tuple[tuple[int, int, int, int], tuple[_Text, ...]]:
    """Where the cue goes: its box ``(x, y, w, h)`` and its lines, left-aligned like the captions.

    The box starts at ``top`` (under the title and captions) and is raised, if need be, so that
    it ends above the bottom ``_CONTROLS_BAND`` of the frame; the text wraps as before (at most
    two lines across the frame's width).
    """
    st = _Style.for_image(width, height)
    margin = st.pad * 2
    size = max(11, round(st.unit * 0.8))  # the captions' size
    lines = _wrap(cue, size, width - 2 * margin - 2 * st.pad)
    sizes = [_text_size(t, size) for t in lines]
    bh = sum(th for _, th in sizes) + st.pad * (len(lines) + 1)
    bw = max(tw for tw, _ in sizes) + 2 * st.pad
    limit = math.floor(height * (1 - _CONTROLS_BAND))
    by = max(0, min(top, limit - bh))
    texts: list[_Text] = []
    ty = by + st.pad
    for text, (_, th) in zip(lines, sizes, strict=True):
        texts.append(_Text((margin + st.pad, ty), text, size))
        ty += th + st.pad
    return (margin, by, bw, bh), tuple(texts)


def draw_overlay(scene: np.ndarray, overlay: Overlay, /, *, scale: float = 1.0) -> np.ndarray:
    """Draw an overlay on an RGB image.

    Parameters
    ----------
    scene
        ``uint8`` RGB image (height, width, 3); drawn on in place when it is writable and
        C-contiguous, else copied first.
    overlay
        What to draw (:meth:`Annotator.overlay_at`).
    scale
        Full-resolution size over the image size: keypoints are divided by it.

    Returns
    -------
    numpy.ndarray
        The annotated image.
    """
    img = scene if scene.flags.writeable and scene.flags.c_contiguous else scene.copy()
    h, w = img.shape[:2]
    st = _Style.for_image(w, h)
    texts: list[_Text] = []
    for edge in overlay.foot_edges:
        colour = SEVERITY_COLOURS["major" if edge.passed else "positive"]
        x, y0, y1 = edge.x / scale, edge.y_ankle / scale, edge.y_knee / scale
        _dashed_vertical(img, (x, y0), y0 - y1, st, colour=colour, width=max(2, st.line // 2))
    _draw_skeleton(img, overlay, scale, st)
    ring = st.dot * 3
    for hx, hy in overlay.raised_heels:
        centre = (round(hx / scale), round(hy / scale))
        cv2.circle(img, centre, ring, SEVERITY_COLOURS["major"], max(2, st.line), cv2.LINE_AA)

    # Angle labels beside their joints, moved down when they would cover one another.
    label_size = max(11, round(st.unit * 0.85))
    placed: list[tuple[int, int, int, int]] = []
    heel_labels = [
        AngleLabel(xy=xy, text="heel up", colour=SEVERITY_COLOURS["major"], direction=-1)
        for xy in overlay.raised_heels
    ]
    for label in (*overlay.labels, *heel_labels):
        x, y = label.xy[0] / scale, label.xy[1] / scale
        tw, th = _text_size(label.text, label_size)
        bw, bh = tw + 2 * st.pad + st.dot * 2, th + 2 * st.pad
        gap = st.unit // 2 + st.dot
        bx = round(x + gap) if label.direction > 0 else round(x - gap - bw)
        bx = min(max(0, bx), w - bw)
        by = min(max(0, round(y - bh / 2)), h - bh)
        for _ in range(len(placed) + 1):
            hit = next((p for p in placed if _overlaps((bx, by, bw, bh), p)), None)
            if hit is None:
                break
            by = hit[1] + hit[3] + 2
        by = min(by, h - bh)
        placed.append((bx, by, bw, bh))
        _box(img, bx, by, bw, bh)
        cx, cy = bx + st.pad + st.dot // 2, by + bh // 2
        cv2.circle(img, (cx, cy), max(2, st.dot // 2 + 1), label.colour, -1, cv2.LINE_AA)
        texts.append(_Text((bx + st.pad + st.dot * 2, by + st.pad), label.text, label_size))

    # Title, rep counter and phase: top left; the captions below them.
    margin = st.pad * 2
    title_size = max(11, round(st.unit * 0.7))
    counter_size = round(st.unit * 1.3)
    lines = [
        (overlay.title, title_size, CENTRE),
        (overlay.note, title_size, CENTRE),
        (overlay.counter, counter_size, CENTRE),
        (overlay.phase, st.unit, overlay.phase_colour),
    ]
    lines = [line for line in lines if line[0]]
    y = margin
    if lines:
        sizes = [_text_size(t, s) for t, s, _ in lines]
        bw = max(tw for tw, _ in sizes) + 2 * st.pad
        bh = sum(th for _, th in sizes) + st.pad * (len(lines) + 1)
        _box(img, margin, y, bw, bh)
        ty = y + st.pad
        for (text, size, colour), (_, th) in zip(lines, sizes, strict=True):
            texts.append(_Text((margin + st.pad, ty), text, size, colour))
            ty += th + st.pad
        y += bh + st.pad
    cap_size = max(11, round(st.unit * 0.8))
    for cap in overlay.captions:
        tw, th = _text_size(cap.text, cap_size)
        bw, bh = tw + 3 * st.pad + 2 * st.dot, th + 2 * st.pad
        _box(img, margin, y, bw, bh)
        colour = SEVERITY_COLOURS.get(cap.severity, CENTRE)
        cv2.circle(img, (margin + st.pad + st.dot, y + bh // 2), st.dot, colour, -1, cv2.LINE_AA)
        texts.append(_Text((margin + 2 * st.pad + 2 * st.dot, y + st.pad), cap.text, cap_size))
        y += bh + st.pad // 2

    # The cue: under the captions, clear of the bottom band a paused player's controls cover.
    if overlay.cue:
        (bx, by, bw, bh), cue_texts = _cue_layout(overlay.cue, w, h, top=y)
        _box(img, bx, by, bw, bh)
        texts.extend(cue_texts)

    for t in texts:
        _put_text(img, t)
    return img


# --------------------------------------------------------------------------------------------------
# The video


def write_annotated_video(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    /,
    *,
    result: AnalysisResult,
    angles: xr.Dataset,
    pose: xr.Dataset,
    start_s: float | None = None,
    end_s: float | None = None,
    max_side_px: int | None = MAX_SIDE_PX,
    progress: ProgressCallback | None = None,
) -> Path:
    """Write the annotated video of an analysed clip.

    Parameters
    ----------
    source
        The video that was analysed.
    output
        The ``.mp4`` to write (H.264, ``yuv420p``, ``faststart``; see
        :class:`~kneeback.io.video_writer.VideoWriter`).
    result, angles, pose
        The analysis (see :class:`Annotator`).
    start_s, end_s
        The span that was analysed (as given to the pose estimation).
    max_side_px
        Downscale so that the longer side is at most this many pixels (``None``: keep the size).
    progress
        Called with (frames done, frames expected) after each frame.

    Returns
    -------
    pathlib.Path
        The file written: the same frames at the same times as the source, upright; when
        ``start_s`` is given the times are shifted so that the file starts at 0 (browsers show a
        blank lead-in otherwise).

    Raises
    ------
    kneeback.errors.InputError
        If the source cannot be read.
    """
    info = probe_video(source)
    annotator = Annotator(result, angles, pose)
    expected = _expected_frames(info.frame_count, info.fps, info.duration_s, start_s, end_s)
    frames = iter_frames(source, start_s=start_s, end_s=end_s, max_side_px=max_side_px)
    try:
        first = next(frames)
    except StopIteration:  # pragma: no cover - iter_frames raises InputError instead
        raise ValueError(f"{source} has no frames to annotate.") from None
    h, w = first.image.shape[:2]
    fps = info.fps or 30.0
    out = Path(output)
    offset = first.time_s if start_s is not None else 0.0  # a span starts at 0 in its file
    with VideoWriter(out, width=w, height=h, fps=fps) as sink:
        for done, frame in enumerate(itertools.chain([first], frames), start=1):
            image = annotator.annotate(frame.image, time_s=frame.time_s, scale=frame.scale)
            sink.write(image, time_s=frame.time_s - offset)
            if progress is not None:
                progress(done, max(expected, done))
    return out


def _expected_frames(
    frame_count: int | None,
    fps: float | None,
    duration_s: float | None,
    start_s: float | None,
    end_s: float | None,
) -> int:
    if start_s is None and end_s is None and frame_count:
        return frame_count
    if not fps or duration_s is None:
        return 0
    a = start_s or 0.0
    b = duration_s if end_s is None else min(end_s, duration_s)
    return max(0, round((b - a) * fps))
