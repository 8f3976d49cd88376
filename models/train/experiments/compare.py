"""Issue 12: the four objectives (and four variants) on one backbone, one budget.

    /usr/bin/python3 -m models.train.experiments.compare --resume          # = make compare; resumable
    /usr/bin/python3 -m models.train.experiments.compare --only-eval       # = make compare-eval; no training

Eight runs of `--config tf-rt` with the PLAIN objective (--aux-spec 0 --aux-sisdr 0 --t-last 0):
cdiffuse, priorgrad, restoregrad, restoregrad-noposterior, restoregrad-hidden96 (Prior and
Posterior Nets of width 96 instead of 32: 74,785 / 84,097 parameters instead of 12,705 / 15,809),
restoregrad-lam5 (prior-matching weight λ = 5 instead of 0.5, so that σ_post ≈ σ_prior: the
paper's own intent against the posterior leak), and restoregrad-frame / priorgrad-frame (one σ
per STFT frame shared by its bins, the paper's time envelope, instead of one per bin). Same seed
(so the same denoiser initialisation), data stream, batch, t and z draws and step budget for
all; EMA 0.999, one thread each.

Runs go two at a time (--jobs 2, a subprocess each). Each run trains in chunks of
--ckpt-every steps (`train.py --steps N --resume`, which saves at N), so every run has
checkpoints at the same steps, and a run stopped anywhere resumes from its last chunk with the
same batches. When a run's training ends, its checkpoints are scored (also two at a time) by
the Go `restoregrad eval` on the validation split at the uniform 1-, 2-, 3- and 6-step
schedules, raw output (tf bundles have no blend), and the runs with a Posterior Net get the
leak check (leak.py's one-step SI-SDR with x_T from σ_prior and from σ_post) at every checkpoint.

Budget (default --steps 4000, --ckpt-every 500): 6 runs / 2 at a time = 3 rounds of 4000
steps. A 500-step chunk, with its validation pass and the process start, takes 1.8-2.3 min on
an otherwise idle core (cdiffuse fastest, the runs with a Posterior Net slowest; measured
2026-12-01), so a round takes 15-19 min. Scoring: 8 checkpoints x 6 runs, about 1.5 min each
for the Go eval at 4 step counts on 64 x 4 s clips on one core, plus the leak check; each pair
is scored as soon as its training ends, interleaved with the next pair's training.

Outputs (--out, default models/results/compare-tf-rt/): eval_curves.csv (every score),
leak.csv, runs.json (what each run was), summary.md (the tables for the claims) and
{pesq_wb,stoi,estoi,si_sdr}_{1,2,3,6}step.png (metric vs training step, one line per run), and
leak_gap.png. Run folders: runs/compare-CONFIG-LABEL/ (log.csv, stepNNNNNN.pt, eval.csv,
leak.csv, perfile/, train.log, score.log); final weights also in
models/checkpoints/compare-CONFIG-LABEL/ (train.py's copy).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import data as D
from .. import inference as I
from .. import networks as N
from .. import paths
from . import evalckpts as EC
from . import leak as LK
from . import plot

ROOT = paths.ROOT
SAMPLER_STEPS = (1, 2, 3, 6)
METRICS = (("pesq_wb", "PESQ-WB"), ("stoi", "STOI"), ("estoi", "ESTOI"), ("si_sdr", "SI-SDR"))
PLAIN = ["--aux-spec", "0", "--aux-sisdr", "0", "--t-last", "0"]
BASELINE = "cdiffuse"
LEAK_FIELDS = ["run", "step", "prior", "post", "noisy", "files"]


@dataclass
class Run:
    label: str
    objective: str
    extra: list[str] = field(default_factory=list)
    what: str = ""


def plan(a: argparse.Namespace) -> list[Run]:
    """The runs, most important pair first (the budget may run out)."""
    all_runs = [
        Run("cdiffuse", "cdiffuse", what="Σ = I"),
        Run("restoregrad", "restoregrad", what="learned prior and posterior, λ = 0.5"),
        Run("restoregrad-noposterior", "restoregrad-noposterior", what="learned prior only"),
        Run("priorgrad", "priorgrad", what="handcrafted prior"),
        Run(f"restoregrad-lam{a.lam_strong:g}", "restoregrad", ["--lam", f"{a.lam_strong:g}"],
            f"λ = {a.lam_strong:g} (σ_post pulled to σ_prior)"),
        Run(f"restoregrad-hidden{a.sigma_hidden_large}", "restoregrad",
            ["--sigma-hidden", str(a.sigma_hidden_large)], f"Prior/Posterior Net width {a.sigma_hidden_large}"),
        # The domain's fix: the paper's sigma is a time envelope; per bin, L_DM's Sigma^-1 norm
        # weights quiet bins far above loud ones (RESULTS.md, issue 12).
        Run("restoregrad-frame", "restoregrad", ["--sigma-per-frame"], "σ per frame, shared by its bins"),
        Run("priorgrad-frame", "priorgrad", ["--sigma-per-frame"], "handcrafted σ: the frame's RMS magnitude"),
    ]
    if a.runs:
        want = a.runs.split(",")
        unknown = [w for w in want if w not in {r.label for r in all_runs}]
        if unknown:
            raise SystemExit(f"compare: unknown run {unknown[0]!r}; known: {', '.join(r.label for r in all_runs)}")
        return [r for r in all_runs if r.label in want]
    return all_runs


def run_name(config: str, label: str) -> str:
    return f"compare-{config}-{label}"


def last_step(run_dir: Path) -> int:
    steps = [EC.ckpt_step(p) for p in run_dir.glob("step*.pt")]
    return max(steps, default=0)


def child_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "GOMAXPROCS": "1",
            "PYTHONUNBUFFERED": "1"}


def call(cmd: list[str], log: Path) -> None:
    with open(log, "a") as f:
        f.write(f"\n$ {' '.join(cmd)}\n")
        f.flush()
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, env=child_env()).returncode
    if rc != 0:
        raise RuntimeError(f"exit status {rc}; see {log}")


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def train_task(run: Run, a: argparse.Namespace) -> None:
    name = run_name(a.config, run.label)
    rdir = Path(a.runs_dir) / name
    rdir.mkdir(parents=True, exist_ok=True)
    keep = Path(a.keep_dir) / name
    targets = list(range(a.ckpt_every, a.steps, a.ckpt_every)) + [a.steps]
    for target in targets:
        if last_step(rdir) >= target:
            continue
        say(f"train {name}: to step {target}")
        cmd = ["nice", "-n", str(a.nice), sys.executable, "-m", "models.train.train", "--config", a.config,
               "--objective", run.objective, "--steps", str(target), "--batch", str(a.batch), "--seed", str(a.seed),
               "--out", str(rdir), "--name", str(keep.resolve()), "--resume", "--ema", str(a.ema),
               "--threads", "1", "--ckpt-minutes", "100000", *PLAIN, *run.extra]
        if a.segment:
            cmd += ["--segment", str(a.segment)]
        call(cmd, rdir / "train.log")
    say(f"train {name}: done at step {last_step(rdir)}")


def score_task(run: Run, a: argparse.Namespace, binary: Path) -> None:
    name = run_name(a.config, run.label)
    rdir = Path(a.runs_dir) / name
    if not any(rdir.glob("step*.pt")):
        say(f"score {name}: no checkpoints")
        return
    say(f"score {name}")
    cmd = ["nice", "-n", str(a.nice), sys.executable, "-m", "models.train.experiments.compare", "--score-run", run.label,
           "--config", a.config, "--runs-dir", a.runs_dir, "--binary", str(binary),
           "--eval-limit", str(a.eval_limit), "--schedule-floor", f"{a.schedule_floor:g}"] \
        + (["--rescore"] if a.rescore else [])
    call(cmd, rdir / "score.log")
    say(f"score {name}: done")


def score_one(a: argparse.Namespace) -> None:
    """In a child process: the Go eval of every checkpoint of one run, then the leak check."""
    torch.set_num_threads(1)
    name = run_name(a.config, a.score_run)
    rdir = Path(a.runs_dir) / name
    out = rdir / "eval.csv"
    if a.rescore and out.exists():
        out.rename(rdir / f"eval.{time.strftime('%Y%m%d-%H%M%S')}.csv")
    EC.score_run(a.score_run, rdir, Path(a.binary), list(SAMPLER_STEPS), a.schedule_floor, out,
                 limit=a.eval_limit, per_file=True)
    leak_run(rdir, a.score_run, a.eval_limit)


def leak_run(rdir: Path, label: str, limit: int) -> None:
    """leak.py's check at every checkpoint of a run with a Posterior Net, into rdir/leak.csv."""
    path = rdir / "leak.csv"
    rows = read_csv(path)
    done = {int(r["step"]) for r in rows}
    clean, noisy = D.load_validation()
    if limit:
        clean, noisy = clean[:limit], noisy[:limit]
    for ck in EC.checkpoints(rdir):
        step = EC.ckpt_step(ck)
        if step in done:
            continue
        nets, _ = N.load_networks(ck)
        if nets.cfg.domain != "stft" or nets.posterior is None:
            return
        r = {"run": label, "step": step, "prior": f"{LK.one_step_si_sdr(nets, clean, noisy, False, 0):.3f}",
             "post": f"{LK.one_step_si_sdr(nets, clean, noisy, True, 0):.3f}",
             "noisy": f"{float(I.si_sdr(noisy[:, 0], clean[:, 0]).mean()):.3f}", "files": len(clean)}
        print(f"leak {label} step {step}: one-step SI-SDR from sigma_prior {r['prior']} dB, "
              f"from sigma_post {r['post']} dB", flush=True)
        rows.append(r)
        write_csv(path, LEAK_FIELDS, sorted(rows, key=lambda r: int(r["step"])))


