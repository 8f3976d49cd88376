"""Choose the inference schedule's floor on the validation split (never the dev set).

    /usr/bin/python3 -m models.train.experiments.tune CHECKPOINT [--floors 0,5,10,15,20,25,30] [--seeds 0,1]

For each floor (schedule.floor_betas: 6 and 3 steps evenly spaced in training steps from
the floor to T-1) prints the mean validation SI-SDR over the noise seeds, and the floor with
the best 6-step figure; `export --schedule-floor` writes that schedule into a bundle.
"""
from __future__ import annotations

import argparse
import json

import torch

from .. import data as D
from .. import inference as I
from .. import networks as N
from .. import schedule as S


def score(nets, input_rms: float, betas, seeds: list[int]) -> float:
    clean, noisy = D.load_validation()
    y = torch.from_numpy(noisy)
    def run(seed: int) -> torch.Tensor:
        if nets.cfg.domain == "stft":
            return I.enhance_stft_batches(nets.cfg, nets.denoiser, nets.prior, y, betas, seed)
        return I.enhance(nets.denoiser, nets.prior, y, betas, seed, N.length_multiple(nets.cfg),
                         input_rms=input_rms)
    vals = [float(I.si_sdr(run(seed).numpy()[:, 0], clean[:, 0]).mean()) for seed in seeds]
    return sum(vals) / len(vals)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.experiments.tune", description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--floors", default="0,5,10,15,20,25,30")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--json", help="also write the table here")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    nets, meta = N.load_networks(a.checkpoint)
    rms = meta.get("input_rms", 0.0)
    seeds = [int(s) for s in a.seeds.split(",")]
    rows = []
    print(f"{a.checkpoint}: step {meta.get('steps_done')}, validation SI-SDR (dB), mean of seeds {seeds}")
    print(" floor   6 steps   3 steps   2 steps   1 step")
    one = score(nets, rms, S.floor_betas(0, 1), seeds)
    for f in (float(x) for x in a.floors.split(",")):
        r = {"floor": f, "6": score(nets, rms, S.floor_betas(f, 6), seeds),
             "3": score(nets, rms, S.floor_betas(f, 3), seeds),
             "2": score(nets, rms, S.floor_betas(f, 2), seeds), "1": one}
        rows.append(r)
        print(f"{f:6g}   {r['6']:7.2f}   {r['3']:7.2f}   {r['2']:7.2f}   {one:6.2f}", flush=True)
    best = max(rows, key=lambda r: r["6"])
    print(f"best floor for 6 steps: {best['floor']:g} ({best['6']:.2f} dB)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"checkpoint": str(a.checkpoint), "step": meta.get("steps_done"), "seeds": seeds,
                       "rows": rows, "best_floor": best["floor"]}, fh, indent=1)


if __name__ == "__main__":
    main()
