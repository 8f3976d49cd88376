"""Validation slices: the conditions users meet, from held-out training sources only (issue 22).

    /usr/bin/python3 -m models.train.experiments.slices write [--out data/slices]
    /usr/bin/python3 -m models.train.experiments.slices score --model BUNDLE [--model ...] [--steps 1]
        [--peer NAME=PATH ...] [--csv models/results/slices.csv] [--label TEXT]
    /usr/bin/python3 -m models.train.experiments.slices ckpts RUN [RUN ...] [--every N] [--steps 1]

Every slice is held-out voices (data.is_validation) in held-out noise recordings
(data.is_noise_validation), 4 s clips, written once as 16 kHz float WAVs under
data/slices/<slice>/{clean,noisy}/ and scored by the Go `restoregrad eval` (PESQ-WB, STOI,
ESTOI, SI-SDR; DNSMOS off). The slices:

    low      128 mixtures at today's SNRs (70% 0-10 dB, 15% -5-0, 15% 10-20), -35..-15 dBFS
    high     64 mixtures at 20-40 dB SNR
    clean    the first 64 clean clips of `low` as input (scored against themselves)
    bl34 / bl70 / bl76   the first 64 of `low` through a low-pass at 3.4 / 7.0 / 7.6 kHz
             (-6 dB point, 400 Hz transition); the reference is the full-band clean clip
    quiet    the first 64 of `low` at -45 dBFS RMS
    cleanq   the clean clips of `clean` at -40 dBFS RMS as input (a quiet microphone in a quiet
             room: the multi-resolution runs of RESULTS 0.8 harmed only this)
    loud     the first 64 of `low` with their peak at -1 dBFS
    dev48 / dev44   the first 64 of `low` as a 48 / 44.1 kHz device delivers them: sox to the
             device rate, `restoregrad enhance` (the project's resampler takes it to 16 kHz
             and back), sox to 16 kHz, then scored: what live, virtual-mic and plugin users hear

`ckpts` exports each saved checkpoint of runs/RUN (every Nth) to a temporary bundle and
appends its slice scores to models/results/slices/RUN.csv; rows already there are kept.
Never reads ../shared/data/vbdemand-dev.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import data as D
from .. import export as E
from .. import networks as N
from .. import paths
from . import evalckpts as EC

SLICES_DIR = paths.ROOT / "data" / "slices"
RESULTS = paths.ROOT / "models" / "results" / "slices"
SEED = D.VALID_SEED + 22
BASE_CLIPS = 128
SLICE_CLIPS = 64
DEVICE_RATES = {"dev48": 48000, "dev44": 44100}
BAND_LIMITS = {"bl34": 3400.0, "bl70": 7000.0, "bl76": 7600.0}
SLICE_NAMES = ["low", "high", "clean", *BAND_LIMITS, "quiet", "loud", "cleanq", *DEVICE_RATES]
FIELDS = ["label", "slice", "system", "steps", "files", "pesq_wb", "stoi", "estoi", "si_sdr",
          "noisy_pesq_wb", "noisy_stoi", "noisy_estoi", "noisy_si_sdr"]
METRICS = ("pesq_wb", "stoi", "estoi", "si_sdr")
SHIP_FLOOR, SHIP_BLEND = 40.0, 0.2  # how models/zoo's time-frequency bundles are exported

# Mixtures without band limits or clean inputs: the slices add each condition on purpose.
PLAIN = D.Recipe(narrow_targets=False, clean_share=0.0, high_snr_share=0.0, band_share=0.0,
                 level_dbfs=(-35.0, -15.0))


def _mixer(seed: int, snr_db: tuple[float, float] | None = None) -> D.Mixer:
    m = D.Mixer(D.Corpus.load(), "valid", seed=seed, snr_db=snr_db, recipe="v2")
    m.recipe = PLAIN
    return m


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True) + 1e-12)


def build() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """slice name -> (clean [k, n], noisy [k, n]) for the 16 kHz slices (device slices reuse
    `low`'s noisy input at score time)."""
    n = int(D.VALID_SECONDS * D.SR)
    x, y = _mixer(SEED).batch(BASE_CLIPS, n)
    low = (x[:, 0], y[:, 0])
    hx, hy = _mixer(SEED + 1, snr_db=(20.0, 40.0)).batch(SLICE_CLIPS, n)
    cx, cy = low[0][:SLICE_CLIPS], low[1][:SLICE_CLIPS]
    out = {"low": low, "high": (hx[:, 0], hy[:, 0]), "clean": (cx, cx.copy())}
    for name, cut in BAND_LIMITS.items():
        h = D.lowpass_fir(cut, 400.0, 80.0)
        out[name] = (cx, np.stack([D.zero_phase(v, h) for v in cy]))
    g = 10 ** (-45 / 20) / _rms(cy)
    out["quiet"] = ((cx * g).astype(np.float32), (cy * g).astype(np.float32))
    g = 10 ** (-1 / 20) / np.abs(cy).max(axis=-1, keepdims=True)
    out["loud"] = ((cx * g).astype(np.float32), (cy * g).astype(np.float32))
    q = (cx * (10 ** (-40 / 20) / _rms(cx))).astype(np.float32)
    out["cleanq"] = (q, q.copy())
    return out


def write(root: Path = SLICES_DIR) -> None:
    sets = build()
    digest = {}
    for name, (clean, noisy) in sets.items():
        for sub, a in (("clean", clean), ("noisy", noisy)):
            d = root / name / sub
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
            for i, v in enumerate(a):
                sf.write(d / f"s{i:03d}.wav", v, D.SR, subtype="FLOAT")
        digest[name] = D.array_digest(clean, noisy)
    for name in DEVICE_RATES:  # scored from `low`'s first clips
        for sub in ("clean", "noisy"):
            d = root / name / sub
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
            for i in range(SLICE_CLIPS):
                shutil.copy(root / "low" / sub / f"s{i:03d}.wav", d / f"s{i:03d}.wav")
    (root / "index.json").write_text(json.dumps({"seed": SEED, "sha1": digest}, indent=1))
    print(f"slices: wrote {', '.join(f'{k} ({len(v[0])})' for k, v in sets.items())} under {root}")


def ensure_written(root: Path = SLICES_DIR) -> None:
    if not (root / "index.json").exists():
        write(root)


def _sox(src: Path, dst: Path, rate: int) -> None:
    subprocess.run(["sox", "-q", str(src), "-r", str(rate), "-e", "floating-point", "-b", "32", str(dst)],
                   check=True)


def _go_eval(binary: Path, clean: Path, noisy: Path, args: list[str]) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        js = Path(tmp) / "eval.json"
        subprocess.run([str(binary), "eval", "--clean", str(clean), "--noisy", str(noisy), "--dnsmos", "off",
                        "--jobs", "1", "--threads", "1", "--json", str(js), *args],
                       check=True, stdout=subprocess.DEVNULL)
        return json.loads(js.read_text())["systems"]


def _device_outputs(binary: Path, model: str, steps: int, noisy: Path, rate: int, tmp: Path) -> Path:
    """`model`'s outputs for the 16 kHz files in `noisy` as a `rate` device hears them, back at
    16 kHz for scoring."""
    up, enh, back = tmp / "up", tmp / "enh", tmp / "back"
    for d in (up, enh, back):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    for f in sorted(noisy.glob("*.wav")):
        _sox(f, up / f.name, rate)
    subprocess.run([str(binary), "enhance", "--quiet", "--model", model, "--steps", str(steps), "--jobs", "1",
                    "-o", str(enh), *sorted(str(p) for p in up.glob("*.wav"))],
                   check=True, stdout=subprocess.DEVNULL)
    for f in sorted(enh.glob("*.wav")):
        _sox(f, back / f.name, D.SR)
    return back


def _row(label: str, slice_name: str, system: dict, noisy: dict) -> dict:
    row = {"label": label, "slice": slice_name, "system": system["name"], "steps": system.get("steps", 0),
           "files": system["files"]}
    for m in METRICS:
        row[m] = system.get(m)
        row[f"noisy_{m}"] = noisy.get(m)
    return row


def score(binary: Path, models: list[str], steps: int, peers: list[str], label: str,
          slices: list[str] | None = None) -> list[dict]:
    """Rows of (slice, system) scores for each model (and peer, at 16 kHz) on every slice."""
    ensure_written()
    rows = []
    for name in slices or SLICE_NAMES:
        clean, noisy = SLICES_DIR / name / "clean", SLICES_DIR / name / "noisy"
        if name in DEVICE_RATES:
            with tempfile.TemporaryDirectory() as tmp:
                ready = []
                for i, m in enumerate(models):
                    d = _device_outputs(binary, m, steps, noisy, DEVICE_RATES[name], Path(tmp) / str(i))
                    dst = Path(tmp) / f"out{i}"
                    d.rename(dst)
                    ready += ["--enhanced", f"{Path(m).name}={dst}"]
                systems = _go_eval(binary, clean, noisy, ready)
        else:
            args = [a for m in models for a in ("--model", m)] + ["--steps", str(steps)]
            args += [a for p in peers for a in ("--peer", p)]
            systems = _go_eval(binary, clean, noisy, args)
        base = next(s for s in systems if s["name"] == "noisy")
        for s in systems:
            if s["name"] != "noisy":
                rows.append(_row(label, name, s, base))
        print(f"slices: {name}: " + "; ".join(
            f"{s['name']} {s['pesq_wb']:.3f}/{s['estoi']:.3f}/{s['si_sdr']:.2f}" for s in systems), flush=True)
    return rows


def append_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})