def schedule(tasks: list[tuple[str, callable, str | None]], jobs: int) -> list[str]:
    """Runs (name, fn, after) tasks, `jobs` at a time, in list order as soon as the task named
    `after` has ended (successfully or not). Returns the failures as lines."""
    ended: set[str] = set()
    failures: list[str] = []
    pending = list(tasks)
    running: dict[Future, str] = {}
    with ThreadPoolExecutor(jobs) as ex:
        while pending or running:
            for t in list(pending):
                if len(running) >= jobs:
                    break
                name, fn, after = t
                if after is None or after in ended:
                    pending.remove(t)
                    running[ex.submit(fn)] = name
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                name = running.pop(fut)
                ended.add(name)
                if fut.exception() is not None:
                    failures.append(f"{name}: {fut.exception()}")
                    say(f"FAILED {name}: {fut.exception()}")
    return failures


# ---------------------------------------------------------------- collect and summarise

def write_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    """Written whole through a temporary file: a reader never sees half a table."""
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def run_info(rdir: Path, run: Run) -> dict | None:
    """What a run was, from its newest checkpoint's meta."""
    ckpts = EC.checkpoints(rdir)
    if not ckpts:
        return None
    ck = N.load_checkpoint(ckpts[-1])
    m = ck["meta"]
    return {"label": run.label, "objective": m.get("objective"), "what": run.what,
            "overrides": m.get("overrides", {}), "seed": m.get("seed"), "batch": m.get("batch"),
            "steps_done": ck["step"], "train_minutes": round(ck["elapsed"] / 60, 1),
            "params_denoiser": m.get("params_denoiser"), "params_prior": m.get("params_prior"),
            "params_posterior": m.get("params_posterior"), "command": m.get("command")}


