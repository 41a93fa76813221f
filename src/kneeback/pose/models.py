"""Provisioning of the MediaPipe pose model (``pose_landmarker_{variant}.task``).

A ``.task`` file is a zip holding ``pose_detector.tflite`` and ``pose_landmarks_detector.tflite``.
:func:`install_model` gets it, in this order:

1. a valid file already in :func:`model_dir`: its sha256 matches the JSON sidecar
   ``pose_landmarker_{variant}.json`` written beside it. A file without a sidecar (one the user
   downloaded and put there) is adopted once it passes a smoke inference; a file that no longer
   matches its sidecar is taken as corrupted and replaced (so, to swap in a file by hand, delete
   the old sidecar too);
2. MediaPipe's published model URL (short timeout, so offline machines fall through fast);
3. a build from the npm package ``@mediapipe/pose`` (Apache-2.0), pinned by version and by the
   sha256 of every input: the landmark model ``pose_landmark_{variant}.tflite`` and the detector
   cut out of ``pose_solution_packed_assets.data`` at the byte range its loader script names. The
   Tasks API refuses float models without TFLite metadata declaring the input normalisation, so
   that metadata is added here before the two models are zipped;
4. otherwise :class:`~kneeback.errors.ModelUnavailableError` saying what to do.

Every new file is written to a temporary name, smoke-tested (the landmarker must load and run)
and renamed atomically; a lock file in the model directory serialises concurrent installs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, get_args

import platformdirs

from kneeback.errors import ModelUnavailableError
from kneeback.pose.native_logs import native_stderr_captured
from kneeback.settings import ModelVariant

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "MODEL_URL_TEMPLATE",
    "NPM_PACKAGE",
    "NPM_VERSION",
    "VARIANTS",
    "ModelStatus",
    "ensure_model",
    "install_model",
    "installed_model",
    "list_models",
    "model_dir",
    "model_file",
    "smoke_test",
]

log = logging.getLogger(__name__)

VARIANTS: Final[tuple[ModelVariant, ...]] = get_args(ModelVariant)
"""The model variants, fastest first."""

MODEL_DIR_ENV: Final = "KNEEBACK_MODEL_DIR"
MODEL_URL_TEMPLATE: Final = (
    "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
    "pose_landmarker_{variant}/float16/latest/pose_landmarker_{variant}.task"
)
DOWNLOAD_TIMEOUT_S: Final = 10.0
NPM_PACKAGE: Final = "@mediapipe/pose"
NPM_VERSION: Final = "0.5.1675469404"
NPM_TIMEOUT_S: Final = 600.0

_PACKED_DATA: Final = "pose_solution_packed_assets.data"
_PACKED_LOADER: Final = "pose_solution_packed_assets_loader.js"
_DETECTOR_NAME: Final = "pose_detection.tflite"

# sha256 of every input taken from the pinned npm package.
_LANDMARK_SHA256: Final[dict[str, str]] = {
    "lite": "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    "full": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "heavy": "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}
_NPM_SHA256: Final[dict[str, str]] = {
    **{f"pose_landmark_{v}.tflite": digest for v, digest in _LANDMARK_SHA256.items()},
    _PACKED_DATA: "a63c614bef30d35947f13be361820b1e4e3bec9cfeebf4d11216a18373108e85",
    # The detector slice of the packed assets (in this version it spans the whole file).
    _DETECTOR_NAME: "a63c614bef30d35947f13be361820b1e4e3bec9cfeebf4d11216a18373108e85",
}

# Members of the .task zip, as the Tasks API expects them.
_TASK_DETECTOR: Final = "pose_detector.tflite"
_TASK_LANDMARKER: Final = "pose_landmarks_detector.tflite"

# Input normalisation (x - mean) / std of the two models, and their output tensors in order.
_DETECTOR_NORM: Final = (127.5, 127.5)  # 224x224 RGB to [-1, 1]
_LANDMARKER_NORM: Final = (0.0, 255.0)  # 256x256 RGB to [0, 1]
_DETECTOR_OUTPUTS: Final = ("regressors", "classificators")
_LANDMARKER_OUTPUTS: Final = (
    "landmarks",
    "pose_presence",
    "segmentation_mask",
    "heatmap",
    "world_landmarks",
)
_TFLITE_ALIGNMENT: Final = 16
_ZIP_DATE: Final = (1980, 1, 1, 0, 0, 0)  # fixed, so that a build is byte-for-byte reproducible

Progress = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class ModelStatus:
    """What is known about one model variant in the cache.

    Attributes
    ----------
    variant
        ``"lite"``, ``"full"`` or ``"heavy"``.
    path
        Where the ``.task`` file lives (whether or not it exists).
    installed
        True when the file exists and matches the sha256 recorded in its sidecar.
    source
        ``"url"``, ``"npm"`` or ``"cache"`` (a file found in the cache and adopted) when
        installed; ``"unverified"`` for a file present without a matching sidecar; None when absent.
    size_bytes
        Size of the file, or None when absent.
    sha256
        sha256 of the file, or None when absent.
    """

    variant: ModelVariant
    path: Path
    installed: bool
    source: str | None
    size_bytes: int | None
    sha256: str | None


# --------------------------------------------------------------------------------------------
# Paths


def model_dir() -> Path:
    """Return the folder holding the model files.

    Returns
    -------
    pathlib.Path
        ``$KNEEBACK_MODEL_DIR`` when set, else ``<user cache dir>/kneeback/models``. The folder is
        not created here.
    """
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("kneeback")) / "models"


def _check_variant(variant: str) -> ModelVariant:
    if variant not in VARIANTS:
        raise ValueError(f"Unknown model variant {variant!r}; choose one of {', '.join(VARIANTS)}.")
    return variant


def model_file(variant: ModelVariant = "full") -> Path:
    """Return where the ``.task`` file of a variant lives, whether or not it is present.

    Parameters
    ----------
    variant
        ``"lite"``, ``"full"`` or ``"heavy"``.

    Returns
    -------
    pathlib.Path
        ``model_dir() / f"pose_landmarker_{variant}.task"``.

    Raises
    ------
    ValueError
        If the variant is unknown.
    """
    return model_dir() / f"pose_landmarker_{_check_variant(variant)}.task"


def _sidecar_file(variant: ModelVariant) -> Path:
    return model_file(variant).with_suffix(".json")


# --------------------------------------------------------------------------------------------
# Small helpers


def _sha256_bytes(data: bytes | bytearray | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _mediapipe_version() -> str | None:
    try:
        return importlib_metadata.version("mediapipe")
    except importlib_metadata.PackageNotFoundError:
        return None


def _say(progress: Progress | None, message: str) -> None:
    log.info(message)
    if progress is not None:
        progress(message)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _temp_task_path(directory: Path, variant: ModelVariant) -> Path:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".pose_landmarker_{variant}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is readable like any download
    return Path(tmp)


@contextlib.contextmanager
def _install_lock(directory: Path) -> Iterator[None]:
    """Create ``directory`` and hold an exclusive lock on ``directory/.lock``.

    The lock is advisory (``fcntl.flock``), so concurrent installs, in threads or processes, take
    turns; it is a no-op where fcntl is missing (Windows).

    Raises
    ------
    ModelUnavailableError
        If the folder cannot be created or written.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = (directory / ".lock").open("a")
    except OSError as exc:
        raise ModelUnavailableError(
            f"Cannot write to the model folder {directory} ({exc.strerror or exc}); set "
            f"{MODEL_DIR_ENV} to a writable folder."
        ) from exc
    if sys.platform == "win32":  # pragma: no cover
        with handle:
            yield
        return
    import fcntl

    with handle as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------
