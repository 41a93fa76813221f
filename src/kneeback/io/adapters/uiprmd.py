"""UI-PRMD Vicon Plug-in-Gait marker files -> pose dataset.

UI-PRMD (Vakanski et al., Data 2018, 3(1):2) stores one repetition per file,
``mMM_sSS_eEE_positions[_inc].txt(.gz)``: a CSV with one row per frame at 100 Hz and 117
columns, the (x, y, z) in millimetres of 39 Plug-in-Gait full-body markers in the lab frame
(z up, +x anterior, +y the subject's left). Missing markers are written as (0, 0, 0).

Landmarks
---------
Plug-in-Gait places markers on the skin, so joint centres are estimated:

- **hips**: Harrington et al. (2007), J Biomech 40:595-602, regression on pelvis width
  ``PW`` (distance between the ASIS markers) and pelvis depth ``PD`` (distance between the
  ASIS and PSIS midpoints), in mm, in a pelvis frame with origin at the ASIS midpoint, x
  anterior, y superior, z lateral: ``x = -0.24 PD - 9.9``, ``y = -0.30 PW - 10.9``,
  ``z = 0.33 PW + 7.3`` (the version without leg length, which the file does not give).
- **knees and ankles**: the Plug-in-Gait "chord" construction (Davis et al. 1991, Human Movement
  Science 10:575-587; Vicon Plug-in-Gait): the joint centre lies in the plane of the proximal
  joint centre, the wand marker (THI, TIB) and the lateral marker (KNE, ANK), at
  ``joint_width / 2 + marker_radius`` medial of the lateral marker, such that the segment from
  the proximal joint centre to it is perpendicular to the offset. Knee and ankle widths were not
  published with UI-PRMD, so typical adult values are assumed (``knee_width_mm=100``,
  ``ankle_width_mm=70``; pass measured values when known). When a wand marker is missing, the
  pelvis' medio-lateral axis replaces the wand plane for that frame.
- heels = HEE; foot index = TOE (2nd metatarsal head); shoulders = SHO (acromio-clavicular
  markers); elbows = ELB (lateral epicondyle markers, not joint centres); wrists = midpoint of
  WRA and WRB; index = FIN (2nd metacarpal head); nose = midpoint of the front head markers
  (at the temples, several cm above the nose); ears = midpoint of the same side's front and back
  head markers. Other BlazePose landmarks are NaN.

World coordinates
-----------------
``position_world`` is in metres in kneeback's world convention (right-handed, y down):
``(x, y, z)_world = (x_lab, -z_lab, y_lab) / 1000``, i.e. x = lab anterior, y = down,
z = lab left. The origin is the lab origin (on the floor), so ``-y`` is the height above it.
``position`` is a virtual-camera projection (:func:`~kneeback.io.adapters.virtual_camera.project`,
a side view from the subject's left by default) and the attr ``position_from`` says so.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr

from kneeback.errors import InputError
from kneeback.io.adapters.virtual_camera import View, project
from kneeback.schema import make_pose_dataset
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS

__all__ = [
    "UIPRMD_MARKERS",
    "UIPRMD_MOVEMENTS",
    "hip_joint_centres_harrington",
    "load_uiprmd",
    "parse_uiprmd_name",
]

#: The 39 Plug-in-Gait markers in UI-PRMD's column order (checked from heights and sides).
UIPRMD_MARKERS: tuple[str, ...] = (
    "LFHD", "RFHD", "LBHD", "RBHD", "C7", "T10", "CLAV", "STRN", "RBAK",
    "LSHO", "LUPA", "LELB", "LFRM", "LWRA", "LWRB", "LFIN",
    "RSHO", "RUPA", "RELB", "RFRM", "RWRA", "RWRB", "RFIN",
    "LASI", "RASI", "LPSI", "RPSI",
    "LTHI", "LKNE", "LTIB", "LANK", "LHEE", "LTOE",
    "RTHI", "RKNE", "RTIB", "RANK", "RHEE", "RTOE",
)  # fmt: skip

#: UI-PRMD movement codes.
UIPRMD_MOVEMENTS: dict[str, str] = {
    "m01": "deep squat",
    "m02": "hurdle step",
    "m03": "inline lunge",
    "m04": "side lunge",
    "m05": "sit to stand",
    "m06": "standing active straight leg raise",
    "m07": "standing shoulder abduction",
    "m08": "standing shoulder extension",
    "m09": "standing shoulder internal-external rotation",
    "m10": "standing shoulder scaption",
}

_NAME_RE = re.compile(r"m(\d+)_s(\d+)_e(\d+)_positions(_inc)?", re.IGNORECASE)
_FPS = 100.0


def parse_uiprmd_name(path: str | Path, /) -> dict[str, str | int]:
    """Read movement, subject, episode and correctness from a UI-PRMD file name.

    Parameters
    ----------
    path
        A path such as ``.../m01_s02_e03_positions_inc.txt.gz``.

    Returns
    -------
    dict
        ``movement`` ("m01"), ``movement_name`` ("deep squat"), ``subject`` ("s02"),
        ``episode`` (3) and ``correct`` (1, or 0 for ``_inc`` files); empty if the name does not
        follow the pattern.
    """
    match = _NAME_RE.search(Path(path).name)
    if match is None:
        return {}
    movement = f"m{int(match.group(1)):02d}"
    return {
        "movement": movement,
        "movement_name": UIPRMD_MOVEMENTS.get(movement, "unknown"),
        "subject": f"s{int(match.group(2)):02d}",
        "episode": int(match.group(3)),
        "correct": 0 if match.group(4) else 1,
    }


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.linalg.norm(v, axis=-1, keepdims=True)
        return np.where(n > 0, v / n, np.nan)


def _pelvis_frame(
    markers: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Origin (mid-ASIS), anterior, superior and left axes, pelvis width and depth (lab, mm)."""
    lasi, rasi = markers["LASI"], markers["RASI"]
    mid_asis = 0.5 * (lasi + rasi)
    mid_psis = 0.5 * (markers["LPSI"] + markers["RPSI"])
    left = _unit(lasi - rasi)
    depth_vec = mid_asis - mid_psis
    anterior = _unit(depth_vec - np.sum(depth_vec * left, axis=-1, keepdims=True) * left)
    superior = np.cross(anterior, left)
    width = np.linalg.norm(lasi - rasi, axis=-1)
    depth = np.linalg.norm(depth_vec, axis=-1)
    return mid_asis, anterior, superior, left, width, depth


