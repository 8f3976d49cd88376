"""Training loop: on-the-fly mixtures, one objective, checkpoints, validation SI-SDR, resume.

    /usr/bin/python3 -m models.train.train --config tf-rt --objective restoregrad-noposterior \
        --steps 200000 --batch 8 --seed 1 --out runs/NAME [--resume] [--aux-spec 5 ...]

Every field of params.Config but its name is also a flag (--aux-spec, --sigma-per-frame, ...):
what a command sets is recorded in the checkpoint and kept when the run is resumed.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import ctypes
import json
import os
import queue
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import torch

from . import data as D
from . import distributed as DI
from . import inference as I
from . import learner as L
from . import networks as N
from . import params
from . import paths
from . import schedule as S
from . import stft

ROOT = paths.ROOT
CKPT_DIR = paths.CHECKPOINTS
CSV_FIELDS = ["step", "minutes", "steps_per_min", "loss", "dm", "lr", "pm", "grad_norm",
              "sigma_mean", "sigma_min", "sigma_max", "logsigma_std", "prior_mean", "prior_min",
              "prior_env_corr", "val_noisy", "val_6", "val_3", "val_6_blend",
              "spec", "sisdr", "val_1", "val_2", "mr", "chain", "val_r2"]


@torch.no_grad()
def validate(nets: N.Networks, input_rms: float, blend: float = 0.2, data_dir: Path | None = None) -> dict[str, float]:
    clean, noisy = D.load_validation(data_dir)
    y = torch.from_numpy(noisy)
    res = {"val_noisy": float(I.si_sdr(noisy[:, 0], clean[:, 0]).mean())}
    if nets.cfg.domain == "stft":  # the raw output at the uniform 1-, 2- and 3-step schedules
        for n in (1, 2, 3):
            out = I.enhance_stft_batches(nets.cfg, nets.denoiser, nets.prior, y, I.uniform_betas(n), seed=0)
            res[f"val_{n}"] = float(I.si_sdr(out.numpy()[:, 0], clean[:, 0]).mean())
        if nets.cfg.chain_frac > 0:  # the two-step restart chain the run trains through
            out = I.enhance_stft_batches(nets.cfg, nets.denoiser, nets.prior, y,
                                         S.restart_betas(0.0, nets.cfg.chain_restart, 2), seed=0)
            res["val_r2"] = float(I.si_sdr(out.numpy()[:, 0], clean[:, 0]).mean())
        return res
    mult = N.length_multiple(nets.cfg)
    for steps in ("6", "3"):
        out = I.enhance(nets.denoiser, nets.prior, y, steps, seed=0, multiple=mult, input_rms=input_rms)
        res[f"val_{steps}"] = float(I.si_sdr(out.numpy()[:, 0], clean[:, 0]).mean())
        if steps == "6":
            bl = (1 - blend) * out + blend * y
            res["val_6_blend"] = float(I.si_sdr(bl.numpy()[:, 0], clean[:, 0]).mean())
    return res


class Prefetch:
    """Mixes the next batch in a background thread while the current one trains.
    The mixer's random stream is consumed in order, so runs stay reproducible; a resumed run
    continues from the state saved with the checkpoint, so it sees the same batches."""

    def __init__(self, mixer: D.Mixer, batch: int, n: int):
        self.mixer, self.batch, self.n = mixer, batch, n
        self.state = mixer.rng.bit_generator.state
        self.q: queue.Queue = queue.Queue(maxsize=1)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            b = self.mixer.batch(self.batch, self.n)
            self.q.put((copy.deepcopy(self.mixer.rng.bit_generator.state), b))

    def get(self):
        self.state, b = self.q.get()  # the mixer's state right after this batch: resume point
        return b


def limit_blas_threads(n: int) -> bool:
    """Debian's torch does its matrix products in the system OpenBLAS, whose thread pool
    torch.set_num_threads does not reach: each run then had two BLAS threads, and the idle one
    spun in sched_yield. With two runs on the two cores that cost 650,000 context switches a
    second and about half of each run's speed. Returns whether OpenBLAS was found."""
    try:
        ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(n)
    except (OSError, AttributeError):
        return False
    return True