def per_file_scores(rdir: Path, step: int, sched: str, metric: str = "pesq_wb") -> dict[int, dict[str, float]]:
    """{sampler steps: {file: score}} of one checkpoint from its kept per-file CSVs."""
    out: dict[int, dict[str, float]] = {}
    for p in sorted(rdir.glob(f"perfile/step{step:06d}-{sched}-*.csv")):
        for r in read_csv(p):
            if r["system"] != "noisy" and r.get(metric, "") != "":
                out.setdefault(int(r["steps"]), {})[r["file"]] = float(r[metric])
    return out


def collect(a: argparse.Namespace, runs: list[Run]) -> None:
    torch.set_num_threads(1)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, leak, info, perfile = [], [], {}, {}
    sched = EC.schedule_name(a.schedule_floor)
    for run in runs:
        rdir = Path(a.runs_dir) / run_name(a.config, run.label)
        i = run_info(rdir, run)
        if i is None:
            continue
        info[run.label] = i
        mine = [r for r in read_csv(rdir / "eval.csv") if r["schedule"] == sched]
        rows += mine
        leak += read_csv(rdir / "leak.csv")
        if mine:
            perfile[run.label] = per_file_scores(rdir, max(int(r["step"]) for r in mine), sched)
    write_csv(out / "eval_curves.csv", EC.FIELDS, sorted(rows, key=EC.row_key))
    write_csv(out / "leak.csv", LEAK_FIELDS, leak)
    (out / "runs.json").write_text(json.dumps(info, indent=1))
    write_plots(rows, leak, out, [r.label for r in runs])
    (out / "summary.md").write_text(summarize(rows, info, leak, perfile, a))
    say(f"wrote {out}/summary.md, eval_curves.csv, leak.csv, runs.json and the PNGs")


