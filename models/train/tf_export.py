"""Writes a schema-2 (time-frequency) model bundle (models/BUNDLE.md, "Time-frequency
bundles"): manifest.json, the whole-signal graphs denoiser.onnx and prior.onnx on the
compressed STFT, for a causal config also the frame-step graphs denoiser_step.onnx and
prior_step.onnx with the GRU states as caches, golden/ parity tensors and CARD.md.

    /usr/bin/python3 -m models.train.tf_export --checkpoint runs/NAME/last.pt --out models/zoo/NAME
    /usr/bin/python3 -m models.train.tf_export --untrained --config tf-tiny --out /tmp/b
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from . import export as E
from . import inference as I
from . import learner as L
from . import networks as N
from . import params
from . import schedule as S
from . import stft
from .stream_export import DenoiserStep  # the same frame-step wrapper: step(x_t, y, t, caches)

SCHEMA = 2
STREAMING_VERSION = 2
GOLDEN_SECONDS = 1.0


class PriorGraph(nn.Module):
    """sigma per bin, written into both channels so that it has x's shape."""

    def __init__(self, prior: nn.Module):
        super().__init__()
        self.prior = prior

    def forward(self, y):
        s = self.prior(y)
        return torch.cat([s, s], dim=1) + 0.0 * y  # y*0 keeps y an input for constant priors


class PriorStep(nn.Module):
    def __init__(self, prior: nn.Module):
        super().__init__()
        self.prior = prior

    def forward(self, y, *caches):
        s, new = self.prior.step(y, list(caches))
        return (torch.cat([s, s], dim=1) + 0.0 * y, *new)


def bins(cfg: params.Config) -> int:
    return cfg.n_fft // 2 + 1


def _spec(name: str, shape) -> dict:
    return {"name": name, "shape": list(shape)}


def export_graphs(nets: L.Networks, out: Path) -> dict:
    cfg = nets.cfg
    f = bins(cfg)
    y = torch.randn(1, 2, 20, f) * 0.5
    torch.onnx.export(E.DenoiserGraph(nets.denoiser).eval(), (y.clone(), y, torch.tensor([3.5])),
                      str(out / "denoiser.onnx"), input_names=["x_t", "y", "t"], output_names=["eps"],
                      opset_version=E.OPSET,
                      dynamic_axes={"x_t": {2: "frames"}, "y": {2: "frames"}, "eps": {2: "frames"}})
    torch.onnx.export(PriorGraph(nets.prior).eval(), (y,), str(out / "prior.onnx"), input_names=["y"],
                      output_names=["sigma"], opset_version=E.OPSET,
                      dynamic_axes={"y": {2: "frames"}, "sigma": {2: "frames"}})
    shape = [1, 2, -1, f]
    networks = {
        "denoiser": {"file": "denoiser.onnx", "inputs": [_spec("x_t", shape), _spec("y", shape), _spec("t", [1])],
                     "outputs": [_spec("eps", shape)]},
        "prior": {"file": "prior.onnx", "inputs": [_spec("y", shape)], "outputs": [_spec("sigma", shape)]},
    }
    for name in ("denoiser", "prior"):
        onnx.checker.check_model(onnx.load(str(out / f"{name}.onnx")))
        networks[name]["sha256"] = E.sha256(out / f"{name}.onnx")
    return networks


def export_step_graphs(nets: L.Networks, out: Path) -> tuple[dict, dict]:
    """The frame-step graphs; returns (their manifest `networks` entries, the `streaming` object)."""
    cfg = nets.cfg
    f = bins(cfg)
    y = torch.randn(1, 2, 1, f) * 0.5
    t = torch.tensor([3.5])
    graphs = {
        "denoiser_step": (DenoiserStep(nets.denoiser), nets.denoiser.cache_specs(),
                          [("y", y), ("x_t", y.clone()), ("t", t)], "eps",
                          "one cache set per reverse step (each sampler step is its own stream)"),
        "prior_step": (PriorStep(nets.prior), nets.prior.cache_specs(), [("y", y)], "sigma", "one cache set"),
    }
    networks, contract = {}, {}
    for name, (mod, specs, audio, output, sets) in graphs.items():
        caches = [torch.randn(shape) * 0.1 for _, shape in specs]
        in_names = [n for n, _ in audio] + [n for n, _ in specs]
        out_names = [output] + [n + "_out" for n, _ in specs]
        torch.onnx.export(mod.eval(), tuple(v for _, v in audio) + tuple(caches), str(out / f"{name}.onnx"),
                          input_names=in_names, output_names=out_names, opset_version=E.OPSET)
        onnx.checker.check_model(onnx.load(str(out / f"{name}.onnx")))
        contract[name] = {
            "inputs": [_spec(n, v.shape) for n, v in audio], "output": output,
            "caches": [{"input": n, "output": n + "_out", "shape": list(s)} for n, s in specs],
            "cache_sets": sets,
        }
        networks[name] = {
            "file": f"{name}.onnx", "sha256": E.sha256(out / f"{name}.onnx"),
            "inputs": [_spec(n, v.shape) for n, v in audio] + [_spec(n, s) for n, s in specs],
            "outputs": [_spec(output, [1, 2, 1, f])] + [_spec(n + "_out", s) for n, s in specs],
        }
    streaming = {
        "version": STREAMING_VERSION, "hop": cfg.hop, "lookahead": 0,
        # A sample leaves once the frame after it is in: the hop being filled plus n_fft - hop.
        "latency": cfg.n_fft - cfg.hop, "algorithmic_latency": cfg.n_fft,
        "cache_init": "zeros", "whole_signal": {"denoiser": "denoiser", "prior": "prior"},
        "networks": contract,
    }
    return networks, streaming


