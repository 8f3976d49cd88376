"""Reference sampler, exactly as models/BUNDLE.md ("The reverse process")."""
from __future__ import annotations

import argparse

import numpy as np
import torch

from . import networks
from . import params
from . import schedule as S
from . import stft

try:  # WAV files only (main); the sampler itself needs numpy and torch alone
    import soundfile as sf
except ImportError:
    sf = None


def schedule_betas(steps) -> np.ndarray:
    """'6' / '3' (named fast schedules), 'T' / 50 (the full training schedule), or a sequence
    of betas (returned as is)."""
    if not isinstance(steps, (str, int)):
        return np.asarray(steps, dtype=np.float64)
    key = str(steps)
    if key in params.INFERENCE_SCHEDULES:
        return np.asarray(params.INFERENCE_SCHEDULES[key])
    if key in ("T", str(params.TRAIN_T), "full"):
        return S.training_betas()
    raise ValueError(f"no inference schedule {steps!r}")


@torch.no_grad()
def sample(denoiser, prior, y: torch.Tensor, betas, noise: torch.Tensor,
           final_blend: float = 0.0) -> torch.Tensor:
    """y: [B, 1, N] (N a multiple of length_multiple); noise: [S, B, 1, N] with row 0 = z_S
    (the start draw) and row k = z_{S-k}, the draw used when stepping from n = S-k."""
    train = S.training()
    inf = S.make(betas)
    steps = inf.steps
    t = S.align(train, inf)
    rev = S.reverse_coefficients(inf)
    sigma = prior(y)
    a, b, d = inf.a, inf.b, inf.delta
    x = S.start(inf, y, sigma, noise[0])
    for n in range(steps - 1, -1, -1):
        tn = torch.full((y.shape[0],), float(t[n]), dtype=torch.float32)
        e = denoiser(x, y, tn)
        x0 = (x - float(b[n]) * y - float(np.sqrt(d[n])) * e) / float(a[n])
        if n == 0:
            x = x0
            break
        x = S.reverse_step(inf, rev, n, x, x0, y, sigma, noise[steps - n])
    return (1.0 - final_blend) * x + final_blend * y


def pad_to(y: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int]:
    n = y.shape[-1]
    pad = (-n) % multiple
    return (torch.nn.functional.pad(y, (0, pad)) if pad else y), n


def enhance(denoiser, prior, y: torch.Tensor, steps="6", seed: int = 0,
            multiple: int = 8, final_blend: float = 0.0, input_rms: float = 0.0) -> torch.Tensor:
    """Whole-signal enhancement of y [B, 1, N] with fresh noise from `seed`; `steps` as
    schedule_betas takes it."""
    scale = torch.ones(y.shape[0], 1, 1)
    if input_rms > 0:
        scale = input_rms / (y.pow(2).mean(dim=-1, keepdim=True).sqrt() + 1e-8)
    yp, n = pad_to(y * scale, multiple)
    betas = schedule_betas(steps)
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn((len(betas),) + tuple(yp.shape), generator=g)
    out = sample(denoiser, prior, yp, betas, noise, final_blend)[..., :n]
    return out / scale


def uniform_betas(n: int) -> np.ndarray:
    """The uniform n-step schedule (evenly spaced in training t from 0 to T-1)."""
    return S.floor_betas(0.0, n)


def enhance_stft(cfg, denoiser, prior, y: torch.Tensor, betas, seed: int = 0,
                 final_blend: float = 0.0, noise: torch.Tensor | None = None) -> torch.Tensor:
    """Whole-signal enhancement of waveforms y [B, 1, N] with a time-frequency model: compressed
    STFT, BUNDLE.md's reverse process on every bin, decompression and overlap-add. `noise`
    [S, B, 2, T, F] overrides the draws (golden files)."""
    n = y.shape[-1]
    yc = stft.compress(stft.analyse(y[:, 0], cfg.n_fft, cfg.hop), cfg.compress)
    if noise is None:
        g = torch.Generator().manual_seed(seed)
        noise = torch.randn((len(betas),) + tuple(yc.shape), generator=g)
    xc = sample(denoiser, prior, yc, betas, noise, final_blend)
    return stft.synthesise(stft.decompress(xc, cfg.compress), n, cfg.n_fft, cfg.hop).unsqueeze(1)


def enhance_stft_batches(cfg, denoiser, prior, y: torch.Tensor, betas, seed: int = 0,
                         batch: int = 16) -> torch.Tensor:
    """enhance_stft over y [B, 1, N] in batches of `batch` clips (bounded memory); each batch
    draws its noise from `seed`, as the validation scores have always done."""
    return torch.cat([enhance_stft(cfg, denoiser, prior, y[i:i + batch], betas, seed)
                      for i in range(0, len(y), batch)])


def si_sdr(est: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Scale-invariant SDR in dB over the last axis (zero-mean signals)."""
    est = est - est.mean(axis=-1, keepdims=True)
    ref = ref - ref.mean(axis=-1, keepdims=True)
    alpha = (est * ref).sum(-1, keepdims=True) / ((ref * ref).sum(-1, keepdims=True) + 1e-12)
    target = alpha * ref
    return 10 * np.log10(((target ** 2).sum(-1) + 1e-12) / (((est - target) ** 2).sum(-1) + 1e-12))


def snr_db(est: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """SNR of est against ref in dB over the last axis: no scaling, no alignment (what
    "nearly unchanged" and "two draws agree" mean)."""
    err = np.maximum(((est - ref) ** 2).sum(-1), 1e-20)
    return 10 * np.log10(np.maximum((ref ** 2).sum(-1), 1e-20) / err)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.inference",
                                 description="enhance a WAV with a training checkpoint")
    ap.add_argument("checkpoint")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--steps", default="6")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-ema", action="store_true")
    a = ap.parse_args(argv)
    if sf is None:
        raise SystemExit("inference: reading WAV files needs python3-soundfile")
    nets, meta = networks.load_networks(a.checkpoint, ema=not a.no_ema)
    if nets.cfg.domain == "stft":
        raise SystemExit(f"{a.checkpoint}: a time-frequency checkpoint; export it (models.train.export) and use restoregrad enhance")
    x, sr = sf.read(a.input, dtype="float32", always_2d=True)
    y = torch.from_numpy(x.mean(1)).view(1, 1, -1)
    out = enhance(nets.denoiser, nets.prior, y, a.steps, a.seed, networks.length_multiple(nets.cfg),
                  meta.get("final_blend", 0.0), meta.get("input_rms", 0.0))
    sf.write(a.output, out.view(-1).numpy(), sr)


if __name__ == "__main__":
    main()
