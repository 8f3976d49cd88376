"""Training data: `prepare` decodes and indexes the speech/noise sources under data/, and
`Mixer` makes (clean, noisy) pairs on the fly, deterministically from a seed.

    /usr/bin/python3 -m models.train.data prepare [--noise DIR] [--vb DIR]
    /usr/bin/python3 -m models.train.data valid-gap [--out data/valid-gap-wav]

Sources: Debian's asterisk-core-sounds-{en,es,fr,it,ru}-g722 (decoded with ffmpeg),
../shared/data/speech-extra, ../shared/data/noise, asterisk-moh-opsound-g722 (music as noise),
synthetic white/pink/brown noise and hum, babble from other speakers, an optional user noise
folder and an optional VoiceBank+DEMAND-layout folder. ../shared/data/vbdemand-dev is never read.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve, firwin, kaiserord, lfilter, resample_poly

from . import paths

try:  # decoding sources (prepare) and writing WAVs; mixing from corpus.npz needs numpy and scipy alone
    import soundfile as sf
except ImportError:  # e.g. a GPU machine with PyTorch alone, training from a pack (pack.py)
    sf = None

SR = 16000
ROOT = paths.ROOT
DATA = ROOT / "data"
SHARED = ROOT.parent / "shared" / "data"
ASTERISK_PACKAGES = [f"asterisk-core-sounds-{l}-g722" for l in ("en", "es", "fr", "it", "ru")] + [
    "asterisk-moh-opsound-g722"]
VALID_FRACTION = 0.05   # of speech files (by a hash of the file name or speaker)
NOISE_VALID_FRACTION = 0.15  # of noise recordings, whole (by a hash of the file name)
VALID_CLIPS = 64
VALID_SECONDS = 4.0
VALID_SEED = 1234


def is_validation(name: str) -> bool:
    """Deterministic split: ~5% of speech files (or speakers, see split_key) are held out."""
    h = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    return (h % 10000) < VALID_FRACTION * 10000


def is_noise_validation(name: str) -> bool:
    """Deterministic split of noise recordings: ~15% are held out whole."""
    h = int(hashlib.sha1(("noise/" + name).encode()).hexdigest()[:8], 16)
    return (h % 10000) < NOISE_VALID_FRACTION * 10000


def is_narrowband_source(path: Path) -> bool:
    """The asterisk prompts are G.722 recordings cut at about 7 kHz: fine as babble, never a
    target (a target without a top band teaches the model to remove it)."""
    return "asterisk" in path.parts


def split_key(path: Path) -> str:
    """What the split hashes: the speaker folder for LibriSpeech (so held-out voices are new
    voices), the file name everywhere else."""
    if "librispeech" in str(path):
        return "librispeech/" + path.parent.name
    return path.name


# ---------------------------------------------------------------- prepare

def _dpkg_files(pkg: str) -> list[str]:
    try:
        out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return []
    return [l for l in out.splitlines() if l.endswith(".g722")]


def ensure_packages() -> None:
    missing = [p for p in ASTERISK_PACKAGES if not _dpkg_files(p)]
    if not missing:
        return
    if os.geteuid() != 0:
        print(f"data: missing Debian packages {' '.join(missing)}; run as root or "
              f"`sudo apt-get install -y {' '.join(missing)}`", file=sys.stderr)
        return
    print(f"data: apt-get install -y {' '.join(missing)}")
    subprocess.run(["apt-get", "install", "-y", "-q", *missing], check=False,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def _decode_batch(jobs: list[tuple[str, Path]]) -> None:
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
    for src, _ in jobs:
        cmd += ["-f", "g722", "-i", src]
    for i, (_, dst) in enumerate(jobs):
        dst.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["-map", f"{i}:a", "-ar", str(SR), "-ac", "1", "-c:a", "pcm_s16le", str(dst)]
    subprocess.run(cmd, check=True)


def decode_asterisk() -> tuple[list[Path], list[Path]]:
    """Decodes every G.722 prompt and MOH track to data/asterisk/...; returns (speech, music)."""
    speech, music, jobs = [], [], []
    for pkg in ASTERISK_PACKAGES:
        for src in _dpkg_files(pkg):
            rel = Path(src).relative_to("/usr/share/asterisk")
            dst = DATA / "asterisk" / rel.with_suffix(".wav")
            (music if "moh" in pkg else speech).append(dst)
            if not dst.exists():
                jobs.append((src, dst))
    if jobs:
        print(f"data: decoding {len(jobs)} G.722 files with ffmpeg")
        batches = [jobs[i:i + 48] for i in range(0, len(jobs), 48)]
        with ThreadPoolExecutor(2) as ex:
            list(ex.map(_decode_batch, batches))
    return sorted(speech), sorted(music)


def need_soundfile() -> None:
    if sf is None:
        raise SystemExit("data: reading or writing audio files needs python3-soundfile")


def read_wav(path: Path | str) -> np.ndarray:
    need_soundfile()
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        g = gcd(sr, SR)
        x = resample_poly(x, SR // g, sr // g).astype(np.float32)
    return x


def _wavs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".wav", ".flac"))


def _pack(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    audio = np.concatenate(arrays) if arrays else np.zeros(0, np.float32)
    return (np.clip(audio, -1, 1) * 32767).astype(np.int16), offsets


def prepare(noise_dir: str | None, vb_dir: str | None) -> None:
    DATA.mkdir(exist_ok=True)
    ensure_packages()
    speech_files, music_files = decode_asterisk()
    extra = SHARED / "speech-extra"
    if extra.is_dir():
        speech_files += _wavs(extra)
    else:
        print(f"data: {extra} absent, skipped")
    train_dir = SHARED / "train"
    if train_dir.is_dir():
        # VoiceBank's noisy/ versions are not clean speech: never a speech source.
        speech_files += [p for p in _wavs(train_dir / "speech") if "noisy" not in p.parts]
    else:
        print(f"data: {train_dir} absent: training on the asterisk prompts only")
    noise_files = _wavs(SHARED / "noise") if (SHARED / "noise").is_dir() else []
    if (train_dir / "noise").is_dir():
        noise_files += _wavs(train_dir / "noise")
    rirs = [read_wav(p) for p in _wavs(train_dir / "rir")] if (train_dir / "rir").is_dir() else []
    if noise_dir:
        noise_files += _wavs(Path(noise_dir))
    noise_files += music_files

    split: dict[str, list[np.ndarray]] = {"train": [], "valid": []}
    names: dict[str, list[str]] = {"train": [], "valid": []}
    narrow: dict[str, list[bool]] = {"train": [], "valid": []}
    for f in speech_files:
        x = read_wav(f)
        if len(x) < SR // 2:
            continue
        part = "valid" if is_validation(split_key(f)) else "train"
        split[part].append(x)
        narrow[part].append(is_narrowband_source(f))
        names[part].append(str(f.relative_to(ROOT.parent)) if ROOT.parent in f.parents else str(f))
    noise: dict[str, list[np.ndarray]] = {"train": [], "valid": []}
    noise_names: dict[str, list[str]] = {"train": [], "valid": []}
    for f in noise_files:
        x = read_wav(f)
        # Whole recordings are held out, so validation noise is noise the model never heard.
        part = "valid" if is_noise_validation(f.name) else "train"
        noise[part].append(x)
        noise_names[part].append(f.name)
    packed = {}
    for part in ("train", "valid"):
        packed[f"speech_{part}"], packed[f"speech_{part}_off"] = _pack(split[part])
        packed[f"speech_{part}_narrow"] = np.array(narrow[part], dtype=bool)
        packed[f"noise_{part}"], packed[f"noise_{part}_off"] = _pack(noise[part])
    if rirs:
        packed["rir"], packed["rir_off"] = _pack([r / (np.abs(r).max() + 1e-9) for r in rirs])
    if vb_dir:
        vb = Path(vb_dir)
        clean, noisy = vb / "clean_trainset_wav", vb / "noisy_trainset_wav"
        if not (clean.is_dir() and noisy.is_dir()):
            raise SystemExit(f"data: {vb} lacks clean_trainset_wav/ and noisy_trainset_wav/")
        if "vbdemand-dev" in str(vb.resolve()):
            raise SystemExit("data: ../shared/data/vbdemand-dev is evaluation data, never training data")
        pairs = {"train": ([], []), "valid": ([], [])}
        for c in _wavs(clean):
            n = noisy / c.name
            if n.exists():
                part = "valid" if is_validation(c.name) else "train"
                cx, nx = read_wav(c), read_wav(n)
                k = min(len(cx), len(nx))
                pairs[part][0].append(cx[:k])
                pairs[part][1].append(nx[:k])
        for part, (cs, ns) in pairs.items():
            packed[f"vbclean_{part}"], packed[f"vb_{part}_off"] = _pack(cs)
            packed[f"vbnoisy_{part}"], _ = _pack(ns)
    np.savez(DATA / "corpus.npz", **packed)
    corpus = Corpus.load()
    # The training loop's validation: held-out voices in held-out noise, mixed by the current
    # recipe (clean, high-SNR and band-limited inputs included); models.train.experiments.slices writes
    # the per-condition slices that pick checkpoints.
    val = Mixer(corpus, "valid", seed=VALID_SEED, recipe="v2").validation_set(VALID_CLIPS, int(VALID_SECONDS * SR))
    np.savez(DATA / "valid.npz", **val)
    info = {
        "speech_files": {p: len(v) for p, v in names.items()},
        "speech_seconds": {p: round(sum(len(a) for a in v) / SR, 1) for p, v in split.items()},
        "noise_files": len(noise_files), "rirs": len(rirs),
        "noise_seconds": {p: round(sum(len(a) for a in v) / SR, 1) for p, v in noise.items()},
        "noise_valid_names": noise_names["valid"],
        "narrowband_speech_files": {p: int(sum(v)) for p, v in narrow.items()},
        "vb_pairs": vb_dir is not None,
        "valid_clips": VALID_CLIPS, "valid_seconds": VALID_SECONDS, "valid_seed": VALID_SEED,
        "valid_sha1": array_digest(val["clean"], val["noisy"]),
        "valid_names": names["valid"],
    }
    (DATA / "index.json").write_text(json.dumps(info, indent=1))
    print("data:", json.dumps({k: v for k, v in info.items() if k != "valid_names"}))


# ---------------------------------------------------------------- mixing

class Corpus:
    """Packed int16 audio (one array per part) with file offsets."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.a = arrays

    @classmethod
    def load(cls, path: Path | None = None) -> "Corpus":
        path = path or DATA / "corpus.npz"
        if not path.exists():
            raise SystemExit(f"{path} missing: run `make data` first")
        with np.load(path) as z:
            return cls({k: z[k] for k in z.files})

    def files(self, kind: str, part: str) -> int:
        key = f"{kind}_{part}_off"
        return len(self.a[key]) - 1 if key in self.a else 0

    def get(self, kind: str, part: str, i: int, key: str | None = None) -> np.ndarray:
        off = self.a[f"{kind}_{part}_off"]
        return self.a[key or f"{kind}_{part}"][off[i]:off[i + 1]].astype(np.float32) / 32767.0


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2) + 1e-12))


