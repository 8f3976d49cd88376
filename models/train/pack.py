"""A data pack: a compact subset of the prepared training data that travels with the tree to a
machine without ../shared/data (a lent GPU machine takes the tree plus at most 64 MiB).

    /usr/bin/python3 -m models.train.pack [--out pack] [--speech-minutes 9] [--noise-minutes 4]
    /usr/bin/python3 -m models.train.train --data pack ...          # trains from it

The pack is a folder in the layout `train.py --data` reads: corpus.npz (int16 speech and noise
with offsets, as data/corpus.npz, compressed) and valid.npz (the first validation clips,
float16). It holds crops of randomly chosen training files (--clip-seconds each, seeded, so
many voices and noise recordings rather than a few long ones; 20% of the speech from the
narrowband prompts), the narrowband flags that the recipes read, and every measured room
impulse response. Defaults: 9 min of speech, 4 min of
noise and 16 validation clips, about 21 MB. Needs numpy and scipy, like training from it.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from . import data as D


def crops(corpus: D.Corpus, kind: str, minutes: float, clip_seconds: float,
          rng: np.random.Generator, files_from: np.ndarray | None = None) -> tuple[list[np.ndarray], list[int]]:
    """Crops of at most clip_seconds from files of `kind` (those of files_from, else all) in a
    random order, until `minutes` are gathered; returns the int16 crops and their files."""
    off = corpus.a[f"{kind}_train_off"]
    audio = corpus.a[f"{kind}_train"]
    budget, clip = int(minutes * 60 * D.SR), int(clip_seconds * D.SR)
    out, files, total = [], [], 0
    for i in rng.permutation(np.arange(len(off) - 1) if files_from is None else files_from):
        n = int(off[i + 1] - off[i])
        take = min(n, clip, budget - total)
        if take < D.SR // 2:
            if total >= budget - D.SR // 2:
                break
            continue
        start = int(off[i]) + int(rng.integers(0, n - take + 1))
        out.append(audio[start:start + take])
        files.append(int(i))
        total += take
    return out, files


def packed(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """int16 crops -> one array and file offsets (data._pack without a float round trip)."""
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    return (np.concatenate(arrays) if arrays else np.zeros(0, np.int16)), np.concatenate([[0], np.cumsum(lengths)])


def make_pack(corpus: D.Corpus, clean: np.ndarray, noisy: np.ndarray, out: Path, speech_minutes: float = 9.0,
              noise_minutes: float = 4.0, clip_seconds: float = 6.0, noise_clip_seconds: float = 4.0,
              valid_clips: int = 16, seed: int = 1, narrow_share: float = 0.2) -> dict:
    """Writes out/corpus.npz, out/valid.npz and out/index.json; returns the index. Of the
    speech, narrow_share comes from narrowband files (babble voices only under recipe v2),
    the rest from wideband ones (the targets); the narrowband prompts are many short files,
    so a draw over all files would make them most of the pack."""
    rng = np.random.default_rng(seed)
    narrow = corpus.a.get("speech_train_narrow")
    if narrow is not None and len(narrow) == corpus.files("speech", "train") and narrow.any() and not narrow.all():
        wide, nb = crops(corpus, "speech", speech_minutes * (1 - narrow_share), clip_seconds, rng, np.flatnonzero(~narrow))
        nar, nb2 = crops(corpus, "speech", speech_minutes * narrow_share, clip_seconds, rng, np.flatnonzero(narrow))
        speech, speech_files = wide + nar, nb + nb2
    else:
        speech, speech_files = crops(corpus, "speech", speech_minutes, clip_seconds, rng)
    noise, noise_files = crops(corpus, "noise", noise_minutes, noise_clip_seconds, rng)
    if not speech:
        raise SystemExit("pack: the corpus has no training speech")
    a: dict[str, np.ndarray] = {}
    a["speech_train"], a["speech_train_off"] = packed(speech)
    narrow = corpus.a.get("speech_train_narrow")
    if narrow is not None and len(narrow) == corpus.files("speech", "train"):
        a["speech_train_narrow"] = narrow[speech_files]
    a["noise_train"], a["noise_train_off"] = packed(noise)
    if "rir" in corpus.a:
        a["rir"], a["rir_off"] = corpus.a["rir"], corpus.a["rir_off"]
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "corpus.npz", **a)
    k = min(valid_clips, len(clean))
    np.savez_compressed(out / "valid.npz", clean=clean[:k].astype(np.float16), noisy=noisy[:k].astype(np.float16))
    index = {
        "seed": seed,
        "speech_files": len(speech), "speech_seconds": round(len(a["speech_train"]) / D.SR, 1),
        "narrowband_speech_files": int(a["speech_train_narrow"].sum()) if "speech_train_narrow" in a else None,
        "noise_files": len(noise), "noise_seconds": round(len(a["noise_train"]) / D.SR, 1),
        "rirs": len(a["rir_off"]) - 1 if "rir" in a else 0,
        "valid_clips": k, "valid_dtype": "float16",
        "bytes": sum(p.stat().st_size for p in (out / "corpus.npz", out / "valid.npz")),
    }
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return index


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.pack", description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(D.DATA), help="folder of corpus.npz and valid.npz (make data)")
    ap.add_argument("--out", default=str(D.ROOT / "pack"), help="the pack folder (git-ignored at the root)")
    ap.add_argument("--speech-minutes", type=float, default=9.0)
    ap.add_argument("--noise-minutes", type=float, default=4.0)
    ap.add_argument("--clip-seconds", type=float, default=6.0, help="longest speech crop per file")
    ap.add_argument("--noise-clip-seconds", type=float, default=4.0,
                    help="longest noise crop per recording (keep it above the training crop, 2 s)")
    ap.add_argument("--valid-clips", type=int, default=16)
    ap.add_argument("--narrow-share", type=float, default=0.2, help="share of the speech from narrowband files")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    data = Path(a.data)
    corpus = D.Corpus.load(data / "corpus.npz")
    clean, noisy = D.load_validation(data)
    index = make_pack(corpus, clean, noisy, Path(a.out), a.speech_minutes, a.noise_minutes, a.clip_seconds,
                      a.noise_clip_seconds, a.valid_clips, a.seed, a.narrow_share)
    print(f"pack: wrote {a.out} ({index['bytes'] / 1e6:.1f} MB): " + json.dumps(index))


if __name__ == "__main__":
    main()