def golden_input(n: int) -> tuple[torch.Tensor, str]:
    from . import data as D
    try:
        _, noisy = D.load_validation()
        return torch.from_numpy(noisy[0, 0, :n].copy()).view(1, 1, n), "first held-out validation mixture (data/valid.npz)"
    except SystemExit:
        g = torch.Generator().manual_seed(E.GOLDEN_SEED)
        tt = torch.arange(n) / 16000
        y = 0.3 * torch.sin(2 * np.pi * 220 * tt) * torch.sin(2 * np.pi * 3 * tt) + 0.05 * torch.randn(n, generator=g)
        return y.view(1, 1, n), "synthetic: 220 Hz tone with 3 Hz envelope plus white noise"


@torch.no_grad()
def write_golden(nets: L.Networks, out: Path, betas, final_blend: float) -> None:
    cfg = nets.cfg
    g = out / "golden"
    g.mkdir(exist_ok=True)
    n = int(GOLDEN_SECONDS * cfg.sample_rate)
    wave, src = golden_input(n)
    # The reference STFT in float64: quiet bins amplify float32 rounding through the
    # compression, and the golden file should hold the exact transform, not one float32 path.
    y = stft.compress(stft.analyse(wave[:, 0].double(), cfg.n_fft, cfg.hop), cfg.compress).float()
    s_count, frames, f = len(betas), y.shape[2], y.shape[3]
    gen = torch.Generator().manual_seed(E.GOLDEN_SEED)
    noise = torch.randn((s_count, frames, 2, f), generator=gen)  # frame-major: the counter layout
    graph_noise = noise.permute(0, 2, 1, 3).unsqueeze(1)          # [S, 1, 2, T, F]
    sigma = PriorGraph(nets.prior)(y)
    tr, inf = S.training(), S.make(betas)
    t = torch.tensor([float(S.align(tr, inf)[s_count - 1])])
    x_t = float(inf.b[-1]) * y + float(np.sqrt(inf.delta[-1])) * sigma * graph_noise[0]
    eps = nets.denoiser(x_t, y, t)
    sample = I.sample(nets.denoiser, nets.prior, y, betas, graph_noise, final_blend)
    wave_out = stft.synthesise(stft.decompress(sample, cfg.compress), n, cfg.n_fft, cfg.hop)
    tensors = {
        "wave_y": (wave.view(n), "input waveform"),
        "y": (y, "compressed STFT of wave_y [1, 2, T, F] (real, imaginary)"),
        "x_t": (x_t, "denoiser input: the sampler's start state for these draws"),
        "t": (t, "denoiser step input: the aligned step of the first reverse step"),
        "eps": (eps, "denoiser(x_t, y, t)"),
        "sigma": (sigma, "prior(y), per bin, in both channels"),
        "noise": (noise, "[S, T, 2, F] draws, frame-major (the counter layout): row 0 = z_S (start), "
                  "row k = z_{S-k}"),
        "sample": (sample, f"sampler output at the default {s_count} steps, compressed STFT, final_blend applied"),
        "wave_out": (wave_out.view(n), "decompress + overlap-add of sample, cut to N"),
    }
    index = {"format": "raw little-endian float32, row-major", "source": src, "steps": s_count,
             "final_blend": final_blend, "tolerance": 1e-4, "files": {},
             "streaming": "wave_y streamed hop by hop (prior_step, denoiser_step with one cache set per step, "
                          "the same draws per frame) gives wave_out for causal models"}
    for name, (ten, meaning) in tensors.items():
        arr = ten.detach().numpy().astype("<f4")
        (g / f"{name}.f32").write_bytes(arr.tobytes())
        index["files"][name] = {"file": f"{name}.f32", "shape": list(arr.shape), "meaning": meaning}
    (g / "index.json").write_text(json.dumps(index, indent=1) + "\n")


