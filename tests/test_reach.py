"""How far the hands reach below the knees: closed form, invariances (hypothesis), gaps."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeback.movements.reach import hands_below_knees
from kneeback.schema import make_pose_dataset
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS

#: Image points (x, y down) of a standing figure, leg length 100 px (hip 100 px above the ankle).
STANDING = {
    "left_hip": (210.0, 300.0),
    "right_hip": (190.0, 300.0),
    "left_knee": (210.0, 350.0),
    "right_knee": (190.0, 350.0),
    "left_ankle": (210.0, 400.0),
    "right_ankle": (190.0, 400.0),
    "left_wrist": (215.0, 300.0),
    "right_wrist": (185.0, 290.0),
}


def _dataset(points: dict[str, tuple[float, float]], *, scale: float = 1.0, dx: float = 0.0):
    pos = np.full((2, 2, len(BLAZEPOSE_KEYPOINTS), 1), np.nan)
    for name, (x, y) in points.items():
        k = BLAZEPOSE_KEYPOINTS.index(name)
        pos[:, 0, k, 0], pos[:, 1, k, 0] = scale * x + dx, scale * y + dx
    return make_pose_dataset(pos, time_s=np.array([0.0, 0.1]))


def test_knees_above_the_lower_wrist_in_leg_lengths() -> None:
    # Knees at y 350, lower wrist (left) at y 300: the hands are 0.5 leg length above the knees.
    np.testing.assert_allclose(hands_below_knees(_dataset(STANDING)), [-0.5, -0.5])
    reach = dict(STANDING, right_wrist=(185.0, 380.0))  # one hand down to mid-shin
    np.testing.assert_allclose(hands_below_knees(_dataset(reach)), [0.3, 0.3])


def test_a_missing_wrist_leaves_the_other_and_none_is_unknown() -> None:
    one = {k: v for k, v in STANDING.items() if k != "left_wrist"}
    np.testing.assert_allclose(hands_below_knees(_dataset(one)), [-0.6, -0.6])
    none = {k: v for k, v in one.items() if k != "right_wrist"}
    assert np.isnan(hands_below_knees(_dataset(none))).all()


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(0.2, 5.0), dx=st.floats(-500.0, 500.0), mirror=st.booleans())
def test_unchanged_by_image_scale_shift_and_mirroring(
    scale: float, dx: float, mirror: bool
) -> None:
    points = STANDING
    if mirror:  # left and right exchanged, as in a mirrored picture
        points = {
            (k.replace("left", "right") if k.startswith("left") else k.replace("right", "left")): (
                400.0 - x,
                y,
            )
            for k, (x, y) in STANDING.items()
        }
    got = hands_below_knees(_dataset(points, scale=scale, dx=dx))
    np.testing.assert_allclose(got, [-0.5, -0.5], atol=1e-9)
