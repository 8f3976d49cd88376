"""How the offline chunker's chunk length and margin change a bundle's output on long
recordings: held-out speech (the validation part of the training sources) in one continuous
held-out noise, SNR 5 dB, enhanced with `restoregrad enhance --chunk` while the bundle's
context (which sets the margin) is varied in a temporary copy.

    /usr/bin/python3 -m models.train.experiments.chunking --bundle models/zoo/restoregrad-offline \\
        --setting 48000:8 --setting 8000:2 --setting 48000:400

Each setting is CONTEXT_SAMPLES:CHUNK_SECONDS (a chunk longer than the file = the whole file
at once). Prints the mean SI-SDR over 4 s pieces of each recording against the clean speech,
and with --pesq also PESQ-WB and ESTOI of those pieces (scored by `restoregrad eval`).
Never reads ../shared/data/vbdemand-dev.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import data as D
from .. import inference as I
from .evalckpts import build_cli

PIECE = 4 * D.SR


def long_recordings(count: int, seconds: float, snr_db: float, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(clean, noisy): validation utterances at one level with 0.3 s pauses, plus one of the
    longest validation noises, looped, at snr_db."""
    c = D.Corpus.load()
    rng = np.random.default_rng(seed)
    n = int(seconds * D.SR)
    lengths = [len(c.get("noise", "valid", i)) for i in range(c.files("noise", "valid"))]
    longest = np.argsort(lengths)[::-1]
    out = []
    for r in range(count):
        parts, total = [], 0
        while total < n:
            s = c.get("speech", "valid", int(rng.integers(c.files("speech", "valid"))))
            s = s / (D._rms(s) + 1e-9) * 0.05
            parts += [s, np.zeros(int(0.3 * D.SR), np.float32)]
            total += len(s) + int(0.3 * D.SR)
        clean = np.concatenate(parts)[:n]
        noise = c.get("noise", "valid", int(longest[r * 3]))
        noise = np.tile(noise, n // len(noise) + 1)[:n]
        noise = noise / (D._rms(noise) + 1e-9) * D._rms(clean) / 10 ** (snr_db / 20)
        out.append((clean.astype(np.float32), (clean + noise).astype(np.float32)))
    return out


def piecewise_si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    """Mean SI-SDR of the whole PIECE-long pieces (inference.si_sdr on each row)."""
    n = len(ref) // PIECE * PIECE
    return float(I.si_sdr(est[:n].reshape(-1, PIECE).astype(np.float64),
                          ref[:n].reshape(-1, PIECE).astype(np.float64)).mean())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.experiments.chunking")
    ap.add_argument("--bundle", required=True, help="offline bundle folder")
    ap.add_argument("--setting", action="append", required=True, help="CONTEXT_SAMPLES:CHUNK_SECONDS")
    ap.add_argument("--recordings", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=80)
    ap.add_argument("--snr", type=float, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pesq", action="store_true", help="also score the 4 s pieces with restoregrad eval")
    a = ap.parse_args(argv)
    binary = build_cli()
    recs = long_recordings(a.recordings, a.seconds, a.snr, a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        for r, (clean, noisy) in enumerate(recs):
            sf.write(tmp_dir / f"noisy{r}.wav", noisy, D.SR, subtype="FLOAT")
            write_pieces(tmp_dir / "pieces-clean", r, clean)
            write_pieces(tmp_dir / "pieces-noisy", r, noisy)
        enhanced = []
        print("noisy", " ".join(f"{piecewise_si_sdr(y, x):.2f}" for x, y in recs))
        for setting in a.setting:
            context, chunk = setting.split(":")
            bundle = tmp_dir / f"bundle-{context}"
            if not bundle.exists():
                shutil.copytree(a.bundle, bundle)
                man = json.loads((bundle / "manifest.json").read_text())
                man["context"] = int(context)
                (bundle / "manifest.json").write_text(json.dumps(man))
            scores = []
            for r, (clean, _) in enumerate(recs):
                out = tmp_dir / f"out{r}.wav"
                subprocess.run([str(binary), "enhance", str(tmp_dir / f"noisy{r}.wav"), "-o", str(out),
                                "--model", str(bundle), "--chunk", chunk, "--quiet"], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                est = sf.read(out, dtype="float32")[0]
                scores.append(piecewise_si_sdr(est, clean))
                write_pieces(tmp_dir / f"pieces-{context}-{chunk}", r, est)
                out.unlink()
            enhanced += ["--enhanced", f"{context}:{chunk}={tmp_dir / f'pieces-{context}-{chunk}'}"]
            print(f"context {context} chunk {chunk} s: SI-SDR " + " ".join(f"{s:.2f}" for s in scores)
                  + f" mean {np.mean(scores):.2f} dB", flush=True)
        if a.pesq:
            res = subprocess.run([str(binary), "eval", "--clean", str(tmp_dir / "pieces-clean"), "--noisy",
                                  str(tmp_dir / "pieces-noisy"), "--dnsmos", "off", *enhanced],
                                 check=True, capture_output=True, text=True)
            print(res.stdout)


def write_pieces(folder: Path, rec: int, x: np.ndarray) -> None:
    """The 4 s pieces of one recording as WAVs, named alike across folders (eval pairs by name)."""
    folder.mkdir(exist_ok=True)
    for i in range(0, len(x) - PIECE + 1, PIECE):
        sf.write(folder / f"r{rec}-{i // PIECE:03d}.wav", x[i:i + PIECE], D.SR, subtype="FLOAT")


if __name__ == "__main__":
    main()