DATA_LINE = ("../shared/data/train speech (LibriSpeech 261 speakers, crowd-sourced commands and keywords, VCTK/CMU/"
             "VoiceBank p287 studio utterances) + ../shared/data/speech-extra + Debian asterisk-core-sounds-"
             "{en,es,fr,it,ru}-g722 prompts, speed-perturbed 0.9-1.1 (30%); noise: ../shared/data/train/noise (47 min "
             "real ambience), ../shared/data/noise, asterisk MOH, synthetic coloured noise, hum, babble of 3-8 voices; "
             "SNR 70% in 0-10 dB, 15% -5-0, 15% 10-20; 25% reverberant (measured RIRs and simulated rooms); "
             "level -35...-15 dBFS (models/train/data.py)")


def gap_note(meta: dict) -> str:
    """Where the run drew the synthetic gap noises (data.Mixer.gap_noise): from which step."""
    share = (meta.get("overrides") or {}).get("gap_noise", 0)
    if not share:
        return ""
    since = next((r["step"] for r in meta.get("resumed", []) if "gap_noise" in (r.get("overrides") or {})), 0)
    return (f"; {'from step ' + format(since, ',') + ' on, ' if since else ''}{share:.0%} of the noises are "
            "synthesised for the recordings' gaps: vehicle interiors, fans, cafe babble of 6-15 reverberant "
            "voices with clatter (`--gap-noise`)")


def recipe_note(meta: dict) -> str:
    """The data recipe beyond v1 (data.RECIPES), for the steps of this run (not of the run it
    started from)."""
    ov = meta.get("overrides") or {}
    if ov.get("recipe", "v1") == "v1":
        return ""
    return (f"; this run (from its step 0) mixed with recipe `{ov['recipe']}` (models/train/README.md, "
            "\"Recipes\"): wideband targets only (the G.722 prompts only as babble voices), 10% clean inputs "
            "(target = input), 15% at 20-40 dB SNR, a random band edge on half the inputs (44.1/48 kHz device round "
            "trips, 6.5-7.9 kHz and 3.4-5.5 kHz low-passes), levels -45...-8 dBFS; whole noise recordings held out "
            f"for validation; SI-SDR lever soft-capped at {ov.get('sisdr_cap', 0):g} dB")


def write_card(out: Path, manifest: dict, meta: dict, info: dict, extra: str = "") -> None:
    cfg = params.get(manifest["config"])
    steps = manifest["default_steps"]
    ov = meta.get("overrides") or {}
    init = meta.get("init_from") or {}
    init_note = (f", starting from step {init['step']} of a `{init['objective']}` run "
                 f"(`{init['checkpoint']}`, {init.get('wall_minutes', 0):.1f} min)") if init else ""
    lines = [
        f"# {manifest['name']}", "", manifest["description"], "",
        "| field | value |", "|---|---|",
        f"| config / objective | `{manifest['config']}` / `{manifest['objective']}` |",
        f"| trained | {manifest['trained']} |",
        f"| representation | STFT {cfg.n_fft}/{cfg.hop} sqrt-Hann, |Y|^{cfg.compress:g} compressed complex bins; "
        f"diffusion per bin |",
        f"| parameters | denoiser {info['params_denoiser']:,}, prior {info['params_prior']:,}, "
        f"posterior (training only) {info['params_posterior']:,} |",
        f"| compute | {info['gmac_per_s_denoiser']:.3f} GMAC per denoiser call per second of audio "
        f"(+{info.get('gmac_per_s_prior', 0):.3f} prior); {steps} steps = "
        f"{steps * info['gmac_per_s_denoiser'] + info.get('gmac_per_s_prior', 0):.3f} GMAC/s |",
        f"| time context | {'causal GRUs (streams frame by frame)' if cfg.causal else 'bidirectional GRUs (looks ahead; offline)'} |",
        f"| training steps | {meta.get('steps_done', 0)} (batch {meta.get('batch', '-')} x "
        f"{ov.get('segment', cfg.segment) / cfg.sample_rate:g} s){init_note} |",
        f"| wall time | {meta.get('wall_minutes', 0) + init.get('wall_minutes', 0):.1f} min of one CPU thread "
        f"(shared 2-core machine) |",
        f"| seed | {meta.get('seed', '-')} |",
        f"| EMA / final_blend | {meta.get('ema', 0)} / {manifest['final_blend']} |",
        f"| levers | aux spectral {ov.get('aux_spec', cfg.aux_spec)}, aux SI-SDR {ov.get('aux_sisdr', cfg.aux_sisdr)}, "
        f"P(t = T-1) {ov.get('t_last', cfg.t_last)} (models/train/README.md) |",
        f"| data | {DATA_LINE}{gap_note(meta)}{recipe_note(meta)} |",
    ]
    lines += ["", "Reproduce (in order):", "", "```"]
    if init:
        lines.append(init.get("command") or "")
        lines += [r.get("command", "") for r in init.get("resumed", [])]
    lines.append(meta.get("command", "(untrained export)"))
    for r in meta.get("resumed", []):
        lines.append(r.get("command", ""))
    lines += [meta.get("export_command", ""), "```", "",
              "Never trained, tuned or selected on ../shared/data/vbdemand-dev (final evaluation only).", ""]
    if extra:
        lines += [extra, ""]
    (out / "CARD.md").write_text("\n".join(lines))