def hip_joint_centres_harrington(
    lasi: np.ndarray, rasi: np.ndarray, lpsi: np.ndarray, rpsi: np.ndarray, /
) -> tuple[np.ndarray, np.ndarray]:
    """Hip joint centres from the pelvis markers (Harrington et al. 2007, PW/PD regression).

    Parameters
    ----------
    lasi, rasi, lpsi, rpsi
        Marker positions in millimetres, shape (time, 3), any right-handed frame.

    Returns
    -------
    left, right : numpy.ndarray
        Hip joint centres in millimetres, shape (time, 3).
    """
    origin, anterior, superior, left, width, depth = _pelvis_frame(
        {"LASI": lasi, "RASI": rasi, "LPSI": lpsi, "RPSI": rpsi}
    )
    ap = (-0.24 * depth - 9.9)[:, None]
    si = (-0.30 * width - 10.9)[:, None]
    ml = (0.33 * width + 7.3)[:, None]
    base = origin + ap * anterior + si * superior
    return base + ml * left, base - ml * left


def _chord(
    lateral: np.ndarray,
    proximal: np.ndarray,
    wand: np.ndarray,
    medial_hint: np.ndarray,
    offset: float,
) -> np.ndarray:
    """Plug-in-Gait chord construction of a joint centre (see the module docstring)."""
    axis_vec = proximal - lateral
    length = np.linalg.norm(axis_vec, axis=-1, keepdims=True)
    u = _unit(axis_vec)
    normal = _unit(np.cross(axis_vec, wand - lateral))
    in_plane = _unit(np.cross(normal, u))
    # Without a wand marker, use the medial direction orthogonal to the segment axis.
    fallback = _unit(medial_hint - np.sum(medial_hint * u, axis=-1, keepdims=True) * u)
    bad = ~np.isfinite(in_plane).all(axis=-1, keepdims=True)
    in_plane = np.where(bad, fallback, in_plane)
    sign = np.where(np.sum(in_plane * medial_hint, axis=-1, keepdims=True) < 0, -1.0, 1.0)
    with np.errstate(invalid="ignore"):
        cos_t = np.clip(offset / length, 0.0, 1.0)
        sin_t = np.sqrt(1.0 - cos_t**2)
    return lateral + offset * (cos_t * u + sign * sin_t * in_plane)


def _read_matrix(path: Path) -> np.ndarray:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt") as fh:
            data = np.loadtxt(fh, delimiter=",", ndmin=2)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path} is not a readable UI-PRMD marker file ({exc}).") from exc
    if data.shape[0] == 0 or data.shape[1] != 3 * len(UIPRMD_MARKERS):
        raise InputError(
            f"{path} has {data.shape[1]} columns per frame; a UI-PRMD Vicon file has "
            f"{3 * len(UIPRMD_MARKERS)} (39 markers x 3)."
        )
    return data