# Help and choices of the config flags that commands use; every other Config field is a flag too.
CONFIG_HELP = {
    "eta": "weight of L_LR (the config's 0.1)",
    "lam": "weight of L_PM (the config's 0.5)",
    "lr": "learning rate",
    "lr_final": "decay the learning rate linearly to this (with --lr-decay-until)",
    "lr_decay_until": "step at which the decay reaches --lr-final; it starts at the step the run is at when "
                      "this is first given",
    "param": "denoiser output parameterisation",
    "head": "x0 head (default: the config's)",
    "lr_weight": "L_LR's weight of ||x0||^2",
    "aux_spec": "compressed-spectral loss weight (stft; 0 = plain objective)",
    "aux_sisdr": "-SI-SDR loss weight (stft; 0 = plain objective)",
    "aux_mr": "multi-resolution compressed STFT loss weight on the x0 estimate's waveform (stft; 0 = off)",
    "mr_norm_rms": "scale each pair so the clean waveform has this RMS before the multi-resolution loss, so "
                   "quiet items count as much as loud ones (0 = off, unnormalised)",
    "t_last": "probability of drawing t = T-1 (0 = uniform t)",
    "gap_noise": "share of training noises synthesised for the recordings' gaps: vehicle, fan, cafe (data.py)",
    "recipe": "data recipe (data.RECIPES; default: the config's, v1)",
    "chain_frac": "share of each batch trained through the sampler's two-step restart chain: the second step "
                  "on the model's own first estimate (learner.RestartChain; 0 = off)",
    "chain_restart": "the chain's restart level, alpha_bar = 1 - this (export --restart the same)",
    "sisdr_cap": "soft ceiling of the SI-SDR lever in dB (0 = none)",
    "dm_weight": "weight of L_DM (diagnostics only; 1 = the method)",
    "sigma_hidden": "Prior/Posterior Net width (stft configs; default: the config's)",
    "sigma_per_frame": "one sigma per STFT frame shared by its bins (stft configs; default: one per bin)",
    "segment": "training crop in samples (default: the config's)",
}
CONFIG_CHOICES = {"param": ("eps", "x0"), "head": ("synth", "mask"), "lr_weight": ("alpha_bar", "kl"),
                  "recipe": tuple(D.RECIPES)}


def add_config_flags(ap: argparse.ArgumentParser) -> None:
    """--FIELD for every params.Config field but the name (underscores as dashes; booleans as
    --FIELD / --no-FIELD), default None: only what a command gives overrides the config."""
    g = ap.add_argument_group("config overrides (params.Config)")
    for name, kind in params.override_fields().items():
        flag = "--" + name.replace("_", "-")
        help_ = CONFIG_HELP.get(name, f"params.Config.{name}")
        if kind is bool:
            g.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_)
        else:
            g.add_argument(flag, dest=name, type=kind, default=None, choices=CONFIG_CHOICES.get(name), help=help_)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.train")
    ap.add_argument("--config", default="small")
    ap.add_argument("--objective", default="restoregrad", choices=params.OBJECTIVES)
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="run folder, e.g. runs/NAME (git-ignored)")
    ap.add_argument("--name", help="name under models/checkpoints/ (default: basename of --out)")
    ap.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    ap.add_argument("--init-from", help="start a new run from this checkpoint's weights (any objective)")
    ap.add_argument("--ema", type=float, default=0.999, help="EMA decay of the weights (0 = off)")
    ap.add_argument("--input-rms", type=float, default=0.0,
                    help="scale each pair so that y has this RMS (a lever; 0 = off)")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto", help="auto (CUDA when visible), cpu or cuda")
    ap.add_argument("--workers", type=int, default=0,
                    help="DataLoader workers mixing batches (> 0, several processes under torchrun, or CUDA: "
                         "seeded batches, distributed.py)")
    ap.add_argument("--seeded", action="store_true",
                    help="seeded batches (distributed.py) in any case; a resumed single-stream run switches to "
                         "them, so its batches from here on differ from an uninterrupted run's")
    ap.add_argument("--no-amp", action="store_true", help="no bfloat16 autocast on CUDA")
    ap.add_argument("--data", default=str(D.DATA), help="folder of corpus.npz and valid.npz (make data)")
    ap.add_argument("--keep", help="folder for the committed copies of last.pt and log.csv "
                                   "(default models/checkpoints/NAME; 'none' for no copies)")
    ap.add_argument("--max-minutes", type=float, default=0.0,
                    help="stop with a checkpoint after this many minutes of this session's wall time "
                         "(0 = only --steps ends the run)")
    add_config_flags(ap)
    return ap


def config_overrides(a: argparse.Namespace) -> dict:
    """The Config fields this command sets (flags left out are None and set nothing)."""
    return {k: getattr(a, k) for k in params.override_fields() if getattr(a, k) is not None}