def export(nets: L.Networks, out: Path, name: str, meta: dict, trained: bool, final_blend: float = 0.0,
           default_steps: int = 2, description: str | None = None, version: str = "0.2.0",
           schedule_floor: float = 0.0) -> dict:
    cfg = nets.cfg
    if cfg.domain != "stft":
        raise SystemExit(f"tf_export: config {cfg.name!r} is not a time-frequency config (use models.train.export)")
    if not 0 <= final_blend <= 0.2:
        raise SystemExit(f"tf_export: final blend {final_blend} outside 0..0.2 (no blend as a quality crutch)")
    out.mkdir(parents=True, exist_ok=True)
    nets.eval()
    # n steps evenly spaced in training t from the floor to T-1 (floor 0 = uniform); the
    # floor is chosen on the validation split (models.train.tune).
    schedules = {str(n): [float(b) for b in S.floor_betas(schedule_floor, n)] for n in range(1, 7)}
    if str(default_steps) not in schedules:
        raise SystemExit(f"tf_export: no {default_steps}-step schedule (1..6)")
    networks = export_graphs(nets, out)
    write_golden(nets, out, schedules[str(default_steps)], final_blend)
    info = N.describe(nets)
    kind = "streaming" if cfg.causal else "offline"
    what = "trained " + str(meta.get("steps_done", 0)) + " steps" if trained else "UNTRAINED"
    manifest = {
        "schema": SCHEMA, "name": name, "version": version, "kind": kind,
        "config": cfg.name, "objective": nets.objective, "trained": trained,
        "description": description or f"{nets.objective} {cfg.name}, STFT {cfg.n_fft}/{cfg.hop} ({what})",
        "sample_rate": cfg.sample_rate, "domain": "stft",
        "stft": {"n_fft": cfg.n_fft, "hop": cfg.hop, "window": "sqrt_hann", "compress": cfg.compress, "scale": 1.0},
        "length_multiple": cfg.hop, "context": nets.context(),
        # Bidirectional models see chunks of twice their training crop (tf_model.context).
        **({} if cfg.causal else {"chunk": 2 * cfg.segment}),
        "training_betas": [float(b) for b in S.training_betas()],
        "inference_schedules": schedules, "default_steps": default_steps,
        "final_blend": final_blend, "input_rms": 0.0,
        "networks": networks, "card": "CARD.md",
    }
    if cfg.causal:
        step_nets, streaming = export_step_graphs(nets, out)
        manifest["networks"].update(step_nets)
        manifest["streaming"] = streaming
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    write_card(out, manifest, meta, info)
    return manifest


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.tf_export")
    E.add_source_args(ap, "tf-rt", "training checkpoint of a tf config (runs/NAME/last.pt)")
    ap.add_argument("--out", required=True, help="bundle folder, e.g. models/zoo/restoregrad-rt")
    ap.add_argument("--name", help="bundle name (default: the folder's name)")
    ap.add_argument("--final-blend", type=float, default=0.0)
    ap.add_argument("--default-steps", type=int, default=2)
    ap.add_argument("--schedule-floor", type=float, default=0.0,
                    help="the schedules' lowest training step (0 = uniform; models.train.tune picks it)")
    ap.add_argument("--description")
    a = ap.parse_args(argv)
    out = Path(a.out)
    import shlex
    cmd = "/usr/bin/python3 -m models.train.tf_export " + shlex.join(argv if argv is not None else sys.argv[1:])
    # The zero-initialised output and FiLM layers.
    nets, meta, trained = E.source_networks(
        a, "tf_export", cmd,
        lambda mod: isinstance(mod, (nn.ConvTranspose2d, nn.Linear)) and not mod.weight.abs().sum())
    m = export(nets, out, a.name or out.name, meta, trained, a.final_blend, a.default_steps, a.description,
               schedule_floor=a.schedule_floor)
    print(f"tf_export: wrote {out} ({m['description']}, {m['kind']})")


if __name__ == "__main__":
    main()