def _crop(rng: np.random.Generator, x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        s = rng.integers(0, len(x) - n + 1)
        return x[s:s + n].copy()
    out = np.zeros(n, np.float32)
    s = rng.integers(0, n - len(x) + 1)
    out[s:s + len(x)] = x
    return out


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """1/f^exponent noise (0 white, 1 pink, 2 brown) shaped in the frequency domain."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    f[0] = f[1]
    x = np.fft.irfft(spec / f ** (exponent / 2), n)
    return (x / (_rms(x) + 1e-9)).astype(np.float32)


def hum(rng: np.random.Generator, n: int) -> np.ndarray:
    f0 = rng.choice([50.0, 60.0]) * rng.uniform(0.99, 1.01)
    t = np.arange(n) / SR
    x = sum(rng.uniform(0.1, 1) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) for k in range(1, 8))
    x = x + 0.05 * rng.standard_normal(n)
    return (x / _rms(x)).astype(np.float32)


def _shaped(rng: np.random.Generator, n: int, gain_db: np.ndarray) -> np.ndarray:
    """Stationary noise whose spectrum follows gain_db (sampled on rfftfreq(n))."""
    spec = np.fft.rfft(rng.standard_normal(n)) * 10 ** (gain_db / 20)
    x = np.fft.irfft(spec, n)
    return (x / (_rms(x) + 1e-9)).astype(np.float32)


def _slow_wobble(rng: np.random.Generator, n: int, depth: float) -> np.ndarray:
    """A slow random amplitude envelope (0.05-1 Hz), 1 +- depth."""
    k = max(2, int(n / SR * rng.uniform(0.1, 2.0)) + 2)
    knots = 1 + depth * rng.uniform(-1, 1, k)
    return np.interp(np.arange(n), np.linspace(0, n - 1, k), knots).astype(np.float32)


def vehicle_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Car/bus interior: low-frequency rumble rolling off above 100-400 Hz, engine harmonics
    of a 20-60 Hz firing rate, a little broadband tyre/road noise, slow swell."""
    f = np.fft.rfftfreq(n, 1 / SR)
    fc = rng.uniform(100, 400)
    slope = rng.uniform(8, 16)  # dB per octave above fc
    gain = -slope * np.log2(np.maximum(f, fc) / fc)
    x = _shaped(rng, n, gain) + rng.uniform(0.02, 0.1) * _shaped(rng, n, -3 * np.log2(np.maximum(f, 500) / 500))
    f0 = rng.uniform(20, 60)
    t = np.arange(n) / SR
    drift = 1 + 0.03 * np.cumsum(rng.standard_normal(n)) / np.sqrt(n)
    for k in range(1, 7):
        x = x + rng.uniform(0.05, 0.4) / k * np.sin(2 * np.pi * f0 * k * t * drift + rng.uniform(0, 6.3))
    return (x * _slow_wobble(rng, n, 0.3)).astype(np.float32)


def fan_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fan / air conditioning / computer: stationary broadband noise with a random smooth
    spectral envelope (+-12 dB over log frequency) and sometimes a blade-pass tone."""
    f = np.fft.rfftfreq(n, 1 / SR)
    knots_f = np.geomspace(50, SR / 2, 8)
    knots_db = np.cumsum(rng.uniform(-6, 4, 8))
    gain = np.interp(np.log(np.maximum(f, 50)), np.log(knots_f), knots_db - knots_db.max())
    x = _shaped(rng, n, gain)
    if rng.uniform() < 0.5:
        t = np.arange(n) / SR
        bp = rng.uniform(80, 600)
        x = x + rng.uniform(0.1, 0.5) * np.sin(2 * np.pi * bp * t) + rng.uniform(0, 0.2) * np.sin(4 * np.pi * bp * t)
    return (x * _slow_wobble(rng, n, 0.05)).astype(np.float32)


def clatter(rng: np.random.Generator, n: int) -> np.ndarray:
    """Cafe/kitchen transients: sparse decaying bursts with 1-6 kHz resonances (cutlery, cups)."""
    x = np.zeros(n, np.float32)
    for _ in range(int(rng.poisson(n / SR * rng.uniform(1, 6)))):
        m = int(rng.uniform(0.01, 0.12) * SR)
        s = int(rng.integers(0, max(1, n - m)))
        fr = rng.uniform(1000, 6000)
        r = 0.995
        burst = lfilter([1], [1, -2 * r * np.cos(2 * np.pi * fr / SR), r * r], rng.standard_normal(m))
        burst = burst * np.exp(-np.arange(m) / (m / 4)) * rng.uniform(0.2, 1)
        x[s:s + m] += (burst / (np.abs(burst).max() + 1e-9)).astype(np.float32)[: n - s]
    return x


def tilt(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Random spectral tilt: blend with a first-difference (bright) or one-pole low-pass (dull)."""
    g = rng.uniform(-0.6, 0.6)
    if g >= 0:
        d = np.diff(x, prepend=x[:1])
        return (x + g * d * 2).astype(np.float32)
    c = 0.6
    lp = lfilter([1 - c], [1, -c], x).astype(np.float32)
    return ((1 + g) * x - g * lp).astype(np.float32)


def reverb(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Synthetic room: direct path + exponentially decaying noise tail (RT60 0.1-0.6 s)."""
    rt60 = rng.uniform(0.1, 0.6)
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    h = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * rng.uniform(0.05, 0.3)
    h[: int(0.002 * SR)] = 0
    h[0] = 1.0
    return fftconvolve(x, h)[: len(x)].astype(np.float32)


def measured_reverb(rng: np.random.Generator, x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """A measured room response, its direct path aligned to the dry signal's timing."""
    d = int(np.argmax(np.abs(rir)))
    h = rir[d:] / (np.abs(rir[d]) + 1e-9)
    return fftconvolve(x, h)[: len(x)].astype(np.float32)


def perturb_speed(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Speed (tempo and pitch together) by 0.9-1.1 through polyphase resampling."""
    up, down = [(9, 10), (19, 20), (21, 20), (11, 10)][int(rng.integers(4))]
    return resample_poly(x, up, down).astype(np.float32)


def draw_snr(rng: np.random.Generator) -> float:
    """Weighted toward 0-10 dB (VoiceBank+DEMAND-like): 70% there, 15% -5..0, 15% 10..20."""
    r = rng.uniform()
    if r < 0.7:
        return float(rng.uniform(0, 10))
    if r < 0.85:
        return float(rng.uniform(-5, 0))
    return float(rng.uniform(10, 20))


@dataclass(frozen=True)
class Recipe:
    """What a training mixture may be, beyond the sources (models/train/README.md, "Recipes")."""

    narrow_targets: bool          # G.722 prompts (cut at ~7 kHz) allowed as targets
    clean_share: float            # mixtures whose input is the clean target itself
    high_snr_share: float         # mixtures at 20-40 dB SNR
    band_share: float             # mixtures through one random band-edge filter (band_limit)
    level_dbfs: tuple[float, float]  # input RMS range


RECIPES: dict[str, Recipe] = {
    # Sessions 1-8: G.722 targets, SNR -5..20 dB, no band limits, -35..-15 dBFS.
    "v1": Recipe(narrow_targets=True, clean_share=0.0, high_snr_share=0.0, band_share=0.0,
                 level_dbfs=(-35.0, -15.0)),
    # Issue 22: what users meet through 44.1/48 kHz devices, in quiet rooms, at any level.
    "v2": Recipe(narrow_targets=False, clean_share=0.10, high_snr_share=0.15, band_share=0.5,
                 level_dbfs=(-45.0, -8.0)),
}


def lowpass_fir(cutoff_hz: float, width_hz: float, attenuation_db: float = 80.0) -> np.ndarray:
    """A linear-phase Kaiser-window low-pass FIR (odd length, -6 dB at cutoff_hz)."""
    taps, beta = kaiserord(attenuation_db, width_hz / (SR / 2))
    taps |= 1
    return firwin(taps, cutoff_hz, window=("kaiser", beta), fs=SR).astype(np.float32)


def zero_phase(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """x filtered by the symmetric FIR h with its delay removed (same length, no shift)."""
    d = len(h) // 2
    return fftconvolve(x, h)[d:d + len(x)].astype(np.float32)


# Where a band edge still leaves the target's top band in the input: the project's own
# resampler passes to 7.2 kHz (dsp/resample: 90% of the lower Nyquist).
TARGET_KEEPS_TOP_FROM_HZ = 7200.0


def band_limit(rng: np.random.Generator, y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One random band edge on the noisy input y, as devices and codecs impose it:
    a 44.1/48 kHz device round trip (a Kaiser filter passing to 0.85-0.97 of Nyquist, stopband
    at Nyquist, applied twice as the down and up filters are), a zero-phase low-pass with its
    -6 dB point at 6.5-7.9 kHz, or a telephone-like one at 3.4-5.5 kHz. The target s is filtered
    too when the passband ends below TARGET_KEEPS_TOP_FROM_HZ: what the input lacks entirely,
    the model should not invent."""
    nyq = SR / 2
    r = rng.uniform()
    if r < 0.4:
        edge = nyq * rng.uniform(0.85, 0.97)
        width = nyq - edge
        h = lowpass_fir((edge + nyq) / 2, width, 100.0)
        y2 = zero_phase(zero_phase(y, h), h)
    elif r < 0.85:
        cut = rng.uniform(6500, 7900)
        width = rng.uniform(150, 1200)
        width = min(width, 2 * (nyq - cut) - 1) if cut + width / 2 > nyq else width
        h = lowpass_fir(cut, width, rng.uniform(40, 90))
        edge = cut - width / 2
        y2 = zero_phase(y, h)
    else:
        cut = rng.uniform(3400, 5500)
        width = rng.uniform(200, 1000)
        h = lowpass_fir(cut, width, rng.uniform(40, 90))
        edge = cut - width / 2
        y2 = zero_phase(y, h)
    if edge < TARGET_KEEPS_TOP_FROM_HZ:
        s = zero_phase(s, h) if r >= 0.4 else zero_phase(zero_phase(s, h), h)
    return y2, s


class Mixer:
    """(clean, noisy) pairs mixed on the fly, reproducible from `seed`: SNR weighted toward
    0-10 dB (draw_snr) unless `snr_db` gives a uniform range."""

    def __init__(self, corpus: Corpus, part: str = "train", seed: int = 0,
                 snr_db: tuple[float, float] | None = None, gap_noise: float = 0.0,
                 recipe: str = "v1"):
        if recipe not in RECIPES:
            raise ValueError(f"unknown data recipe {recipe!r}; known: {', '.join(RECIPES)}")
        self.c, self.part, self.snr, self.gap = corpus, part, snr_db, gap_noise
        self.recipe = RECIPES[recipe]
        self.rng = np.random.default_rng(seed)
        self.n_speech = corpus.files("speech", part)
        narrow = corpus.a.get(f"speech_{part}_narrow")
        flags = narrow if narrow is not None and len(narrow) == self.n_speech else np.zeros(self.n_speech, bool)
        # Targets come from wideband speech only when the recipe says so (babble takes any voice).
        self.targets = np.flatnonzero(~flags) if not self.recipe.narrow_targets else np.arange(self.n_speech)
        if len(self.targets) == 0:
            self.targets = np.arange(self.n_speech)
        self.n_noise = corpus.files("noise", part)
        self.n_vb = corpus.files("vb", part)
        self.n_rir = len(corpus.a["rir_off"]) - 1 if "rir_off" in corpus.a else 0
        if self.n_speech == 0:
            raise SystemExit(f"no {part} speech in the corpus: run `make data`")

    def speech(self, n: int, min_rms: float = 0.01, speed: float = 0.0, target: bool = False) -> np.ndarray:
        """A crop of n samples; a target is drawn from self.targets (the recipe's wideband speech)."""
        for _ in range(8):
            i = int(self.targets[self.rng.integers(len(self.targets))]) if target else int(self.rng.integers(self.n_speech))
            src = self.c.get("speech", self.part, i)
            if speed > 0 and self.rng.uniform() < speed:
                src = perturb_speed(self.rng, _crop(self.rng, src, int(n * 1.15) + 1) if len(src) > 2 * n else src)
            x = _crop(self.rng, src, n)
            if _rms(x) > min_rms:
                break
        return x

    def noise(self, n: int) -> np.ndarray:
        if self.gap > 0 and self.rng.uniform() < self.gap:
            return self.gap_noise(n)
        r = self.rng.uniform()
        if r < 0.55 and self.n_noise:
            x = _crop(self.rng, self.c.get("noise", self.part, int(self.rng.integers(self.n_noise))), n)
            if len(x) and _rms(x) < 1e-4:
                x = coloured_noise(self.rng, n, 0.0)
        elif r < 0.7:
            x = coloured_noise(self.rng, n, float(self.rng.choice([0.0, 1.0, 2.0])))
        elif r < 0.77:
            x = hum(self.rng, n)
        else:  # babble of many voices
            x = self.babble(n, 3, 9, 0.5)
        return (x / (_rms(x) + 1e-9)).astype(np.float32)

    def babble(self, n: int, fewest: int, most: int, quietest: float) -> np.ndarray:
        """fewest..most-1 voices summed, each at a gain in quietest..1, at unit RMS."""
        k = int(self.rng.integers(fewest, most))
        x = sum(self.speech(n) * self.rng.uniform(quietest, 1.0) for _ in range(k))
        return (x / (_rms(x) + 1e-9)).astype(np.float32)

    def gap_noise(self, n: int) -> np.ndarray:
        """The noise the real recordings lack (data/train/README.md, "Known gaps"): vehicle
        interiors, fans, and cafe/office babble of many reverberant voices with clatter."""
        r = self.rng.uniform()
        if r < 0.3:
            x = vehicle_noise(self.rng, n)
        elif r < 0.6:
            x = fan_noise(self.rng, n)
        else:
            x = reverb(self.rng, self.babble(n, 6, 16, 0.3))
            if self.rng.uniform() < 0.6:
                x = x / (_rms(x) + 1e-9) + self.rng.uniform(0.1, 0.6) * clatter(self.rng, n)
            if self.rng.uniform() < 0.5:
                x = x / (_rms(x) + 1e-9) + self.rng.uniform(0.1, 0.5) * fan_noise(self.rng, n)
        return (x / (_rms(x) + 1e-9)).astype(np.float32)

    def pair(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.n_vb and self.rng.uniform() < 0.5:
            i = int(self.rng.integers(self.n_vb))
            c = self.c.get("vb", self.part, i, f"vbclean_{self.part}")
            y = self.c.get("vb", self.part, i, f"vbnoisy_{self.part}")
            s = int(self.rng.integers(0, max(1, len(c) - n + 1)))
            return _crop(self.rng, c[s:s + n], n), _crop(self.rng, y[s:s + n], n)  # same offsets
        rec = self.recipe
        s = self.speech(n, speed=0.3, target=True)
        if self.rng.uniform() < 0.5:
            s = tilt(self.rng, s)
        if self.rng.uniform() < 0.25:
            if self.n_rir and self.rng.uniform() < 0.3:
                i = int(self.rng.integers(self.n_rir))
                off = self.c.a["rir_off"]
                s = measured_reverb(self.rng, s, self.c.a["rir"][off[i]:off[i + 1]].astype(np.float32) / 32767.0)
            else:
                s = reverb(self.rng, s)
        # v1 draws nothing here, so its random stream (and old runs' batches) stay as they were.
        r = self.rng.uniform() if rec.clean_share + rec.high_snr_share > 0 else 1.0
        if self.snr is None and r < rec.clean_share:
            y = s.copy()  # clean input: the target is the input
        else:
            noise = self.noise(n)
            if self.rng.uniform() < 0.2:
                noise = noise + 0.5 * self.noise(n)
            if self.snr:
                snr = self.rng.uniform(*self.snr)
            elif r < rec.clean_share + rec.high_snr_share:
                snr = float(self.rng.uniform(20, 40))
            else:
                snr = draw_snr(self.rng)
            noise = noise * _rms(s) / (_rms(noise) * 10 ** (snr / 20) + 1e-9)
            y = s + noise
        if rec.band_share > 0 and self.rng.uniform() < rec.band_share:
            y, s = band_limit(self.rng, y, s)
        lo, hi = rec.level_dbfs
        gain = 10 ** (self.rng.uniform(lo, hi) / 20) / (_rms(y) + 1e-9)
        peak = max(np.abs(y).max() * gain, 1e-9)
        if peak > 0.99:
            gain *= 0.99 / peak
        return (s * gain).astype(np.float32), (y * gain).astype(np.float32)

    def batch(self, b: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = zip(*(self.pair(n) for _ in range(b)))
        return np.stack(xs)[:, None, :], np.stack(ys)[:, None, :]

    def validation_set(self, clips: int, n: int) -> dict[str, np.ndarray]:
        x, y = self.batch(clips, n)
        return {"clean": x, "noisy": y}


def write_gap_validation(out: Path) -> None:
    """A second validation set: the validation speech in only the synthetic gap noises
    (Mixer.gap_noise: vehicle, fan, cafe), VALID_CLIPS clips of VALID_SECONDS, as WAVs under
    out/clean and out/noisy. It tells whether training on those noises learned them; the
    main validation split (valid.npz) stays the one that picks checkpoints."""
    need_soundfile()
    m = Mixer(Corpus.load(), "valid", seed=VALID_SEED + 1, gap_noise=1.0)
    x, y = m.batch(VALID_CLIPS, int(VALID_SECONDS * SR))
    for sub, a in (("clean", x), ("noisy", y)):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for i in range(len(a)):
            sf.write(out / sub / f"g{i:02d}.wav", a[i, 0], SR, subtype="FLOAT")
    print(f"data: wrote {len(x)} gap-noise validation pairs under {out}")


def array_digest(*arrays: np.ndarray) -> str:
    """A short digest of some arrays: checkpoints record the validation set they were judged on,
    so scores from different machines (or data versions) are never compared unknowingly."""
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float32).tobytes())
    return h.hexdigest()[:12]


def load_validation(data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    path = (data_dir or DATA) / "valid.npz"
    if not path.exists():
        raise SystemExit(f"{path} missing: run `make data` first")
    with np.load(path) as z:  # float32; a pack (pack.py) stores float16
        return z["clean"].astype(np.float32, copy=False), z["noisy"].astype(np.float32, copy=False)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m models.train.data")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="decode and index the training data under data/")
    p.add_argument("--noise", help="extra folder of noise recordings (any rate, wav/flac)")
    p.add_argument("--vb", help="folder in the VoiceBank+DEMAND layout (clean_trainset_wav/, noisy_trainset_wav/)")
    g = sub.add_parser("valid-gap", help="write the gap-noise validation set as WAVs (write_gap_validation)")
    g.add_argument("--out", default=str(DATA / "valid-gap-wav"))
    a = ap.parse_args(argv)
    if a.cmd == "prepare":
        prepare(a.noise, a.vb)
    elif a.cmd == "valid-gap":
        write_gap_validation(Path(a.out))


if __name__ == "__main__":
    main()