# Sidecar and cache validation


def _read_sidecar(variant: ModelVariant) -> dict[str, Any] | None:
    try:
        data = json.loads(_sidecar_file(variant).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_sidecar(
    variant: ModelVariant, source: str, task: Path, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "variant": variant,
        "file": task.name,
        "source": source,
        "sha256": _sha256_file(task),
        "size_bytes": task.stat().st_size,
        "mediapipe_version": _mediapipe_version(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    record.update(extra or {})
    _atomic_write_bytes(
        _sidecar_file(variant), (json.dumps(record, indent=2) + "\n").encode("utf-8")
    )
    return record


def _verified_record(variant: ModelVariant) -> dict[str, Any] | None:
    """Return the sidecar if the cached file exists and matches it, else None (cheap: one hash)."""
    task = model_file(variant)
    record = _read_sidecar(variant)
    if record is None or not task.is_file():
        return None
    if record.get("size_bytes") != task.stat().st_size or record.get("sha256") != _sha256_file(
        task
    ):
        return None
    return record


def _adopt_or_discard_cached(variant: ModelVariant, progress: Progress | None) -> bool:
    """Handle a cached file that no valid sidecar vouches for; True when it was adopted.

    A file without a sidecar was put there by someone else (a manual download): it is adopted if
    it passes the smoke inference. A file whose sidecar does not match was changed after it was
    recorded: it is treated as corrupted and removed, with its sidecar.
    """
    task = model_file(variant)
    sidecar = _sidecar_file(variant)
    if not task.exists():
        with contextlib.suppress(FileNotFoundError):
            sidecar.unlink()  # a stale record must not condemn a file put there later
        return False
    if sidecar.exists():
        _say(progress, f"Cached {task.name} does not match its record; discarding it.")
        for p in (task, sidecar):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        return False
    _say(progress, f"Found {task.name} without a record; checking that it loads and runs.")
    try:
        _quiet_smoke_test(task)
    except Exception as exc:
        _say(progress, f"Cached {task.name} is unusable ({exc}); replacing it.")
        with contextlib.suppress(FileNotFoundError):
            task.unlink()
        return False
    _write_sidecar(variant, "cache", task)
    return True


# --------------------------------------------------------------------------------------------
# Smoke inference


def _quiet_smoke_test(task: Path) -> None:
    """Run :func:`smoke_test` with the native log hidden; on failure add its last lines."""
    with native_stderr_captured() as captured:
        try:
            smoke_test(task)
        except Exception as exc:
            lines = [ln for ln in captured().splitlines() if "E0000" in ln or "ERROR" in ln]
            detail = f" [{lines[-1].strip()}]" if lines else ""
            raise RuntimeError(f"MediaPipe cannot run it: {exc}{detail}") from exc


def smoke_test(task: Path | str, image: np.ndarray | None = None) -> int:
    """Load a ``.task`` file in MediaPipe's ``PoseLandmarker`` and run one detection.

    Parameters
    ----------
    task
        The ``.task`` file.
    image
        An RGB uint8 image of shape (H, W, 3); a blank 256x256 image when None.

    Returns
    -------
    int
        The number of poses found (0 on a blank image).

    Raises
    ------
    Exception
        Whatever MediaPipe raises when the file cannot be loaded or run.
    """
    import mediapipe as mp
    import numpy as np
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.vision import (
        PoseLandmarker,
        PoseLandmarkerOptions,
        RunningMode,
    )

    if image is None:
        image = np.zeros((256, 256, 3), dtype=np.uint8)
    options = PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(task)),
        running_mode=RunningMode.IMAGE,
    )
    with PoseLandmarker.create_from_options(options) as landmarker:
        frame = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))
        result = landmarker.detect(frame)
    return len(result.pose_landmarks)


