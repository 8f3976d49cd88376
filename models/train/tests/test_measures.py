"""The measures of experiments.draws and experiments.cleangain."""
import numpy as np
import torch

from models.train import inference as I
from models.train.experiments import cleangain, draws


def test_flat_prior_keeps_shape_and_mean_per_clip():
    torch.manual_seed(0)
    sigma = torch.rand(3, 2, 5, 7) + torch.arange(3.0)[:, None, None, None]
    flat = draws.flat_prior(lambda y: sigma)(torch.zeros(1))
    assert flat.shape == sigma.shape
    for b in range(3):
        assert torch.allclose(flat[b], sigma[b].mean().expand_as(flat[b]))


def test_snr_is_of_the_estimate_against_the_reference_unscaled():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 1000))
    assert np.allclose(I.snr_db(a + 0.1 * a, a), 20.0)
    assert np.allclose(I.snr_db(0.9 * a, a), 20.0)  # a gain counts as error, unlike SI-SDR
    assert (I.snr_db(a, a) > 150).all()


def test_clean_gain_scores():
    rng = np.random.default_rng(2)
    ref = rng.standard_normal(4000)
    assert abs(cleangain.score(0.9 * ref, ref, ref, same=True) - 20.0) < 1e-9
    # Against a different reference it is SI-SDR, which ignores the scale.
    assert cleangain.score(0.5 * ref, ref, ref, same=False) > 100
    noisy = ref + 0.1 * rng.standard_normal(4000)
    assert 19.0 < cleangain.score(noisy, ref, ref, same=False) < 21.0
    # Outputs longer or shorter than the reference are cut to the common length.
    assert abs(cleangain.score(np.concatenate([0.9 * ref, np.ones(10)]), ref, ref, same=True) - 20.0) < 1e-9
