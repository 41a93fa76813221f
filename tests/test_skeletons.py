import pytest

from kneeback.skeletons import (
    BLAZEPOSE_EDGES,
    BLAZEPOSE_KEYPOINTS,
    LEFT_RIGHT_PAIRS,
    keypoint_index,
    mirror_name,
)


def test_edges_match_mediapipe_pose_connections():
    vision = pytest.importorskip("mediapipe.tasks.python.vision")
    theirs = {frozenset((c.start, c.end)) for c in vision.PoseLandmarksConnections.POSE_LANDMARKS}
    ours = {frozenset((keypoint_index(a), keypoint_index(b))) for a, b in BLAZEPOSE_EDGES}
    assert ours == theirs


def test_keypoint_names_match_mediapipe_enum():
    module = pytest.importorskip("mediapipe.tasks.python.vision.pose_landmarker")
    landmarks = sorted(module.PoseLandmark, key=int)
    assert [m.name.lower() for m in landmarks] == list(BLAZEPOSE_KEYPOINTS)


def test_left_right_symmetry():
    names = set(BLAZEPOSE_KEYPOINTS)
    for name in BLAZEPOSE_KEYPOINTS:
        assert mirror_name(name) in names
        assert mirror_name(mirror_name(name)) == name
    assert len(LEFT_RIGHT_PAIRS) == 16
    mirrored = {frozenset(map(mirror_name, e)) for e in BLAZEPOSE_EDGES}
    assert mirrored == {frozenset(e) for e in BLAZEPOSE_EDGES}


def test_midline_landmark_maps_to_itself():
    assert mirror_name("nose") == "nose"
    assert mirror_name("mouth_left") == "mouth_right"


def test_face_keypoints_are_the_head_landmarks():
    from kneeback.skeletons import FACE_KEYPOINTS

    assert len(FACE_KEYPOINTS) == 11
    assert "nose" in FACE_KEYPOINTS and "mouth_right" in FACE_KEYPOINTS
    assert not any(k.endswith(("shoulder", "hip")) for k in FACE_KEYPOINTS)
    assert {mirror_name(k) for k in FACE_KEYPOINTS} == FACE_KEYPOINTS
