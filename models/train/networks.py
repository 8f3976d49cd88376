"""The networks of a configuration: `Networks` (denoiser, prior, posterior), built by name,
loaded from a training checkpoint, described by size and cost. Shared by the training loop,
inference and the exporter; the layers themselves live in model.py (waveform), rt_model.py
(causal waveform) and tf_model.py (time-frequency)."""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from . import model as M
from . import params
from . import rt_model as R
from . import tf_model as TM


class Networks(nn.Module):
    """The denoiser, the prior (a net or a fixed function) and, for restoregrad, the posterior."""

    def __init__(self, cfg: params.Config, objective: str):
        super().__init__()
        self.cfg, self.objective = cfg, objective
        if cfg.domain == "stft":  # `tf`, `tf-rt`: time-frequency networks
            self.denoiser, self.prior = TM.TFDenoiser(cfg), TM.make_prior(cfg, objective)
            self.posterior = TM.make_posterior(cfg, objective)
            return
        if cfg.causal:  # `rt`: causal networks with streaming caches
            self.denoiser, self.prior = R.Denoiser(cfg), R.make_prior(cfg, objective)
        else:
            self.denoiser = M.Denoiser(cfg)
            self.prior = M.make_prior(cfg, objective)
        self.posterior = M.make_posterior(cfg, objective)

    def sigma_parameters(self) -> list[nn.Parameter]:
        ps = list(self.prior.parameters())
        if self.posterior is not None:
            ps += list(self.posterior.parameters())
        return ps

    def context(self) -> int:
        return max(self.denoiser.context(), self.prior.context())


def length_multiple(cfg: params.Config) -> int:
    """The signal length every network accepts a multiple of: the hop in the STFT domain,
    else the common multiple of the denoiser's and the sigma nets' strides."""
    if cfg.domain == "stft":
        return cfg.hop
    return math.lcm(cfg.stride, cfg.sigma_stride)


def build(cfg_name: str, objective: str, overrides: dict | None = None) -> Networks:
    cfg = params.get(cfg_name)
    if overrides:
        cfg = cfg.replace(**overrides)
    return Networks(cfg, objective)


def load_checkpoint(path: str | Path) -> dict:
    """A checkpoint written by train.py, on the CPU. It holds tensors, plain Python values and
    torch's own containers only (tests/test_checkpoints.py), so moving modules never breaks it;
    weights_only=False because torch 1.13's restricted unpickler cannot read its floats."""
    return torch.load(path, map_location="cpu", weights_only=False)


def load_networks(path: str | Path, ema: bool = True) -> tuple[Networks, dict]:
    """The networks of a checkpoint written by train.py (the EMA weights by default) and its
    meta data."""
    ck = load_checkpoint(path)
    meta = ck["meta"]
    overrides = dict(meta.get("overrides") or {})
    if "head" not in overrides:  # written before heads existed: the then defaults
        overrides = {"param": "eps", "head": "synth", **overrides}
    nets = build(meta["config"], meta["objective"], overrides)
    nets.load_state_dict(ck["ema" if ema and ck.get("ema") else "nets"])
    nets.eval()
    return nets, meta


def describe(nets: Networks) -> dict:
    cfg = nets.cfg
    if cfg.domain == "stft":
        out = {"params_denoiser": M.count_params(nets.denoiser),
               "params_prior": M.count_params(nets.prior),
               "params_posterior": M.count_params(nets.posterior),
               "gmac_per_s_denoiser": TM.macs_per_second(nets.denoiser, cfg) / 1e9,
               "context": nets.context(), "length_multiple": length_multiple(cfg)}
        if isinstance(nets.prior, TM.TFSigmaNet):
            out["gmac_per_s_prior"] = TM.macs_per_second(nets.prior, cfg, inputs=1) / 1e9
        return out
    out = {
        "params_denoiser": M.count_params(nets.denoiser),
        "params_prior": M.count_params(nets.prior),
        "params_posterior": M.count_params(nets.posterior),
        "gmac_per_s_denoiser": M.macs_per_second(nets.denoiser, cfg.sample_rate) / 1e9,
        "context": nets.context(),
        "length_multiple": length_multiple(cfg),
    }
    if isinstance(nets.prior, M.SigmaNet):
        out["gmac_per_s_prior"] = M.macs_per_second(nets.prior, cfg.sample_rate) / 1e9
    return out
