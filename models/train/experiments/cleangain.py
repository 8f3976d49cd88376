"""Do no harm at every level: a clean recording at several gains through bundles.

    /usr/bin/python3 -m models.train.experiments.cleangain --model BUNDLE [--model ...]
        [--input testdata/sample-clean.wav] [--reference testdata/sample-clean.wav]
        [--gains 1,0.3,0.1,0.05,0.02] [--binary bin/restoregrad]

Scales --input by each gain (`sox -D ... vol`, no dither), runs `restoregrad enhance` with each
bundle at its default steps, and prints per gain the output's SNR in dB against the scaled input
as the model got it (no alignment: `enhance` keeps the timing), the figure TestStreamingModelThroughDevicePath bounds
for the clean sample at gain 0.05. With --input testdata/sample-noisy.wav it prints SI-SDR
against the clean sample instead (--reference), to tell a level-dependent model from one that
only changes clean input. RESULTS 0.8 found the multi-resolution runs through this.
"""
from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import inference as I
from .. import paths


def score(out: np.ndarray, fed: np.ndarray, ref: np.ndarray, same: bool) -> float:
    """SNR of out against what the model was fed (same: --input is --reference), else SI-SDR
    against the reference; outputs are cut to the common length."""
    target = fed if same else ref
    n = min(len(out), len(target))
    return float((I.snr_db if same else I.si_sdr)(out[:n], target[:n]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.experiments.cleangain")
    ap.add_argument("--model", action="append", required=True, help="bundle name or folder (repeatable)")
    ap.add_argument("--input", default=str(paths.ROOT / "testdata" / "sample-clean.wav"))
    ap.add_argument("--reference", default=str(paths.ROOT / "testdata" / "sample-clean.wav"))
    ap.add_argument("--gains", default="1,0.3,0.1,0.05,0.02")
    ap.add_argument("--binary", default=str(paths.ROOT / "bin" / "restoregrad"))
    a = ap.parse_args(argv)
    gains = [float(g) for g in a.gains.split(",")]
    ref, _ = sf.read(a.reference)
    same = Path(a.input).resolve() == Path(a.reference).resolve()
    metric = "SNR from the input" if same else "SI-SDR against the reference"
    print(f"cleangain: {Path(a.input).name}, {metric} (dB) at gains {a.gains}")
    with tempfile.TemporaryDirectory() as tmp:
        for model in a.model:
            row = []
            for g in gains:
                src, dst = Path(tmp) / f"in{g}.wav", Path(tmp) / "out.wav"
                subprocess.run(["sox", "-D", a.input, str(src), "vol", str(g)], check=True)  # -D: no random dither
                run = subprocess.run([a.binary, "enhance", "--quiet", "--model", model, str(src), "-o", str(dst)],
                                     capture_output=True, text=True)
                if run.returncode != 0:
                    raise SystemExit(f"cleangain: enhance {model}: {run.stderr.strip()}")
                out, _ = sf.read(dst)
                fed, _ = sf.read(src)  # as sox wrote it (16-bit): what the model heard
                row.append(score(out, fed, ref, same))
            print(f"{Path(model).name}: " + " ".join(f"{g:g}:{v:.1f}" for g, v in zip(gains, row)), flush=True)


if __name__ == "__main__":
    main()
