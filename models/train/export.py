"""Writes a model bundle (models/BUNDLE.md) from a training checkpoint or from untrained
weights: manifest.json, the ONNX graphs, golden/ parity tensors with index.json, and CARD.md.
The config decides what the bundle is:

- time-frequency configs (`tf`, `tf-rt`, `tf-tiny`; the shipped models): schema 2
  ("Time-frequency bundles"), whole-signal graphs on the compressed STFT, and for a causal
  config the frame-step graphs with the GRU states as caches;
- waveform configs (`small`, `paper`, `tiny`, `rt`; superseded, kept because the Go runtime
  still reads schema 1 and its streaming tests run on `models/streaming/testdata/rt-tiny`):
  schema 1 whole-signal graphs, and for the causal `rt` the frame-step graphs of one `--hop`
  ("Streaming bundles").

    /usr/bin/python3 -m models.train.export --checkpoint runs/NAME/last.pt --out models/zoo/NAME \\
        [--default-steps 1 --schedule-floor 40 --final-blend 0.2 --description TEXT]
    /usr/bin/python3 -m models.train.export --untrained --config tf-tiny --out /tmp/b [--set FIELD=VALUE ...]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from . import data as D
from . import inference as I
from . import networks as N
from . import params
from . import paths
from . import schedule as S
from . import stft
from .networks import Networks

OPSET = 13
GOLDEN_SECONDS = 1.0
GOLDEN_SEED = 20261125
SCHEMA_STFT = 2
STREAMING_VERSION_WAVE = 1
STREAMING_VERSION_STFT = 2
WAVE_HOP = 160  # the frame of a streaming waveform bundle unless --hop says otherwise (10 ms)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _spec(name: str, shape) -> dict:
    return {"name": name, "shape": list(shape)}


# ---------------------------------------------------------------- graph wrappers

class DenoiserGraph(nn.Module):
    def __init__(self, den: nn.Module):
        super().__init__()
        self.den = den

    def forward(self, x_t: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.den(x_t, y, t)


class PriorGraph(nn.Module):
    """sigma; in the STFT domain (`bins`) per bin, written into both channels so that it has
    x's shape. y*0 keeps y a real input of the graph even for a constant (cdiffuse) prior."""

    def __init__(self, prior: nn.Module, bins: bool = False):
        super().__init__()
        self.prior, self.bins = prior, bins

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        s = self.prior(y)
        if self.bins:
            s = torch.cat([s, s], dim=1)
        return s + 0.0 * y


class DenoiserStep(nn.Module):
    """One frame: step(x_t, y, t, caches) -> eps and the new caches."""

    def __init__(self, den: nn.Module):
        super().__init__()
        self.den = den

    def forward(self, y, x_t, t, *caches):
        eps, new = self.den.step(x_t, y, t, list(caches))
        return (eps, *new)


class PriorStep(nn.Module):
    def __init__(self, prior: nn.Module, bins: bool = False):
        super().__init__()
        self.prior, self.bins = prior, bins

    def forward(self, y, *caches):
        s, new = self.prior.step(y, list(caches))
        if self.bins:
            s = torch.cat([s, s], dim=1)
        return (s + 0.0 * y, *new)


def export_step_graphs(nets: Networks, out: Path, y: torch.Tensor, eps_shape: list[int]) -> tuple[dict, dict]:
    """The frame-step graphs for frames like y; returns (their manifest `networks` entries, the
    `streaming.networks` contract of each)."""
    bins = nets.cfg.domain == "stft"
    graphs = {
        "denoiser_step": (DenoiserStep(nets.denoiser), nets.denoiser.cache_specs(),
                          [("y", y), ("x_t", y.clone()), ("t", torch.tensor([3.5]))], "eps",
                          "one cache set per reverse step (each sampler step is its own stream)"),
        "prior_step": (PriorStep(nets.prior, bins), nets.prior.cache_specs(), [("y", y)], "sigma",
                       "one cache set"),
    }
    networks, contract = {}, {}
    for name, (mod, specs, audio, output, sets) in graphs.items():
        caches = [torch.randn(shape) * 0.1 for _, shape in specs]
        in_names = [n for n, _ in audio] + [n for n, _ in specs]
        out_names = [output] + [n + "_out" for n, _ in specs]
        torch.onnx.export(mod.eval(), tuple(v for _, v in audio) + tuple(caches), str(out / f"{name}.onnx"),
                          input_names=in_names, output_names=out_names, opset_version=OPSET)
        onnx.checker.check_model(onnx.load(str(out / f"{name}.onnx")))
        contract[name] = {
            "inputs": [_spec(n, v.shape) for n, v in audio], "output": output,
            "caches": [{"input": n, "output": n + "_out", "shape": list(s)} for n, s in specs],
            "cache_sets": sets,
        }
        networks[name] = {
            "file": f"{name}.onnx", "sha256": sha256(out / f"{name}.onnx"),
            "inputs": [_spec(n, v.shape) for n, v in audio] + [_spec(n, s) for n, s in specs],
            "outputs": [_spec(output, eps_shape)] + [_spec(n + "_out", s) for n, s in specs],
        }
    return networks, contract