def write_plots(rows: list[dict], leak: list[dict], out: Path, order: list[str]) -> list[Path]:
    """One PNG per metric and sampler step count (metric vs training step, one line per run),
    and the leak gap (σ_post minus σ_prior one-step SI-SDR) vs training step."""
    written = []
    for metric, label in METRICS:
        for k in sorted({int(r["sampler_steps"]) for r in rows}):
            sel = [r for r in rows if int(r["sampler_steps"]) == k and r.get(metric, "") != ""]
            series = {}
            for run in order:
                rs = sorted((r for r in sel if r["run"] == run), key=lambda r: int(r["step"]))
                if rs:
                    series[run] = ([int(r["step"]) for r in rs], [float(r[metric]) for r in rs])
            if not series:
                continue
            noisy = [float(r[f"noisy_{metric}"]) for r in sel if r.get(f"noisy_{metric}", "") != ""]
            p = out / f"{metric}_{k}step.png"
            plot.plot(str(p), series, f"VALIDATION {label} AT {k} STEPS VS TRAINING STEP", "STEP", label,
                      hlines={"NOISY": float(np.mean(noisy))} if noisy else None)
            written.append(p)
    series = {}
    for run in order:
        rs = sorted((r for r in leak if r["run"] == run), key=lambda r: int(r["step"]))
        if rs:
            series[run] = ([int(r["step"]) for r in rs], [float(r["post"]) - float(r["prior"]) for r in rs])
    if series:
        p = out / "leak_gap.png"
        plot.plot(str(p), series, "LEAK: ONE-STEP SI-SDR FROM SIGMA POST MINUS FROM SIGMA PRIOR (DB)", "STEP",
                  "DB", hlines={"NO LEAK": 0.0})
        written.append(p)
    return written


def paired(a: dict[str, float], b: dict[str, float]) -> tuple[float, float, int] | None:
    """Mean of a - b over the files both have, its 95% half-interval (normal, files as the
    sample: it says nothing of training-seed variance) and the file count."""
    files = sorted(set(a) & set(b))
    if len(files) < 2:
        return None
    d = np.array([a[f] - b[f] for f in files])
    return float(d.mean()), float(1.96 * d.std(ddof=1) / math.sqrt(len(d))), len(d)


