import numpy as np
import torch

from models.train import inference as I
from models.train import params
from models.train import schedule as S


def test_training_schedule():
    tr = S.training()
    assert tr.steps == 50
    assert np.isclose(tr.betas[0], 1e-4) and np.isclose(tr.betas[-1], 0.035)
    assert 0.40 < tr.alpha_bar[-1] < 0.42
    # x_t has variance-preserving coefficients: a^2 + ... ; here check delta's closed form.
    assert np.allclose(tr.delta, (1 - tr.alpha_bar) * (1 - np.sqrt(tr.alpha_bar)))


def test_alignment_identity_on_training_schedule():
    tr = S.training()
    assert np.allclose(S.align(tr, tr), np.arange(50), atol=1e-9)


def test_alignment_of_fast_schedules_is_monotone_and_in_range():
    tr = S.training()
    for betas in params.INFERENCE_SCHEDULES.values():
        t = S.align(tr, S.make(betas))
        assert np.all(np.diff(t) > 0) and t[0] >= 0 and t[-1] <= 49
        # same noise level: interpolate sqrt(alpha_bar) linearly between training steps
        sq = np.sqrt(tr.alpha_bar)
        i = np.floor(t).astype(int).clip(0, 48)
        interp = sq[i] + (t - i) * (sq[i + 1] - sq[i])
        assert np.allclose(interp, np.sqrt(S.make(betas).alpha_bar), atol=1e-9)


def test_marginals_compose():
    for betas in list(params.INFERENCE_SCHEDULES.values()) + [S.training_betas()]:
        s = S.make(betas)
        rev = S.reverse_coefficients(s)
        for n in range(1, s.steps):
            r = rev[n]
            assert r["delta_cond"] >= 0
            assert np.isclose(s.b[n], r["k"] * s.b[n - 1] + r["c"])
            assert np.isclose(s.delta[n], r["k"] ** 2 * s.delta[n - 1] + r["delta_cond"])


class Oracle:
    """Denoiser that knows x0: returns the exact eps of the interpolating process."""

    def __init__(self, x0, y, betas):
        self.x0, self.y = x0, y
        self.s = S.make(betas)
        self.t = S.align(S.training(), self.s)

    def __call__(self, x, y, t):
        n = int(np.argmin(np.abs(self.t - float(t[0]))))
        return (x - self.s.a[n] * self.x0 - self.s.b[n] * self.y) / np.sqrt(self.s.delta[n])


def test_start_mean_and_oracle_recovers_x0():
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(1, 1, 64, generator=g) * 0.2
    y = x0 + torch.randn(1, 1, 64, generator=g) * 0.1
    sig = lambda v: torch.full_like(v, 0.5)
    for key in ("6", "3"):
        betas = I.schedule_betas(key)
        s = S.make(betas)
        zero = torch.zeros((len(betas), 1, 1, 64))
        # With zero draws the start is b'_{S-1}*y = m*sqrt(abar)*y.
        assert np.isclose(s.b[-1], s.m[-1] * np.sqrt(s.alpha_bar[-1]))
        noise = torch.randn((len(betas), 1, 1, 64), generator=g)
        out = I.sample(Oracle(x0.double(), y.double(), betas), sig, y.double(), betas, noise.double())
        assert torch.allclose(out, x0.double(), atol=1e-6)
        out0 = I.sample(Oracle(x0.double(), y.double(), betas), sig, y.double(), betas, zero.double(), 0.2)
        assert torch.allclose(out0, 0.8 * x0.double() + 0.2 * y.double(), atol=1e-6)


def test_reverse_step_is_exact_posterior():
    """One reverse step from x_n ~ q(x_n|x0,y) with the true x0 yields q(x_{n-1}|x0,y)."""
    betas = I.schedule_betas("6")
    s = S.make(betas)
    rev = S.reverse_coefficients(s)
    rng = np.random.default_rng(0)
    x0, y, sigma, m = 0.3, -0.2, 0.7, 400000
    for n in range(1, s.steps):
        xn = s.a[n] * x0 + s.b[n] * y + np.sqrt(s.delta[n]) * sigma * rng.standard_normal(m)
        r = rev[n]
        mean = (r["delta_cond"] * (s.a[n - 1] * x0 + s.b[n - 1] * y)
                + s.delta[n - 1] * r["k"] * (xn - r["c"] * y)) / s.delta[n]
        prev = mean + r["std"] * sigma * rng.standard_normal(m)
        exp_mean = s.a[n - 1] * x0 + s.b[n - 1] * y
        exp_std = np.sqrt(s.delta[n - 1]) * sigma
        assert abs(prev.mean() - exp_mean) < 5 * exp_std / np.sqrt(m) + 1e-9
        assert abs(prev.std() / exp_std - 1) < 0.01


def test_restart_chains_start_where_one_step_starts_and_refine_from_a_small_level():
    one = S.floor_betas(40.0, 1)
    assert np.allclose(S.restart_betas(40.0, 0.02, 1), one)
    for n in (2, 3, 6):
        b = S.restart_betas(40.0, 0.02, n)
        assert len(b) == n
        # The chain starts at the one-step level ...
        assert np.isclose(np.prod(1 - b), 1 - one[0])
        # ... and its later steps sit at alpha_bar = 1 - restart, shared evenly.
        assert np.allclose(b[:-1], 0.02 / (n - 1))
    try:
        S.restart_betas(40.0, 0.9, 2)
    except ValueError:
        pass
    else:
        raise AssertionError("a restart above the first step's level must be refused")
