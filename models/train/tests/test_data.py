import numpy as np

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
