import numpy as np

from models.train.experiments import chunking
from models.train import inference as I


def test_si_sdr_ignores_scale_and_measures_noise():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(16000)
    assert I.si_sdr(0.3 * ref, ref) > 60
    noisy = ref + 0.1 * rng.standard_normal(16000)
    assert abs(I.si_sdr(noisy, ref) - 20) < 0.5


def test_piecewise_si_sdr_averages_pieces():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal(2 * chunking.PIECE)
    est = ref.copy()
    est[chunking.PIECE:] += rng.standard_normal(chunking.PIECE)  # second piece at 0 dB
    assert abs(chunking.piecewise_si_sdr(est, ref) - I.si_sdr(est[:chunking.PIECE], ref[:chunking.PIECE]) / 2) < 0.5
