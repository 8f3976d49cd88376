"""Time-frequency networks (configs `tf` and `tf-rt`): the denoiser, Prior Net and Posterior
Net working on the compressed complex STFT (stft.py), in the GTCRN / FastEnhancer class.

Tensors are [B, 2, T, F] (real, imaginary; F = n_fft/2 + 1 bins). Every convolution has a
time kernel of 1, so all memory across frames lives in GRUs: `tf-rt` runs them forward
only (causal; a frame-by-frame `step` with the hidden states as explicit caches equals the
whole-signal forward), `tf` runs them in both directions (looks ahead, offline only).

Denoiser: features [y, x_t, |y|, |x_t|] -> band compression (65 linear low bins + ERB-spaced
triangular bands above, fixed) -> two strided frequency convolutions -> dual-path blocks
(a bidirectional GRU across the bands of each frame, a GRU over time per band) -> two
transposed convolutions with skips -> a complex mask at band resolution, expanded back to
every bin and applied to y. The diffusion step t enters every stage as FiLM (scale, shift
from an MLP of the step embedding). Untrained, the mask is exactly 1: f = y.

Prior / Posterior Net: per-band log magnitudes of y (and x0) -> linear -> GRU over time ->
per-band s in [s_min, s_max] (a sigmoid), expanded to bins; sigma = s * (|y_c| + kappa).
The lower bound relative to |y_c| keeps x_t noise-dominated near t = T-1 however far the
learned sigma would like to shrink (README.md, "Time-frequency models")."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from . import model as M
from . import stft
from .params import Config


# ---------------------------------------------------------------- bands

def band_matrices(n_bins: int, low: int, high_bands: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(C [n_bins, nb], E [nb, n_bins]): C averages bins into bands, E spreads band values back
    to bins (each bin a convex combination of its two nearest band centres). Bins below `low`
    are their own bands; above, `high_bands` triangular bands evenly spaced on the ERB scale."""
    def erb(f):
        return 21.4 * np.log10(1 + 0.00437 * f)

    def inv_erb(e):
        return (10 ** (e / 21.4) - 1) / 0.00437

    hz_per_bin = sample_rate / 2 / (n_bins - 1)
    e = np.linspace(erb(low * hz_per_bin), erb((n_bins - 1) * hz_per_bin), high_bands)
    centres = np.concatenate([np.arange(low, dtype=np.float64), inv_erb(e) / hz_per_bin])
    centres[low] = low
    centres[-1] = n_bins - 1
    nb = len(centres)
    E = np.zeros((nb, n_bins))
    for k in range(n_bins):
        i = int(np.searchsorted(centres, k, side="right")) - 1
        i = min(max(i, 0), nb - 1)
        if i == nb - 1 or centres[i] == k:
            E[i, k] = 1.0
            continue
        a = (k - centres[i]) / (centres[i + 1] - centres[i])
        E[i, k], E[i + 1, k] = 1 - a, a
    C = E.T / E.sum(axis=1, keepdims=True).T
    return C.astype(np.float32), E.astype(np.float32)


