"""The data pack (pack.py), training from it, and scripts/gpu-train.sh dry-run on the CPU: what
a lent GPU machine runs (issue 26)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from models.train import data as D
from models.train import networks as N
from models.train import pack as P

ROOT = Path(__file__).resolve().parents[3]


def _corpus() -> D.Corpus:
    rng = np.random.default_rng(0)
    t = np.arange(3 * D.SR) / D.SR
    speech = [0.3 * np.sin(2 * np.pi * f * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)) for f in (150, 220, 310, 400)]
    noise = [0.1 * rng.standard_normal(3 * D.SR) for _ in range(3)]
    a = {}
    a["speech_train"], a["speech_train_off"] = D._pack(speech)
    a["speech_train_narrow"] = np.array([False, True, False, False])
    a["noise_train"], a["noise_train_off"] = D._pack(noise)
    a["rir"], a["rir_off"] = D._pack([np.exp(-np.arange(800) / 100.0) * rng.standard_normal(800)])
    return D.Corpus(a)


def _run(cmd: list[str], env: dict | None = None) -> str:
    r = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def test_pack_is_a_corpus_subset(tmp_path):
    c = _corpus()
    m = D.Mixer(c, "train", seed=1, recipe="v2")
    clean, noisy = m.batch(3, 4096)
    idx = P.make_pack(c, clean, noisy, tmp_path, speech_minutes=4 / 60, noise_minutes=2 / 60, clip_seconds=1.5,
                      noise_clip_seconds=1.0, valid_clips=2)
    p = D.Corpus.load(tmp_path / "corpus.npz")
    assert 3.5 <= idx["speech_seconds"] <= 4.0 and idx["noise_seconds"] == 2.0 and idx["valid_clips"] == 2
    assert idx["narrowband_speech_files"] == 1  # 20% of the speech: one crop of the one narrowband file
    off = p.a["speech_train_off"]
    assert np.diff(off).max() <= 1.5 * D.SR and len(p.a["speech_train_narrow"]) == len(off) - 1
    assert p.a["speech_train"].dtype == np.int16 and np.array_equal(p.a["rir"], c.a["rir"])
    # every crop is a piece of one source file
    src = c.a["speech_train"]
    for i in range(len(off) - 1):
        crop = p.a["speech_train"][off[i]:off[i + 1]]
        starts = np.flatnonzero(src[:len(src) - len(crop) + 1] == crop[0])
        assert any(np.array_equal(crop, src[s:s + len(crop)]) for s in starts)
    vc, vn = D.load_validation(tmp_path)
    assert vc.dtype == np.float32 and vc.shape == (2, 1, 4096) and np.abs(vn - noisy[:2]).max() < 1e-3
    D.Mixer(p, "train", seed=2, recipe="v2").batch(2, 8000)


def test_train_from_pack_and_gpu_script_dry_run(tmp_path):
    c = _corpus()
    clean, noisy = D.Mixer(c, "train", seed=1, recipe="v2").batch(2, 4096)
    pack = tmp_path / "pack"
    P.make_pack(c, clean, noisy, pack, speech_minutes=0.1, noise_minutes=0.05, clip_seconds=2.5,
                noise_clip_seconds=2.5)
    run = tmp_path / "run"
    _run([sys.executable, "-m", "models.train.train", "--config", "tf-tiny", "--objective", "restoregrad-noposterior",
          "--steps", "2", "--batch", "2", "--seed", "3", "--threads", "1", "--device", "cpu", "--data", str(pack),
          "--keep", "none", "--out", str(run), "--recipe", "v2", "--log-every", "1", "--ckpt-minutes", "1000"])
    ck = N.load_checkpoint(run / "last.pt")
    assert ck["step"] == 2 and ck["meta"]["data_stream"] == "stream"
    # The prepared GPU script, on the CPU: resumes that run on seeded batches from the pack,
    # mixes in a DataLoader worker, and stops on its time limit at the first log step.
    out = tmp_path / "out"
    log = _run(["sh", "scripts/gpu-train.sh", "--log-every", "1", "--steps", "50"],
               {"OUT": str(out), "DEVICE": "cpu", "PY": sys.executable, "PACK": str(pack), "RESUME": str(run / "last.pt"),
                "MINUTES": "0.00001", "WORKERS": "1", "THREADS": "1"})
    assert "resumed" in log and "--max-minutes" in log
    ck = N.load_checkpoint(out / "run" / "last.pt")
    assert ck["step"] == 3 and ck["meta"]["data_stream"] == "seeded"
    assert ck["meta"]["config"] == "tf-tiny" and ck["meta"]["overrides"]["recipe"] == "v2"
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["env.txt", "last.pt", "log.csv", "train.log"]
