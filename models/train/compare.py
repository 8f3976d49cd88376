"""Like-for-like comparison of the four objectives: same config, data, seed, batch and budget.

    /usr/bin/python3 -m models.train.compare [--steps 10000] [--batch 8] [--objectives a,b] [--only-eval]

Trains (or resumes) runs/compare-<objective> one after another, then scores their saved
checkpoints with the Go engine on the validation split (evalckpts): every checkpoint
with the uniform 6- and 3-step schedules, and the first and last with CDiffuSE's fast
schedules. Writes models/train/results/eval_curves.csv, summary.md and the PNG curves.
"""
from __future__ import annotations

import argparse

from . import evalckpts
from . import params
from . import train as TR


def run_name(objective: str) -> str:
    return f"compare-{objective}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.compare")
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--segment", type=int, default=8000)
    ap.add_argument("--config", default="small")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--objectives", default=",".join(params.OBJECTIVES))
    ap.add_argument("--param", choices=("eps", "x0"),
                    help="denoiser parameterisation shared by all four runs (default: the config's)")
    ap.add_argument("--head", choices=("synth", "mask"), help="x0 head shared by all four (default: the config's)")
    ap.add_argument("--ema", type=float, default=0.999, help="EMA decay shared by all four (0 = off)")
    ap.add_argument("--input-rms", type=float, default=0.1, help="input loudness normalisation (0 = off)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only-eval", action="store_true", help="skip training; score what is saved")
    a = ap.parse_args(argv)
    objectives = a.objectives.split(",")
    if not a.only_eval:
        for obj in objectives:
            TR.main(["--config", a.config, "--objective", obj, "--steps", str(a.steps),
                     "--batch", str(a.batch), "--seed", str(a.seed), "--segment", str(a.segment),
                     "--out", f"runs/{run_name(obj)}", "--resume", "--ema", str(a.ema),
                     "--input-rms", str(a.input_rms), "--threads", str(a.threads),
                     "--ckpt-minutes", str(a.ckpt_minutes)]
                    + (["--param", a.param] if a.param else []) + (["--head", a.head] if a.head else []))
    runs = [run_name(o) for o in objectives]
    evalckpts.main(runs + ["--schedule-floor", "0"])
    evalckpts.main(runs + ["--every", "1000"])


if __name__ == "__main__":
    main()
