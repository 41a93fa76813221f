"""`make bench`: frames per second of decoding, the naive tutorial loop and `kneeback pose`.

For each real clip in ../shared/data/videos/ and a long clip built by repeating one of them to about
five minutes at 1080p, measure in the same run:
  (a) decoding alone (kneeback's reader, frames converted to RGB, no inference);
  (b) the naive loop most tutorials use: OpenCV read, BGR->RGB conversion,
      PoseLandmarker.detect_for_video frame by frame in one thread, same model variant;
  (c) `kneeback pose` as a user runs it.
(b) and (c) are both timed as programs, from launch to exit (imports and model loading included),
with their peak memory (summed resident memory of the process tree, sampled every 50 ms).
It prints a table with the ratio c/b and the median landmark distance between (b) and (c), and
writes bench/out/results.json and bench/out/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import mediapipe as mp
import numpy as np
from measure import run_measured

from kneeback.io.posefile import load_pose_dataset
from kneeback.io.video import iter_frames, probe_video
from kneeback.pose.models import ensure_model

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT.parent / "shared" / "data" / "videos"
OUT = ROOT / "bench" / "out"


def build_long_clip(source: Path, dest: Path, *, minutes: float, fps: int = 30) -> Path:
    """Repeat ``source`` (upright, scaled to 1080 px on its short side) to about ``minutes``."""
    if dest.exists():
        return dest
    frames = [f.image for f in iter_frames(source, threaded=False)]
    src_fps = probe_video(source).fps
    step = max(1, round(src_fps / fps))
    frames = frames[::step]
    h, w = frames[0].shape[:2]
    scale = 1080 / min(h, w)
    size = (int(round(w * scale / 2) * 2), int(round(h * scale / 2) * 2))
    frames = [cv2.resize(f, size, interpolation=cv2.INTER_LINEAR) for f in frames]
    total = int(minutes * 60 * fps)
    tmp = dest.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(total):
            frame = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    tmp.replace(dest)
    return dest


def bench_decode(path: Path) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = sum(1 for _ in iter_frames(path))
    return n, time.perf_counter() - t0


def bench_naive(path: Path, model: Path, out: Path) -> tuple[int, float, float, np.ndarray]:
    """The tutorial loop as a program: frames, wall seconds, peak MB and its landmarks."""
    script = Path(__file__).with_name("naive_loop.py")
    elapsed, peak = run_measured([sys.executable, str(script), str(path), str(model), str(out)])
    landmarks = np.load(out)
    return len(landmarks), elapsed, peak, landmarks


def bench_kneeback(path: Path, variant: str, out: Path) -> tuple[float, float]:
    """Run `kneeback pose` as a user does; return wall seconds and peak MB."""
    exe = str(Path(sys.executable).with_name("kneeback"))
    return run_measured([exe, "pose", str(path), "-o", str(out), "--variant", variant])


def landmark_agreement(naive: np.ndarray, nc: Path) -> float:
    ds = load_pose_dataset(nc)
    pos = ds["position"].isel(individuals=0).transpose("time", "keypoints", "space").values
    first = int(ds.attrs.get("frame_index_first", 0))
    dists = []
    for i in range(pos.shape[0]):
        if first + i >= len(naive):
            break
        ref = naive[first + i]
        if not (np.isfinite(ref).all() and np.isfinite(pos[i]).all()):
            continue
        dists.append(np.linalg.norm(pos[i] - ref, axis=1))
    return float(np.median(np.concatenate(dists))) if dists else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="full", choices=["lite", "full", "heavy"])
    parser.add_argument("--long-minutes", type=float, default=5.0)
    parser.add_argument("--long-source", default="front-squat-3reps.mp4")
    parser.add_argument("--skip-long", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    model = ensure_model(args.variant)
    clips = sorted(VIDEOS.glob("*.mp4"))
    if not args.skip_long:
        print(f"building the long clip ({args.long_minutes} min at 1080p) ...", flush=True)
        clips.append(
            build_long_clip(
                VIDEOS / args.long_source, OUT / "long-1080p.mp4", minutes=args.long_minutes
            )
        )
    rows = []
    for clip in clips:
        info = probe_video(clip)
        print(
            f"{clip.name}: {info.width}x{info.height} {info.codec} {info.duration_s:.1f} s",
            flush=True,
        )
        n_dec, t_dec = bench_decode(clip)
        n_naive, t_naive, peak_naive, naive_lm = bench_naive(clip, model, OUT / f"{clip.stem}.npy")
        nc = OUT / f"{clip.stem}.nc"
        t_kb, peak_mb = bench_kneeback(clip, args.variant, nc)
        n_kb = load_pose_dataset(nc).sizes["time"]
        row = {
            "clip": clip.name,
            "size": f"{info.width}x{info.height}",
            "frames": n_kb,
            "decode_fps": n_dec / t_dec,
            "naive_fps": n_naive / t_naive,
            "kneeback_fps": n_kb / t_kb,
            "ratio_c_over_b": (n_kb / t_kb) / (n_naive / t_naive),
            "median_px_vs_naive": landmark_agreement(naive_lm, nc),
            "peak_mb": peak_mb,
            "naive_peak_mb": peak_naive,
        }
        rows.append(row)
        print(
            "  "
            + ", ".join(
                f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
            ),
            flush=True,
        )
    header = (
        "| clip | size | frames | decode fps (a) | naive fps (b) | kneeback fps (c) | c/b "
        "| median px (c vs b) | peak MB (b) | peak MB (c) |"
    )
    lines = [header, "|" + "---|" * 10]
    for r in rows:
        lines.append(
            f"| {r['clip']} | {r['size']} | {r['frames']} | {r['decode_fps']:.0f} | "
            f"{r['naive_fps']:.1f} | {r['kneeback_fps']:.1f} | {r['ratio_c_over_b']:.2f} | "
            f"{r['median_px_vs_naive']:.2f} | {r['naive_peak_mb']:.0f} | {r['peak_mb']:.0f} |"
        )
    table = "\n".join(lines)
    meta = f"model variant {args.variant}, {os.cpu_count()} CPU cores, mediapipe {mp.__version__}"
    (OUT / "results.md").write_text(f"{meta}\n\n{table}\n")
    (OUT / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"\n{meta}\n{table}")


if __name__ == "__main__":
    main()
