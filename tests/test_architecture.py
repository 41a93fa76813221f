"""The compute core never imports I/O, model or web libraries (DESIGN.md, "Layout")."""

import pkgutil
import subprocess
import sys

import kneeback

CORE = (
    "kneeback.schema",
    "kneeback.processing",
    "kneeback.kinematics",
    "kneeback.movements",
    "kneeback.assess",
)
FORBIDDEN = ("cv2", "av", "mediapipe", "fastapi", "sqlalchemy")


def _core_modules():
    names = []
    for info in pkgutil.walk_packages(kneeback.__path__, "kneeback."):
        if info.name.startswith(CORE):
            names.append(info.name)
    return names


def test_compute_core_imports_no_io_model_or_web_library():
    modules = _core_modules()
    assert "kneeback.schema" in modules
    code = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [f for f in {FORBIDDEN!r} if f in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
