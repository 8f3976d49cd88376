"""Writes a streaming bundle (models/BUNDLE.md, "Streaming bundles") of a causal `rt` model:
the whole-signal graphs of the offline contract (denoiser.onnx, prior.onnx, golden/), plus
frame-step graphs with explicit caches (denoiser_step.onnx, prior_step.onnx) for one hop.

    /usr/bin/python3 -m models.train.stream_export --checkpoint runs/NAME/last.pt --out models/zoo/restoregrad-rt --hop 160
    /usr/bin/python3 -m models.train.stream_export --untrained --out /tmp/rt --hop 160 [--set channels=16 layers=5]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import onnx
import torch
from torch import nn

from . import export as E
from . import learner as L
from . import networks as N
from . import params
from . import rt_model as R

STREAMING_VERSION = 1


class DenoiserStep(nn.Module):
    def __init__(self, den: nn.Module):
        super().__init__()
        self.den = den

    def forward(self, y, x_t, t, *caches):
        eps, new = self.den.step(x_t, y, t, list(caches))
        return (eps, *new)


class PriorStep(nn.Module):
    def __init__(self, prior: nn.Module):
        super().__init__()
        self.prior = prior

    def forward(self, y, *caches):
        sigma, new = self.prior.step(y, list(caches))
        return (sigma + 0.0 * y, *new)  # y*0 keeps y a graph input for the constant prior


def _spec(name: str, shape) -> dict:
    return {"name": name, "shape": list(shape)}


def export_step_graphs(nets: L.Networks, out: Path, hop: int) -> dict:
    """Exports the two frame-step graphs; returns the manifest's `streaming` object."""
    den, pri = nets.denoiser, nets.prior
    y = torch.randn(1, 1, hop) * 0.1
    t = torch.tensor([3.5])
    contract = {"version": STREAMING_VERSION, "hop": hop, "networks": {}}
    graphs = {
        "denoiser_step": (DenoiserStep(den), den.cache_specs(), [("y", y), ("x_t", y.clone()), ("t", t)],
                          "eps", "one cache set per reverse step (each sampler step is its own stream)"),
        "prior_step": (PriorStep(pri), pri.cache_specs(), [("y", y)], "sigma", "one cache set"),
    }
    for name, (mod, specs, audio, output, sets) in graphs.items():
        caches = [torch.randn(shape) * 0.1 for _, shape in specs]
        in_names = [n for n, _ in audio] + [n for n, _ in specs]
        out_names = [output] + [n + "_out" for n, _ in specs]
        args = tuple(v for _, v in audio) + tuple(caches)
        torch.onnx.export(mod.eval(), args, str(out / f"{name}.onnx"), input_names=in_names,
                          output_names=out_names, opset_version=E.OPSET)
        onnx.checker.check_model(onnx.load(str(out / f"{name}.onnx")))
        contract["networks"][name] = {
            "inputs": [_spec(n, v.shape) for n, v in audio],
            "output": output,
            "caches": [{"input": n, "output": n + "_out", "shape": list(s)} for n, s in specs],
            "cache_sets": sets,
        }
    return contract


