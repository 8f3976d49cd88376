"""The small measures of experiments.draws and experiments.cleangain."""
import numpy as np
import torch

from models.train.experiments import cleangain, draws


def test_flat_prior_keeps_shape_and_mean_per_clip():
    torch.manual_seed(0)
    sigma = torch.rand(3, 2, 5, 7) + torch.arange(3.0)[:, None, None, None]
    flat = draws.flat_prior(lambda y: sigma)(torch.zeros(1))
    assert flat.shape == sigma.shape
    for b in range(3):
        assert torch.allclose(flat[b], sigma[b].mean().expand_as(flat[b]))


def test_agreement_is_the_snr_of_one_draw_against_the_other():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 1000))
    assert abs(draws.agreement_db(a, a + 0.1 * a) - 20.0) < 1e-9
    assert draws.agreement_db(a, a) > 150


def test_clean_gain_measures():
    rng = np.random.default_rng(2)
    ref = rng.standard_normal(4000)
    assert abs(cleangain.snr_db(ref, 0.9 * ref) - 20.0) < 1e-9
    # SI-SDR ignores the scale, the SNR does not.
    assert cleangain.si_sdr_db(ref, 0.5 * ref) > 100
    noisy = ref + 0.1 * rng.standard_normal(4000)
    assert 19.0 < cleangain.si_sdr_db(ref, noisy) < 21.0
    # Outputs longer or shorter than the reference are cut to the common length.
    assert abs(cleangain.snr_db(ref, np.concatenate([0.9 * ref, np.ones(10)])) - 20.0) < 1e-9
