"""Causal networks of the `rt` config: the latent-frame-rate denoiser and Prior Net of
`small` (model.py) made causal, with an explicit-cache `step` for streaming.

Every convolution is causal: a Conv1d pads only on the left, so latent frame j of a
stride-s encoder reads input samples up to j*s + s - 1; a ConvTranspose1d decoder maps frame
j onto samples j*s ... j*s + K - 1 and the output is cut to the input's length. Output sample
n therefore reads input up to the end of its stride block: s - 1 samples of look-ahead, which
a hop that is a multiple of s contains, so a frame-by-frame run adds no latency beyond the hop.

`forward` is the whole-signal causal model (zero past). `step(..., caches)` processes one hop
(a multiple of the stride) and returns the updated caches; run hop after hop from
`zero_caches` it equals `forward` on the concatenated signal (tests/test_rt_model.py).
Cache order and shapes come from `cache_specs`, the same order the streaming ONNX graphs use.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from . import model as M
from .params import Config


class CausalConv1d(nn.Module):
    """Conv1d padded on the left only. Its stream state is the last `pad` input samples."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, stride=stride, dilation=dilation)
        self.in_channels, self.stride = cin, stride
        self.pad = (kernel - 1) * dilation + 1 - stride
        assert self.pad >= 0, "kernel shorter than stride"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.pad, 0)))

    def cache_shape(self) -> list[int]:
        return [1, self.in_channels, self.pad]

    def step(self, x: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xin = torch.cat([cache, x], dim=-1)
        return self.conv(xin), xin[..., xin.shape[-1] - self.pad:]


class CausalConvTranspose1d(nn.Module):
    """ConvTranspose1d whose frame j writes samples j*s ... j*s + K - 1; the output is cut to
    frames*s. Its stream state is the not-yet-complete tail, K - s samples (bias excluded)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int):
        super().__init__()
        self.conv = nn.ConvTranspose1d(cin, cout, kernel, stride=stride)
        self.stride, self.out_channels = stride, cout
        self.tail = kernel - stride
        assert self.tail >= 0, "kernel shorter than stride"

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.conv(h)[..., : h.shape[-1] * self.stride]

    def cache_shape(self) -> list[int]:
        return [1, self.out_channels, self.tail]

    def step(self, h: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = h.shape[-1] * self.stride
        assert n >= self.tail, "hop shorter than the decoder's overlap"
        full = F.conv_transpose1d(h, self.conv.weight, None, stride=self.stride)  # n + tail
        out = torch.cat([full[..., : self.tail] + cache, full[..., self.tail: n]], dim=-1)
        return out + self.conv.bias.view(1, -1, 1), full[..., n:]


class ResidualLayer(nn.Module):
    """model.ResidualLayer with a causal dilated convolution."""

    def __init__(self, channels: int, cond_channels: int, emb_hidden: int, dilation: int):
        super().__init__()
        self.step_proj = nn.Linear(emb_hidden, channels)
        self.dilated = CausalConv1d(channels, 2 * channels, 3, dilation=dilation)
        self.cond = nn.Conv1d(cond_channels, 2 * channels, 1)
        self.out = nn.Conv1d(channels, 2 * channels, 1)
        nn.init.kaiming_normal_(self.dilated.conv.weight)
        nn.init.kaiming_normal_(self.out.weight)

    def _rest(self, x, d, cond):
        h = d + self.cond(cond)
        gate, filt = torch.chunk(h, 2, dim=1)
        h = torch.sigmoid(gate) * torch.tanh(filt)
        res, skip = torch.chunk(self.out(h), 2, dim=1)
        return (x + res) / math.sqrt(2.0), skip

    def forward(self, x, cond, emb):
        return self._rest(x, self.dilated(x + self.step_proj(emb).unsqueeze(-1)), cond)

    def step(self, x, cond, emb, cache):
        d, cache = self.dilated.step(x + self.step_proj(emb).unsqueeze(-1), cache)
        h, skip = self._rest(x, d, cond)
        return h, skip, cache


class Denoiser(M.Denoiser):
    """Causal eps_theta(x_t, y, t): model.Denoiser's `head`, `forward` and `to_eps` run on
    causal layers of the same names; `step` is the same network one hop at a time."""

    def __init__(self, cfg: Config):
        nn.Module.__init__(self)
        M.check_head(cfg)
        self.cfg = cfg
        k, s = cfg.kernel, cfg.stride
        self.encoder = CausalConv1d(2, cfg.channels, k, s)
        self.cond_encoder = CausalConv1d(1, cfg.cond_channels, k, s)
        self.embedding = M.StepEmbedding(cfg.emb_dim, cfg.emb_hidden)
        self.layers = nn.ModuleList(
            ResidualLayer(cfg.channels, cfg.cond_channels, cfg.emb_hidden, 2 ** (i % cfg.dilation_cycle))
            for i in range(cfg.layers))
        self.skip = nn.Conv1d(cfg.channels, cfg.channels, 1)
        if cfg.head == "mask":
            # A causal frame ends at its stride block, so the block is its last s samples.
            self.mask_head = M.MaskHead(cfg, CausalConv1d(1, 2 * k, k, s), k - s)
        else:
            self.decoder = CausalConvTranspose1d(cfg.channels, 1, k, s)
            nn.init.zeros_(self.decoder.conv.weight)
            nn.init.zeros_(self.decoder.conv.bias)
        self.register_schedule()

    def cache_specs(self) -> list[tuple[str, list[int]]]:
        specs = [("c_encoder", self.encoder.cache_shape()), ("c_cond_encoder", self.cond_encoder.cache_shape())]
        specs += [(f"c_layer{i}", layer.dilated.cache_shape()) for i, layer in enumerate(self.layers)]
        if self.cfg.head == "mask":
            return specs + [("c_mask_encoder", self.mask_head.encoder.cache_shape())]
        return specs + [("c_decoder", self.decoder.cache_shape())]

    def step(self, x_t, y, t, caches: list[torch.Tensor]):
        """One hop: x_t, y [1, 1, H] (H a multiple of the stride), t [1]. Returns eps, caches."""
        new = []
        h, c = self.encoder.step(torch.cat([x_t, y], dim=1), caches[0])
        h = F.relu(h)
        new.append(c)
        cond, c = self.cond_encoder.step(y, caches[1])
        cond = F.leaky_relu(cond, 0.4)
        new.append(c)
        emb = self.embedding(t)
        skip = torch.zeros_like(h)
        for i, layer in enumerate(self.layers):
            h, sk, c = layer.step(h, cond, emb, caches[2 + i])
            skip = skip + sk
            new.append(c)
        h = F.relu(self.skip(skip / math.sqrt(len(self.layers))))
        if self.cfg.head == "mask":
            e, c = self.mask_head.encoder.step(y, caches[-1])
            out = self.mask_head.combine(e, h)
        else:
            out, c = self.decoder.step(h, caches[-1])
        new.append(c)
        return self.to_eps(out, x_t, y, t), new

    def context(self) -> int:
        """Receptive field in samples into the past (the look-ahead, stride - 1, is smaller)."""
        frames = sum(2 * 2 ** (i % self.cfg.dilation_cycle) for i in range(self.cfg.layers))
        return self.cfg.stride * (frames + math.ceil(self.cfg.kernel / self.cfg.stride)) + self.cfg.kernel

    def lookahead(self) -> int:
        return self.cfg.stride - 1


class SigmaNet(M.SigmaNet):
    """Causal Prior Net: model.SigmaNet's strided ResNet encoder with causal convolutions.
    A model.SigmaNet subclass only for model.py's helpers."""

    def __init__(self, cfg: Config, in_channels: int):
        nn.Module.__init__(self)
        self.cfg = cfg
        c, k, s = cfg.sigma_channels, cfg.sigma_kernel, cfg.sigma_stride
        self.encoder = CausalConv1d(in_channels, c, k, s)
        self.blocks = nn.ModuleList(
            nn.ModuleList([CausalConv1d(c, c, 3, dilation=2 ** i), CausalConv1d(c, c, 3)])
            for i in range(cfg.sigma_blocks))
        self.decoder = CausalConvTranspose1d(c, 1, k, s)
        self.lo, self.hi = math.log(cfg.sigma_min), math.log(cfg.sigma_max)
        nn.init.zeros_(self.decoder.conv.weight)
        with torch.no_grad():  # start at sigma = 1 everywhere
            p = (0.0 - self.lo) / (self.hi - self.lo)
            self.decoder.conv.bias.fill_(math.log(p / (1.0 - p)))

    def _out(self, d: torch.Tensor) -> torch.Tensor:
        return self.lo + (self.hi - self.lo) * torch.sigmoid(d)

    def log_sigma(self, *inputs: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.encoder(torch.cat(inputs, dim=1)), 0.2)
        for a, b in self.blocks:
            h = F.leaky_relu(h + b(F.leaky_relu(a(h), 0.2)), 0.2)
        return self._out(self.decoder(h))

    def cache_specs(self) -> list[tuple[str, list[int]]]:
        specs = [("c_encoder", self.encoder.cache_shape())]
        for i, (a, b) in enumerate(self.blocks):
            specs += [(f"c_block{i}a", a.cache_shape()), (f"c_block{i}b", b.cache_shape())]
        return specs + [("c_decoder", self.decoder.cache_shape())]

    def step(self, y: torch.Tensor, caches: list[torch.Tensor]):
        """One hop of y [1, 1, H]: returns sigma [1, 1, H] and the updated caches."""
        new = []
        h, c = self.encoder.step(y, caches[0])
        h = F.leaky_relu(h, 0.2)
        new.append(c)
        for i, (a, b) in enumerate(self.blocks):
            u, ca = a.step(h, caches[1 + 2 * i])
            v, cb = b.step(F.leaky_relu(u, 0.2), caches[2 + 2 * i])
            h = F.leaky_relu(h + v, 0.2)
            new += [ca, cb]
        d, c = self.decoder.step(h, caches[-1])
        new.append(c)
        return torch.exp(self._out(d)), new

    def context(self) -> int:
        frames = sum(2 * 2 ** i + 2 for i in range(self.cfg.sigma_blocks))
        k, s = self.cfg.sigma_kernel, self.cfg.sigma_stride
        return s * (frames + math.ceil(k / s)) + k

    def lookahead(self) -> int:
        return self.cfg.sigma_stride - 1


class OnesPrior(M.OnesPrior):
    """CDiffuSE's Sigma = I, with the (empty) streaming interface."""

    def cache_specs(self) -> list[tuple[str, list[int]]]:
        return []

    def step(self, y, caches):
        return torch.ones_like(y), []

    def lookahead(self) -> int:
        return 0


def make_prior(cfg: Config, objective: str) -> nn.Module:
    if objective == "cdiffuse":
        return OnesPrior()
    if objective == "priorgrad":
        raise SystemExit("rt: the priorgrad frame-energy prior normalises by a +-0.5 s maximum "
                         "and cannot stream; use cdiffuse, restoregrad or restoregrad-noposterior")
    return SigmaNet(cfg, 1)


def zero_caches(module: nn.Module) -> list[torch.Tensor]:
    return [torch.zeros(shape) for _, shape in module.cache_specs()]
