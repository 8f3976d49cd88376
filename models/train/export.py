"""Writes a model bundle (models/BUNDLE.md): manifest.json, denoiser.onnx, prior.onnx,
golden/ parity tensors with index.json, and CARD.md.

    /usr/bin/python3 -m models.train.export --checkpoint runs/NAME/last.pt --out models/zoo/NAME
    /usr/bin/python3 -m models.train.export --untrained --config tiny --objective restoregrad --out /tmp/b
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from . import inference as I
from . import learner as L
from . import networks as N
from . import params
from . import schedule as S

OPSET = 13
GOLDEN_SECONDS = 1.0
GOLDEN_SEED = 20261125


class DenoiserGraph(nn.Module):
    def __init__(self, den: nn.Module):
        super().__init__()
        self.den = den

    def forward(self, x_t: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.den(x_t, y, t)


class PriorGraph(nn.Module):
    def __init__(self, prior: nn.Module):
        super().__init__()
        self.prior = prior

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        # y*0 keeps y a real input of the graph even for the constant (cdiffuse) prior.
        return self.prior(y) + 0.0 * y


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_onnx(nets: L.Networks, out: Path) -> None:
    n = 1600
    y = torch.randn(1, 1, n) * 0.1
    den = DenoiserGraph(nets.denoiser).eval()
    torch.onnx.export(den, (y.clone(), y, torch.tensor([3.5])), str(out / "denoiser.onnx"),
                      input_names=["x_t", "y", "t"], output_names=["eps"], opset_version=OPSET,
                      dynamic_axes={"x_t": {2: "time"}, "y": {2: "time"}, "eps": {2: "time"}})
    pri = PriorGraph(nets.prior).eval()
    torch.onnx.export(pri, (y,), str(out / "prior.onnx"), input_names=["y"], output_names=["sigma"],
                      opset_version=OPSET, dynamic_axes={"y": {2: "time"}, "sigma": {2: "time"}})
    for f in ("denoiser.onnx", "prior.onnx"):
        onnx.checker.check_model(onnx.load(str(out / f)))


def write_golden(nets: L.Networks, out: Path, betas, final_blend: float, input_rms: float,
                 mult: int) -> None:
    from . import data as D
    g = out / "golden"
    g.mkdir(exist_ok=True)
    n = int(GOLDEN_SECONDS * nets.cfg.sample_rate) // mult * mult
    try:
        clean, noisy = D.load_validation()
        y = torch.from_numpy(noisy[0:1, :, :n].copy())
        src = "first held-out validation mixture (data/valid.npz)"
    except SystemExit:
        gen = torch.Generator().manual_seed(GOLDEN_SEED)
        tt = torch.arange(n) / nets.cfg.sample_rate
        y = (0.3 * torch.sin(2 * np.pi * 220 * tt) * torch.sin(2 * np.pi * 3 * tt)
             + 0.05 * torch.randn(n, generator=gen)).view(1, 1, n)
        src = "synthetic: 220 Hz tone with 3 Hz envelope plus white noise"
    if input_rms > 0:  # y as the graphs see it after the engine's loudness normalisation
        y = y * (input_rms / (y.pow(2).mean().sqrt() + 1e-8))
    gen = torch.Generator().manual_seed(GOLDEN_SEED)
    s_count = len(betas)
    noise = torch.randn((s_count, 1, 1, n), generator=gen)
    with torch.no_grad():
        sigma = nets.prior(y)
        tr, inf = S.training(), S.make(betas)
        t_val = float(S.align(tr, inf)[s_count - 1])
        x_t = float(inf.b[-1]) * y + float(np.sqrt(inf.delta[-1])) * sigma * noise[0]
        t = torch.tensor([t_val], dtype=torch.float32)
        eps = nets.denoiser(x_t, y, t)
        sample = I.sample(nets.denoiser, nets.prior, y, betas, noise, final_blend)
    tensors = {
        "y": (y, "noisy input fed to both graphs (already at input_rms when that is > 0)"),
        "x_t": (x_t, "denoiser input: the sampler's start state for these noise draws"),
        "t": (t, "denoiser step input (continuous, aligned step of the last inference step)"),
        "eps": (eps, "denoiser(x_t, y, t)"),
        "sigma": (sigma, "prior(y)"),
        "noise": (noise.view(s_count, n), "[S, N] standard normal draws: row 0 = z_S (start), "
                  "row k = z_{S-k} (used when stepping from n = S-k)"),
        "sample": (sample.view(n), f"sampler output at the default {s_count} steps on y with these "
                   "draws, final_blend applied, no input_rms scaling (y is already scaled)"),
    }
    index = {"format": "raw little-endian float32, row-major", "source": src, "steps": s_count,
             "final_blend": final_blend, "tolerance": 1e-4, "files": {}}
    for name, (ten, meaning) in tensors.items():
        arr = ten.detach().numpy().astype("<f4")
        (g / f"{name}.f32").write_bytes(arr.tobytes())
        index["files"][name] = {"file": f"{name}.f32", "shape": list(arr.shape), "meaning": meaning}
    (g / "index.json").write_text(json.dumps(index, indent=1) + "\n")


@torch.no_grad()
def validation_si_sdr(nets: L.Networks, manifest: dict) -> tuple[float, float] | None:
    """Mean SI-SDR of (noisy, this bundle) on the validation split at the bundle's default
    steps, schedule, blend and input RMS (reference sampler, noise seed 0); None without data."""
    from . import data as D
    try:
        clean, noisy = D.load_validation()
    except SystemExit:
        return None
    betas = manifest["inference_schedules"][str(manifest["default_steps"])]
    out = I.enhance(nets.denoiser, nets.prior, torch.from_numpy(noisy), betas, 0, manifest["length_multiple"],
                    manifest["final_blend"], manifest["input_rms"])
    return (float(I.si_sdr(noisy[:, 0], clean[:, 0]).mean()),
            float(I.si_sdr(out.numpy()[:, 0], clean[:, 0]).mean()))


def write_card(out: Path, manifest: dict, meta: dict, info: dict, val: tuple[float, float] | None) -> None:
    lines = [
        f"# {manifest['name']}", "",
        manifest["description"], "",
        "| field | value |", "|---|---|",
        f"| config / objective | `{manifest['config']}` / `{manifest['objective']}` |",
        f"| trained | {manifest['trained']} |",
        f"| parameters | denoiser {info['params_denoiser']:,}, prior {info['params_prior']:,}, "
        f"posterior (training only) {info['params_posterior']:,} |",
        f"| compute | {info['gmac_per_s_denoiser']:.3f} GMAC per denoiser call per second of audio; "
        f"{manifest['default_steps']} steps = {manifest['default_steps'] * info['gmac_per_s_denoiser']:.2f} GMAC/s |",
        f"| receptive field (`context`) | {manifest['context']} samples each side |",
        f"| training steps | {meta.get('steps_done', 0)} (batch {meta.get('batch', '-')} x "
        f"{(meta.get('overrides') or {}).get('segment', params.get(manifest['config']).segment) / manifest['sample_rate']:g} s) |",
        f"| wall time | {meta.get('wall_minutes', 0):.1f} min on the shared 2-core CPU "
        f"({meta.get('steps_done', 0) / max(meta.get('wall_minutes', 1e-9), 1e-9):.0f} steps/min) |",
        f"| seed | {meta.get('seed', '-')} |",
        f"| EMA / input_rms / final_blend | {meta.get('ema', 0)} / {manifest['input_rms']} / {manifest['final_blend']} |",
        f"| data | asterisk-core-sounds-{{en,es,fr,it,ru}}-g722 + ../shared/data/speech-extra speech; "
        "../shared/data/noise, asterisk MOH, synthetic coloured noise, hum, babble; mixed on the fly at "
        "-5...20 dB SNR with gain, EQ tilt, synthetic reverb (models/train/data.py) |",
    ]
    if val and manifest["trained"]:
        lines.append(f"| held-out validation SI-SDR (24 x 2 s synthetic mixtures, not VoiceBank), as shipped "
                     f"({manifest['default_steps']} steps, blend {manifest['final_blend']:g}, seed 0, computed at export) "
                     f"| noisy {val[0]:.2f} dB, model {val[1]:.2f} dB |")
    lines += ["", "Reproduce:", "", "```", meta.get("command", "(untrained export)"),
              meta.get("export_command", ""), "```", "",
              "Never evaluated on or tuned with ../shared/data/vbdemand-dev (final evaluation only).", ""]
    (out / "CARD.md").write_text("\n".join(lines))


def export(nets: L.Networks, out: Path, name: str, meta: dict, trained: bool,
           final_blend: float = 0.0, input_rms: float = 0.0, version: str = "0.1.0",
           description: str | None = None, schedule_floor: float | None = None,
           default_steps: int = 6) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    nets.eval()
    cfg = nets.cfg
    mult = N.length_multiple(cfg)
    export_onnx(nets, out)
    schedules = {k: [float(b) for b in v] for k, v in params.INFERENCE_SCHEDULES.items()}
    if schedule_floor is not None:  # chosen on the validation split by models.train.tune
        schedules = {str(n): [float(b) for b in S.floor_betas(schedule_floor, n)] for n in range(1, 7)}
    if str(default_steps) not in schedules:
        raise SystemExit(f"export: no {default_steps}-step schedule (have {', '.join(schedules)})")
    write_golden(nets, out, schedules["6"], final_blend, input_rms, mult)
    info = N.describe(nets)
    manifest = {
        "schema": 1, "name": name, "version": version, "kind": "offline",
        "config": cfg.name, "objective": nets.objective, "trained": trained,
        "description": description or (f"{nets.objective} {cfg.name} ({'trained ' + str(meta.get('steps_done', 0)) + ' steps' if trained else 'UNTRAINED'})"),
        "sample_rate": cfg.sample_rate, "length_multiple": mult, "context": nets.context(),
        "training_betas": [float(b) for b in S.training_betas()],
        "inference_schedules": schedules,
        "default_steps": default_steps, "final_blend": final_blend, "input_rms": input_rms,
        "networks": {
            "denoiser": {"file": "denoiser.onnx", "sha256": sha256(out / "denoiser.onnx"),
                         "inputs": [{"name": "x_t", "shape": [1, 1, -1]}, {"name": "y", "shape": [1, 1, -1]},
                                    {"name": "t", "shape": [1]}],
                         "outputs": [{"name": "eps", "shape": [1, 1, -1]}]},
            "prior": {"file": "prior.onnx", "sha256": sha256(out / "prior.onnx"),
                      "inputs": [{"name": "y", "shape": [1, 1, -1]}],
                      "outputs": [{"name": "sigma", "shape": [1, 1, -1]}]},
        },
        "card": "CARD.md",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    write_card(out, manifest, meta, info, validation_si_sdr(nets, manifest))
    return manifest


def add_source_args(ap: argparse.ArgumentParser, config: str, checkpoint_help: str) -> None:
    """The flags that say which networks an exporter writes; source_networks reads them."""
    ap.add_argument("--checkpoint", help=checkpoint_help)
    ap.add_argument("--untrained", action="store_true", help="export randomly initialised weights")
    ap.add_argument("--config", default=config)
    ap.add_argument("--objective", default="restoregrad", choices=params.OBJECTIVES)
    ap.add_argument("--no-ema", action="store_true")
    ap.add_argument("--seed", type=int, default=0)


def source_networks(a: argparse.Namespace, prog: str, cmd: str, randomise,
                    overrides: dict | None = None) -> tuple[L.Networks, dict, bool]:
    """The networks the flags of add_source_args name, their meta data (with the export
    command cmd) and whether they are trained. --untrained builds --config (with overrides)
    from --seed and gives the layers randomise picks N(0, 0.05) weights, so that the graphs of
    zero-initialised output layers are non-trivial; --checkpoint loads the EMA weights unless
    --no-ema."""
    if a.untrained:
        torch.manual_seed(a.seed)
        nets = N.build(a.config, a.objective, overrides)
        with torch.no_grad():
            for mod in nets.modules():
                if randomise(mod):
                    mod.weight.normal_(0, 0.05)
        return nets, {"seed": a.seed, "export_command": cmd}, False
    if a.checkpoint:
        nets, meta = N.load_networks(a.checkpoint, ema=not a.no_ema)
        meta["export_command"] = cmd
        return nets, meta, True
    raise SystemExit(f"{prog}: give --checkpoint or --untrained")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.export")
    add_source_args(ap, "small", "training checkpoint (runs/NAME/last.pt)")
    ap.add_argument("--out", required=True, help="bundle folder, e.g. models/zoo/restoregrad-small")
    ap.add_argument("--name", help="bundle name (default: the folder's name)")
    ap.add_argument("--final-blend", type=float, default=0.0)
    ap.add_argument("--input-rms", type=float, help="default: the checkpoint's training value")
    ap.add_argument("--schedule-floor", type=float,
                    help="6/3-step schedules from this training step up (models.train.tune); "
                         "default: CDiffuSE's fast schedules")
    ap.add_argument("--default-steps", type=int, default=6, help="the bundle's default step count")
    a = ap.parse_args(argv)
    out = Path(a.out)
    cmd = "/usr/bin/python3 -m models.train.export " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    nets, meta, trained = source_networks(a, "export", cmd, lambda mod: isinstance(mod, nn.ConvTranspose1d))
    input_rms = a.input_rms if a.input_rms is not None else float(meta.get("input_rms", 0.0))
    m = export(nets, out, a.name or out.name, meta, trained, a.final_blend, input_rms,
               schedule_floor=a.schedule_floor, default_steps=a.default_steps)
    print(f"export: wrote {out} ({m['description']}; context {m['context']}, length_multiple {m['length_multiple']})")


if __name__ == "__main__":
    main()
