"""How unevenly a per-bin sigma weights L_DM within a frame (RESULTS.md, section A).

    /usr/bin/python3 -m models.train.experiments.sigma_weight

With sigma = s * (|Y_c| + kappa) per bin, L_DM's Sigma^-1 norm weights each bin by
1 / (|Y_c| + kappa)^2 (s aside). Prints, over the frames of the noisy validation spectra, the
ratio of the largest to the smallest weight in a frame and the share of a frame's total
weight on its quieter half of bins.
"""
from __future__ import annotations

import torch

from .. import data as D
from .. import params
from .. import stft


def weight_stats(noisy: torch.Tensor, cfg: params.Config) -> dict[str, float]:
    """noisy: [B, N] waveforms -> median and 90th percentile of the per-frame max/min weight
    ratio, and the median share of weight on the quieter half of each frame's bins."""
    y = stft.compress(stft.analyse(noisy, cfg.n_fft, cfg.hop), cfg.compress)
    w = (stft.magnitude(y, 1e-8) + cfg.kappa).squeeze(1) ** -2  # [B, T, F]
    ratio = (w.max(-1).values / w.min(-1).values).flatten()
    ws, _ = w.sort(-1)
    f = w.shape[-1]
    share = (ws[..., f // 2:].sum(-1) / ws.sum(-1)).flatten()  # ascending: the top half is the quiet bins
    return {"ratio_median": float(ratio.median()), "ratio_p90": float(ratio.quantile(0.9)),
            "quiet_half_share": float(share.median())}


def main() -> None:
    torch.set_num_threads(1)
    _, noisy = D.load_validation()
    r = weight_stats(torch.tensor(noisy[:, 0]), params.get("tf-rt"))
    print(f"per-frame max/min L_DM weight: median {r['ratio_median']:.0f}, 90th percentile "
          f"{r['ratio_p90']:.0f}; share on the quieter half of bins: median {r['quiet_half_share']:.2f}")


if __name__ == "__main__":
    main()
