"""Adapters from external pose formats into the kneeback pose dataset.

Every adapter returns a validated dataset (:mod:`kneeback.schema`) with BlazePose-33 keypoint
names, NaN for landmarks the format lacks, positions in pixels and, for 3D sources,
``position_world`` in metres in one convention: right-handed, **y down** (as MediaPipe world
landmarks), x and z horizontal; the origin depends on the source (MediaPipe: hip centre;
Vicon: lab floor origin; Kinect: the sensor). Each adapter documents its axes in its module
docstring and in the dataset attr ``world_axes``.

============  ================================================  =======================
format        files                                             function
============  ================================================  =======================
netcdf        ``.nc`` pose files (kneeback, ``movement``)       ``load_pose_dataset``
uiprmd        UI-PRMD Vicon ``m01_s01_e01_positions.txt.gz``    :func:`load_uiprmd`
kinect        Kinect v2 skeleton text (Keraal, KIMORE)          :func:`load_kinect`
blazepose-    BlazePose-33 keypoint JSON (Keraal ``G3-BP-*``)   :func:`load_keypoints_json`
json
coco-json     COCO-17 / OpenPose COCO-18 / BODY-25 JSON         :func:`load_keypoints_json`
============  ================================================  =======================
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Literal

import xarray as xr

from kneeback.errors import InputError
from kneeback.io.adapters.keypoints_json import load_keypoints_json
from kneeback.io.adapters.kinect import load_kinect
from kneeback.io.adapters.uiprmd import load_uiprmd
from kneeback.io.adapters.virtual_camera import project
from kneeback.io.posefile import load_pose_dataset

__all__ = [
    "FORMATS",
    "PoseFormat",
    "detect_format",
    "load_any",
    "load_keypoints_json",
    "load_kinect",
    "load_uiprmd",
    "project",
]

PoseFormat = Literal["auto", "netcdf", "uiprmd", "kinect", "blazepose-json", "coco-json"]
#: Format names :func:`load_any` accepts besides ``"auto"``.
FORMATS: tuple[str, ...] = ("netcdf", "uiprmd", "kinect", "blazepose-json", "coco-json")

_NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"\x89HDF\r\n\x1a\n")


def _first_data_line(path: Path) -> str:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                return line
    return ""


def detect_format(path: str | Path, /) -> str:
    """Guess the format of a pose file from its name and first bytes.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    InputError
        If the file is missing or of no known kind.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No pose file at {path}.")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head.startswith(_NETCDF_MAGIC) or path.suffix.lower() in (".nc", ".netcdf"):
            return "netcdf"
        if path.suffix.lower() == ".json":
            content = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(content, dict) and isinstance(content.get("positions"), dict):
                first: dict[str, object] = next(iter(content["positions"].values()), {})
                names = {re.sub(r"[^a-z]", "", str(k).lower()) for k in first}
                if names & {"lefteyeinner", "lefteyeouter", "mouthleft", "leftfootindex"}:
                    return "blazepose-json"
                return "coco-json"
            if isinstance(content, list) and content and isinstance(content[0], dict):
                count = len(content[0].get("keypoints", [])) // 3
                return "blazepose-json" if count == 33 else "coco-json"
            raise InputError(f"{path} is JSON but not a keypoint file kneeback knows.")
        fields = [f for f in re.split(r"[,;\s]+", _first_data_line(path).strip()) if f]
    except (OSError, UnicodeDecodeError, ValueError, EOFError) as exc:
        raise InputError(f"{path} is not a readable pose file ({exc}).") from exc
    if len(fields) == 117:
        return "uiprmd"
    if len(fields) in (75, 100, 175):
        return "kinect"
    raise InputError(
        f"{path} is not a pose file kneeback recognises (netCDF, UI-PRMD, Kinect or keypoint "
        "JSON); name its format explicitly."
    )


def load_any(
    path: str | Path,
    /,
    *,
    format: PoseFormat = "auto",
    fps: float | None = None,
    width: int | None = None,
    height: int | None = None,
) -> xr.Dataset:
    """Load a pose file of any supported format as a validated pose dataset.

    Parameters
    ----------
    path
        The file.
    format
        ``"auto"`` (from the file name and content, see :func:`detect_format`) or one of
        :data:`FORMATS`.
    fps
        Frame rate for formats that do not store one (JSON: required unless recognised as
        Keraal; UI-PRMD default 100; Kinect default 30). Ignored for netCDF.
    width, height
        Image size in pixels for keypoint JSON with normalised coordinates.

    Returns
    -------
    xarray.Dataset
        The pose dataset.

    Raises
    ------
    InputError
        With one sentence, if the file is missing, unreadable or not of the format named.
    """
    path = Path(path)
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "netcdf":
        return load_pose_dataset(path)
    if fmt == "uiprmd":
        return load_uiprmd(path) if fps is None else load_uiprmd(path, fps=fps)
    if fmt == "kinect":
        return load_kinect(path) if fps is None else load_kinect(path, fps=fps)
    if fmt in ("blazepose-json", "coco-json"):
        return load_keypoints_json(
            path,
            skeleton="blazepose" if fmt == "blazepose-json" else "coco",
            width=width,
            height=height,
            fps=fps,
        )
    raise InputError(f"Unknown pose format {format!r}; choose one of {', '.join(FORMATS)}.")
