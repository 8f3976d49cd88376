"""PESQ-WB, STOI and SI-SDR of every saved checkpoint of some runs, through the Go engine.

    /usr/bin/python3 -m models.train.experiments.evalckpts compare-restoregrad compare-cdiffuse ... \
        [--steps 6,3] [--every 1] [--schedule-floor F] [--out models/results/eval_curves.csv] \
        [--runs-dir runs] [--limit N] [--per-file] [--binary PATH]

Each runs/NAME/stepNNNNNN.pt is exported to a temporary bundle (a streaming bundle for
causal configs, run frame by frame) and scored by `restoregrad eval` on the validation split
(data/valid.npz, written once as WAVs under data/valid-wav/), never on the dev set. Rows
already in the CSV are kept, so the command can be rerun as training goes on. Also writes
PNG plots (one line per run) next to the CSV. Time-frequency bundles have no CDiffuSE schedules:
without --schedule-floor they get (and their rows are labelled) the uniform ones. --per-file keeps
the Go eval's per-file scores as runs/NAME/perfile/stepNNNNNN-SCHEDULE-STEPS.csv (paired comparisons).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from .. import data as D
from .. import export as E
from .. import networks as N
from .. import params
from .. import paths
from . import plot

FIELDS = ["run", "objective", "config", "step", "schedule", "sampler_steps", "pesq_wb", "stoi", "si_sdr",
          "noisy_pesq_wb", "noisy_stoi", "noisy_si_sdr", "estoi", "noisy_estoi", "files",
          "pesq_wb_ci95", "stoi_ci95", "estoi_ci95", "si_sdr_ci95"]
METRICS = ("pesq_wb", "stoi", "estoi", "si_sdr")


def validation_wavs() -> tuple[Path, Path]:
    root = paths.ROOT / "data" / "valid-wav"
    clean_dir, noisy_dir = root / "clean", root / "noisy"
    clean, noisy = D.load_validation()
    if not (noisy_dir / f"v{clean.shape[0] - 1:02d}.wav").exists():
        clean_dir.mkdir(parents=True, exist_ok=True)
        noisy_dir.mkdir(parents=True, exist_ok=True)
        for i in range(clean.shape[0]):
            sf.write(clean_dir / f"v{i:02d}.wav", clean[i, 0], D.SR, subtype="FLOAT")
            sf.write(noisy_dir / f"v{i:02d}.wav", noisy[i, 0], D.SR, subtype="FLOAT")
    return clean_dir, noisy_dir


def build_cli() -> Path:
    """bin/restoregrad, rebuilt (a no-op when up to date) so the scores come from this tree."""
    binary = paths.ROOT / "bin" / "restoregrad"
    subprocess.run(["go", "build", "-o", str(binary), "./cmd/restoregrad"], cwd=paths.ROOT, check=True)
    return binary


def go_eval(binary: Path, bundle: Path, steps: str, clean: Path, noisy: Path, limit: int = 0,
            per_file: Path | None = None) -> list[dict]:
    """The eval JSON's systems; with per_file, the per-file CSV is kept there (written whole)."""
    with tempfile.TemporaryDirectory() as tmp:
        js, pf = Path(tmp) / "eval.json", Path(tmp) / "files.csv"
        subprocess.run([str(binary), "eval", "--clean", str(clean), "--noisy", str(noisy), "--model", str(bundle),
                        "--steps", steps, "--dnsmos", "off", "--jobs", "1", "--threads", "1",
                        "--limit", str(limit), "--json", str(js), "--csv", str(pf)],
                       check=True, stdout=subprocess.DEVNULL)
        if per_file is not None:
            per_file.parent.mkdir(parents=True, exist_ok=True)
            tmp_out = per_file.with_suffix(f".tmp{os.getpid()}")
            tmp_out.write_bytes(pf.read_bytes())
            os.replace(tmp_out, per_file)
        return json.loads(js.read_text())["systems"]


def ckpt_step(ck: Path) -> int:
    return int(re.sub(r"\D", "", ck.stem))


def checkpoints(run_dir: Path, every: int = 1) -> list[Path]:
    """Every `every`-th saved checkpoint of a run, in step order, the last always."""
    ckpts = sorted(run_dir.glob("step*.pt"), key=ckpt_step)
    return [c for i, c in enumerate(ckpts) if i % every == 0 or i == len(ckpts) - 1]


