#!/usr/bin/env bash
# System packages the tests need beyond the Python venv: Debian's chromium (the report's
# browser test, driven by Playwright for Python; no `playwright install`), ffmpeg (ffprobe
# checks of annotated videos), postgresql (the store tests run against a real server, started
# on loopback by scripts/postgres-test-server.sh) and npm (the model tests build the pose model
# from the @mediapipe/pose npm package). Idempotent: installs only what is missing. Run as root (CI) or
# with sudo available.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
    || missing+=(postgresql)
# npm builds the pose model from the @mediapipe/pose package in the model tests (tests/conftest.py).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ "${#missing[@]}" -eq 0 ]; then
    echo "system-deps: chromium, ffmpeg, postgresql and npm already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: apt-get not found; install ${missing[*]} with your package manager" >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "system-deps: need root (or sudo) to install ${missing[*]}" >&2
        exit 1
    fi
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