def golden_wave(n: int, sample_rate: int) -> tuple[torch.Tensor, str]:
    """[1, 1, n]: the first validation mixture when data/ has one, else a synthetic signal."""
    try:
        _, noisy = D.load_validation()
        return torch.from_numpy(noisy[0:1, :, :n].copy()), "first held-out validation mixture (data/valid.npz)"
    except SystemExit:
        g = torch.Generator().manual_seed(GOLDEN_SEED)
        tt = torch.arange(n) / sample_rate
        y = 0.3 * torch.sin(2 * np.pi * 220 * tt) * torch.sin(2 * np.pi * 3 * tt) + 0.05 * torch.randn(n, generator=g)
        return y.view(1, 1, n), "synthetic: 220 Hz tone with 3 Hz envelope plus white noise"


def write_golden_files(g: Path, tensors: dict, index: dict) -> None:
    g.mkdir(exist_ok=True)
    index["files"] = {}
    for name, (ten, meaning) in tensors.items():
        arr = ten.detach().numpy().astype("<f4")
        (g / f"{name}.f32").write_bytes(arr.tobytes())
        index["files"][name] = {"file": f"{name}.f32", "shape": list(arr.shape), "meaning": meaning}
    (g / "index.json").write_text(json.dumps(index, indent=1) + "\n")


# ---------------------------------------------------------------- time-frequency (schema 2)

def bins(cfg: params.Config) -> int:
    return cfg.n_fft // 2 + 1


def export_stft_graphs(nets: Networks, out: Path) -> dict:
    f = bins(nets.cfg)
    y = torch.randn(1, 2, 20, f) * 0.5
    torch.onnx.export(DenoiserGraph(nets.denoiser).eval(), (y.clone(), y, torch.tensor([3.5])),
                      str(out / "denoiser.onnx"), input_names=["x_t", "y", "t"], output_names=["eps"],
                      opset_version=OPSET,
                      dynamic_axes={"x_t": {2: "frames"}, "y": {2: "frames"}, "eps": {2: "frames"}})
    torch.onnx.export(PriorGraph(nets.prior, bins=True).eval(), (y,), str(out / "prior.onnx"), input_names=["y"],
                      output_names=["sigma"], opset_version=OPSET,
                      dynamic_axes={"y": {2: "frames"}, "sigma": {2: "frames"}})
    shape = [1, 2, -1, f]
    networks = {
        "denoiser": {"file": "denoiser.onnx", "inputs": [_spec("x_t", shape), _spec("y", shape), _spec("t", [1])],
                     "outputs": [_spec("eps", shape)]},
        "prior": {"file": "prior.onnx", "inputs": [_spec("y", shape)], "outputs": [_spec("sigma", shape)]},
    }
    for name in ("denoiser", "prior"):
        onnx.checker.check_model(onnx.load(str(out / f"{name}.onnx")))
        networks[name]["sha256"] = sha256(out / f"{name}.onnx")
    return networks


