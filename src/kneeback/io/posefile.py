"""Save and load pose datasets as netCDF files, with a schema-version check."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from kneeback.errors import InputError, SchemaError
from kneeback.schema import validate_pose_dataset

__all__ = ["load_pose_dataset", "save_pose_dataset"]


def save_pose_dataset(ds: xr.Dataset, path: str | Path, /) -> Path:
    """Write a pose dataset to a netCDF file, atomically.

    Parameters
    ----------
    ds
        A dataset that passes :func:`kneeback.schema.validate_pose_dataset`.
    path
        Destination (``.nc``); parent folders are created.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    validate_pose_dataset(ds)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=False)
    tmp.replace(path)
    return path


def load_pose_dataset(path: str | Path, /) -> xr.Dataset:
    """Read a pose dataset written by :func:`save_pose_dataset` (or by ``movement``).

    Parameters
    ----------
    path
        A netCDF file.

    Returns
    -------
    xarray.Dataset
        The dataset, loaded into memory and validated.

    Raises
    ------
    InputError
        If the file is missing, unreadable or not a pose dataset.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Pose file {path} does not exist.")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as opened:
            ds = opened.load()
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not a readable netCDF pose file ({exc}).") from exc
    if "schema_version" not in ds.attrs and ds.attrs.get("ds_type") == "poses":
        ds.attrs["schema_version"] = 1  # a plain movement dataset
    try:
        return validate_pose_dataset(ds)
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from exc