def streaming_bundle(nets: L.Networks, out: Path, name: str, meta: dict, trained: bool, hop: int,
                     final_blend: float = 0.0, description: str | None = None,
                     schedule_floor: float | None = None, default_steps: int = 6) -> dict:
    cfg = nets.cfg
    if not cfg.causal:
        raise SystemExit(f"stream_export: config {cfg.name!r} is not causal (use --config rt)")
    mult = N.length_multiple(cfg)
    lo, hi = cfg.sample_rate // 100, cfg.sample_rate // 50
    tail = max((c[1][-1] for c in nets.denoiser.cache_specs() if c[0] == "c_decoder"), default=0)
    if hop % mult or not lo <= hop <= hi or hop < tail:
        raise SystemExit(f"stream_export: hop {hop} must be a multiple of {mult} in [{lo}, {hi}] (10-20 ms)")
    desc = description or (f"streaming {nets.objective} {cfg.name}, {1000 * hop / cfg.sample_rate:g} ms hop "
                           f"({'trained ' + str(meta.get('steps_done', 0)) + ' steps' if trained else 'UNTRAINED'})")
    manifest = E.export(nets, out, name, meta, trained, final_blend, 0.0, description=desc,
                        schedule_floor=schedule_floor, default_steps=default_steps)
    lookahead = max(nets.denoiser.lookahead(), nets.prior.lookahead())
    contract = export_step_graphs(nets, out, hop)
    contract.update({
        # An output sample reads the input up to `lookahead` samples after it, always inside
        # its own hop (hop is a multiple of the stride): output hop k is input hop k.
        "lookahead": lookahead,
        "latency": 0,
        "algorithmic_latency": hop,
        "cache_init": "zeros",
        "whole_signal": {"denoiser": "denoiser", "prior": "prior"},
    })
    for gname, c in contract["networks"].items():
        ins = c["inputs"] + [_spec(x["input"], x["shape"]) for x in c["caches"]]
        outs = [_spec(c["output"], [1, 1, hop])] + [_spec(x["output"], x["shape"]) for x in c["caches"]]
        manifest["networks"][gname] = {"file": f"{gname}.onnx", "sha256": E.sha256(out / f"{gname}.onnx"),
                                       "inputs": ins, "outputs": outs}
    manifest["kind"] = "streaming"
    manifest["streaming"] = contract
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    idx_path = out / "golden" / "index.json"
    idx = json.loads(idx_path.read_text())
    idx["streaming"] = (f"y zero-padded to a multiple of hop ({hop}) and run hop by hop through prior_step and "
                        "denoiser_step (one cache set per step) with these draws gives `sample` on the first N "
                        "samples: the model is causal, so the padding changes nothing before it")
    idx_path.write_text(json.dumps(idx, indent=1) + "\n")
    with open(out / "CARD.md", "a") as f:
        f.write("\n## Streaming\n\n"
                f"Causal (`rt`): hop {hop} samples ({1000 * hop / cfg.sample_rate:g} ms), look-ahead {lookahead} samples "
                f"inside the hop, algorithmic latency = one hop. Frame-step graphs `denoiser_step.onnx` "
                f"({len(contract['networks']['denoiser_step']['caches'])} caches, one set per reverse step) and "
                f"`prior_step.onnx` ({len(contract['networks']['prior_step']['caches'])} caches); the whole-signal "
                "graphs give the same output (models/BUNDLE.md, \"Streaming bundles\").\n")
    return manifest


def _overrides(items: list[str]) -> dict:
    fields = {f.name: f.type for f in params.Config.__dataclass_fields__.values()}
    out = {}
    for it in items:
        k, _, v = it.partition("=")
        if k not in fields or not v:
            raise SystemExit(f"stream_export: bad --set {it!r} (want FIELD=VALUE of params.Config)")
        cur = getattr(params.get("rt"), k)
        out[k] = type(cur)(v) if not isinstance(cur, bool) else v.lower() in ("1", "true", "yes")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.stream_export")
    E.add_source_args(ap, "rt", "training checkpoint of a causal config (runs/NAME/last.pt)")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="untrained only: override config fields (e.g. a tiny test bundle)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", help="bundle name (default: the folder's name)")
    ap.add_argument("--hop", type=int, default=160, help="frame size in samples (10-20 ms)")
    ap.add_argument("--final-blend", type=float, default=0.0)
    ap.add_argument("--schedule-floor", type=float, help="as export --schedule-floor (models.train.tune)")
    ap.add_argument("--default-steps", type=int, default=6, help="the bundle's default step count")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cmd = "/usr/bin/python3 -m models.train.stream_export " + " ".join(argv if argv is not None else sys.argv[1:])
    overrides = _overrides(a.set) if a.untrained else None
    nets, meta, trained = E.source_networks(a, "stream_export", cmd,
                                            lambda mod: isinstance(mod, nn.ConvTranspose1d), overrides)
    if not trained:
        meta["overrides"] = overrides
    elif float(meta.get("input_rms", 0.0)) > 0:
        raise SystemExit("stream_export: the checkpoint was trained with --input-rms, which needs the whole "
                         "signal's RMS; streaming models must train without it")
    nets.eval()
    m = streaming_bundle(nets, out, a.name or out.name, meta, trained, a.hop, a.final_blend,
                         schedule_floor=a.schedule_floor, default_steps=a.default_steps)
    print(f"stream_export: wrote {out} ({m['description']}; hop {a.hop}, look-ahead "
          f"{m['streaming']['lookahead']}, context {m['context']})")


if __name__ == "__main__":
    main()