def stft_streaming(nets: Networks, out: Path) -> tuple[dict, dict]:
    """The frame-step graphs; returns (their manifest `networks` entries, the `streaming` object)."""
    cfg = nets.cfg
    f = bins(cfg)
    networks, contract = export_step_graphs(nets, out, torch.randn(1, 2, 1, f) * 0.5, [1, 2, 1, f])
    streaming = {
        "version": STREAMING_VERSION_STFT, "hop": cfg.hop, "lookahead": 0,
        # A sample leaves once the frame after it is in: the hop being filled plus n_fft - hop.
        "latency": cfg.n_fft - cfg.hop, "algorithmic_latency": cfg.n_fft,
        "cache_init": "zeros", "whole_signal": {"denoiser": "denoiser", "prior": "prior"},
        "networks": contract,
    }
    return networks, streaming


@torch.no_grad()
def write_stft_golden(nets: Networks, out: Path, betas, final_blend: float) -> None:
    cfg = nets.cfg
    n = int(GOLDEN_SECONDS * cfg.sample_rate)
    wave, src = golden_wave(n, 16000)
    # The reference STFT in float64: quiet bins amplify float32 rounding through the
    # compression, and the golden file should hold the exact transform, not one float32 path.
    y = stft.compress(stft.analyse(wave[:, 0].double(), cfg.n_fft, cfg.hop), cfg.compress).float()
    s_count, frames, f = len(betas), y.shape[2], y.shape[3]
    gen = torch.Generator().manual_seed(GOLDEN_SEED)
    noise = torch.randn((s_count, frames, 2, f), generator=gen)  # frame-major: the counter layout
    graph_noise = noise.permute(0, 2, 1, 3).unsqueeze(1)          # [S, 1, 2, T, F]
    sigma = PriorGraph(nets.prior, bins=True)(y)
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
    write_golden_files(out / "golden", tensors, index)


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


def ancestry(meta: dict) -> tuple[list[str], float]:
    """The commands of the runs a run started from (--init-from), oldest first, and their wall
    minutes; followed through the starting checkpoints that are still on disk, since each
    records only the run it started from directly."""
    init = meta.get("init_from") or {}
    if not init:
        return [], 0.0
    cmds, minutes = [], 0.0
    ck = Path(init.get("checkpoint", ""))
    ck = ck if ck.is_absolute() else paths.ROOT / ck
    if ck.is_file():
        cmds, minutes = ancestry(N.load_checkpoint(ck)["meta"])
    cmds += [init.get("command") or ""] + [r.get("command", "") for r in init.get("resumed", [])]
    return cmds, minutes + init.get("wall_minutes", 0)


def write_stft_card(out: Path, manifest: dict, meta: dict, info: dict) -> None:
    cfg = params.get(manifest["config"])
    steps = manifest["default_steps"]
    ov = meta.get("overrides") or {}
    init = meta.get("init_from") or {}
    init_note = (f", starting from step {init['step']} of a `{init['objective']}` run "
                 f"(`{init['checkpoint']}`, {init.get('wall_minutes', 0):.1f} min)") if init else ""
    before, before_minutes = ancestry(meta)
    chain = ov.get("chain_frac", 0)
    chain_note = (f"; trained through the two-step restart chain on {chain:.0%} of each batch (`--chain-frac`, "
                  f"restart {ov.get('chain_restart', cfg.chain_restart):g})") if chain else ""
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
        f"| wall time | {meta.get('wall_minutes', 0) + before_minutes:.1f} min of one CPU thread "
        f"(shared 2-core machine), with the runs it started from |",
        f"| seed | {meta.get('seed', '-')} |",
        f"| EMA / final_blend | {meta.get('ema', 0)} / {manifest['final_blend']} |",
        f"| levers | aux spectral {ov.get('aux_spec', cfg.aux_spec)}, aux SI-SDR {ov.get('aux_sisdr', cfg.aux_sisdr)}, "
        f"P(t = T-1) {ov.get('t_last', cfg.t_last)}{chain_note} (models/train/README.md) |",
        f"| data | {DATA_LINE}{gap_note(meta)}{recipe_note(meta)} |",
    ]
    lines += ["", "Reproduce (in order):", "", "```"]
    lines += before
    lines.append(meta.get("command", "(untrained export)"))
    for r in meta.get("resumed", []):
        lines.append(r.get("command", ""))
    lines += [meta.get("export_command", ""), "```", "",
              "Never trained, tuned or selected on ../shared/data/vbdemand-dev (final evaluation only).", ""]
    (out / "CARD.md").write_text("\n".join(lines))


