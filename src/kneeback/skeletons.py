"""Skeleton tables: BlazePose-33 landmark names, edges and left/right pairs.

These are data, checked by tests against MediaPipe's own ``POSE_CONNECTIONS`` and for
left/right symmetry. Other formats map their joint names onto these names in ``io/``.
"""

from __future__ import annotations

__all__ = [
    "BLAZEPOSE_EDGES",
    "BLAZEPOSE_KEYPOINTS",
    "FACE_KEYPOINTS",
    "LEFT_RIGHT_PAIRS",
    "keypoint_index",
    "mirror_name",
]

#: The 33 BlazePose GHUM landmarks in MediaPipe's output order.
BLAZEPOSE_KEYPOINTS: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)

#: The landmarks of the face (nose, eyes, ears, mouth): MediaPipe's first 11.
FACE_KEYPOINTS: frozenset[str] = frozenset(BLAZEPOSE_KEYPOINTS[:11])

#: Skeleton edges as pairs of landmark names (the same 35 edges as MediaPipe's POSE_CONNECTIONS).
BLAZEPOSE_EDGES: tuple[tuple[str, str], ...] = (
    ("nose", "left_eye_inner"),
    ("left_eye_inner", "left_eye"),
    ("left_eye", "left_eye_outer"),
    ("left_eye_outer", "left_ear"),
    ("nose", "right_eye_inner"),
    ("right_eye_inner", "right_eye"),
    ("right_eye", "right_eye_outer"),
    ("right_eye_outer", "right_ear"),
    ("mouth_left", "mouth_right"),
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("left_wrist", "left_pinky"),
    ("left_wrist", "left_index"),
    ("left_wrist", "left_thumb"),
    ("left_pinky", "left_index"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("right_wrist", "right_pinky"),
    ("right_wrist", "right_index"),
    ("right_wrist", "right_thumb"),
    ("right_pinky", "right_index"),
    ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"),
    ("left_hip", "left_knee"),
    ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"),
    ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"),
    ("right_ankle", "right_heel"),
    ("left_heel", "left_foot_index"),
    ("right_heel", "right_foot_index"),
    ("left_ankle", "left_foot_index"),
    ("right_ankle", "right_foot_index"),
)


def mirror_name(name: str, /) -> str:
    """Return the name of the landmark on the other side of the body.

    Parameters
    ----------
    name
        A landmark name such as ``"left_knee"`` or ``"mouth_left"``.

    Returns
    -------
    str
        The mirrored name (``"right_knee"``); midline landmarks (``"nose"``) map to themselves.
    """
    for a, b in (("left", "right"), ("right", "left")):
        if name.startswith(f"{a}_"):
            return f"{b}_{name[len(a) + 1 :]}"
        if name.endswith(f"_{a}"):
            return f"{name[: -len(a) - 1]}_{b}"
    return name


#: Pairs (left, right) of bilateral landmarks.
LEFT_RIGHT_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (n, mirror_name(n)) for n in BLAZEPOSE_KEYPOINTS if mirror_name(n) != n and "left" in n
)

_INDEX = {name: i for i, name in enumerate(BLAZEPOSE_KEYPOINTS)}


def keypoint_index(name: str, /) -> int:
    """Return the MediaPipe index of a BlazePose landmark.

    Parameters
    ----------
    name
        Landmark name from :data:`BLAZEPOSE_KEYPOINTS`.

    Returns
    -------
    int
        Its position in MediaPipe's output.

    Raises
    ------
    KeyError
        If the name is not a BlazePose landmark.
    """
    return _INDEX[name]