class Bands(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        n_bins = cfg.n_fft // 2 + 1
        C, E = band_matrices(n_bins, cfg.low_bins, cfg.high_bands, cfg.sample_rate)
        self.register_buffer("C", torch.from_numpy(C), persistent=False)
        self.register_buffer("E", torch.from_numpy(E), persistent=False)
        self.n = C.shape[1]

    def compress(self, x: torch.Tensor) -> torch.Tensor:  # [..., F] -> [..., nb]
        return torch.matmul(x, self.C)

    def expand(self, x: torch.Tensor) -> torch.Tensor:  # [..., nb] -> [..., F]
        return torch.matmul(x, self.E)


def conv_out(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


# ---------------------------------------------------------------- blocks

class FiLM(nn.Module):
    """h * (1 + gamma(t)) + beta(t), per channel; starts as the identity."""

    def __init__(self, emb: int, channels: int):
        super().__init__()
        self.lin = nn.Linear(emb, 2 * channels)
        nn.init.zeros_(self.lin.weight)
        nn.init.zeros_(self.lin.bias)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        g, b = torch.chunk(self.lin(emb), 2, dim=1)
        return h * (1 + g[:, :, None, None]) + b[:, :, None, None]


class DualPath(nn.Module):
    """A bidirectional GRU across the bands of each frame, then a GRU over time per band
    (forward only when causal); each with a projection, LayerNorm over channels and a residual.
    State across frames: the time GRU's hidden state, [dirs, B*bands, H]."""

    def __init__(self, channels: int, intra: int, inter: int, causal: bool):
        super().__init__()
        self.causal = causal
        self.intra = nn.GRU(channels, intra, batch_first=True, bidirectional=True)
        self.intra_proj = nn.Linear(2 * intra, channels)
        self.intra_norm = nn.LayerNorm(channels)
        self.inter = nn.GRU(channels, inter, batch_first=True, bidirectional=not causal)
        self.inter_proj = nn.Linear(inter * (1 if causal else 2), channels)
        self.inter_norm = nn.LayerNorm(channels)
        self.hidden = inter

    def _intra(self, h: torch.Tensor) -> torch.Tensor:
        b, c, t, f = h.shape
        x = h.permute(0, 2, 3, 1).reshape(b * t, f, c)
        r, _ = self.intra(x)
        x = x + self.intra_norm(self.intra_proj(r))
        return x.reshape(b, t, f, c)  # [B, T, F', C]

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b, c, t, f = h.shape
        x = self._intra(h).permute(0, 2, 1, 3).reshape(b * f, t, c)
        r, _ = self.inter(x)
        x = x + self.inter_norm(self.inter_proj(r))
        return x.reshape(b, f, t, c).permute(0, 3, 2, 1)

    def step(self, h: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One frame (T = 1) of the causal block; state [1, B*F', H]."""
        assert self.causal
        b, c, t, f = h.shape
        x = self._intra(h).permute(0, 2, 1, 3).reshape(b * f, t, c)
        r, state = self.inter(x, state)
        x = x + self.inter_norm(self.inter_proj(r))
        return x.reshape(b, f, t, c).permute(0, 3, 2, 1), state


class TFDenoiser(nn.Module):
    """eps_theta(x_t, y, t) in the compressed STFT domain, x0-parameterised through a complex
    mask on y (the graph returns eps, BUNDLE.md's contract)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.bands = Bands(cfg)
        nb = self.bands.n
        c1, c2 = cfg.tf_c1, cfg.tf_c2
        self.f1 = conv_out(nb, 5, 2, 2)
        self.f2 = conv_out(self.f1, 3, 2, 1)
        self.embedding = M.StepEmbedding(cfg.emb_dim, cfg.emb_hidden)
        self.enc1 = nn.Conv2d(6, c1, (1, 5), stride=(1, 2), padding=(0, 2))
        self.enc2 = nn.Conv2d(c1, c2, (1, 3), stride=(1, 2), padding=(0, 1))
        self.act1, self.act2, self.act3 = nn.PReLU(c1), nn.PReLU(c2), nn.PReLU(c1)
        self.film1, self.film2 = FiLM(cfg.emb_hidden, c1), FiLM(cfg.emb_hidden, c2)
        self.film3 = FiLM(cfg.emb_hidden, c1)
        self.blocks = nn.ModuleList(DualPath(c2, cfg.tf_intra, cfg.tf_inter, cfg.causal)
                                    for _ in range(cfg.tf_blocks))
        self.dec2 = nn.ConvTranspose2d(2 * c2, c1, (1, 3), stride=(1, 2), padding=(0, 1),
                                       output_padding=(0, self.f1 - ((self.f2 - 1) * 2 - 2 + 3)))
        self.dec1 = nn.ConvTranspose2d(2 * c1, 2, (1, 5), stride=(1, 2), padding=(0, 2),
                                       output_padding=(0, nb - ((self.f1 - 1) * 2 - 4 + 5)))
        nn.init.zeros_(self.dec1.weight)
        nn.init.zeros_(self.dec1.bias)
        self.register_schedule()

    register_schedule = M.Denoiser.register_schedule

    def coefficients(self, t: torch.Tensor):
        a, b, sd = M.Denoiser.coefficients(self, t)  # [B, 1, 1]
        return a.unsqueeze(-1), b.unsqueeze(-1), sd.unsqueeze(-1)

    def _encode(self, x_t, y, t):
        my = torch.sqrt(y[:, :1] ** 2 + y[:, 1:] ** 2 + 1e-8)
        mx = torch.sqrt(x_t[:, :1] ** 2 + x_t[:, 1:] ** 2 + 1e-8)
        feats = self.bands.compress(torch.cat([y, x_t, my, mx], dim=1))
        emb = self.embedding(t)
        e1 = self.film1(self.act1(self.enc1(feats)), emb)
        e2 = self.film2(self.act2(self.enc2(e1)), emb)
        return e1, e2, emb

    def _decode(self, y, e1, e2, h, emb):
        d2 = self.film3(self.act3(self.dec2(torch.cat([h, e2], dim=1))), emb)
        m = self.bands.expand(self.dec1(torch.cat([d2, e1], dim=1)))  # [B, 2, T, F]
        mr, mi = m[:, :1] + 1.0, m[:, 1:]
        yr, yi = y[:, :1], y[:, 1:]
        return torch.cat([mr * yr - mi * yi, mr * yi + mi * yr], dim=1)

    def head(self, x_t: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The x0 estimate f."""
        e1, e2, emb = self._encode(x_t, y, t)
        h = e2
        for blk in self.blocks:
            h = blk(h)
        return self._decode(y, e1, e2, h, emb)

    def to_eps(self, f, x_t, y, t):
        a, b, sd = self.coefficients(t)
        return (x_t - b * y - a * f) / sd

    def forward(self, x_t: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.to_eps(self.head(x_t, y, t), x_t, y, t)

    # streaming (causal only)
    def cache_specs(self) -> list[tuple[str, list[int]]]:
        return [(f"c_block{i}", [1, self.f2, self.cfg.tf_inter]) for i in range(len(self.blocks))]

    def zero_caches(self) -> list[torch.Tensor]:
        return [torch.zeros(s) for _, s in self.cache_specs()]

    def step(self, x_t, y, t, caches: list[torch.Tensor]):
        """One frame: x_t, y [1, 2, 1, F] -> (eps, new caches)."""
        e1, e2, emb = self._encode(x_t, y, t)
        h, out = e2, []
        for blk, c in zip(self.blocks, caches):
            h, c = blk.step(h, c)
            out.append(c)
        return self.to_eps(self._decode(y, e1, e2, h, emb), x_t, y, t), out

    def context(self) -> int:
        # GRUs remember indefinitely; this is the margin the offline chunker gives each side:
        # 1 s for causal models (whose streaming path is exact anyway), 0.5 s for bidirectional
        # ones. Those were trained on 2 s crops and score worse on long windows: on 240 s of
        # held-out speech in continuous noise, 4 s chunks with 0.5 s margins gave SI-SDR 10.37 dB
        # and ESTOI 0.730 against 9.15 / 0.705 with 8 s chunks and 3 s margins, and PESQ-WB 1.925
        # against 1.876 (models/results/tf/chunking.md). The bundle's "chunk" carries the 4 s
        # (export.py).
        return self.cfg.sample_rate if self.cfg.causal else self.cfg.sample_rate // 2


class TFSigmaNet(nn.Module):
    """Prior Net sigma(y) (inputs 1) or Posterior Net sigma(x0, y) (inputs 2), per bin (or
    one per frame, shared by its bins, with cfg.sigma_per_frame)."""

    def __init__(self, cfg: Config, inputs: int):
        super().__init__()
        self.cfg = cfg
        self.bands = Bands(cfg)
        nb, hdim = self.bands.n, cfg.sigma_hidden
        self.inp = nn.Linear(inputs * nb, hdim)
        self.act = nn.PReLU(hdim)
        self.gru = nn.GRU(hdim, hdim, batch_first=True, bidirectional=not cfg.causal)
        self.out = nn.Linear(hdim * (1 if cfg.causal else 2), nb)
        nn.init.zeros_(self.out.weight)
        p = (cfg.s_init - cfg.s_min) / (cfg.s_max - cfg.s_min)
        nn.init.constant_(self.out.bias, math.log(p / (1 - p)))

    def _features(self, *inputs: torch.Tensor) -> torch.Tensor:
        logs = [torch.log(torch.sqrt(x[:, :1] ** 2 + x[:, 1:] ** 2 + 1e-8) + 1e-3) for x in inputs]
        f = self.bands.compress(torch.cat(logs, dim=1))  # [B, k, T, nb]
        b, k, t, nb = f.shape
        return self.act(self.inp(f.permute(0, 2, 1, 3).reshape(b, t, k * nb)).transpose(1, 2)).transpose(1, 2)

    def _sigma(self, r: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        my = torch.sqrt(y[:, :1] ** 2 + y[:, 1:] ** 2 + 1e-8)
        if cfg.sigma_per_frame:
            # One s per frame from the bands' mean, scaled by the frame's RMS magnitude.
            s = cfg.s_min + (cfg.s_max - cfg.s_min) * torch.sigmoid(self.out(r).mean(-1, keepdim=True))
            frame = torch.sqrt((my * my).mean(-1, keepdim=True))
            return (s.unsqueeze(1) * (frame + cfg.kappa)).expand_as(my)  # [B, 1, T, F]
        s = cfg.s_min + (cfg.s_max - cfg.s_min) * torch.sigmoid(self.bands.expand(self.out(r)))
        return s.unsqueeze(1) * (my + cfg.kappa)  # [B, 1, T, F]

    def log_sigma(self, *inputs: torch.Tensor) -> torch.Tensor:
        """inputs: (y,) for the prior, (x0, y) for the posterior; y last."""
        r, _ = self.gru(self._features(*inputs))
        return torch.log(self._sigma(r, inputs[-1]))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.log_sigma(*inputs))

    def cache_specs(self) -> list[tuple[str, list[int]]]:
        return [("c_sigma", [1, 1, self.cfg.sigma_hidden])]

    def zero_caches(self) -> list[torch.Tensor]:
        return [torch.zeros(s) for _, s in self.cache_specs()]

    def step(self, y: torch.Tensor, caches: list[torch.Tensor]):
        assert self.cfg.causal
        r, h = self.gru(self._features(y), caches[0])
        return self._sigma(r, y), [h]

    def context(self) -> int:
        return self.cfg.sample_rate if self.cfg.causal else self.cfg.sample_rate // 2  # as TFDenoiser


class TFOnes(nn.Module):
    """cdiffuse: Sigma = I."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(y[:, :1])

    def cache_specs(self) -> list:
        return []

    def zero_caches(self) -> list:
        return []

    def step(self, y, caches):
        return self.forward(y), []

    def context(self) -> int:
        return 0


class TFPriorGrad(TFOnes):
    """PriorGrad's handcrafted prior on this representation: the noisy spectrum's own
    compressed magnitude per bin (or the frame's RMS of it, sigma_per_frame), clamped below
    at pg_floor."""

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        my = torch.sqrt(y[:, :1] ** 2 + y[:, 1:] ** 2 + 1e-8)
        if self.cfg.sigma_per_frame:  # the frame's RMS magnitude for all its bins
            return torch.sqrt((my * my).mean(-1, keepdim=True)).clamp_min(self.cfg.pg_floor).expand_as(my)
        return my.clamp_min(self.cfg.pg_floor)


def make_prior(cfg: Config, objective: str) -> nn.Module:
    if objective == "cdiffuse":
        return TFOnes(cfg)
    if objective == "priorgrad":
        return TFPriorGrad(cfg)
    return TFSigmaNet(cfg, 1)


def make_posterior(cfg: Config, objective: str) -> nn.Module | None:
    return TFSigmaNet(cfg, 2) if objective == "restoregrad" else None


def macs_per_second(module: nn.Module, cfg: Config, seconds: float = 1.0, inputs: int = 2) -> float:
    """Multiply-accumulates of one call on `seconds` of audio (Conv2d, ConvTranspose2d, Linear,
    GRU and the band matrices), counted by forward hooks."""
    total = [0.0]
    hooks = []

    def conv(m, inp, out):
        k = m.weight.shape[2] * m.weight.shape[3]
        if isinstance(m, nn.ConvTranspose2d):
            total[0] += inp[0].numel() * m.out_channels * k / m.groups
        else:
            total[0] += out.numel() * m.in_channels * k / m.groups

    def lin(m, inp, out):
        total[0] += out.numel() * m.in_features

    def gru(m, inp, out):
        x = inp[0]
        steps = x.shape[0] * x.shape[1]
        dirs = 2 if m.bidirectional else 1
        total[0] += steps * dirs * 3 * m.hidden_size * (m.input_size + m.hidden_size)

    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin))
        elif isinstance(m, nn.GRU):
            hooks.append(m.register_forward_hook(gru))
    n = int(cfg.sample_rate * seconds)
    frames = stft.frames_for(n, cfg.hop)
    x = torch.randn(1, 2, frames, cfg.n_fft // 2 + 1)
    with torch.no_grad():
        if inputs == 2:
            module(x, x, torch.tensor([3.0]))
        else:
            module(x)
    for h in hooks:
        h.remove()
    nbins, nb = cfg.n_fft // 2 + 1, Bands(cfg).n
    # band compression/expansion: 6 feature maps in, 2 mask maps out (denoiser) or the sigma net's
    total[0] += frames * nbins * nb * (8 if inputs == 2 else 2)
    return total[0]
