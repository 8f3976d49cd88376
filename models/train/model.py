"""Networks: the CDiffuSE-style denoiser eps_theta(x_t, y, t), the Prior/Posterior sigma nets,
and the fixed priors of the baselines (all ones; PriorGrad's frame-energy std)."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from . import schedule
from .params import Config


def _enc_padding(kernel: int, stride: int) -> int:
    # Conv1d(kernel, stride, pad) maps N -> N/stride and ConvTranspose1d back to N
    # whenever N is a multiple of stride and kernel - stride is even.
    return (kernel - stride) // 2


class StepEmbedding(nn.Module):
    """Sinusoidal embedding of the continuous step t (float, 0..T-1) followed by an MLP."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.dim = dim
        half = dim // 2
        freqs = 10.0 ** (torch.arange(half, dtype=torch.float32) * 4.0 / max(half - 1, 1))
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())

    def features(self, t: torch.Tensor) -> torch.Tensor:
        ang = t.reshape(-1, 1) * self.freqs.reshape(1, -1)
        return torch.cat([torch.sin(ang), torch.cos(ang)], dim=1)

    def forward(self, t: torch.Tensor) -> torch.Tensor:  # t: [B] float -> [B, hidden]
        # Training draws integer steps only, and the sinusoids run up to 10^4 rad per step, so
        # at a fractional t (every fast schedule's aligned steps) they would be values the MLP
        # never saw. As DiffWave does, interpolate the features of the two neighbouring integer
        # steps instead: identical on integer t, smooth in between.
        t = t.float()
        lo = torch.floor(t)
        frac = (t - lo).reshape(-1, 1)
        return self.mlp((1.0 - frac) * self.features(lo) + frac * self.features(lo + 1.0))


class ResidualLayer(nn.Module):
    """DiffWave layer: gated dilated conv + step embedding + conditioning; residual and skip."""

    def __init__(self, channels: int, cond_channels: int, emb_hidden: int, dilation: int):
        super().__init__()
        self.step = nn.Linear(emb_hidden, channels)
        self.dilated = nn.Conv1d(channels, 2 * channels, 3, padding=dilation, dilation=dilation)
        self.cond = nn.Conv1d(cond_channels, 2 * channels, 1)
        self.out = nn.Conv1d(channels, 2 * channels, 1)
        nn.init.kaiming_normal_(self.dilated.weight)
        nn.init.kaiming_normal_(self.out.weight)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, emb: torch.Tensor):
        h = x + self.step(emb).unsqueeze(-1)
        h = self.dilated(h) + self.cond(cond)
        gate, filt = torch.chunk(h, 2, dim=1)
        h = torch.sigmoid(gate) * torch.tanh(filt)
        res, skip = torch.chunk(self.out(h), 2, dim=1)
        return (x + res) / math.sqrt(2.0), skip


def block_window(kernel: int, offset: int, stride: int) -> torch.Tensor:
    """Analysis window of MaskHead: flat (1) on the `stride` samples at `offset` that a frame
    synthesises, sin^2 ramps over the rest (a Tukey window, one-sided when offset = kernel - stride)."""
    w = torch.ones(kernel, dtype=torch.float64)
    rise, fall = offset, kernel - offset - stride
    for i in range(rise):
        w[i] = math.sin(0.5 * math.pi * (i + 1) / (rise + 1)) ** 2
    for i in range(fall):
        w[kernel - 1 - i] = math.sin(0.5 * math.pi * (i + 1) / (fall + 1)) ** 2
    return w