def export_stft(nets: Networks, out: Path, name: str, meta: dict, trained: bool, final_blend: float = 0.0,
                default_steps: int = 2, description: str | None = None, version: str = "0.2.0",
                schedule_floor: float = 0.0, restart: float = 0.0) -> dict:
    """A schema-2 bundle of a time-frequency config: offline, or streaming for a causal one."""
    cfg = nets.cfg
    if cfg.domain != "stft":
        raise SystemExit(f"export: config {cfg.name!r} is not a time-frequency config")
    if not 0 <= final_blend <= 0.2:
        raise SystemExit(f"export: final blend {final_blend} outside 0..0.2 (no blend as a quality crutch)")
    out.mkdir(parents=True, exist_ok=True)
    nets.eval()
    # n steps evenly spaced in training t from the floor to T-1 (floor 0 = uniform); the
    # floor is chosen on the validation split (models.train.experiments.tune). With a restart,
    # the steps after the first refine from a small noise level instead (S.restart_betas).
    schedules = {str(n): [float(b) for b in S.inference_betas(schedule_floor, restart, n)] for n in range(1, 7)}
    if str(default_steps) not in schedules:
        raise SystemExit(f"export: no {default_steps}-step schedule (1..6)")
    networks = export_stft_graphs(nets, out)
    write_stft_golden(nets, out, schedules[str(default_steps)], final_blend)
    info = N.describe(nets)
    kind = "streaming" if cfg.causal else "offline"
    what = "trained " + str(meta.get("steps_done", 0)) + " steps" if trained else "UNTRAINED"
    manifest = {
        "schema": SCHEMA_STFT, "name": name, "version": version, "kind": kind,
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
        step_nets, streaming = stft_streaming(nets, out)
        manifest["networks"].update(step_nets)
        manifest["streaming"] = streaming
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    write_stft_card(out, manifest, meta, info)
    return manifest


# ---------------------------------------------------------------- waveform (schema 1)

def export_wave_graphs(nets: Networks, out: Path) -> None:
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


@torch.no_grad()
def write_wave_golden(nets: Networks, out: Path, betas, final_blend: float, input_rms: float,
                      mult: int) -> None:
    n = int(GOLDEN_SECONDS * nets.cfg.sample_rate) // mult * mult
    y, src = golden_wave(n, nets.cfg.sample_rate)
    if input_rms > 0:  # y as the graphs see it after the engine's loudness normalisation
        y = y * (input_rms / (y.pow(2).mean().sqrt() + 1e-8))
    gen = torch.Generator().manual_seed(GOLDEN_SEED)
    s_count = len(betas)
    noise = torch.randn((s_count, 1, 1, n), generator=gen)
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
    write_golden_files(out / "golden", tensors, index)


@torch.no_grad()
def validation_si_sdr(nets: Networks, manifest: dict) -> tuple[float, float] | None:
    """Mean SI-SDR of (noisy, this bundle) on the validation split at the bundle's default
    steps, schedule, blend and input RMS (reference sampler, noise seed 0); None without data."""
    try:
        clean, noisy = D.load_validation()
    except SystemExit:
        return None
    betas = manifest["inference_schedules"][str(manifest["default_steps"])]
    out = I.enhance(nets.denoiser, nets.prior, torch.from_numpy(noisy), betas, 0, manifest["length_multiple"],
                    manifest["final_blend"], manifest["input_rms"])
    return (float(I.si_sdr(noisy[:, 0], clean[:, 0]).mean()),
            float(I.si_sdr(out.numpy()[:, 0], clean[:, 0]).mean()))


def write_wave_card(out: Path, manifest: dict, meta: dict, info: dict, val: tuple[float, float] | None) -> None:
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


def export_wave(nets: Networks, out: Path, name: str, meta: dict, trained: bool,
                final_blend: float = 0.0, input_rms: float = 0.0, version: str = "0.1.0",
                description: str | None = None, schedule_floor: float | None = None,
                default_steps: int = 6) -> dict:
    """A schema-1 offline bundle of a waveform config."""
    out.mkdir(parents=True, exist_ok=True)
    nets.eval()
    cfg = nets.cfg
    mult = N.length_multiple(cfg)
    export_wave_graphs(nets, out)
    schedules = {k: [float(b) for b in v] for k, v in params.INFERENCE_SCHEDULES.items()}
    if schedule_floor is not None:  # chosen on the validation split by models.train.experiments.tune
        schedules = {str(n): [float(b) for b in S.floor_betas(schedule_floor, n)] for n in range(1, 7)}
    if str(default_steps) not in schedules:
        raise SystemExit(f"export: no {default_steps}-step schedule (have {', '.join(schedules)})")
    write_wave_golden(nets, out, schedules["6"], final_blend, input_rms, mult)
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
    write_wave_card(out, manifest, meta, info, validation_si_sdr(nets, manifest))
    return manifest


def export_wave_streaming(nets: Networks, out: Path, name: str, meta: dict, trained: bool, hop: int,
                          final_blend: float = 0.0, description: str | None = None,
                          schedule_floor: float | None = None, default_steps: int = 6) -> dict:
    """A schema-1 streaming bundle of the causal `rt` config: the offline bundle plus the
    frame-step graphs of one hop."""
    cfg = nets.cfg
    if not cfg.causal:
        raise SystemExit(f"export: config {cfg.name!r} is not causal (use --config rt)")
    mult = N.length_multiple(cfg)
    lo, hi = cfg.sample_rate // 100, cfg.sample_rate // 50
    tail = max((c[1][-1] for c in nets.denoiser.cache_specs() if c[0] == "c_decoder"), default=0)
    if hop % mult or not lo <= hop <= hi or hop < tail:
        raise SystemExit(f"export: hop {hop} must be a multiple of {mult} in [{lo}, {hi}] (10-20 ms)")
    desc = description or (f"streaming {nets.objective} {cfg.name}, {1000 * hop / cfg.sample_rate:g} ms hop "
                           f"({'trained ' + str(meta.get('steps_done', 0)) + ' steps' if trained else 'UNTRAINED'})")
    manifest = export_wave(nets, out, name, meta, trained, final_blend, 0.0, description=desc,
                           schedule_floor=schedule_floor, default_steps=default_steps)
    lookahead = max(nets.denoiser.lookahead(), nets.prior.lookahead())
    step_nets, graphs = export_step_graphs(nets, out, torch.randn(1, 1, hop) * 0.1, [1, 1, hop])
    contract = {
        "version": STREAMING_VERSION_WAVE, "hop": hop, "networks": graphs,
        # An output sample reads the input up to `lookahead` samples after it, always inside
        # its own hop (hop is a multiple of the stride): output hop k is input hop k.
        "lookahead": lookahead,
        "latency": 0,
        "algorithmic_latency": hop,
        "cache_init": "zeros",
        "whole_signal": {"denoiser": "denoiser", "prior": "prior"},
    }
    manifest["networks"].update(step_nets)
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
                f"({len(graphs['denoiser_step']['caches'])} caches, one set per reverse step) and "
                f"`prior_step.onnx` ({len(graphs['prior_step']['caches'])} caches); the whole-signal "
                "graphs give the same output (models/BUNDLE.md, \"Streaming bundles\").\n")
    return manifest