def summary(rows: list[dict]) -> dict[str, float]:
    """Means over slices of each metric's gain over the slice's input: the figure that picks
    checkpoints (PESQ-WB and ESTOI gains count equally, via pick_score)."""
    out = {}
    for m in METRICS:
        gains = [float(r[m]) - float(r[f"noisy_{m}"]) for r in rows]
        out[f"{m}_gain"] = float(np.mean(gains)) if gains else float("nan")
    out["worst_estoi_gain"] = min((float(r["estoi"]) - float(r["noisy_estoi"]) for r in rows), default=float("nan"))
    return out


def pick_score(s: dict[str, float]) -> float:
    """PESQ-WB gain plus ESTOI gain scaled to PESQ's range (x10)."""
    return s["pesq_wb_gain"] + 10 * s["estoi_gain"]


def cli(path: str | None) -> Path:
    """The restoregrad binary that scores: --binary when given (e.g. one built from a clean
    checkout while the tree is being edited), else bin/restoregrad rebuilt from this tree."""
    if path:
        return Path(path).resolve()
    return EC.build_cli()


def score_checkpoints(runs: list[str], every: int, steps: int, binary: Path) -> None:
    for run in runs:
        out = RESULTS / f"{run}.csv"
        done = set()
        if out.exists():
            with open(out) as f:
                done = {r["label"] for r in csv.DictReader(f)}
        ckpts = sorted((paths.ROOT / "runs" / run).glob("step*.pt"))[::-1][::every][::-1]
        for ck in ckpts:
            label = f"{run}@{ck.stem}"
            if label in done:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                bundle = Path(tmp) / run
                nets, meta = N.load_networks(ck)
                # Exported as the shipped bundles are: schedule floor 40, final blend 0.2.
                E.export_stft(nets, bundle, run, meta, True, final_blend=SHIP_BLEND, default_steps=steps,
                              schedule_floor=SHIP_FLOOR)
                rows = score(binary, [str(bundle)], steps, [], label)
            append_csv(out, rows)
            s = summary(rows)
            print(f"slices: {label}: pick score {pick_score(s):.3f} " + json.dumps({k: round(v, 4) for k, v in s.items()}),
                  flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.experiments.slices")
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write", help="write the slices as WAVs (data/slices)")
    w.add_argument("--out", default=str(SLICES_DIR))
    s = sub.add_parser("score", help="score bundles (and peers) on every slice")
    s.add_argument("--model", action="append", required=True, help="bundle name or folder (repeatable)")
    s.add_argument("--peer", action="append", default=[], help="NAME=PATH, as restoregrad eval takes it")
    s.add_argument("--steps", type=int, default=1)
    s.add_argument("--slice", action="append", choices=SLICE_NAMES, help="only these slices (repeatable)")
    s.add_argument("--label", default="")
    s.add_argument("--csv", help="append the rows to this CSV")
    c = sub.add_parser("ckpts", help="score every saved checkpoint of runs/RUN on the slices")
    c.add_argument("runs", nargs="+")
    c.add_argument("--every", type=int, default=1, help="every Nth checkpoint, counted from the last")
    c.add_argument("--steps", type=int, default=1)
    for p in (s, c):
        p.add_argument("--binary", help="restoregrad binary to score with (default: bin/restoregrad, rebuilt)")
    a = ap.parse_args(argv)
    if a.cmd == "write":
        write(Path(a.out))
    elif a.cmd == "score":
        rows = score(cli(a.binary), a.model, a.steps, a.peer, a.label, a.slice)
        if a.csv:
            append_csv(Path(a.csv), rows)
    else:
        score_checkpoints(a.runs, a.every, a.steps, cli(a.binary))


if __name__ == "__main__":
    main()