def schedule_of(ck: Path, floor: float | None) -> str:
    """The schedule label of a checkpoint's bundle: time-frequency bundles have no CDiffuSE
    schedules, so no floor means floor 0 (uniform) there."""
    meta = N.load_checkpoint(ck)["meta"]
    if params.get(meta["config"]).domain == "stft":
        return schedule_name(floor or 0.0)
    return schedule_name(floor)


def _num(v) -> str:
    return "" if v is None else f"{v:.4f}"


def score_run(run: str, run_dir: Path, binary: Path, want: list[int], floor: float | None, out: Path,
              every: int = 1, limit: int = 0, per_file: bool = False) -> list[dict]:
    """Scores the run's checkpoints (those not in `out` yet) with the Go eval, saving `out` after
    each checkpoint, so an interrupted call loses at most one checkpoint's work. Returns the rows."""
    rows: list[dict] = []
    if out.exists():
        with open(out) as f:
            rows = list(csv.DictReader(f))
    done = {(r["run"], int(r["step"]), r["schedule"], int(r["sampler_steps"])) for r in rows}
    clean, noisy = validation_wavs()
    for ck in checkpoints(run_dir, every):
        step, sched = ckpt_step(ck), schedule_of(ck, floor)
        todo = [s for s in want if (run, step, sched, s) not in done]
        if not todo:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            bundle = Path(tmp) / run
            objective, config = export_bundle(ck, bundle, floor)
            pf = (run_dir / "perfile" / f"step{step:06d}-{sched}-{'-'.join(map(str, todo))}.csv"
                  if per_file else None)
            systems = go_eval(binary, bundle, ",".join(map(str, todo)), clean, noisy, limit, pf)
        base = next(s for s in systems if s["kind"] == "input")
        for s in systems:
            if s["kind"] != "model":
                continue
            ci = s.get("ci95") or {}
            rows.append({"run": run, "objective": objective, "config": config, "step": step,
                         "schedule": sched, "sampler_steps": s["steps"], "pesq_wb": f"{s['pesq_wb']:.4f}",
                         "stoi": f"{s['stoi']:.4f}", "si_sdr": f"{s['si_sdr']:.3f}",
                         "noisy_pesq_wb": f"{base['pesq_wb']:.4f}", "noisy_stoi": f"{base['stoi']:.4f}",
                         "noisy_si_sdr": f"{base['si_sdr']:.3f}", "estoi": _num(s.get("estoi")),
                         "noisy_estoi": _num(base.get("estoi")), "files": s.get("files", ""),
                         **{f"{m}_ci95": _num(ci.get(m)) for m in METRICS}})
            print(f"{run} step {step} {sched}@{s['steps']}: PESQ-WB {s['pesq_wb']:.3f} STOI {s['stoi']:.4f} "
                  f"SI-SDR {s['si_sdr']:.2f} (noisy {base['pesq_wb']:.3f} / {base['stoi']:.4f} / "
                  f"{base['si_sdr']:.2f})", flush=True)
        rows = save_rows(out, rows)
    return rows


def export_bundle(ckpt: Path, out: Path, floor: float | None) -> tuple[str, str]:
    """The checkpoint's bundle as export.py writes it by default (a streaming bundle of 160-sample
    frames for the causal waveform config)."""
    nets, meta = N.load_networks(ckpt)
    E.export(nets, out, out.name, meta, True, schedule_floor=floor)
    return nets.objective, nets.cfg.name


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.experiments.evalckpts", description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="run names under runs/")
    ap.add_argument("--steps", default="6,3")
    ap.add_argument("--every", type=int, default=1, help="score every Nth saved checkpoint (the last always)")
    ap.add_argument("--schedule-floor", type=float)
    ap.add_argument("--binary", help="a restoregrad binary to score with (default: build bin/restoregrad from this tree)")
    ap.add_argument("--only-collect", action="store_true", help="rewrite plots and summary.md from the CSV")
    ap.add_argument("--out", default=str(paths.RESULTS / "eval_curves.csv"))
    ap.add_argument("--runs-dir", default=str(paths.ROOT / "runs"), help="folder holding the run folders")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N validation files (0 = all)")
    ap.add_argument("--per-file", action="store_true", help="keep per-file scores under runs/NAME/perfile/")
    a = ap.parse_args(argv)
    out = Path(a.out)
    rows: list[dict] = []
    if out.exists():
        with open(out) as f:
            rows = list(csv.DictReader(f))
    if a.only_collect:
        write_plots(rows, out.parent)
        (out.parent / "summary.md").write_text(summary(rows))
        return
    torch.set_num_threads(1)
    binary = Path(a.binary) if a.binary else build_cli()
    want = [int(s) for s in a.steps.split(",")]
    for run in a.runs:
        rows = score_run(run, Path(a.runs_dir) / run, binary, want, a.schedule_floor, out, a.every,
                         a.limit, a.per_file)
    write_plots(rows, out.parent)
    (out.parent / "summary.md").write_text(summary(rows))


