"""2D keypoint JSON files (BlazePose-33, COCO-17, OpenPose COCO-18 / BODY-25) -> pose dataset.

Two layouts are read:

- **frame dictionary** (Keraal ``G3-BP-*``, ``G3-OP-*``, ``G3-AP-*``):
  ``{"positions": {"<frame number>": {"<joint name>": [x, y(, z)], ...}, ...}}``. Frame
  numbers count from 1; joints absent from a frame are missing. Joint names are matched
  case-insensitively and without underscores, in BlazePose (``Left_eye_inner``), OpenPose
  (``lShoulder``) or AlphaPose (``LShoulder``, ``Rknee``) spelling.
- **detection list** (AlphaPose / COCO results):
  ``[{"image_id": "12.jpg", "keypoints": [x, y, c, ...], "score": s}, ...]`` with 17 (COCO),
  18 (OpenPose COCO-18), 25 (OpenPose BODY-25) or 33 (BlazePose) keypoints in their published
  order; the frame number is read from the digits of ``image_id`` and the highest-scoring
  detection of each frame is kept. A keypoint at (0, 0) or with confidence 0 is missing.

Coordinates are converted to pixels once, here: when every x and y lies in [-0.5, 1.5] they are
taken as normalised and scaled by ``width`` and ``height`` separately. Keraal files are
recognised by their names (``G3-...`` 960 x 544 video, groups 1-2 480 x 360; README of
nguyensmai/KeraalDataset), which supplies width, height and an assumed 30 fps. Keraal's
BlazePose files were computed on horizontally flipped frames
(``get_skeletons_from_videos/get_blazepose_skeleton.py`` calls ``cv2.flip(image, 1)``), so they
are flipped back (x -> width - x) and left/right labels swapped (``mirrored=None`` does this
automatically for them). BlazePose's relative z is not metric and is dropped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from kneeback.errors import InputError
from kneeback.schema import make_pose_dataset
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS, mirror_name

__all__ = [
    "BODY25_KEYPOINTS",
    "COCO17_KEYPOINTS",
    "COCO18_KEYPOINTS",
    "keypoint_alias",
    "load_keypoints_json",
]

Skeleton = Literal["auto", "blazepose", "coco"]

#: COCO-17 order, mapped to BlazePose names.
COCO17_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
#: OpenPose COCO-18 order (``"neck"`` has no BlazePose equivalent and is dropped).
COCO18_KEYPOINTS: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
)  # fmt: skip
#: OpenPose BODY-25 order (``neck``, ``mid_hip`` and the small toes are dropped).
BODY25_KEYPOINTS: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "mid_hip", "right_hip", "right_knee",
    "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear",
    "left_ear", "left_foot_index", "left_small_toe", "left_heel", "right_foot_index",
    "right_small_toe", "right_heel",
)  # fmt: skip

_ORDER_BY_COUNT = {
    17: COCO17_KEYPOINTS,
    18: COCO18_KEYPOINTS,
    25: BODY25_KEYPOINTS,
    33: BLAZEPOSE_KEYPOINTS,
}
#: BlazePose landmarks that no COCO-style skeleton has; their presence means BlazePose.
_BLAZEPOSE_ONLY = frozenset(BLAZEPOSE_KEYPOINTS) - frozenset(COCO17_KEYPOINTS + BODY25_KEYPOINTS)


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _build_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for name in BLAZEPOSE_KEYPOINTS:
        aliases[_squash(name)] = name
        for side, letter in (("left_", "l"), ("right_", "r")):
            if name.startswith(side):
                aliases[letter + _squash(name[len(side) :])] = name
    aliases.update({"lbigtoe": "left_foot_index", "rbigtoe": "right_foot_index"})
    return aliases


_ALIASES = _build_aliases()


def keypoint_alias(name: str, /) -> str | None:
    """Return the BlazePose name for a joint name in BlazePose, OpenPose or AlphaPose spelling.

    Parameters
    ----------
    name
        For example ``"Left_eye_inner"``, ``"lShoulder"``, ``"RKnee"`` or ``"Rknee"``.

    Returns
    -------
    str or None
        The BlazePose landmark name, or None for joints without one (``"Neck"``).
    """
    return _ALIASES.get(_squash(name))


def _keraal_defaults(path: Path) -> dict[str, Any]:
    """Width, height and fps of Keraal recordings, recognised by file name."""
    name = path.name.upper()
    if re.match(r"^G3[-_]", name):
        return {"width": 960, "height": 544, "fps": 30.0, "dataset": "Keraal"}
    if re.match(r"^G(1A|1B|2A|2B)[-_]", name):
        return {"width": 480, "height": 360, "fps": 30.0, "dataset": "Keraal"}
    return {}


def _frame_number(key: object) -> float:
    digits = re.findall(r"\d+(?:\.\d+)?", str(key))
    if not digits:
        raise ValueError(f"no frame number in {key!r}")
    return float(digits[-1])


def _parse_positions(
    frames: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, set[str]]:
    """Parse a frame dictionary: frame numbers, (T, 2, 33) xy, (T, 33) confidence, names."""
    items = sorted(((_frame_number(k), v) for k, v in frames.items()), key=lambda kv: kv[0])
    n = len(items)
    xy = np.full((n, 2, len(BLAZEPOSE_KEYPOINTS)), np.nan)
    conf = np.full((n, len(BLAZEPOSE_KEYPOINTS)), np.nan)
    names: set[str] = set()
    for i, (_, joints) in enumerate(items):
        if not isinstance(joints, dict):
            raise ValueError("each frame must map joint names to coordinates")
        for raw, value in joints.items():
            names.add(str(raw))
            target = keypoint_alias(str(raw))
            if target is None or value is None or len(value) < 2:
                continue
            k = BLAZEPOSE_KEYPOINTS.index(target)
            xy[i, :, k] = (float(value[0]), float(value[1]))
            conf[i, k] = 1.0
    return np.array([f for f, _ in items]), xy, conf, names


def _parse_detections(
    detections: list[Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, set[str]]:
    """Parse a detection list: frame numbers, (T, 2, 33) xy, (T, 33) confidence, names."""
    best: dict[float, dict[str, Any]] = {}
    for det in detections:
        frame = _frame_number(det.get("image_id", det.get("frame", len(best))))
        if frame not in best or float(det.get("score", 0)) > float(best[frame].get("score", 0)):
            best[frame] = det
    frames = sorted(best)
    n = len(frames)
    xy = np.full((n, 2, len(BLAZEPOSE_KEYPOINTS)), np.nan)
    conf = np.full((n, len(BLAZEPOSE_KEYPOINTS)), np.nan)
    order: tuple[str, ...] = ()
    for i, frame in enumerate(frames):
        values = np.asarray(best[frame]["keypoints"], dtype=np.float64).reshape(-1, 3)
        if values.shape[0] not in _ORDER_BY_COUNT:
            raise ValueError(f"{values.shape[0]} keypoints per person is not a known skeleton")
        order = _ORDER_BY_COUNT[values.shape[0]]
        for (x, y, c), name in zip(values, order, strict=True):
            if name not in BLAZEPOSE_KEYPOINTS or c <= 0 or (x == 0 and y == 0):
                continue
            k = BLAZEPOSE_KEYPOINTS.index(name)
            xy[i, :, k] = (x, y)
            conf[i, k] = float(np.clip(c, 0.0, 1.0))
    return np.asarray(frames), xy, conf, set(order)


def load_keypoints_json(
    path: str | Path,
    /,
    *,
    skeleton: Skeleton = "auto",
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    mirrored: bool | None = None,
) -> xr.Dataset:
    """Load a 2D keypoint JSON file as a pose dataset with BlazePose-33 names.

    Parameters
    ----------
    path
        A JSON file in one of the layouts of the module docstring.
    skeleton
        ``"blazepose"`` or ``"coco"`` to insist on one; ``"auto"`` accepts either.
    width, height
        Image size in pixels, needed when coordinates are normalised (Keraal files supply them).
    fps
        Frame rate; the files carry none (Keraal files assume 30).
    mirrored
        Whether the keypoints were computed on a horizontally flipped image; if so they are
        flipped back and left/right swapped. None: True for Keraal BlazePose files only.

    Returns
    -------
    xarray.Dataset
        A validated pose dataset: ``position`` in pixels, ``confidence`` from the file or 1,
        time ``(frame - first frame) / fps``; attrs ``width``, ``height``, ``skeleton``.

    Raises
    ------
    InputError
        If the file is missing, not JSON of a known layout, or lacks the image size or frame
        rate that the data need.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No keypoint file at {path}.")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(content, dict) and isinstance(content.get("positions"), dict):
            frames, xy, conf, names = _parse_positions(content["positions"])
        elif isinstance(content, list) and content and isinstance(content[0], dict):
            frames, xy, conf, names = _parse_detections(content)
        else:
            raise ValueError("neither a {'positions': {...}} dictionary nor a detection list")
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise InputError(f"{path} is not a readable keypoint JSON file ({exc}).") from exc
    if frames.size == 0:
        raise InputError(f"{path} holds no frames.")
    canonical = {keypoint_alias(n) or n for n in names}
    found = "blazepose" if canonical & _BLAZEPOSE_ONLY else "coco"
    if skeleton != "auto" and skeleton != found:
        raise InputError(f"{path} holds a {found} skeleton, not {skeleton}.")

    defaults = _keraal_defaults(path)
    width = width if width is not None else defaults.get("width")
    height = height if height is not None else defaults.get("height")
    fps_assumed = fps is None and "fps" in defaults
    fps = fps if fps is not None else defaults.get("fps")
    if fps is None:
        raise InputError(f"{path} does not say its frame rate; pass fps=.")
    finite = xy[np.isfinite(xy)]
    normalised = finite.size > 0 and finite.min() >= -0.5 and finite.max() <= 1.5
    if normalised and (width is None or height is None):
        raise InputError(
            f"{path} has normalised coordinates; pass width= and height= of the video in pixels."
        )
    if mirrored is None:
        mirrored = bool(defaults) and found == "blazepose"
    if mirrored:
        if not normalised and width is None:
            raise InputError(f"{path}: flipping mirrored pixel coordinates needs width=.")
        xy[:, 0] = (1.0 if normalised else float(width or 0)) - xy[:, 0]
        swap = [BLAZEPOSE_KEYPOINTS.index(mirror_name(k)) for k in BLAZEPOSE_KEYPOINTS]
        xy = xy[:, :, swap]
        conf = conf[:, swap]
    if normalised:
        xy = xy * np.array([float(width or 1), float(height or 1)])[None, :, None]
    return make_pose_dataset(
        xy[..., None],
        time_s=(frames - frames[0]) / float(fps),
        confidence=conf[..., None],
        individuals=("subject",),
        fps=float(fps),
        source_software=f"{found} keypoints (JSON)",
        attrs={
            "source_file": path.name,
            "width": int(width or 0),
            "height": int(height or 0),
            "skeleton": found,
            "mirrored_input": int(mirrored),
            "fps_assumed": int(fps_assumed),
            **({"dataset": defaults["dataset"]} if defaults else {}),
        },
    )