def main(argv: list[str] | None = None) -> None:
    a = parser().parse_args(argv)

    ds = DI.setup(a.device)
    dev = ds.device
    torch.set_num_threads(a.threads)
    limit_blas_threads(a.threads)
    data_dir = Path(a.data)
    out = ROOT / a.out if not os.path.isabs(a.out) else Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    keep = None if a.keep == "none" else Path(a.keep) if a.keep else CKPT_DIR / (a.name or out.name)
    if keep is not None and ds.main:
        keep.mkdir(parents=True, exist_ok=True)
    overrides = config_overrides(a)
    cli_overrides = dict(overrides)
    ckpt = out / "last.pt"
    ck = None
    if a.resume:
        # A fresh machine has no runs/: resume from the committed copy of the last checkpoint.
        if not ckpt.exists() and keep is not None and (keep / "last.pt").exists() and ds.main:
            shutil.copy(keep / "last.pt", ckpt)
            print(f"resume: {ckpt} missing, copied {keep / 'last.pt'}")
        if ckpt.exists():
            ck = N.load_checkpoint(ckpt)
            # The run goes on with the settings it was trained with, unless the command changes them.
            overrides = {**(ck["meta"].get("overrides") or {}), **overrides}
    if "lr_decay_until" in cli_overrides:
        # The decay starts where the run is now, unless an earlier command already started it.
        start = ck["step"] if ck is not None else 0
        overrides.setdefault("lr_decay_from", start)
        cli_overrides["lr_decay_from"] = overrides["lr_decay_from"]
    base = params.get(a.config)
    overrides.setdefault("param", base.param)  # recorded, so checkpoints outlive default changes
    overrides.setdefault("head", base.head)
    torch.manual_seed(a.seed)
    nets = N.build(a.config, a.objective, overrides)
    cfg = nets.cfg
    nets.to(dev)
    ema = copy.deepcopy(nets) if a.ema > 0 else None
    opt = torch.optim.Adam(nets.parameters(), lr=cfg.lr)
    co = L.Coefficients(dev, lr_weight=cfg.lr_weight, chain_restart=cfg.chain_restart if cfg.chain_frac > 0 else 0.0)
    corpus = D.Corpus.load(data_dir / "corpus.npz")
    mixer = D.Mixer(corpus, "train", seed=a.seed, gap_noise=cfg.gap_noise, recipe=cfg.recipe)
    gen = torch.Generator().manual_seed(a.seed)
    meta = {"config": a.config, "objective": a.objective, "overrides": overrides, "seed": a.seed,
            "batch": a.batch, "input_rms": a.input_rms, "ema": a.ema,
            "command": "/usr/bin/python3 -m models.train.train " + " ".join(argv or os.sys.argv[1:])}
    step, elapsed = 0, 0.0
    # Seeded batches (distributed.py) once a run uses workers, several processes or CUDA; a
    # run keeps the data stream it started with.
    seeded = ds.world > 1 or a.workers > 0 or dev.type == "cuda" or a.seeded
    if ck is not None and not a.seeded:
        seeded = ck["meta"].get("data_stream") == "seeded"
        if not seeded and (ds.world > 1 or a.workers > 0):
            raise SystemExit(f"{ckpt}: this run mixes its batches in one stream; resume it without "
                             "--workers or torchrun, or switch it to seeded batches with --seeded")
    meta["data_stream"] = "seeded" if seeded else "stream"
    if ck is not None:
        nets.load_state_dict(ck["nets"])
        if ema is not None and ck.get("ema"):
            ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        # A resumed run may have changed the learning rate (--lr, --lr-decay-until).
        for g in opt.param_groups:
            g["lr"] = L.learning_rate(cfg, ck["step"])
        step, elapsed = ck["step"], ck["elapsed"]
        if not seeded:
            mixer.rng.bit_generator.state = ck["mixer_rng"]
            gen.set_state(ck["torch_gen"])
        resumed = ck["meta"].get("resumed", []) + [{"step": step, "overrides": cli_overrides,
                                                     "command": meta["command"]}]
        meta = {**ck["meta"], "overrides": {**ck["meta"].get("overrides", {}), **overrides},
                "resumed": resumed, "data_stream": meta["data_stream"]}
        print(f"resumed {ckpt} at step {step} ({elapsed / 60:.1f} min)")
    elif a.init_from:
        # A new run that starts from another run's (EMA) weights, e.g. under a different
        # objective: the networks both have are copied; the optimizer starts afresh.
        src = N.load_checkpoint(a.init_from)
        missing, unexpected = nets.load_state_dict(src["ema"] or src["nets"], strict=False)
        if ema is not None:
            ema.load_state_dict(nets.state_dict())
        m = src["meta"]
        meta["init_from"] = {"checkpoint": str(a.init_from), "step": src["step"],
                             "objective": m.get("objective"), "wall_minutes": src["elapsed"] / 60,
                             "command": m.get("command"), "resumed": m.get("resumed", []),
                             "not_copied": sorted(set(k.split(".")[0] for k in missing + unexpected))}
        print(f"initialised from {a.init_from} (step {src['step']}, {m.get('objective')}); "
              f"not copied: {meta['init_from']['not_copied']}")
    elif a.resume:
        print(f"no checkpoint at {ckpt}: starting fresh")
    info = N.describe(nets)
    if ds.main:
        print(json.dumps({"config": a.config, "objective": a.objective, "device": str(dev), "processes": ds.world,
                          "data_stream": meta["data_stream"], **info}))
    meta.update(info)
    csv_path = out / "log.csv"
    if ds.main and (not csv_path.exists() or not a.resume):
        with open(csv_path, "w", newline="") as f:
            csv.writer(f).writerow(CSV_FIELDS)
    # A resumed run keeps the columns its log started with.
    log_fields = CSV_FIELDS
    if ds.main and csv_path.exists():
        with open(csv_path, newline="") as f:
            log_fields = next(csv.reader(f), CSV_FIELDS)

    def save(row: dict) -> None:
        judged = ema or nets
        if dev.type != "cpu":  # the reference sampler draws its noise on the CPU
            judged = copy.deepcopy(judged).to("cpu")
        vals = validate(judged, a.input_rms, data_dir=data_dir)
        row.update(vals)
        state = {"nets": nets.state_dict(), "ema": ema.state_dict() if ema else None,
                 "opt": opt.state_dict(), "step": step, "elapsed": elapsed,
                 "mixer_rng": None if seeded else batches.state,
                 "torch_gen": None if seeded else gen.get_state(),
                 "meta": {**meta, "steps_done": step, "wall_minutes": elapsed / 60,
                          "val": vals, "valid_sha1": valid_sha1}}
        torch.save(state, out / "last.tmp")
        os.replace(out / "last.tmp", ckpt)
        shutil.copy(ckpt, out / f"step{step:06d}.pt")
        if keep is not None:
            shutil.copy(ckpt, keep / "last.pt")
        print(f"[ckpt] step {step}: val SI-SDR " + " ".join(f"{k} {v:.2f}" for k, v in vals.items()) + " dB",
              flush=True)

    valid_sha1 = D.array_digest(*D.load_validation(data_dir))
    sig_params = set(id(p) for p in nets.sigma_parameters())
    acc: dict[str, float] = {}
    n_acc = 0
    t_log = time.time()
    last_ckpt = time.time()
    steps_at_log = step
    row: dict = {}
    items = DI.local_slice(a.batch, ds)
    if seeded:
        stream = DI.seeded_loader(DI.SeededBatches(corpus, a.seed, a.batch, cfg.segment, cfg.gap_noise, cfg.recipe,
                                                   items, step), a.workers)
    else:
        batches = Prefetch(mixer, a.batch, cfg.segment)
    model = DI.wrap(nets, co, ds)
    amp = dev.type == "cuda" and not a.no_amp and torch.cuda.is_bf16_supported()
    t_start = time.time()
    while step < a.steps:
        x, y = next(stream) if seeded else batches.get()
        t0 = time.time()
        x, y = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
        if a.input_rms > 0:
            s = a.input_rms / (y.pow(2).mean(dim=-1, keepdim=True).sqrt() + 1e-8)
            x, y = x * s, y * s
        clean = None
        if cfg.domain == "stft":
            clean = x
            x = stft.compress(stft.analyse(x[:, 0], cfg.n_fft, cfg.hop), cfg.compress)
            y = stft.compress(stft.analyse(y[:, 0], cfg.n_fft, cfg.hop), cfg.compress)
        if seeded:
            t, z = DI.seeded_noise(a.seed, step, a.batch, co.T, cfg.t_last, tuple(x.shape), items)
            z2 = DI.seeded_chain_noise(a.seed, step, a.batch, tuple(x.shape), items) if co.chain else None
        else:
            t = L.sample_t(a.batch, co.T, gen, cfg.t_last)
            z = torch.randn(x.shape, generator=gen)
            z2 = torch.randn(x.shape, generator=gen) if co.chain else None
        t, z = t.to(dev), z.to(dev)
        z2 = z2.to(dev) if z2 is not None else None
        nets.train()
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext():
            res = model(x, y, t, z, cfg.eta, cfg.lam, clean, z2)
        opt.zero_grad(set_to_none=True)
        res["loss"].backward()
        if step < cfg.sigma_warmup:
            for p in nets.parameters():
                if id(p) in sig_params:
                    p.grad = None
        gn = float(torch.nn.utils.clip_grad_norm_(nets.parameters(), cfg.grad_clip))
        for g in opt.param_groups:
            g["lr"] = L.learning_rate(cfg, step)
        opt.step()
        step += 1
        if ema is not None:
            L.ema_update(ema, nets, min(a.ema, (1 + step) / (10 + step)))
        elapsed += time.time() - t0
        with torch.no_grad():
            ls = torch.log(res["sigma"])
            stats = {"loss": res["loss"], "dm": res["dm"], "lr": res["lr"], "pm": res["pm"],
                     "grad_norm": gn, "sigma_mean": res["sigma"].mean(), "sigma_min": res["sigma"].min(),
                     "sigma_max": res["sigma"].max(), "logsigma_std": ls.std(),
                     "prior_mean": res["sigma_prior"].mean(), "prior_min": res["sigma_prior"].min(),
                     # sigma covers the items not trained through the chain: the first ones.
                     "prior_env_corr": L.env_corr(res["sigma_prior"], x[:len(res["sigma_prior"])]),
                     "spec": res["spec"], "sisdr": res["sisdr"], "mr": res["mr"], "chain": res["chain"]}
        for k, v in stats.items():
            acc[k] = acc.get(k, 0.0) + float(v)
        n_acc += 1
        # --max-minutes: decided at log steps, by rank 0's clock under torchrun, and saved.
        stop = a.max_minutes > 0 and step % a.log_every == 0 and time.time() - t_start > a.max_minutes * 60
        due = time.time() - last_ckpt > a.ckpt_minutes * 60 or step == a.steps or stop
        if ds.world > 1:
            # Every rank reaches the same log steps; a time-due checkpoint is rank 0's alone.
            if step % a.log_every == 0:
                acc["loss"] = DI.mean_over_ranks(acc["loss"], ds)
                if a.max_minutes > 0:
                    stop = DI.main_rank_says(stop, ds)
            due = due and ds.main or step == a.steps or stop
        if (step % a.log_every == 0 or due) and not ds.main:
            acc, n_acc = {}, 0
            if stop:
                break
            continue
        if step % a.log_every == 0 or due:
            now = time.time()
            spm = (step - steps_at_log) / max((now - t_log) / 60, 1e-9)
            t_log, steps_at_log = now, step
            row = {"step": step, "minutes": round(elapsed / 60, 2), "steps_per_min": round(spm, 1),
                   **{k: round(v / n_acc, 5) for k, v in acc.items()}}
            acc, n_acc = {}, 0
            eta_min = (a.steps - step) / max(spm, 1e-9)
            print(f"step {step}/{a.steps} {spm:.0f} steps/min ETA {eta_min:.0f} min | loss {row['loss']:.4f} "
                  f"dm {row['dm']:.4f} lr {row['lr']:.4f} pm {row['pm']:.4f} |g| {row['grad_norm']:.2f} | "
                  f"sigma {row['sigma_mean']:.3f} [{row['sigma_min']:.3f},{row['sigma_max']:.3f}] "
                  f"prior {row['prior_mean']:.3f} corr {row['prior_env_corr']:.2f} | "
                  f"spec {row['spec']:.4f} sisdr {row['sisdr']:.2f} mr {row['mr']:.4f} chain {row['chain']:.4f}", flush=True)
            if due:
                save(row)
                last_ckpt = time.time()
            with open(csv_path, "a", newline="") as f:
                csv.writer(f).writerow([row.get(k, "") for k in log_fields])
            if keep is not None:
                shutil.copy(csv_path, keep / "log.csv")
            row = {}
            if stop:
                print(f"stopped after {a.max_minutes:g} minutes (--max-minutes) at step {step}", flush=True)
                break
    DI.shutdown()


if __name__ == "__main__":
    main()