def summary(rows: list[dict], baseline: str = "compare-cdiffuse") -> str:
    """Markdown tables per (schedule, sampler steps): each run's last checkpoint, and the first
    checkpoint at which it reached the baseline run's final SI-SDR / PESQ-WB."""
    out = []
    for sched, k in sorted({(r["schedule"], int(r["sampler_steps"])) for r in rows}):
        sel = [r for r in rows if r["schedule"] == sched and int(r["sampler_steps"]) == k]
        runs = sorted({r["run"] for r in sel}, key=lambda n: (not n.startswith("compare"), n))
        base = [r for r in sel if r["run"] == baseline]
        bfin = max(base, key=lambda r: int(r["step"])) if base else None
        n0 = sel[0]
        out += [f"### {sched} schedule, {k} steps (validation split; noisy: PESQ-WB {float(n0['noisy_pesq_wb']):.3f}, "
                f"STOI {float(n0['noisy_stoi']):.4f}, SI-SDR {float(n0['noisy_si_sdr']):.2f} dB)", "",
                "| run | last step | PESQ-WB | STOI | SI-SDR | best PESQ-WB (step) | first step ≥ "
                f"{baseline}'s final SI-SDR | first step ≥ its final PESQ-WB |", "|---|---|---|---|---|---|---|---|"]
        for run in runs:
            rs = sorted((r for r in sel if r["run"] == run), key=lambda r: int(r["step"]))
            last, best = rs[-1], max(rs, key=lambda r: float(r["pesq_wb"]))

            def first(metric: str) -> str:
                if bfin is None:
                    return "-"
                hit = next((r["step"] for r in rs if float(r[metric]) >= float(bfin[metric])), None)
                return str(hit) if hit else "not reached"
            out.append(f"| {run} | {last['step']} | {float(last['pesq_wb']):.3f} | {float(last['stoi']):.4f} | "
                       f"{float(last['si_sdr']):.2f} | {float(best['pesq_wb']):.3f} ({best['step']}) | "
                       f"{first('si_sdr')} | {first('pesq_wb')} |")
        out.append("")
    return "\n".join(out)


def row_key(r: dict) -> tuple:
    return (r["run"], r["schedule"], int(r["step"]), int(r["sampler_steps"]))


def save_rows(out: Path, rows: list[dict]) -> list[dict]:
    """Merges rows with what the CSV holds now (another evalckpts may have added some) and
    rewrites it through a temporary file. Returns the merged rows."""
    merged: dict[tuple, dict] = {}
    if out.exists():
        with open(out) as f:
            merged = {row_key(r): r for r in csv.DictReader(f)}
    merged.update({row_key(r): r for r in rows})
    rows = sorted(merged.values(), key=row_key)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, out)
    return rows


def schedule_name(floor: float | None) -> str:
    """"cdiffuse": the paper's fast schedules; "uniform": steps evenly spaced over the
    training steps (floor 0); "floorF": evenly spaced from training step F."""
    if floor is None:
        return "cdiffuse"
    return "uniform" if floor == 0 else f"floor{floor:g}"


def write_plots(rows: list[dict], folder: Path) -> None:
    for metric, label in (("pesq_wb", "PESQ-WB"), ("stoi", "STOI")):
        for sched, k in sorted({(r["schedule"], int(r["sampler_steps"])) for r in rows}):
            series: dict[str, tuple[list, list]] = {}
            noisy = []
            for r in rows:
                if int(r["sampler_steps"]) != k or r["schedule"] != sched:
                    continue
                s = series.setdefault(r["run"], ([], []))
                s[0].append(int(r["step"]))
                s[1].append(float(r[metric]))
                noisy.append(float(r[f"noisy_{metric}"]))
            if series:
                plot.plot(str(folder / f"{metric}_{sched}_{k}step.png"), series,
                          f"VALIDATION {label} ({k} STEPS, {sched} SCHEDULE) VS TRAINING STEPS", "STEP", label,
                          hlines={"NOISY": float(np.mean(noisy))})


if __name__ == "__main__":
    main()
