import numpy as np
import soundfile as sf

from models.train import data as D


def fake_corpus() -> D.Corpus:
    rng = np.random.default_rng(0)
    t = np.arange(3 * 16000) / 16000
    speech = [np.sin(2 * np.pi * f * t[: 16000 * k]) * 0.3 for f, k in ((200, 2), (300, 3), (150, 1))]
    noise = [rng.standard_normal(16000 * 2) * 0.1]
    a = {}
    for part in ("train", "valid"):
        a[f"speech_{part}"], a[f"speech_{part}_off"] = D._pack(speech)
        a[f"noise_{part}"], a[f"noise_{part}_off"] = D._pack(noise)
    return D.Corpus(a)


def test_mixer_deterministic_and_in_range():
    c = fake_corpus()
    x1, y1 = D.Mixer(c, "train", seed=5).batch(4, 8000)
    x2, y2 = D.Mixer(c, "train", seed=5).batch(4, 8000)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert x1.shape == (4, 1, 8000) and x1.dtype == np.float32
    assert np.abs(y1).max() <= 1.0
    snr = 10 * np.log10((x1 ** 2).sum(-1) / ((y1 - x1) ** 2).sum(-1))
    assert (snr > -5.5).all() and (snr < 20.5).all()


def test_split_is_deterministic():
    names = [f"file{i}.wav" for i in range(2000)]
    held = [n for n in names if D.is_validation(n)]
    assert held == [n for n in names if D.is_validation(n)]
    assert 0.02 < len(held) / len(names) < 0.08


def _band_share(x: np.ndarray, lo: float, hi: float) -> float:
    p = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / D.SR)
    return float(p[(f >= lo) & (f < hi)].sum() / p.sum())


def test_gap_noises_have_their_character():
    rng = np.random.default_rng(3)
    n = 2 * D.SR
    for _ in range(5):
        v = D.vehicle_noise(rng, n)
        assert v.shape == (n,) and np.isfinite(v).all()
        assert _band_share(v, 0, 1000) > 0.9  # rumble: almost all energy below 1 kHz
        fan = D.fan_noise(rng, n)
        halves = [D._rms(fan[: n // 2]), D._rms(fan[n // 2:])]
        assert max(halves) / min(halves) < 1.3  # stationary
    c = D.clatter(rng, n)
    assert np.abs(c).max() > 0 and (np.abs(c) > 1e-3).mean() < 0.6  # sparse bursts


def test_mixer_gap_noise_is_reproducible_and_used():
    c = fake_corpus()
    m = D.Mixer(c, "train", seed=7, gap_noise=1.0)
    a = [m.noise(8000) for _ in range(6)]
    b = [D.Mixer(c, "train", seed=7, gap_noise=1.0).noise(8000) for _ in range(1)]
    assert np.array_equal(a[0], b[0])
    for x in a:
        assert x.shape == (8000,) and abs(D._rms(x) - 1) < 1e-3
    plain = D.Mixer(c, "train", seed=7).noise(8000)
    assert not np.array_equal(plain, a[0])


def test_gap_validation_writes_pairs(tmp_path, monkeypatch):
    monkeypatch.setattr(D.Corpus, "load", classmethod(lambda cls, path=None: fake_corpus()))
    monkeypatch.setattr(D, "VALID_CLIPS", 3)
    D.write_gap_validation(tmp_path)
    clean = sorted((tmp_path / "clean").iterdir())
    noisy = sorted((tmp_path / "noisy").iterdir())
    assert [p.name for p in clean] == [p.name for p in noisy] == ["g00.wav", "g01.wav", "g02.wav"]
    x, sr = sf.read(clean[0])
    y, _ = sf.read(noisy[0])
    assert sr == D.SR and len(x) == len(y) == int(D.VALID_SECONDS * D.SR) and not np.allclose(x, y)


def _narrow_corpus() -> D.Corpus:
    """fake_corpus with its second speech file flagged narrowband (a G.722 prompt)."""
    c = fake_corpus()
    for part in ("train", "valid"):
        c.a[f"speech_{part}_narrow"] = np.array([False, True, False])
    return c


def test_v1_recipe_keeps_its_random_stream():
    """Old runs resume on the batches they saw: v1 must draw exactly what it drew before."""
    c = fake_corpus()
    m1 = D.Mixer(c, "train", seed=11)
    m2 = D.Mixer(c, "train", seed=11, recipe="v1")
    x1, y1 = m1.batch(3, 4000)
    x2, y2 = m2.batch(3, 4000)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)


def test_v2_targets_skip_narrowband_speech():
    c = _narrow_corpus()
    m = D.Mixer(c, "train", seed=3, recipe="v2")
    assert list(m.targets) == [0, 2]
    assert list(D.Mixer(c, "train", seed=3, recipe="v1").targets) == [0, 1, 2]
    # Target crops come only from files 0 (200 Hz) and 2 (150 Hz), never 300 Hz.
    for _ in range(20):
        x = m.speech(4000, target=True)
        f = np.fft.rfftfreq(len(x), 1 / D.SR)[np.argmax(np.abs(np.fft.rfft(x)))]
        assert abs(f - 300) > 20


def test_v2_mixes_clean_high_snr_and_levels():
    c = fake_corpus()
    x, y = D.Mixer(c, "train", seed=1, recipe="v2").batch(200, 4000)
    x, y = x[:, 0].astype(np.float64), y[:, 0].astype(np.float64)
    err = ((y - x) ** 2).sum(-1)
    clean = err == 0
    assert 0.04 < clean.mean() < 0.2  # ~10% inputs are the target itself
    snr = 10 * np.log10((x[~clean] ** 2).sum(-1) / np.maximum(err[~clean], 1e-20))
    assert (snr > 19).mean() > 0.08  # the 20-40 dB share (band limits lower some)
    level = 10 * np.log10((y ** 2).mean(-1))
    assert level.min() < -38 and level.max() > -14 and np.abs(y).max() <= 1.0


def test_band_limit_removes_the_top_band_and_filters_target_when_cut_low():
    rng = np.random.default_rng(0)
    n = D.SR
    for seed in range(30):
        r = np.random.default_rng(seed)
        y = rng.standard_normal(n).astype(np.float32)
        s = rng.standard_normal(n).astype(np.float32)
        y2, s2 = D.band_limit(r, y, s)
        assert y2.shape == y.shape and np.isfinite(y2).all()
        assert _band_share(y2, 7900, 8001) < 0.01 * _band_share(y, 7900, 8001)
        if np.array_equal(s2, s):  # target untouched: the input kept most of 7.2 kHz
            assert _band_share(y2, 6800, 7100) > 0.5 * _band_share(y, 6800, 7100)
        else:  # target filtered as the input was
            assert _band_share(s2, 7900, 8001) < 0.01 * _band_share(s, 7900, 8001)


def test_lowpass_fir_cutoff():
    h = D.lowpass_fir(7000.0, 400.0)
    assert len(h) % 2 == 1
    f = np.fft.rfftfreq(8192, 1 / D.SR)
    H = np.abs(np.fft.rfft(h, 8192))
    assert abs(H[np.argmin(np.abs(f - 1000))] - 1) < 0.01
    assert abs(20 * np.log10(H[np.argmin(np.abs(f - 7000))]) + 6) < 1
    assert H[f > 7300].max() < 10 ** (-60 / 20)
