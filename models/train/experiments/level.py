"""Level check of a time-frequency checkpoint: how loud is the model's speech?

    /usr/bin/python3 -m models.train.experiments.level CHECKPOINT [--steps 1]

Prints, on the validation split, the energy of the enhanced output relative to the clean
reference in the loudest 30% of STFT frames (speech), for the noisy input and for the clean
input itself, and the clean-in SI-SDR (how much a model changes speech that has no noise).
A compressed-domain complex estimate shrinks where the phase is uncertain and the
decompression (|x|^(1/0.3)) multiplies that shrinkage in dB by 3.3 (models/results/RESULTS.md, "Level").
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from .. import data as D
from .. import inference as I
from .. import networks as N
from .. import stft


def loud_frame_gain_db(out: np.ndarray, ref: np.ndarray, n_fft: int = 512, hop: int = 256) -> float:
    """Mean over clips of 10*log10(E_out / E_ref) in the frames where ref is in its top 30%."""
    gains = []
    for o, r in zip(out, ref):
        po = stft.magnitude(stft.analyse(torch.from_numpy(o)[None], n_fft, hop))[0, 0] ** 2
        pr = stft.magnitude(stft.analyse(torch.from_numpy(r)[None], n_fft, hop))[0, 0] ** 2
        fe = pr.sum(-1)
        loud = fe > torch.quantile(fe, 0.7)
        gains.append(10 * float(torch.log10(po[loud].sum() / pr[loud].sum())))
    return float(np.mean(gains))


@torch.no_grad()
def enhance(nets, x: np.ndarray, steps: int) -> np.ndarray:
    return I.enhance_stft_batches(nets.cfg, nets.denoiser, nets.prior, torch.from_numpy(x),
                                  I.uniform_betas(steps)).numpy()[:, 0]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.experiments.level", description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--steps", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    nets, meta = N.load_networks(a.checkpoint)
    if nets.cfg.domain != "stft":
        raise SystemExit("level: needs a time-frequency checkpoint")
    clean, noisy = D.load_validation()
    out_noisy, out_clean = enhance(nets, noisy, a.steps), enhance(nets, clean, a.steps)
    ref = clean[:, 0]
    print(f"{a.checkpoint} (step {meta.get('steps_done')}, {a.steps} step(s)): speech-frame level vs clean: "
          f"noisy in {loud_frame_gain_db(out_noisy, ref):+.2f} dB, clean in {loud_frame_gain_db(out_clean, ref):+.2f} dB; "
          f"clean-in SI-SDR {float(I.si_sdr(out_clean, ref).mean()):.2f} dB")


if __name__ == "__main__":
    main()
