"""`make bench`: inputs per second of `kneeback batch` against a loop of `kneeback analyze`.

N UI-PRMD pose files (Vicon positions, read in place from ../shared/data/ui-prmd/vicon/; by
default 24, a fixed mix of correct/ and incorrect/ repetitions of movements m01..m05) are
analysed in the same run, each way as a program timed from launch to exit (imports included),
each into a fresh temporary output folder:
  (a) the loop a user would script: `kneeback analyze FILE -o OUT/NAME`, once per file, one after
      another (wall times summed; peak memory is the largest of the runs);
  (b) `kneeback batch FILES... -o OUT --workers 1`;
  (c) `kneeback batch FILES... -o OUT --workers K`, K the number of CPU cores;
  (d) `kneeback batch FILES... -o OUT --ray` (a local Ray instance; skipped if Ray is missing).
Peak memory is the summed resident memory of the process tree, sampled every 50 ms. Each batch
must report all N inputs done, none failed, with the same verdicts as (a). It prints a table of
wall seconds, files per second, speed-up over (a) and peak MB, and writes bench/out/batch.md and
bench/out/batch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from measure import run_measured

ROOT = Path(__file__).resolve().parents[1]
VICON = Path(__file__).resolve().parents[2] / "shared" / "data" / "ui-prmd" / "vicon"
OUT = ROOT / "bench" / "out"
KNEEBACK = str(Path(sys.executable).with_name("kneeback"))
MOVEMENTS = ("m01", "m02", "m03", "m04", "m05")
FOLDERS = ("correct", "incorrect")


def pick_files(n: int) -> list[Path]:
    """Choose ``n`` files deterministically: round robin over folder x movement, evenly spaced.

    Each of the ten (folder, movement) groups gives its share of ``n`` files (the first groups
    one more when ``n`` is not a multiple of ten), spread evenly over its sorted file list, so that
    several subjects and repetitions are taken.
    """
    groups = [
        sorted((VICON / folder).glob(f"{movement}_*.txt.gz"))
        for movement in MOVEMENTS
        for folder in FOLDERS
    ]
    if not all(groups):
        raise SystemExit(f"UI-PRMD Vicon files are missing under {VICON}")
    total = sum(len(g) for g in groups)
    if not 0 < n <= total:
        raise SystemExit(f"--files must be between 1 and {total}")
    shares = [n // len(groups) + (i < n % len(groups)) for i in range(len(groups))]
    # Shares beyond a small group's size go, one by one, to the groups that have room.
    spare = sum(max(0, s - len(g)) for s, g in zip(shares, groups, strict=True))
    shares = [min(s, len(g)) for s, g in zip(shares, groups, strict=True)]
    i = 0
    while spare:
        if shares[i] < len(groups[i]):
            shares[i] += 1
            spare -= 1
        i = (i + 1) % len(groups)
    picked: list[list[Path]] = [
        [group[j * len(group) // share] for j in range(share)]
        for group, share in zip(groups, shares, strict=True)
    ]
    # Interleave the groups, so that any prefix is a mix too.
    files: list[Path] = []
    for j in range(max(shares)):
        files.extend(p[j] for p in picked if j < len(p))
    return files


def name_of(path: Path) -> str:
    """The output folder name the loop uses for a file: its name without ``.txt.gz``."""
    return path.name.removesuffix(".gz").removesuffix(".txt")


def bench_loop(files: list[Path], out: Path) -> tuple[float, float, dict[str, str]]:
    """Variant (a): `kneeback analyze` once per file; wall seconds, peak MB, verdict by source."""
    wall, peak = 0.0, 0.0
    verdicts: dict[str, str] = {}
    for f in files:
        dest = out / name_of(f)
        elapsed, mb = run_measured([KNEEBACK, "analyze", str(f), "-o", str(dest)])
        wall += elapsed
        peak = max(peak, mb)
        result = json.loads((dest / "result.json").read_text(encoding="utf-8"))
        verdicts[str(f.resolve())] = str(result["verdict"])
    return wall, peak, verdicts


def bench_batch(
    label: str, files: list[Path], out: Path, extra: list[str], expected: dict[str, str]
) -> tuple[float, float]:
    """Run `kneeback batch` with ``extra`` options; check its summary; wall seconds and peak MB."""
    cmd = [KNEEBACK, "batch", *map(str, files), "-o", str(out), *extra]
    elapsed, peak = run_measured(cmd)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    counts = summary["counts"]
    if counts.get("done") != len(files) or counts.get("failed") != 0:
        raise RuntimeError(f"{label}: expected {len(files)} done and 0 failed, got {counts}")
    verdicts = {str(Path(row["source"]).resolve()): row["verdict"] for row in summary["inputs"]}
    if verdicts != expected:
        differ = sorted(
            Path(k).name
            for k in expected.keys() | verdicts.keys()
            if expected.get(k) != verdicts.get(k)
        )
        raise RuntimeError(f"{label}: verdicts differ from the analyze loop for {differ}")
    return elapsed, peak


def ray_import_error() -> str | None:
    """Why ``import ray`` fails here, or None if it works."""
    try:
        import ray  # noqa: F401
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=24, metavar="N", help="pose files to use")
    args = parser.parse_args()
    files = pick_files(args.files)
    cpus = os.cpu_count() or 1
    n = len(files)
    print(f"{n} UI-PRMD pose files, {cpus} CPU cores", flush=True)
    rows: list[dict[str, Any]] = []

    def add(label: str, wall: float, peak: float) -> None:
        base = rows[0]["wall_s"] if rows else wall
        row = {
            "variant": label,
            "wall_s": wall,
            "files_per_s": n / wall,
            "speedup_vs_a": base / wall,
            "peak_mb": peak,
        }
        rows.append(row)
        print(
            f"  {label}: {wall:.1f} s, {n / wall:.2f} files/s, x{base / wall:.2f}, "
            f"peak {peak:.0f} MB",
            flush=True,
        )

    with tempfile.TemporaryDirectory(prefix="kneeback-bench-batch-") as tmp:
        work = Path(tmp)
        print("(a) analyze loop ...", flush=True)
        wall, peak, expected = bench_loop(files, work / "a")
        add("(a) analyze loop", wall, peak)
        variants: list[tuple[str, str, list[str]]] = [
            ("(b) batch --workers 1", "b", ["--workers", "1"]),
            (f"(c) batch --workers {cpus}", "c", ["--workers", str(cpus)]),
        ]
        if ray_missing := ray_import_error():
            print(f"(d) batch --ray skipped: import ray failed ({ray_missing})", flush=True)
        else:
            variants.append(("(d) batch --ray", "d", ["--ray"]))
        for label, folder, extra in variants:
            print(f"{label} ...", flush=True)
            add(label, *bench_batch(label, files, work / folder, extra, expected))

    header = "| variant | wall s | files/s | speed-up vs (a) | peak MB |"
    lines = [header, "|" + "---|" * 5]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['wall_s']:.1f} | {r['files_per_s']:.2f} | "
            f"{r['speedup_vs_a']:.2f} | {r['peak_mb']:.0f} |"
        )
    table = "\n".join(lines)
    meta = f"{n} UI-PRMD Vicon pose files, {cpus} CPU cores"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "batch.md").write_text(f"{meta}\n\n{table}\n")
    payload = {
        "meta": meta,
        "cpus": cpus,
        "files": [str(f.relative_to(VICON)) for f in files],
        "rows": rows,
    }
    (OUT / "batch.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\n{meta}\n{table}")


if __name__ == "__main__":
    main()
