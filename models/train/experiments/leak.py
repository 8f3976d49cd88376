"""Posterior leak check: does the denoiser read x0 from the *shape* of the noise in x_t?

    /usr/bin/python3 -m models.train.experiments.leak CHECKPOINT [--seed 0]

During `restoregrad` training, x_t = a_t*x0 + b_t*y + sqrt(delta_t)*sigma_post(x0, y)*z: the
noise's envelope comes from the Posterior Net, which sees x0. At inference the envelope is
sigma_prior(y). This prints the validation SI-SDR of the one-step x0 estimate at t = T-1 with
x_T drawn both ways (same z). A large gap means the network learned to read x0 from
sigma_post's pattern, which the sampler never offers (models/results/RESULTS.md, "Posterior leak").
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from .. import data as D
from .. import inference as I
from .. import networks as N
from .. import schedule as S
from .. import stft


@torch.no_grad()
def one_step_si_sdr(nets, clean: np.ndarray, noisy: np.ndarray, use_posterior: bool, seed: int) -> float:
    cfg = nets.cfg
    inf, tr = S.make(I.uniform_betas(1)), S.training()
    t = float(S.align(tr, inf)[0])
    outs = []
    for i in range(0, len(noisy), 16):
        y = torch.from_numpy(noisy[i:i + 16, 0])
        x = torch.from_numpy(clean[i:i + 16, 0])
        yc = stft.compress(stft.analyse(y, cfg.n_fft, cfg.hop), cfg.compress)
        xc = stft.compress(stft.analyse(x, cfg.n_fft, cfg.hop), cfg.compress)
        z = torch.randn(yc.shape, generator=torch.Generator().manual_seed(seed + i))
        sigma = nets.posterior(xc, yc) if use_posterior else nets.prior(yc)
        xt = float(inf.b[0]) * yc + float(np.sqrt(inf.delta[0])) * sigma * z
        f = nets.denoiser.head(xt, yc, torch.full((yc.shape[0],), t))
        outs.append(stft.synthesise(stft.decompress(f, cfg.compress), y.shape[-1], cfg.n_fft, cfg.hop))
    return float(I.si_sdr(torch.cat(outs).numpy(), clean[:, 0]).mean())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.experiments.leak", description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    nets, meta = N.load_networks(a.checkpoint)
    if nets.cfg.domain != "stft" or nets.posterior is None:
        raise SystemExit("leak: needs a time-frequency checkpoint trained with the restoregrad objective")
    clean, noisy = D.load_validation()
    prior = one_step_si_sdr(nets, clean, noisy, False, a.seed)
    post = one_step_si_sdr(nets, clean, noisy, True, a.seed)
    print(f"{a.checkpoint} (step {meta.get('steps_done')}): one-step validation SI-SDR with x_T drawn from "
          f"sigma_prior {prior:.2f} dB, from sigma_post {post:.2f} dB (noisy "
          f"{float(I.si_sdr(noisy[:, 0], clean[:, 0]).mean()):.2f} dB)")


if __name__ == "__main__":
    main()