def summarize(rows: list[dict], info: dict, leak: list[dict], perfile: dict, a) -> str:
    """summary.md: final values, and the numbers each of issue 12's claims is judged on."""
    if not rows:
        return "# Issue 12 comparison\n\nNo scores yet.\n"
    order = [r for r in info if any(x["run"] == r for x in rows)]
    ks = sorted({int(r["sampler_steps"]) for r in rows})
    by = {}
    for r in rows:
        by.setdefault((r["run"], int(r["sampler_steps"])), []).append(r)
    for v in by.values():
        v.sort(key=lambda r: int(r["step"]))
    final = {key: v[-1] for key, v in by.items()}

    def val(run: str, k: int, metric: str = "pesq_wb") -> float | None:
        r = final.get((run, k))
        return float(r[metric]) if r and r.get(metric, "") != "" else None

    n0 = rows[0]
    files = n0.get("files") or "?"
    L = ["# Issue 12: objectives on one backbone, one budget", "",
         f"Config `{a.config}`, plain objective ({' '.join(PLAIN)}), seed {a.seed}, batch {a.batch}, "
         f"budget {a.steps} steps, checkpoints every {a.ckpt_every} steps, EMA weights. Scores: Go "
         f"`restoregrad eval` on the validation split ({files} files), "
         + ("uniform schedules" if not a.schedule_floor else f"schedules from training step {a.schedule_floor:g}")
         + ", raw output. "
         f"Noisy input: PESQ-WB {float(n0['noisy_pesq_wb']):.3f}, STOI {float(n0['noisy_stoi']):.4f}, "
         + (f"ESTOI {float(n0['noisy_estoi']):.4f}, " if n0.get("noisy_estoi") else "")
         + f"SI-SDR {float(n0['noisy_si_sdr']):.2f} dB.", "",
         "One training seed per run: the ± figures are 95% intervals over the validation files "
         "(per-file paired differences where two runs are compared), not over training seeds.",
         "Regenerate: `make compare-eval` (or `python3 -m models.train.experiments.compare --only-eval`).", "",
         "## Runs", "", "| run | objective | what | params denoiser / prior / posterior | steps | train min |",
         "|---|---|---|---|---|---|"]
    for run in order:
        i = info[run]
        L.append(f"| {run} | {i['objective']} | {i['what']} | {i['params_denoiser']} / {i['params_prior']} / "
                 f"{i['params_posterior']} | {i['steps_done']} | {i['train_minutes']} |")
    ends = {info[r]["steps_done"] for r in order}
    if len(ends) > 1:
        L += ["", f"**Runs end at different steps ({sorted(ends)}): the budget was not completed by all; "
              "the final-value comparisons below are not like for like.**"]
    L += ["", "## Final checkpoint, by sampler steps", ""]
    for metric, label in METRICS:
        L += [f"**{label}**", "", "| run | " + " | ".join(f"{k} step{'s' * (k > 1)}" for k in ks) + " |",
              "|---|" + "---|" * len(ks)]
        for run in order:
            cells = []
            for k in ks:
                r = final.get((run, k))
                if not r or r.get(metric, "") == "":
                    cells.append("-")
                    continue
                ci = r.get(f"{metric}_ci95", "")
                d = 2 if metric == "si_sdr" else 3 if metric == "pesq_wb" else 4
                cells.append(f"{float(r[metric]):.{d}f}" + (f" ± {float(ci):.{d}f}" if ci else ""))
            L.append(f"| {run} | " + " | ".join(cells) + " |")
        L.append("")

    # Claim 1: convergence.
    L += ["## Claim 1: convergence (steps to reach CDiffuSE's final PESQ-WB; claimed ≤ 1/3)", ""]
    if BASELINE not in order:
        L += [f"No {BASELINE} run: not scored.", ""]
    else:
        L += ["First checkpoint at which a run's PESQ-WB reaches the cdiffuse run's final PESQ-WB at the "
              f"same sampler step count (resolution: {a.ckpt_every} steps), as a fraction of cdiffuse's steps.",
              "", "| run | " + " | ".join(f"{k} step{'s' * (k > 1)}" for k in ks) + " |", "|---|" + "---|" * len(ks)]
        for run in order:
            cells = []
            for k in ks:
                base = final.get((BASELINE, k))
                if base is None or (run, k) not in by:
                    cells.append("-")
                    continue
                target, bstep = float(base["pesq_wb"]), int(base["step"])
                hit = next((int(r["step"]) for r in by[(run, k)] if float(r["pesq_wb"]) >= target), None)
                cells.append("not reached" if hit is None else
                             f"{hit} ({hit / bstep:.2f}{', ≤ 1/3' if hit <= bstep / 3 else ''})")
            L.append(f"| {run} | " + " | ".join(cells) + " |")
        L.append("")

    # Claim 2: few steps.
    L += ["## Claim 2: few steps (3 steps within 0.05 PESQ-WB of 6; 2-2.5x fewer steps than the baselines)", ""]
    if 3 in ks and 6 in ks:
        L += ["| run | PESQ-WB 3 − 6 steps (paired) | within 0.05 |", "|---|---|---|"]
        for run in order:
            pf = perfile.get(run, {})
            p = paired(pf.get(3, {}), pf.get(6, {}))
            v3, v6 = val(run, 3), val(run, 6)
            if v3 is None or v6 is None:
                continue
            diff = f"{v3 - v6:+.3f}" + (f" ± {p[1]:.3f}" if p else "")
            L.append(f"| {run} | {diff} | {'yes' if abs(v3 - v6) <= 0.05 else 'no'} |")
        L.append("")
    targets = [b for b in (BASELINE, "priorgrad") if val(b, 6) is not None]
    if targets:
        L += ["Fewest sampler steps (of " + ", ".join(map(str, ks)) + ") at which each run's final PESQ-WB "
              "reaches a baseline's final 6-step PESQ-WB:", "",
              "| run | " + " | ".join(f"≥ {b} @6 ({val(b, 6):.3f})" for b in targets) + " |",
              "|---|" + "---|" * len(targets)]
        fewest = {}
        for run in order:
            cells = []
            for b in targets:
                k = next((k for k in ks if val(run, k) is not None and val(run, k) >= val(b, 6)), None)
                fewest[(run, b)] = k
                cells.append("not reached" if k is None else str(k))
            L.append(f"| {run} | " + " | ".join(cells) + " |")
        L.append("")
        for rg in ("restoregrad", "restoregrad-frame"):
            for b in targets:
                kb, kr = fewest.get((b, b)), fewest.get((rg, b))
                if rg in order and kb and kr:
                    L.append(f"- {rg} needs {kr} step(s) where {b} needs {kb} for {b}'s 6-step quality: "
                             f"{kb / kr:.1f}x fewer (claimed 2-2.5x).")
        L.append("")

    # Claims 3 and 4: paired differences of final checkpoints.
    def diff_table(title: str, pairs: list[tuple[str, str]]) -> None:
        nonlocal L
        pairs = [(x, y) for x, y in pairs if x in order and y in order]
        L += [title, ""]
        if not pairs:
            L += ["Runs missing: not scored.", ""]
            return
        L += ["| PESQ-WB difference (paired over files) | " + " | ".join(f"{k} step{'s' * (k > 1)}" for k in ks)
              + " |", "|---|" + "---|" * len(ks)]
        for x, y in pairs:
            cells = []
            for k in ks:
                p = paired(perfile.get(x, {}).get(k, {}), perfile.get(y, {}).get(k, {}))
                vx, vy = val(x, k), val(y, k)
                if vx is None or vy is None:
                    cells.append("-")
                elif p is None:
                    cells.append(f"{vx - vy:+.3f}")
                else:
                    sig = " (CI excludes 0)" if abs(p[0]) > p[1] else ""
                    cells.append(f"{p[0]:+.3f} ± {p[1]:.3f}{sig}")
            L.append(f"| {x} − {y} | " + " | ".join(cells) + " |")
        L.append("")

    lam = [r for r in order if r.startswith("restoregrad-lam")]
    big = [r for r in order if r.startswith("restoregrad-hidden")]
    diff_table("## Claim 3: the Posterior Net helps (restoregrad ≥ restoregrad-noposterior)",
               [("restoregrad", "restoregrad-noposterior")] + [(r, "restoregrad-noposterior") for r in lam])
    diff_table("## Claim 4: encoder size (larger Prior/Posterior Net)", [(r, "restoregrad") for r in big])
    if big and "restoregrad" in info:
        for r in big:
            L.append(f"- {r}: prior {info[r]['params_prior']}, posterior {info[r]['params_posterior']} parameters; "
                     f"restoregrad: {info['restoregrad']['params_prior']} / {info['restoregrad']['params_posterior']} "
                     "(the paper: 24K / 96K / 370K).")
        L.append("")

    diff_table("## The domain: one σ per frame (the paper's time envelope) against one per bin",
               [("restoregrad-frame", "restoregrad"), ("priorgrad-frame", "priorgrad"),
                ("restoregrad-frame", BASELINE), ("priorgrad-frame", BASELINE),
                ("restoregrad-frame", "priorgrad-frame")])

    # The posterior leak.
    L += ["## Posterior leak (leak.py at each checkpoint: one-step SI-SDR, x_T from σ_prior vs σ_post)", ""]
    fin = {}
    for r in leak:
        if r["run"] not in fin or int(r["step"]) > int(fin[r["run"]]["step"]):
            fin[r["run"]] = r
    if not fin:
        L += ["No run with a Posterior Net scored.", ""]
    else:
        L += ["| run | step | from σ_prior (dB) | from σ_post (dB) | gap (dB) |", "|---|---|---|---|---|"]
        for run in order:
            if run in fin:
                r = fin[run]
                L.append(f"| {run} | {r['step']} | {float(r['prior']):.2f} | {float(r['post']):.2f} | "
                         f"{float(r['post']) - float(r['prior']):+.2f} |")
        L += ["", "A large positive gap: the denoiser reads x0 from σ_post's envelope, which the sampler "
              "never offers. restoregrad-noposterior, cdiffuse and priorgrad have no posterior (no leak by "
              "construction).", ""]
    return "\n".join(L)


