#!/usr/bin/env bash
# Check that a kneeback pose file opens in the `movement` package (neuroinformatics-unit/movement).
# movement brings a large dependency tree (about 1.4 GB), so it is not a test dependency: this
# script installs it into a throwaway virtual environment and runs movement's own code on the file.
#   scripts/check_movement_compat.sh POSE.nc
set -euo pipefail
pose=${1:?usage: $0 POSE.nc}
venv=$(mktemp -d)/venv
trap 'rm -rf "$(dirname "$venv")"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet movement
"$venv/bin/python" - "$pose" <<'PY'
import sys

import xarray as xr
from movement.io import load_poses
from movement.kinematics import compute_speed

ds = xr.open_dataset(sys.argv[1])
assert ds.attrs["ds_type"] == "poses"
assert ds.position.dims == ("time", "space", "keypoints", "individuals"), ds.position.dims
again = load_poses.from_numpy(
    position_array=ds.position.values,
    confidence_array=ds.confidence.values,
    individual_names=list(ds.individuals.values),
    keypoint_names=list(ds.keypoints.values),
    fps=float(ds.attrs["fps"]),
)
speed = compute_speed(ds.position)
print(f"movement opened {sys.argv[1]}: {ds.sizes['time']} frames, {ds.sizes['keypoints']} keypoints; "
      f"from_numpy gives {dict(again.sizes)}; median keypoint speed {float(speed.median()):.1f} px/s")
PY
