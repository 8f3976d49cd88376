"""Like-for-like comparison of the four objectives: same config, data, seed, batch and budget.

    /usr/bin/python3 -m models.train.compare [--steps 10000] [--batch 8] [--objectives a,b] [--only-collect]

Trains (or resumes) runs/compare-<objective> one after another, then writes
models/train/results/curves.csv and curves.png (validation SI-SDR, 6 steps, against steps).
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

from . import params
from . import plot
from . import train as TR

RESULTS = Path(__file__).resolve().parent / "results"


def run_name(objective: str) -> str:
    return f"compare-{objective}"


def collect(objectives: list[str]) -> list[dict]:
    rows = []
    for obj in objectives:
        path = TR.ROOT / "runs" / run_name(obj) / "log.csv"
        if not path.exists():
            path = TR.CKPT_DIR / run_name(obj) / "log.csv"
        if not path.exists():
            print(f"compare: no log for {obj}")
            continue
        with open(path) as f:
            for r in csv.DictReader(f):
                if r.get("val_6"):
                    rows.append({"objective": obj, "step": int(r["step"]), "minutes": float(r["minutes"]),
                                 "loss": float(r["loss"]), "dm": float(r["dm"]),
                                 "sigma_mean": float(r["sigma_mean"]), "prior_mean": float(r["prior_mean"]),
                                 "val_noisy": float(r["val_noisy"]), "val_6": float(r["val_6"]),
                                 "val_3": float(r["val_3"]), "val_6_blend": float(r["val_6_blend"])})
    return rows


def write(rows: list[dict]) -> None:
    RESULTS.mkdir(exist_ok=True)
    if not rows:
        return
    with open(RESULTS / "curves.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for key, label in (("val_6", "6 STEPS"), ("val_3", "3 STEPS")):
        series = {}
        for r in rows:
            s = series.setdefault(r["objective"], ([], []))
            s[0].append(r["step"])
            s[1].append(r[key])
        name = "curves.png" if key == "val_6" else "curves_3step.png"
        plot.plot(str(RESULTS / name), series, f"VALIDATION SI-SDR ({label}) VS TRAINING STEPS",
                  "STEP", "DB", hlines={"NOISY": rows[0]["val_noisy"]})
    lines = ["| objective | steps | minutes | val SI-SDR noisy | 6 steps | 3 steps | 6 steps + 0.2 blend | "
             "first step with 6-step SI-SDR > noisy |", "|---|---|---|---|---|---|---|---|"]
    for obj in dict.fromkeys(r["objective"] for r in rows):
        rs = [r for r in rows if r["objective"] == obj]
        last = rs[-1]
        beat = next((r["step"] for r in rs if r["val_6"] > r["val_noisy"]), None)
        lines.append(f"| {obj} | {last['step']} | {last['minutes']:.1f} | {last['val_noisy']:.2f} | "
                     f"{last['val_6']:.2f} | {last['val_3']:.2f} | {last['val_6_blend']:.2f} | {beat or '-'} |")
    (RESULTS / "summary.md").write_text("\n".join(lines) + "\n")
    print(f"compare: wrote {RESULTS / 'curves.csv'}, summary.md and PNG plots ({len(rows)} rows)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.compare")
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--segment", type=int, default=8000)
    ap.add_argument("--config", default="small")
    ap.add_argument("--ckpt-minutes", type=float, default=4.0)
    ap.add_argument("--objectives", default=",".join(params.OBJECTIVES))
    ap.add_argument("--param", choices=("eps", "x0"),
                    help="denoiser parameterisation shared by all four runs (default: the config's)")
    ap.add_argument("--head", choices=("synth", "mask"), help="x0 head shared by all four (default: the config's)")
    ap.add_argument("--ema", type=float, default=0.999, help="EMA decay shared by all four (0 = off)")
    ap.add_argument("--input-rms", type=float, default=0.1, help="input loudness normalisation (0 = off)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only-collect", action="store_true")
    a = ap.parse_args(argv)
    objectives = a.objectives.split(",")
    if not a.only_collect:
        for obj in objectives:
            TR.main(["--config", a.config, "--objective", obj, "--steps", str(a.steps),
                     "--batch", str(a.batch), "--seed", str(a.seed), "--segment", str(a.segment),
                     "--out", f"runs/{run_name(obj)}", "--resume", "--ema", str(a.ema),
                     "--input-rms", str(a.input_rms), "--threads", str(a.threads),
                     "--ckpt-minutes", str(a.ckpt_minutes)]
                    + (["--param", a.param] if a.param else []) + (["--head", a.head] if a.head else []))
    write(collect(objectives))


if __name__ == "__main__":
    main()
