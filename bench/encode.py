"""`make bench`: encoding the annotated video, kneeback's writer against PyAV's own conversion.

The frames of the demo clip (../shared/data/videos/front-squat-3reps.mp4, scaled as the annotated
video is) are decoded once, then encoded to H.264 in the same run, twice each way, keeping the
faster run of each:
  (a) baseline: RGB frames handed to PyAV as ``rgb24`` (FFmpeg's software scaler converts them to
      ``yuv420p`` inside ``encode``), the usual PyAV recipe and kneeback's writer before;
  (b) ``kneeback.io.video_writer.VideoWriter``: RGB converted to ``yuv420p`` by OpenCV first.
Same encoder, preset and quality (libx264, veryfast, CRF 23). It prints seconds, frames per
second, the speed-up (a)/(b), the file sizes and each file's PSNR against the RGB frames (so that
a faster path that lost quality would show), and writes bench/out/encode.md and .json.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from kneeback.io.video import iter_frames
from kneeback.io.video_writer import TIME_BASE, VideoWriter, even_size
from kneeback.report.annotate import MAX_SIDE_PX

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "videos" / "front-squat-3reps.mp4"
OUT = ROOT / "bench" / "out"


def _baseline(path: Path, images: list[np.ndarray], times: list[float], fps: float) -> None:
    """Encode with PyAV converting ``rgb24`` frames itself (the writer's old path)."""
    h, w = images[0].shape[:2]
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = stream.codec_context.time_base = TIME_BASE
        stream.codec_context.options = {"crf": "23", "preset": "veryfast"}
        for image, t in zip(images, times, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = round(t / TIME_BASE), TIME_BASE
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _kneeback(path: Path, images: list[np.ndarray], times: list[float], fps: float) -> None:
    h, w = images[0].shape[:2]
    with VideoWriter(path, width=w, height=h, fps=fps) as sink:
        for image, t in zip(images, times, strict=True):
            sink.write(image, time_s=t)


def _psnr(path: Path, images: list[np.ndarray]) -> float:
    """PSNR (dB) of the decoded file against the frames that went in."""
    err, n = 0.0, 0
    with av.open(str(path)) as src:
        for frame, ref in zip(src.decode(video=0), images, strict=False):
            got = frame.to_ndarray(format="rgb24").astype(np.float64)
            err += float(np.mean((got - ref) ** 2))
            n += 1
    return float(10 * np.log10(255.0**2 / (err / n)))


def _best_of(
    run: Callable[[Path, list[np.ndarray], list[float], float], None],
    path: Path,
    images: list[np.ndarray],
    times: list[float],
    fps: float,
) -> float:
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        run(path, images, times, fps)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    if not CLIP.is_file():
        raise SystemExit(f"The demo clip is missing: {CLIP}")
    frames = list(iter_frames(CLIP, max_side_px=MAX_SIDE_PX))
    h, w = frames[0].image.shape[:2]
    w2, h2 = even_size(w, h)
    images = [np.ascontiguousarray(f.image[:h2, :w2]) for f in frames]
    times = [f.time_s - frames[0].time_s for f in frames]
    fps = (len(times) - 1) / times[-1]
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, run in (("(a) PyAV rgb24 (baseline)", _baseline), ("(b) kneeback", _kneeback)):
        path = OUT / f"encode-{name[1]}.mp4"
        seconds = _best_of(run, path, images, times, fps)
        rows.append(
            {
                "way": name,
                "seconds": round(seconds, 2),
                "frames_per_s": round(len(images) / seconds, 1),
                "size_kib": path.stat().st_size // 1024,
                "psnr_db": round(_psnr(path, images), 2),
            }
        )
        path.unlink()
    ratio = rows[0]["seconds"] / rows[1]["seconds"]
    lines = [
        f"Encoding {len(images)} frames of {CLIP.name} at {w2}x{h2} (libx264 veryfast, CRF 23)",
        "",
        "| way | seconds | frames/s | size KiB | PSNR dB |",
        "|---|---|---|---|---|",
        *(
            f"| {r['way']} | {r['seconds']} | {r['frames_per_s']} | {r['size_kib']} | "
            f"{r['psnr_db']} |"
            for r in rows
        ),
        "",
        f"Speed-up (a)/(b): {ratio:.2f}x",
    ]
    text = "\n".join(lines)
    print(text)
    (OUT / "encode.md").write_text(text + "\n")
    (OUT / "encode.json").write_text(json.dumps({"rows": rows, "speedup": ratio}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
