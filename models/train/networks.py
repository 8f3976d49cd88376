"""The networks of a configuration: build them, load them from a training checkpoint,
describe their size and cost. Shared by the training loop, inference and the exporters."""
from __future__ import annotations

import math
from pathlib import Path

import torch

from . import learner as L
from . import model as M
from . import params


def length_multiple(cfg: params.Config) -> int:
    """The signal length every network accepts a multiple of: the hop in the STFT domain,
    else the common multiple of the denoiser's and the sigma nets' strides."""
    if cfg.domain == "stft":
        return cfg.hop
    return math.lcm(cfg.stride, cfg.sigma_stride)


def build(cfg_name: str, objective: str, overrides: dict | None = None) -> L.Networks:
    cfg = params.get(cfg_name)
    if overrides:
        cfg = cfg.replace(**overrides)
    return L.Networks(cfg, objective)


def load_networks(path: str | Path, ema: bool = True) -> tuple[L.Networks, dict]:
    """The networks of a checkpoint written by train.py (the EMA weights by default) and its
    meta data."""
    ck = torch.load(path, map_location="cpu")
    meta = ck["meta"]
    overrides = dict(meta.get("overrides") or {})
    if "head" not in overrides:  # written before heads existed: the then defaults
        overrides = {"param": "eps", "head": "synth", **overrides}
    nets = build(meta["config"], meta["objective"], overrides)
    nets.load_state_dict(ck["ema" if ema and ck.get("ema") else "nets"])
    nets.eval()
    return nets, meta


def describe(nets: L.Networks) -> dict:
    cfg = nets.cfg
    if cfg.domain == "stft":
        from . import tf_model as TM
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