# ---------------------------------------------------------------- any config

def export(nets: Networks, out: Path, name: str, meta: dict, trained: bool, *, final_blend: float = 0.0,
           default_steps: int | None = None, schedule_floor: float | None = None,
           description: str | None = None, input_rms: float | None = None, hop: int = WAVE_HOP,
           restart: float = 0.0) -> dict:
    """The bundle the networks' config calls for. Defaults: 2 steps on uniform schedules for
    time-frequency configs, CDiffuSE's 6-step schedule for waveform ones; a waveform offline
    bundle takes the input RMS the checkpoint was trained with."""
    cfg = nets.cfg
    if cfg.domain == "stft":
        return export_stft(nets, out, name, meta, trained, final_blend, default_steps or 2, description,
                           schedule_floor=schedule_floor or 0.0, restart=restart)
    if restart > 0:
        raise SystemExit("export: --restart is for time-frequency configs")
    if cfg.causal:
        if float(meta.get("input_rms", 0.0)) > 0:
            raise SystemExit("export: the checkpoint was trained with --input-rms, which needs the whole "
                             "signal's RMS; streaming models must train without it")
        return export_wave_streaming(nets, out, name, meta, trained, hop, final_blend, description,
                                     schedule_floor, default_steps or 6)
    rms = input_rms if input_rms is not None else float(meta.get("input_rms", 0.0))
    return export_wave(nets, out, name, meta, trained, final_blend, rms, description=description,
                       schedule_floor=schedule_floor, default_steps=default_steps or 6)