DEV_RUNS = ("cdiffuse", "priorgrad", "restoregrad", "restoregrad-noposterior")


def dev_table(a: argparse.Namespace, binary: Path) -> None:
    """The four objectives' final checkpoints on the dev set, GTCRN alongside, in ONE Go eval
    run: dev_eval.{txt,csv,json} in the results folder. Final evaluation only: nothing here
    chooses a checkpoint or a setting (the final checkpoint and the comparison's schedule)."""
    dev = paths.ROOT.parent / "shared" / "data" / "vbdemand-dev"
    gtcrn = paths.ROOT.parent / "shared" / "peers" / "gtcrn" / "gtcrn_simple.onnx"
    for need in (dev / "clean", dev / "noisy", gtcrn):
        if not need.exists():
            raise SystemExit(f"compare: {need}: not found (the dev table needs ../shared)")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    bundles = Path(a.runs_dir) / f"compare-{a.config}-dev"
    models, finals = [], []
    for label in DEV_RUNS:
        ckpts = EC.checkpoints(Path(a.runs_dir) / run_name(a.config, label))
        if not ckpts:
            raise SystemExit(f"compare: run {label} has no checkpoints; train it first")
        b = bundles / label
        shutil.rmtree(b, ignore_errors=True)
        EC.export_bundle(ckpts[-1], b, a.schedule_floor)
        models += ["--model", str(b)]
        finals.append(f"{label} step {EC.ckpt_step(ckpts[-1])}")
    steps = ",".join(str(k) for k in SAMPLER_STEPS)
    cmd = [str(binary), "eval", "--clean", str(dev / "clean"), "--noisy", str(dev / "noisy"), *models,
           "--steps", steps, "--peer", f"gtcrn={gtcrn}", "--jobs", str(a.jobs), "--threads", "1",
           "--csv", str(out / "dev_eval.csv"), "--json", str(out / "dev_eval.json")]
    say(f"dev table: {', '.join(finals)}; {' '.join(cmd)}")
    res = subprocess.run(cmd, cwd=paths.ROOT, env=child_env(), capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"compare: dev eval failed: {res.stderr.strip().splitlines()[-1:]}")
    tmp = out / "dev_eval.txt.tmp"
    tmp.write_text(f"# final checkpoints: {', '.join(finals)}; uniform schedules, raw output\n"
                   f"# {' '.join(cmd)}\n" + res.stdout)
    os.replace(tmp, out / "dev_eval.txt")
    say(f"wrote {out}/dev_eval.txt")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.experiments.compare", description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="tf-rt")
    ap.add_argument("--steps", type=int, default=4000, help="training steps per run (the budget)")
    ap.add_argument("--ckpt-every", type=int, default=500, help="a checkpoint every N steps")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--segment", type=int, help="training crop in samples (default: the config's)")
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--runs", help="comma list of run labels (default: all eight)")
    ap.add_argument("--lam-strong", type=float, default=5.0, help="λ of the restoregrad-lamN run")
    ap.add_argument("--sigma-hidden-large", type=int, default=96, help="width of the restoregrad-hiddenN run")
    ap.add_argument("--jobs", type=int, default=2, help="runs (and scorings) at a time, one thread each")
    ap.add_argument("--nice", type=int, default=10)
    ap.add_argument("--resume", action="store_true", help="continue runs that already have checkpoints")
    ap.add_argument("--only-eval", action="store_true", help="no training: score what is saved, summarise")
    ap.add_argument("--only-summary", action="store_true", help="only rewrite summary.md and the PNGs")
    ap.add_argument("--dev", action="store_true",
                    help="no training: the four objectives' final checkpoints on the dev set (final evaluation)")
    ap.add_argument("--rescore", action="store_true", help="score every checkpoint again (old scores kept aside)")
    ap.add_argument("--schedule-floor", type=float, default=0.0,
                    help="sampler schedules from this training step (0 = uniform, issue 12's)")
    ap.add_argument("--eval-limit", type=int, default=0, help="score only the first N validation files (smoke tests)")
    ap.add_argument("--binary", help="restoregrad binary (default: go build -o bin/restoregrad from this tree)")
    ap.add_argument("--runs-dir", default=str(paths.RUNS))
    ap.add_argument("--keep-dir", default=str(paths.CHECKPOINTS),
                    help="where train.py keeps each run's last.pt and log.csv")
    ap.add_argument("--out", help="results folder (default: models/results/compare-CONFIG)")
    ap.add_argument("--score-run", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.runs_dir = str(Path(a.runs_dir).resolve())
    a.out = a.out or str(paths.RESULTS / f"compare-{a.config}")
    if a.score_run:
        score_one(a)
        return
    if a.steps < 1 or a.ckpt_every < 1:
        raise SystemExit("compare: --steps and --ckpt-every must be positive")
    runs = plan(a)
    if a.dev:
        dev_table(a, Path(a.binary) if a.binary else EC.build_cli())
        return
    if a.only_summary:
        collect(a, runs)
        return
    if not a.only_eval and not a.resume:
        started = [run_name(a.config, r.label) for r in runs
                   if any((Path(a.runs_dir) / run_name(a.config, r.label)).glob("step*.pt"))]
        if started:
            raise SystemExit(f"compare: {Path(a.runs_dir) / started[0]} already has checkpoints; "
                             "pass --resume to continue it (or remove it to start over)")
    try:
        binary = Path(a.binary) if a.binary else EC.build_cli()
    except subprocess.CalledProcessError:
        raise SystemExit("compare: `go build ./cmd/restoregrad` failed; pass --binary PATH to a built one") from None
    if not binary.exists():
        raise SystemExit(f"compare: no restoregrad binary at {binary}")
    EC.validation_wavs()  # written once, before two children could race to write them
    # Interleaved (train a, train b, score a, score b, train c, ...): a run is scored as soon as it
    # ends, before the next pair starts, so a stopped comparison still has its first pairs scored.
    tasks = []
    for i in range(0, len(runs), a.jobs):
        pair = runs[i:i + a.jobs]
        if not a.only_eval:
            tasks += [(f"train {r.label}", (lambda r=r: train_task(r, a)), None) for r in pair]
        tasks += [(f"score {r.label}", (lambda r=r: score_task(r, a, binary)),
                   None if a.only_eval else f"train {r.label}") for r in pair]
    say(f"{len(runs)} runs of {a.config}, {a.steps} steps each, {a.jobs} at a time; logs in "
        f"{a.runs_dir}/compare-{a.config}-*/{{train,score}}.log")
    failures = schedule(tasks, a.jobs)
    collect(a, runs)
    if failures:
        raise SystemExit("compare: " + "; ".join(failures))


if __name__ == "__main__":
    main()
