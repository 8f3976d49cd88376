"""Does the injected noise act as the prior, or as a hidden feature channel? (issue 23, item 2)

    /usr/bin/python3 -m models.train.experiments.draws CHECKPOINT [CHECKPOINT ...] [--slice low]
        [--clips 32] [--steps 1] [--floor 40] [--restart 0.02]

On the first --clips clips of a validation slice (data/slices/SLICE, written by
`experiments.slices write`; never dev), a time-frequency checkpoint's EMA weights enhance
each clip raw (no final blend) at --steps on the shipped schedule (floor 40; with --restart,
the shipped restart chain of schedule.restart_betas) with: noise
drawn from seed 1, from seed 2, z = 0, and seed 1's draw with σ(y) replaced by its mean per
clip. Prints the mean SI-SDR against the clean clips of each and the agreement of the two
draws (SNR of one against the other, dB). A prior worth the name gives z = 0 an output close
to the draws' and a flat σ only a small loss.
"""
from __future__ import annotations

import argparse

import numpy as np
import soundfile as sf
import torch

from .. import inference as I
from .. import networks as N
from .. import schedule as S
from .. import stft
from .slices import SLICES_DIR, ensure_written


def load_slice(name: str, clips: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, noisy) [clips, 1, n] of a written slice."""
    ensure_written()
    pairs = []
    for i in range(clips):
        c, _ = sf.read(SLICES_DIR / name / "clean" / f"s{i:03d}.wav", dtype="float32")
        y, _ = sf.read(SLICES_DIR / name / "noisy" / f"s{i:03d}.wav", dtype="float32")
        pairs.append((c, y))
    n = min(len(c) for c, _ in pairs)
    clean = torch.from_numpy(np.stack([c[:n] for c, _ in pairs]))[:, None]
    noisy = torch.from_numpy(np.stack([y[:n] for _, y in pairs]))[:, None]
    return clean, noisy


def flat_prior(prior):
    """σ(y) replaced by its mean over channels, frames and bins, per clip."""
    def f(y: torch.Tensor) -> torch.Tensor:
        s = prior(y)
        return s.mean(dim=tuple(range(1, s.dim())), keepdim=True).expand_as(s)
    return f


@torch.no_grad()
def measure(checkpoint: str, clean: torch.Tensor, noisy: torch.Tensor, steps: int, floor: float,
            restart: float = 0.0) -> dict[str, float]:
    nets, _ = N.load_networks(checkpoint)
    cfg = nets.cfg
    if cfg.domain != "stft":
        raise SystemExit(f"draws: {checkpoint} is a {cfg.domain} model; this measures the stft models")
    den, prior = nets.denoiser.eval(), nets.prior.eval()
    betas = S.inference_betas(floor, restart, steps)
    ref = clean[:, 0].numpy()

    def run(seed: int = 1, zero: bool = False, prior_fn=prior) -> np.ndarray:
        noise = None
        if zero:
            yc = stft.compress(stft.analyse(noisy[:, 0], cfg.n_fft, cfg.hop), cfg.compress)
            noise = torch.zeros((len(betas),) + tuple(yc.shape))
        out = I.enhance_stft(cfg, den, prior_fn, noisy, betas, seed=seed, noise=noise)
        return out[:, 0].numpy()

    one, two = run(1), run(2)
    zero, flat = run(zero=True), run(1, prior_fn=flat_prior(prior))
    def score(x: np.ndarray) -> float:
        return float(np.mean(I.si_sdr(x, ref)))

    return {"noisy": score(noisy[:, 0].numpy()), "seed1": score(one), "seed2": score(two),
            "agree": float(np.mean(I.snr_db(two, one))), "z0": score(zero), "flat_sigma": score(flat)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.experiments.draws")
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--slice", default="low")
    ap.add_argument("--clips", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--floor", type=float, default=40.0, help="schedule floor (the shipped bundles': 40)")
    ap.add_argument("--restart", type=float, default=0.0,
                    help="the restart chain's level (the shipped bundles': 0.02; 0 = the floor's even spacing)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    clean, noisy = load_slice(a.slice, a.clips)
    print(f"draws: {a.clips} clips of slice {a.slice}, {a.steps} step(s), floor {a.floor:g}, restart {a.restart:g}, raw (no blend); "
          "mean SI-SDR dB; agree = SNR of the seed-1 output against the seed-2 output", flush=True)
    for ck in a.checkpoints:
        m = measure(ck, clean, noisy, a.steps, a.floor, a.restart)
        print(f"{ck}: " + " ".join(f"{k} {v:.2f}" for k, v in m.items()), flush=True)


if __name__ == "__main__":
    main()