def load_uiprmd(
    path: str | Path,
    /,
    *,
    fps: float = _FPS,
    view: View | float = "side",
    side: Literal["left", "right"] = "left",
    knee_width_mm: float = 100.0,
    ankle_width_mm: float = 70.0,
    marker_diameter_mm: float = 14.0,
) -> xr.Dataset:
    """Load a UI-PRMD Vicon marker file as a pose dataset with BlazePose-33 names.

    Parameters
    ----------
    path
        A ``mMM_sSS_eEE_positions[_inc].txt.gz`` file (or the uncompressed ``.txt``).
    fps
        Sampling rate; UI-PRMD's Vicon data are 100 Hz.
    view, side
        The virtual camera that fills ``position`` (see
        :func:`~kneeback.io.adapters.virtual_camera.project`).
    knee_width_mm, ankle_width_mm, marker_diameter_mm
        Anthropometrics for the knee and ankle joint centres (see the module docstring).

    Returns
    -------
    xarray.Dataset
        A validated pose dataset: ``position_world`` in metres (x anterior, y down, z left),
        ``position`` from the virtual camera, confidence 1 where a landmark exists; attrs
        ``fps``, ``source_software = "Vicon Plug-in-Gait (UI-PRMD)"``, ``movement``,
        ``movement_name``, ``subject``, ``episode``, ``correct``, ``hip_joint_centre`` and
        ``knee_ankle_centre`` naming the methods.

    Raises
    ------
    InputError
        If the file is missing or is not a 117-column marker file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No UI-PRMD file at {path}.")
    data = _read_matrix(path)
    n = data.shape[0]
    raw = data.reshape(n, len(UIPRMD_MARKERS), 3)
    raw = np.where((raw == 0).all(axis=-1, keepdims=True), np.nan, raw)
    m = {name: raw[:, i, :] for i, name in enumerate(UIPRMD_MARKERS)}

    _, _, _, pelvis_left, _, _ = _pelvis_frame(m)
    left_hip, right_hip = hip_joint_centres_harrington(m["LASI"], m["RASI"], m["LPSI"], m["RPSI"])
    radius = 0.5 * marker_diameter_mm
    lab: dict[str, np.ndarray] = {
        "left_hip": left_hip,
        "right_hip": right_hip,
        "nose": 0.5 * (m["LFHD"] + m["RFHD"]),
        "left_ear": 0.5 * (m["LFHD"] + m["LBHD"]),
        "right_ear": 0.5 * (m["RFHD"] + m["RBHD"]),
    }
    for side_name, s, hip in (("left", "L", left_hip), ("right", "R", right_hip)):
        medial = -pelvis_left if side_name == "left" else pelvis_left
        knee = _chord(m[f"{s}KNE"], hip, m[f"{s}THI"], medial, 0.5 * knee_width_mm + radius)
        ankle = _chord(m[f"{s}ANK"], knee, m[f"{s}TIB"], medial, 0.5 * ankle_width_mm + radius)
        lab.update(
            {
                f"{side_name}_knee": knee,
                f"{side_name}_ankle": ankle,
                f"{side_name}_heel": m[f"{s}HEE"],
                f"{side_name}_foot_index": m[f"{s}TOE"],
                f"{side_name}_shoulder": m[f"{s}SHO"],
                f"{side_name}_elbow": m[f"{s}ELB"],
                f"{side_name}_wrist": 0.5 * (m[f"{s}WRA"] + m[f"{s}WRB"]),
                f"{side_name}_index": m[f"{s}FIN"],
            }
        )
    world = np.full((n, 3, len(BLAZEPOSE_KEYPOINTS), 1), np.nan)
    for k, name in enumerate(BLAZEPOSE_KEYPOINTS):
        if name in lab:
            p = lab[name] / 1000.0
            world[:, :, k, 0] = np.stack([p[:, 0], -p[:, 2], p[:, 1]], axis=1)
    conf = np.where(np.isfinite(world).all(axis=1), 1.0, np.nan)
    attrs: dict[str, str | int | float] = {
        **parse_uiprmd_name(path),
        "source_file": path.name,
        "hip_joint_centre": "Harrington et al. 2007 (pelvis width and depth regression)",
        "knee_ankle_centre": (
            f"Plug-in-Gait chord (Davis 1991), knee width {knee_width_mm} mm, ankle width "
            f"{ankle_width_mm} mm, marker diameter {marker_diameter_mm} mm"
        ),
        "world_axes": "x = lab anterior, y = down, z = lab left (metres, lab origin)",
    }
    ds_world = make_pose_dataset(
        np.full((n, 2, len(BLAZEPOSE_KEYPOINTS), 1), np.nan),
        time_s=np.arange(n) / float(fps),
        confidence=conf,
        position_world=world,
        individuals=("subject",),
        fps=float(fps),
        source_software="Vicon Plug-in-Gait (UI-PRMD)",
        attrs=attrs,
    )
    return project(ds_world, view=view, side=side)