def block_transform_pair(kernel: int, stride: int, offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights of an analysis Conv1d(1, 2K, K) and a synthesis ConvTranspose1d(2K, 1, stride)
    that reconstruct the input exactly through a ReLU: the windowed orthonormal DCT-II of each
    K-sample frame, split into positive and negative halves (relu(c) - relu(-c) = c), and the
    inverse transform read back only on the `stride` samples at `offset` (no overlap-add, so a
    causal frame needs no look-ahead beyond its own stride block)."""
    n = torch.arange(kernel, dtype=torch.float64)
    k = n.view(-1, 1)
    basis = torch.cos(math.pi * (n + 0.5) * k / kernel) * math.sqrt(2.0 / kernel)
    basis[0] /= math.sqrt(2.0)                      # orthonormal: basis @ basis.T = I
    w = block_window(kernel, offset, stride)
    analysis = basis * w                            # c = basis @ (w * frame)
    synthesis = basis[:, offset:offset + stride]    # frame = basis.T @ c / w, and w = 1 there
    enc = torch.cat([analysis, -analysis]).unsqueeze(1)
    dec = torch.cat([synthesis, -synthesis]).unsqueeze(1)
    return enc.float(), dec.float()


class MaskHead(nn.Module):
    """x0 estimate of the `mask` head: a mask on a learned transform of y plus a learned
    synthesis term, f = D(relu(E y) * sigmoid(M h) + G h). E and D start as an exact
    analysis/synthesis pair and the mask near 1, so f starts at ~y (the noisy input) and
    training only has to learn what to remove: masks learn far faster on a CPU budget than a
    decoder that synthesises speech from nothing (models/results/RESULTS.md)."""

    def __init__(self, cfg: Config, encoder: nn.Module, offset: int):
        super().__init__()
        k, s = cfg.kernel, cfg.stride
        self.encoder = encoder  # Conv1d(1, 2K, K, stride s), plain or causal
        conv = encoder.conv if hasattr(encoder, "conv") else encoder
        self.mask = nn.Conv1d(cfg.channels, 2 * k, 1)
        self.synth = nn.Conv1d(cfg.channels, 2 * k, 1)
        self.decoder = nn.ConvTranspose1d(2 * k, 1, s, stride=s, bias=False)
        enc, dec = block_transform_pair(k, s, offset)
        with torch.no_grad():
            conv.weight.copy_(enc)
            conv.bias.zero_()
            self.decoder.weight.copy_(dec)
            nn.init.zeros_(self.mask.weight)
            self.mask.bias.fill_(4.0)  # sigmoid(4) = 0.98
            nn.init.zeros_(self.synth.weight)
            nn.init.zeros_(self.synth.bias)

    def combine(self, e: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.decoder(F.relu(e) * torch.sigmoid(self.mask(h)) + self.synth(h))

    def forward(self, y: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.combine(self.encoder(y), h)


def check_head(cfg: Config) -> None:
    if cfg.param not in ("eps", "x0"):
        raise ValueError(f"unknown param {cfg.param!r}")
    if cfg.head not in ("synth", "mask"):
        raise ValueError(f"unknown head {cfg.head!r}")
    if cfg.head == "mask" and (cfg.param != "x0" or cfg.stride < 2):
        raise ValueError("head 'mask' needs param 'x0' and a strided encoder")


class Denoiser(nn.Module):
    """eps_theta(x_t, y, t): strided encoder -> gated dilated residual stack -> transposed conv
    (head "synth") or a mask on a transform of y (head "mask")."""

    def __init__(self, cfg: Config):
        super().__init__()
        check_head(cfg)
        self.cfg = cfg
        k, s = cfg.kernel, cfg.stride
        pad = _enc_padding(k, s)
        self.encoder = nn.Conv1d(2, cfg.channels, k, stride=s, padding=pad)
        self.cond_encoder = nn.Conv1d(1, cfg.cond_channels, k, stride=s, padding=pad)
        self.embedding = StepEmbedding(cfg.emb_dim, cfg.emb_hidden)
        self.layers = nn.ModuleList(
            ResidualLayer(cfg.channels, cfg.cond_channels, cfg.emb_hidden, 2 ** (i % cfg.dilation_cycle))
            for i in range(cfg.layers)
        )
        self.skip = nn.Conv1d(cfg.channels, cfg.channels, 1)
        if cfg.head == "mask":
            self.mask_head = MaskHead(cfg, nn.Conv1d(1, 2 * k, k, stride=s, padding=pad), pad)
        else:
            self.decoder = nn.ConvTranspose1d(cfg.channels, 1, k, stride=s, padding=pad)
            nn.init.zeros_(self.decoder.weight)
            nn.init.zeros_(self.decoder.bias)
        self.register_schedule()

    def register_schedule(self) -> None:
        tr = schedule.training()
        self.register_buffer("sqrt_abar", torch.tensor(tr.alpha_bar, dtype=torch.float32).sqrt(),
                             persistent=False)

    def coefficients(self, t: torch.Tensor):
        """a(t), b(t), sqrt(delta(t)) of the training schedule at continuous t ([B] -> [B,1,1]):
        sqrt(alpha_bar) interpolated linearly between steps (as BUNDLE.md's step alignment),
        then the process formulas; exact on the aligned inference steps."""
        T = self.sqrt_abar.shape[0]
        tc = torch.clamp(t.float(), 0.0, float(T - 1))
        i = torch.clamp(torch.floor(tc), max=float(T - 2))
        frac = (tc - i).view(-1, 1, 1)
        ii = i.long()
        s0, s1 = self.sqrt_abar[ii].view(-1, 1, 1), self.sqrt_abar[ii + 1].view(-1, 1, 1)
        s = s0 + frac * (s1 - s0)
        abar = s * s
        m = torch.sqrt(torch.clamp((1.0 - abar) / s, max=1.0))
        delta = torch.clamp((1.0 - abar) - m * m * abar, min=0.0)
        return (1.0 - m) * s, m * s, torch.sqrt(delta + 1e-12)

    def head(self, x_t: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The network's own output: eps (param "eps") or the x0 estimate f (param "x0")."""
        h = F.relu(self.encoder(torch.cat([x_t, y], dim=1)))
        cond = F.leaky_relu(self.cond_encoder(y), 0.4)
        emb = self.embedding(t)
        skip = torch.zeros_like(h)
        for layer in self.layers:
            h, sk = layer(h, cond, emb)
            skip = skip + sk
        h = F.relu(self.skip(skip / math.sqrt(len(self.layers))))
        if self.cfg.head == "mask":
            return self.mask_head(y, h)
        return self.decoder(h)

    def to_eps(self, out: torch.Tensor, x_t: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The graph's output eps from the head's output (identity for param "eps")."""
        if self.cfg.param == "eps":
            return out
        a, b, sd = self.coefficients(t)
        return (x_t - b * y - a * out) / sd

    def forward(self, x_t: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.to_eps(self.head(x_t, y, t), x_t, y, t)

    def context(self) -> int:
        """Receptive field, in samples, on each side of an output sample."""
        frames = sum(2 ** (i % self.cfg.dilation_cycle) for i in range(self.cfg.layers))
        return self.cfg.stride * (frames + math.ceil(self.cfg.kernel / self.cfg.stride)) + self.cfg.kernel


class SigmaNet(nn.Module):
    """Prior Net (input y) or Posterior Net (input x0, y): a strided 1-D ResNet encoder whose
    output is a per-sample std, exp of a log-std bounded to [log sigma_min, log sigma_max]."""

    def __init__(self, cfg: Config, in_channels: int):
        super().__init__()
        self.cfg = cfg
        c, k, s = cfg.sigma_channels, cfg.sigma_kernel, cfg.sigma_stride
        pad = _enc_padding(k, s)
        self.encoder = nn.Conv1d(in_channels, c, k, stride=s, padding=pad)
        self.blocks = nn.ModuleList()
        for i in range(cfg.sigma_blocks):
            d = 2 ** i
            self.blocks.append(nn.Sequential(
                nn.Conv1d(c, c, 3, padding=d, dilation=d), nn.LeakyReLU(0.2),
                nn.Conv1d(c, c, 3, padding=1),
            ))
        self.decoder = nn.ConvTranspose1d(c, 1, k, stride=s, padding=pad)
        self.lo = math.log(cfg.sigma_min)
        self.hi = math.log(cfg.sigma_max)
        # Start at sigma = 1 everywhere (the plain CDiffuSE process).
        nn.init.zeros_(self.decoder.weight)
        with torch.no_grad():
            p = (0.0 - self.lo) / (self.hi - self.lo)
            self.decoder.bias.fill_(math.log(p / (1.0 - p)))

    def log_sigma(self, *inputs: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.encoder(torch.cat(inputs, dim=1)), 0.2)
        for block in self.blocks:
            h = F.leaky_relu(h + block(h), 0.2)
        return self.lo + (self.hi - self.lo) * torch.sigmoid(self.decoder(h))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.log_sigma(*inputs))

    def context(self) -> int:
        frames = sum(2 ** i + 1 for i in range(self.cfg.sigma_blocks))
        k, s = self.cfg.sigma_kernel, self.cfg.sigma_stride
        return s * (frames + math.ceil(k / s)) + k


class OnesPrior(nn.Module):
    """CDiffuSE: Sigma = I."""

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(y)

    def context(self) -> int:
        return 0


class FrameEnergyPrior(nn.Module):
    """PriorGrad's handcrafted std: frame RMS of y (hop = stride), divided by its local maximum
    (+- pg_norm_window samples, so chunked processing stays exact), clamped below at pg_floor."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.frame, self.hop, self.floor = cfg.pg_frame, cfg.sigma_stride, cfg.pg_floor
        self.win = cfg.pg_norm_window // self.hop

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        n = y.shape[-1]
        frames = n // self.hop
        e = F.avg_pool1d(y * y, self.frame, stride=self.hop, padding=self.frame // 2,
                         count_include_pad=True)[..., :frames]
        rms = torch.sqrt(e + 1e-10)
        peak = F.max_pool1d(rms, 2 * self.win + 1, stride=1, padding=self.win)
        s = torch.clamp(rms / (peak + 1e-8), min=self.floor, max=1.0)
        b = s.shape[0]
        return s.unsqueeze(-1).expand(b, 1, frames, self.hop).reshape(b, 1, frames * self.hop)

    def context(self) -> int:
        return self.win * self.hop + self.frame


def make_prior(cfg: Config, objective: str) -> nn.Module:
    if objective == "cdiffuse":
        return OnesPrior()
    if objective == "priorgrad":
        return FrameEnergyPrior(cfg)
    return SigmaNet(cfg, 1)


def make_posterior(cfg: Config, objective: str) -> nn.Module | None:
    return SigmaNet(cfg, 2) if objective == "restoregrad" else None


def count_params(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def macs_per_second(module: nn.Module, sample_rate: int, seconds: float = 1.0) -> float:
    """Multiply-accumulates of one evaluation on `seconds` of audio, via forward hooks on
    Conv1d / ConvTranspose1d / Linear (gating and additions excluded), per second of audio."""
    total = [0]

    def conv_hook(m: nn.Module, inp, out):
        if isinstance(m, nn.ConvTranspose1d):
            total[0] += inp[0].shape[-1] * m.in_channels * m.out_channels * m.kernel_size[0] // m.groups
        else:
            total[0] += out.shape[-1] * m.in_channels * m.out_channels * m.kernel_size[0] // m.groups

    def lin_hook(m: nn.Linear, inp, out):
        total[0] += m.in_features * m.out_features

    hooks = []
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    n = int(sample_rate * seconds)
    y = torch.zeros(1, 1, n)
    with torch.no_grad():
        if isinstance(module, Denoiser):
            module(y, y, torch.zeros(1))
        elif isinstance(module, SigmaNet):
            module(*([y] * module.encoder.in_channels))
        else:
            module(y)
    for h in hooks:
        h.remove()
    return total[0] / seconds
