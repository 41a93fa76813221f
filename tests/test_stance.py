"""A step over a hurdle is not a lunge: the hips stay up over the standing foot.

Real UI-PRMD marker data (../shared/data): hurdle steps (m02) lift one thigh as a lunge flexes
its front hip; the incorrect ones also lean the trunk, which is what read them as side lunges.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from kneeback.analysis import analyse
from kneeback.io.adapters.uiprmd import load_uiprmd
from kneeback.movements.recognise import RECOGNITION_RULES
from kneeback.movements.stance import hip_height_over_stance

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ui-prmd" / "vicon"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared UI-PRMD data not present")


def _load(name: str) -> xr.Dataset:
    """``m02_s02_e01`` or ``m02_s02_e01_inc`` (incorrect) from UI-PRMD."""
    base = name.removesuffix("_inc")
    label = "incorrect" if name.endswith("_inc") else "correct"
    suffix = "_inc" if label == "incorrect" else ""
    return load_uiprmd(DATA / label / f"{base}_positions{suffix}.txt.gz")


def _lift(ds: xr.Dataset, side: str, height_m: float, frames: slice) -> xr.Dataset:
    """Raise one ankle by ``height_m`` in some frames (3D only): a foot off the floor."""
    out = ds.drop_vars("position").copy(deep=True)
    kp = {"keypoints": f"{side}_ankle", "time": ds["time"].values[frames], "space3": "y"}
    out["position_world"].loc[kp] -= height_m  # world y points down
    return out


def test_hip_height_is_over_the_lower_foot() -> None:
    ds = _load("m01_s01_e01")
    for alone in (ds.drop_vars("position_world"), ds.drop_vars("position")):
        height = hip_height_over_stance(alone)
        assert np.isfinite(height).all()
        assert 0.85 < np.median(height[:5]) < 1.15  # standing: about a leg length
    base = hip_height_over_stance(ds.drop_vars("position"))
    # The left foot lifted for the first 20 frames: the right foot carries the body.
    lifted = hip_height_over_stance(_lift(ds, "left", 0.3, slice(0, 20)))
    np.testing.assert_allclose(lifted, base, atol=0.01)


@pytest.mark.parametrize("name", ["m02_s02_e01_inc", "m02_s03_e03_inc", "m02_s05_e02_inc"])
def test_a_hurdle_step_with_a_leaning_trunk_is_not_a_side_lunge(name: str) -> None:
    res = analyse(_load(name))
    assert res.movement.recognised == "other"
    assert "the hips stayed up over the other foot" in res.movement.reasons[0]
    assert res.movement.features["trunk_excursion_deg"] > 15  # it leans, as side lunges do
    assert res.movement.features["stance_hip_drop"] < RECOGNITION_RULES["step_max_stance_hip_drop"]


@pytest.mark.parametrize(
    ("name", "expected"), [("m03_s02_e01", "lunge"), ("m04_s02_e01", "side_lunge")]
)
def test_lunges_lower_the_hips_over_the_feet(name: str, expected: str) -> None:
    res = analyse(_load(name))
    assert res.movement.recognised == expected
    assert res.movement.features["stance_hip_drop"] > 0.15
