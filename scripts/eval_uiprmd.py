"""Evaluate the movement engine on UI-PRMD (subjects s01-s06, one repetition per file).

For each movement: how often the movement is recognised, and how well the clip verdict
("needs_work") agrees with the dataset's correct/incorrect labels (balanced accuracy), from the
3D marker data and from a 2D side-view projection (virtual camera, no 3D landmarks kept), plus the
agreement of peak knee flexion between the two (median absolute difference).

No model is trained on these labels: the verdicts come from the rules in
``kneeback.assess.rules`` with the defaults of ``AnalysisSettings``. Where the thresholds come
from: depth (femur at or below horizontal, 10 deg tolerance) and trunk vs shin (10 deg) from
the FMS criteria and REFERENCES.md rule 3; heels flat (FMS: the deep squat is done with the
heels down; a rise of 0.1 foot length, about 2.5 cm, plus the error of 0.02 counts as lifted);
knee tracking from "knees over feet" (a knee no further inside its ankle than the foot's inner
edge, half a foot breadth = 0.056 leg length from anthropometric tables, plus the measurement
error of 0.028 leg length for these markers), not tuned; sit-to-stand trunk lean from the data
README's description of UI-PRMD itself (correct peak trunk inclination 23.5 (15-36) deg: 36 deg
plus the measurement error), so the sit-to-stand figure is not an independent test of that
threshold. Recognition thresholds are round numbers from the movements' definitions and Rowe et
al. 2000 (chairs need ~90 deg of knee flexion).

Usage::

    python scripts/eval_uiprmd.py [--data ../shared/data/ui-prmd/vicon] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from kneeback.analysis import analyse
from kneeback.assess.rules import RULES
from kneeback.io.adapters.uiprmd import load_uiprmd
from kneeback.report.result import AnalysisResult

#: UI-PRMD movement code -> kneeback movement name.
EXPECTED = {
    "m01": "squat",
    "m02": "other",
    "m03": "lunge",
    "m04": "side_lunge",
    "m05": "sit_to_stand",
}
TARGETS = {"m01", "m03", "m04", "m05"}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ui-prmd" / "vicon"


def _limit_calls(result: AnalysisResult) -> list[tuple[str, str, float, float, float]]:
    """``(rule, severity, value, limit, margin)`` of each major-capable limit the reps met or
    failed; ``margin`` is the distance to the limit in units of the metric's measurement
    uncertainty (ankle range is left out: it only fires beside another failed point)."""
    calls = []
    for f in result.findings:
        rule = RULES.get(f.id)
        if (
            rule is None
            or rule.severity != "major"
            or f.id == "ankle_mobility"
            or f.rep is None
            or f.value is None
            or f.threshold is None
        ):
            continue
        status = result.capture.metrics.get(rule.metrics[0])
        u = status.uncertainty if status is not None and status.uncertainty else 1.0
        calls.append((f.id, f.severity, f.value, f.threshold, abs(f.value - f.threshold) / u))
    return calls


def _one(path: str) -> dict[str, Any]:
    name = Path(path).name
    code = name[:3]
    subject = name[4:7]
    incorrect = "_inc" in name
    ds = load_uiprmd(path)
    out: dict[str, Any] = {
        "file": name,
        "movement": code,
        "subject": subject,
        "incorrect": incorrect,
    }
    side = ds.drop_vars("position_world")
    side.attrs["source_software"] = "virtual camera (UI-PRMD side projection)"
    for label, data in (("3d", ds), ("side2d", side)):
        auto = analyse(data)
        stated = analyse(data, movement=EXPECTED[code])
        rep = stated.reps[0] if stated.reps else None
        out[label] = {
            "recognised": auto.movement.recognised,
            "view": auto.view.recognised,
            "verdict": stated.verdict,
            "reps": len(stated.reps),
            "knee_peak": None if rep is None else rep.metrics.get("knee_flexion_peak_deg"),
            "major": sorted(
                {f.id for f in stated.findings if f.severity == "major"},
            ),
            "limits": _limit_calls(stated),
        }
    return out


def balanced_accuracy(pred_bad: list[bool], truth_bad: list[bool]) -> float:
    """Mean of sensitivity (incorrect flagged) and specificity (correct passed)."""
    p, t = np.asarray(pred_bad), np.asarray(truth_bad)
    sens = float(np.mean(p[t])) if t.any() else float("nan")
    spec = float(np.mean(~p[~t])) if (~t).any() else float("nan")
    return 0.5 * (sens + spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--subjects", default="s01,s02,s03,s04,s05,s06")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="write per-file results here")
    args = ap.parse_args(argv)
    subjects = set(args.subjects.split(","))
    files = sorted(
        str(p)
        for label in ("correct", "incorrect")
        for p in (args.data / label).glob("m0[1-5]_s*_positions*.txt*")
        if p.name[4:7] in subjects
    )
    if not files:
        print(f"No UI-PRMD files under {args.data}", file=sys.stderr)
        return 1
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        rows = list(pool.map(_one, files, chunksize=4))
    by_move: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_move[r["movement"]].append(r)
    print(f"UI-PRMD, subjects {sorted(subjects)}, {len(rows)} files")
    header = (
        f"{'move':5} {'n':>4} | {'recog3d':>7} {'recog2d':>7} | {'BA 3d':>6} {'BA 2d':>6} | "
        f"{'sens3d':>6} {'spec3d':>6} {'sens2d':>6} {'spec2d':>6} | {'knee MAD':>8} | view2d"
    )
    print(header)
    summary: dict[str, Any] = {}
    for code in sorted(by_move):
        rs = by_move[code]
        truth = [r["incorrect"] for r in rs]
        line: dict[str, Any] = {"n": len(rs)}
        for src in ("3d", "side2d"):
            line[f"recognised_{src}"] = float(
                np.mean([r[src]["recognised"] == EXPECTED[code] for r in rs])
            )
            pred = [r[src]["verdict"] == "needs_work" for r in rs]
            line[f"ba_{src}"] = balanced_accuracy(pred, truth)
            p, t = np.asarray(pred), np.asarray(truth)
            line[f"sens_{src}"] = float(np.mean(p[t]))
            line[f"spec_{src}"] = float(np.mean(~p[~t]))
            line[f"confusions_{src}"] = dict(Counter(r[src]["recognised"] for r in rs))
        diffs = [
            abs(r["3d"]["knee_peak"] - r["side2d"]["knee_peak"])
            for r in rs
            if r["3d"]["knee_peak"] is not None and r["side2d"]["knee_peak"] is not None
        ]
        line["knee_peak_mad_deg"] = float(np.median(diffs)) if diffs else float("nan")
        views = Counter(r["side2d"]["view"] for r in rs)
        summary[code] = line
        print(
            f"{code:5} {len(rs):4d} | {line['recognised_3d']:7.1%} {line['recognised_side2d']:7.1%}"
            f" | {line['ba_3d']:6.3f} {line['ba_side2d']:6.3f} | {line['sens_3d']:6.2f} "
            f"{line['spec_3d']:6.2f} {line['sens_side2d']:6.2f} {line['spec_side2d']:6.2f} | "
            f"{line['knee_peak_mad_deg']:8.1f} | {dict(views)}"
        )
    print("\nRecognised as (3d / side2d):")
    for code in sorted(summary):
        s = summary[code]
        print(f"  {code} ({EXPECTED[code]}): {s['confusions_3d']} / {s['confusions_side2d']}")
    print("\nMisrecognised (3d), by subject and label:")
    for code in sorted(by_move):
        misses = Counter(
            (r["subject"], "incorrect" if r["incorrect"] else "correct", r["3d"]["recognised"])
            for r in by_move[code]
            if r["3d"]["recognised"] != EXPECTED[code]
        )
        if misses:
            print(
                f"  {code}: "
                + ", ".join(f"{k[0]} {k[1]} -> {k[2]}: {n}" for k, n in sorted(misses.items()))
            )
    print("\nMajor findings behind the verdicts (3d), correct | incorrect files:")
    for code in ("m01", "m05"):
        if code not in by_move:
            continue
        for label, flag in (("correct", False), ("incorrect", True)):
            counts = Counter(
                "+".join(r["3d"]["major"]) or "none"
                for r in by_move[code]
                if r["incorrect"] is flag
            )
            print(f"  {code} {label}: {dict(counts.most_common())}")
    print("\nVerdicts that disagree with the labels (3d), by subject (files, major findings):")
    for code in ("m01", "m05"):
        for label, flag, wrong in (
            ("correct flagged", False, "needs_work"),
            ("incorrect passed", True, "good"),
        ):
            files_by: Counter[str] = Counter()
            findings_by: dict[str, Counter[str]] = defaultdict(Counter)
            for r in by_move.get(code, []):
                if r["incorrect"] is flag and r["3d"]["verdict"] == wrong:
                    files_by[r["subject"]] += 1
                    findings_by[r["subject"]].update(r["3d"]["major"])
            parts = []
            for subj in sorted(files_by):
                found = ", ".join(f"{k} {n}" for k, n in sorted(findings_by[subj].items()))
                parts.append(f"{subj} {files_by[subj]}" + (f" ({found})" if found else ""))
            print(f"  {code} {label}: {'; '.join(parts) or 'none'}")
    print(
        "\nHow close the disagreeing verdicts (3d) came to the other verdict, in measurement errors"
        "\n(flagged: the largest failed margin; passed: the smallest met margin):"
    )
    for code in ("m01", "m05"):
        for label, flag, wrong in (
            ("correct flagged", False, "needs_work"),
            ("incorrect passed", True, "good"),
        ):
            calls = []
            for r in by_move.get(code, []):
                if r["incorrect"] is not flag or r["3d"]["verdict"] != wrong:
                    continue
                failed = wrong == "needs_work"
                mine = [c for c in r["3d"]["limits"] if (c[1] == "major") is failed]
                if not mine:
                    continue
                pick = max if failed else min
                rule, _, value, limit, margin = pick(mine, key=lambda c: c[4])
                calls.append((margin, f"{r['file'][4:11]} {rule} {value:.3g} vs {limit:.3g}"))
            near = sum(m <= 1.0 for m, _ in calls)
            listed = "; ".join(text for m, text in sorted(calls) if m <= 1.0)
            print(f"  {code} {label}: {near} of {len(calls)} within one error ({listed})")
    ok = all(summary[c]["recognised_3d"] >= 0.95 for c in TARGETS if c in summary) and all(
        summary[c]["ba_3d"] >= 0.85 for c in ("m01", "m05") if c in summary
    )
    print(f"\nTargets (3D: recognised >= 95 %, BA >= 0.85 for m01/m05) met: {ok}")
    if args.json is not None:
        args.json.write_text(json.dumps({"summary": summary, "files": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
