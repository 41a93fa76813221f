import numpy as np
import pytest
import xarray as xr

from kneeback.errors import InputError, SchemaError
from kneeback.io.posefile import load_pose_dataset, save_pose_dataset
from kneeback.schema import SCHEMA_VERSION, coverage, make_pose_dataset, validate_pose_dataset


def _dataset(n=10, gaps=()):
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 500, size=(n, 2, 33, 1))
    world = rng.normal(size=(n, 3, 33, 1))
    for g in gaps:
        pos[g] = np.nan
    return make_pose_dataset(
        pos,
        time_s=np.cumsum(rng.uniform(0.01, 0.03, n)),
        position_world=world,
        attrs={"width": 640, "height": 480, "video": "clip.mp4"},
    )


def test_dataset_follows_movement_layout():
    ds = _dataset()
    assert ds["position"].dims == ("time", "space", "keypoints", "individuals")
    assert ds["confidence"].dims == ("time", "keypoints", "individuals")
    assert ds.attrs["ds_type"] == "poses"
    assert ds.attrs["schema_version"] == SCHEMA_VERSION
    assert list(ds["space"].values) == ["x", "y"]


def test_missing_is_nan_and_coverage_counts_it():
    ds = _dataset(gaps=(2, 3))
    assert np.isnan(ds["position"].isel(time=2)).all()
    assert np.isnan(ds["confidence"].isel(time=2)).all()
    assert coverage(ds) == pytest.approx(0.8)


def test_round_trip_keeps_everything(tmp_path):
    ds = _dataset(gaps=(4,))
    path = save_pose_dataset(ds, tmp_path / "sub" / "pose.nc")
    back = load_pose_dataset(path)
    xr.testing.assert_identical(ds, back)


def test_newer_schema_version_is_refused(tmp_path):
    ds = _dataset()
    ds.attrs["schema_version"] = SCHEMA_VERSION + 1
    path = tmp_path / "future.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(SchemaError, match="newer than this kneeback"):
        load_pose_dataset(path)


def test_times_must_increase():
    ds = _dataset()
    ds = ds.assign_coords(time=ds["time"].values[::-1])
    with pytest.raises(SchemaError, match="strictly increasing"):
        validate_pose_dataset(ds)


def test_not_a_netcdf_file(tmp_path):
    bad = tmp_path / "x.nc"
    bad.write_text("hello")
    with pytest.raises(InputError, match="not a readable netCDF"):
        load_pose_dataset(bad)