# --------------------------------------------------------------------------------------------
# Route 2: MediaPipe's published URL


def _download(variant: ModelVariant, dest: Path, progress: Progress | None) -> str:
    """Download the published ``.task`` into ``dest``; return the URL."""
    url = MODEL_URL_TEMPLATE.format(variant=variant)
    _say(progress, f"Downloading {url}")
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, dest.open("wb") as f:
        shutil.copyfileobj(response, f, 1 << 20)
    with zipfile.ZipFile(dest) as z:
        names = set(z.namelist())
    missing = {_TASK_DETECTOR, _TASK_LANDMARKER} - names
    if missing:
        raise ValueError(f"the downloaded file lacks {', '.join(sorted(missing))}")
    return url


# --------------------------------------------------------------------------------------------
# Route 3: build from the npm package


def _npm_pack(workdir: Path, progress: Progress | None) -> Path:
    """Fetch the pinned npm tarball into ``workdir`` with ``npm pack``; return its path."""
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not installed (not found on PATH)")
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    _say(progress, f"Fetching {spec} with npm pack")
    env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false")
    proc = subprocess.run(
        [npm, "pack", spec, "--loglevel=error"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_S,
        check=False,
    )
    tarballs = sorted(workdir.glob("*.tgz"))
    if proc.returncode != 0 or not tarballs:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise RuntimeError(
            f"npm pack {spec} failed (exit {proc.returncode})"
            + (f": {detail[-1]}" if detail else "")
        )
    return tarballs[0]


def _read_members(tarball: Path, names: list[str]) -> dict[str, bytes]:
    """Read named files of an npm tarball (stored under ``package/``) without extracting."""
    out: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            name = member.name.split("/", 1)[-1]
            if name in names and member.isfile():
                f = tar.extractfile(member)
                if f is not None:
                    out[name] = f.read()
    missing = [n for n in names if n not in out]
    if missing:
        raise ValueError(f"{tarball.name} lacks {', '.join(missing)}")
    return out


def _detector_range(loader_js: str) -> tuple[int, int]:
    """Find the ``start``/``end`` byte range of the detector in the packed-assets loader."""
    match = re.search(r'"files"\s*:\s*(\[.*?\])', loader_js, flags=re.DOTALL)
    if match is None:
        raise ValueError(f"{_PACKED_LOADER} has no file table")
    for entry in json.loads(match.group(1)):
        if str(entry.get("filename", "")).endswith("/" + _DETECTOR_NAME):
            start, end = int(entry["start"]), int(entry["end"])
            if not 0 <= start < end:
                raise ValueError(f"{_PACKED_LOADER} names an empty range for {_DETECTOR_NAME}")
            return start, end
    raise ValueError(f"{_PACKED_LOADER} does not list {_DETECTOR_NAME}")


def _verify(name: str, data: bytes) -> str:
    digest = _sha256_bytes(data)
    if digest != _NPM_SHA256[name]:
        raise ValueError(
            f"{name} from {NPM_PACKAGE}@{NPM_VERSION} has sha256 {digest}, "
            f"expected {_NPM_SHA256[name]}"
        )
    return digest


def _pack_buffer_aligned(buffer: Any, builder: Any) -> int:
    """Pack a TFLite ``BufferT`` with its data aligned to 16 bytes (zero-copy loading)."""
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    data_offset = None
    if buffer.data is not None:
        payload = bytes(buffer.data)
        builder.StartVector(1, len(payload), _TFLITE_ALIGNMENT)
        builder.head = builder.head - len(payload)
        builder.Bytes[builder.head : builder.head + len(payload)] = payload
        builder.vectorNumElems = len(payload)
        data_offset = builder.EndVector()
    tfl.BufferStart(builder)
    if data_offset is not None:
        tfl.BufferAddData(builder, data_offset)
    tfl.BufferAddOffset(builder, buffer.offset)
    tfl.BufferAddSize(builder, buffer.size)
    return int(tfl.BufferEnd(builder))


def _with_metadata(
    model: bytes,
    *,
    name: str,
    description: str,
    norm: tuple[float, float],
    outputs: tuple[str, ...],
) -> bytes:
    """Return a TFLite model with metadata declaring its RGB image input and normalisation.

    The tensor metadata comes from the metadata writer shipped in the mediapipe wheel
    (``metadata_writers.metadata_info``); the flatbuffers are packed here, as
    ``MetadataWriter.populate`` does, because ``metadata_writer`` itself imports a native module
    that some mediapipe wheels (1.x) no longer ship.
    """
    import flatbuffers
    import numpy as np
    from mediapipe.tasks.metadata import metadata_schema_py_generated as mdfb
    from mediapipe.tasks.metadata import schema_py_generated as tfl
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_info, writer_utils

    buf = bytearray(model)
    n_out = len(writer_utils.get_output_tensor_names(buf))
    if n_out != len(outputs):
        raise ValueError(f"{name} has {n_out} outputs, expected {len(outputs)}")
    mean, std = norm
    image_md = metadata_info.InputImageTensorMd(
        name="image",
        description="Input image, RGB.",
        norm_mean=[mean] * 3,
        norm_std=[std] * 3,
        color_space_type=mdfb.ColorSpaceType.RGB,
        tensor_type=writer_utils.get_input_tensor_types(buf)[0],
    )
    subgraph = mdfb.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [image_md.create_metadata()]
    subgraph.outputTensorMetadata = [
        metadata_info.TensorMd(name=out).create_metadata() for out in outputs
    ]
    model_md = metadata_info.GeneralMd(name=name, description=description).create_metadata()
    model_md.subgraphMetadata = [subgraph]
    model_md.minParserVersion = "1.0.0"  # image properties and normalisation only
    builder = flatbuffers.Builder(0)
    builder.Finish(model_md.Pack(builder), b"M001")
    metadata_buf = bytes(builder.Output())

    tflite = tfl.ModelT.InitFromObj(tfl.Model.GetRootAsModel(buf, 0))
    md_buffer = tfl.BufferT()
    md_buffer.data = np.frombuffer(metadata_buf, dtype=np.uint8)
    tflite.buffers = list(tflite.buffers or [])
    tflite.metadata = [
        m for m in (tflite.metadata or []) if m.name not in (b"TFLITE_METADATA", "TFLITE_METADATA")
    ]
    tflite.buffers.append(md_buffer)
    entry = tfl.MetadataT()
    entry.name = "TFLITE_METADATA"
    entry.buffer = len(tflite.buffers) - 1
    tflite.metadata.append(entry)
    for b in tflite.buffers:
        b.Pack = _pack_buffer_aligned.__get__(b)  # align every weight buffer
    builder = flatbuffers.Builder(len(buf) + len(metadata_buf) + 4096)
    builder.Finish(tflite.Pack(builder), b"TFL3")
    return bytes(builder.Output())


def _write_task(dest: Path, members: dict[str, bytes]) -> None:
    """Zip the two models, uncompressed and aligned, with fixed timestamps."""
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    with model_asset_bundle_utils.AlignZipFile(dest, mode="w", alignment=_TFLITE_ALIGNMENT) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


def _build_from_npm(variant: ModelVariant, dest: Path, progress: Progress | None) -> dict[str, Any]:
    """Build the ``.task`` into ``dest`` from the pinned npm package; return sidecar extras."""
    landmark_name = f"pose_landmark_{variant}.tflite"
    with tempfile.TemporaryDirectory(prefix="kneeback-npm-") as tmp:
        tarball = _npm_pack(Path(tmp), progress)
        files = _read_members(tarball, [landmark_name, _PACKED_DATA, _PACKED_LOADER])
    _say(progress, f"Verifying {landmark_name} and the pose detector")
    inputs = {
        landmark_name: _verify(landmark_name, files[landmark_name]),
        _PACKED_DATA: _verify(_PACKED_DATA, files[_PACKED_DATA]),
    }
    start, end = _detector_range(files[_PACKED_LOADER].decode("utf-8"))
    detector = files[_PACKED_DATA][start:end]
    if len(detector) != end - start:
        raise ValueError(f"{_PACKED_DATA} is shorter than the range {start}-{end}")
    inputs[_DETECTOR_NAME] = _verify(_DETECTOR_NAME, detector)

    _say(progress, "Adding TFLite metadata and packing the .task file")
    detector_md = _with_metadata(
        detector,
        name="pose_detector",
        description="BlazePose person detector: 224x224 RGB in [-1, 1].",
        norm=_DETECTOR_NORM,
        outputs=_DETECTOR_OUTPUTS,
    )
    landmarker_md = _with_metadata(
        files[landmark_name],
        name="pose_landmarks_detector",
        description=f"BlazePose GHUM 3D landmarks ({variant}): 256x256 RGB in [0, 1].",
        norm=_LANDMARKER_NORM,
        outputs=_LANDMARKER_OUTPUTS,
    )
    _write_task(dest, {_TASK_DETECTOR: detector_md, _TASK_LANDMARKER: landmarker_md})
    return {
        "npm_package": f"{NPM_PACKAGE}@{NPM_VERSION}",
        "detector_range": [start, end],
        "inputs_sha256": inputs,
    }


def _try_route(
    variant: ModelVariant,
    source: str,
    route: Callable[[Path], dict[str, Any]],
    progress: Progress | None,
) -> str | None:
    """Get the file by one route into a temporary file, check it, install it; None on success.

    Returns the reason of the failure otherwise. The caller holds the install lock.
    """
    task = model_file(variant)
    tmp: Path | None = None
    try:
        tmp = _temp_task_path(task.parent, variant)
        extra = route(tmp)
        _say(progress, "Checking that the model loads and runs")
        _quiet_smoke_test(tmp)
        os.replace(tmp, task)
        _write_sidecar(variant, source, task, extra)
    except subprocess.TimeoutExpired as exc:
        return f"{exc.cmd[0] if exc.cmd else 'npm'} timed out after {exc.timeout:.0f} s"
    except urllib.error.URLError as exc:
        return str(exc.reason)
    except Exception as exc:
        return str(exc) or type(exc).__name__
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    _say(progress, f"Installed {task} (from {source})")
    return None


# --------------------------------------------------------------------------------------------
# Public entry points


def install_model(
    variant: ModelVariant = "full",
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Make sure the ``.task`` file of a variant is in the cache and return its path.

    Parameters
    ----------
    variant
        ``"lite"``, ``"full"`` or ``"heavy"``.
    force
        Rebuild (or download again) even when a valid file is cached.
    progress
        Called with one line of text per step, for a CLI to show.

    Returns
    -------
    pathlib.Path
        The ``.task`` file, which loads and runs in MediaPipe's ``PoseLandmarker``.

    Raises
    ------
    ValueError
        If the variant is unknown.
    ModelUnavailableError
        If the file is not cached and can neither be downloaded nor built.
    """
    variant = _check_variant(variant)
    task = model_file(variant)
    directory = task.parent
    if not force and _verified_record(variant) is not None:  # works in a read-only folder too
        _say(progress, f"Using cached {task}")
        return task
    with _install_lock(directory):
        # 1. The cache (checked again under the lock: another process may have just installed).
        if not force:
            if _verified_record(variant) is not None:
                _say(progress, f"Using cached {task}")
                return task
            if _adopt_or_discard_cached(variant, progress):
                _say(progress, f"Using cached {task}")
                return task

        # 2. The published URL, then 3. the npm build.
        failures: list[str] = []
        routes: list[tuple[str, Callable[[Path], dict[str, Any]]]] = [
            ("url", lambda dest: {"url": _download(variant, dest, progress)}),
            ("npm", lambda dest: _build_from_npm(variant, dest, progress)),
        ]
        for source, route in routes:
            reason = _try_route(variant, source, route, progress)
            if reason is None:
                return task
            failures.append(f"{source}: {reason}")
            _say(progress, f"Could not get the model from {source}: {reason}")

    npm_hint = (
        "install Node.js/npm so kneeback can build it from @mediapipe/pose"
        if shutil.which("npm") is None
        else f"check that npm can reach its registry to fetch {NPM_PACKAGE}@{NPM_VERSION}"
    )
    raise ModelUnavailableError(
        f"The pose model {task.name} could not be provisioned ({'; '.join(failures)}): "
        f"{npm_hint}, or download {MODEL_URL_TEMPLATE.format(variant=variant)} and put it in "
        f"{directory}, or set {MODEL_DIR_ENV} to a folder that holds it."
    )


def ensure_model(variant: ModelVariant = "full", *, progress: Progress | None = None) -> Path:
    """Return the cached ``.task`` file of a variant, installing it on first use.

    Parameters
    ----------
    variant
        ``"lite"``, ``"full"`` or ``"heavy"``.
    progress
        Passed to :func:`install_model` when the file has to be installed.

    Returns
    -------
    pathlib.Path
        The ``.task`` file.

    Raises
    ------
    ModelUnavailableError
        If it is not cached and cannot be downloaded or built.
    """
    variant = _check_variant(variant)
    if _verified_record(variant) is not None:
        return model_file(variant)
    return install_model(variant, progress=progress)


def installed_model(variant: ModelVariant = "full") -> Path:
    """Return the cached ``.task`` file of a variant, never fetching it (a service's start check).

    A file put in the cache by hand, without its record, is adopted when it loads and runs, as
    :func:`ensure_model` would; nothing is downloaded or built.

    Parameters
    ----------
    variant
        ``"lite"``, ``"full"`` or ``"heavy"``.

    Returns
    -------
    pathlib.Path
        The ``.task`` file.

    Raises
    ------
    ModelUnavailableError
        If the file is not in the cache, cannot be read, or does not load and run.
    """
    variant = _check_variant(variant)
    task = model_file(variant)
    # `kneeback models install` brings the lite model with any variant
    install = "kneeback models install" + (
        "" if variant in ("full", "lite") else f" --variant {variant}"
    )
    try:
        if _verified_record(variant) is not None:
            return task
        if task.is_file() and not _sidecar_file(variant).exists():
            with _install_lock(task.parent):
                if _verified_record(variant) is not None or _adopt_or_discard_cached(variant, None):
                    return task
    except OSError as exc:
        raise ModelUnavailableError(
            f"The pose model {task} cannot be read ({exc.strerror or exc}): run `{install}` as "
            "the user the service runs as."
        ) from exc
    raise ModelUnavailableError(
        f"The pose model {task.name} is not installed in {task.parent}: run `{install}` as the "
        "user the service runs as (or set KNEEBACK_MODEL_DIR to a folder that holds it)."
    )


def list_models() -> list[ModelStatus]:
    """Describe every variant in the cache, without running any inference.

    Returns
    -------
    list of ModelStatus
        One entry per variant, ``lite``, ``full``, ``heavy``.
    """
    statuses = []
    for variant in VARIANTS:
        task = model_file(variant)
        if not task.is_file():
            statuses.append(ModelStatus(variant, task, False, None, None, None))
            continue
        digest = _sha256_file(task)
        size = task.stat().st_size
        record = _read_sidecar(variant)
        ok = record is not None and record.get("sha256") == digest
        source = str(record.get("source")) if ok and record is not None else "unverified"
        statuses.append(ModelStatus(variant, task, ok, source, size, digest))
    return statuses