def untrained_networks(config: str, objective: str, seed: int, overrides: dict | None = None) -> Networks:
    """--config (with overrides) built from seed, with N(0, 0.05) weights in the layers that
    start at zero (the transposed-conv output layers; the time-frequency nets' zero output and
    FiLM layers), so that the graphs are non-trivial."""
    torch.manual_seed(seed)
    nets = N.build(config, objective, overrides)
    if nets.cfg.domain == "stft":
        def randomise(mod): return isinstance(mod, (nn.ConvTranspose2d, nn.Linear)) and not mod.weight.abs().sum()
    else:
        def randomise(mod): return isinstance(mod, nn.ConvTranspose1d)
    with torch.no_grad():
        for mod in nets.modules():
            if randomise(mod):
                mod.weight.normal_(0, 0.05)
    return nets


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.export", description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", help="training checkpoint (runs/NAME/last.pt); its EMA weights unless --no-ema")
    ap.add_argument("--untrained", action="store_true", help="export randomly initialised weights of --config")
    ap.add_argument("--config", default="tf-rt", help="untrained only (a checkpoint names its own)")
    ap.add_argument("--objective", default="restoregrad", choices=params.OBJECTIVES, help="untrained only")
    ap.add_argument("--seed", type=int, default=0, help="untrained only")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="untrained only: override config fields (params.Config), e.g. a tiny test bundle")
    ap.add_argument("--no-ema", action="store_true")
    ap.add_argument("--out", required=True, help="bundle folder, e.g. models/zoo/restoregrad-rt")
    ap.add_argument("--name", help="bundle name (default: the folder's name)")
    ap.add_argument("--description")
    ap.add_argument("--final-blend", type=float, default=0.0)
    ap.add_argument("--default-steps", type=int, help="the bundle's default step count (default 2; waveform 6)")
    ap.add_argument("--schedule-floor", type=float,
                    help="schedules of 1..6 steps from this training step up (models.train.experiments.tune "
                         "picks it); default: uniform (time-frequency), CDiffuSE's fast schedules (waveform)")
    ap.add_argument("--restart", type=float, default=0.0,
                    help="time-frequency only: chains of 2..6 steps whose steps after the first refine from "
                         "alpha_bar = 1 - RESTART (schedule.restart_betas; 0 = off: the floor's even spacing)")
    ap.add_argument("--input-rms", type=float, help="waveform offline only; default: the checkpoint's training value")
    ap.add_argument("--hop", type=int, default=WAVE_HOP, help="waveform streaming (`rt`) only: frame in samples (10-20 ms)")
    return ap


def main(argv: list[str] | None = None) -> None:
    a = parser().parse_args(argv)
    out = Path(a.out)
    cmd = "/usr/bin/python3 -m models.train.export " + shlex.join(argv if argv is not None else sys.argv[1:])
    if a.untrained:
        overrides = params.parse_overrides(a.set, params.get(a.config)) if a.set else None
        nets = untrained_networks(a.config, a.objective, a.seed, overrides)
        meta, trained = {"seed": a.seed, "export_command": cmd, "overrides": overrides}, False
    elif a.checkpoint:
        if a.set:
            raise SystemExit("export: --set is for --untrained (a checkpoint's config is what it was trained with)")
        nets, meta = N.load_networks(a.checkpoint, ema=not a.no_ema)
        meta["export_command"], trained = cmd, True
    else:
        raise SystemExit("export: give --checkpoint or --untrained")
    m = export(nets, out, a.name or out.name, meta, trained, final_blend=a.final_blend,
               default_steps=a.default_steps, schedule_floor=a.schedule_floor, description=a.description,
               input_rms=a.input_rms, hop=a.hop, restart=a.restart)
    print(f"export: wrote {out} ({m['description']}, {m['kind']}; context {m['context']}, "
          f"length_multiple {m['length_multiple']})")


if __name__ == "__main__":
    main()
