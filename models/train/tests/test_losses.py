import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from models.train import learner as L
from models.train import networks as N
from models.train import params
from models.train import stft

CFG = params.get("tiny")


def batch(b: int = 2, n: int = 1600, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x0 = 0.1 * torch.randn(b, 1, n, generator=g)
    y = x0 + 0.05 * torch.randn(b, 1, n, generator=g)
    t = torch.randint(0, 50, (b,), generator=g)
    z = torch.randn(b, 1, n, generator=g)
    return x0, y, t, z


def test_prior_matching_is_twice_kl():
    g = torch.Generator().manual_seed(1)
    log_sp = torch.randn(3, 1, 64, generator=g) * 0.5
    log_sq = torch.randn(3, 1, 64, generator=g) * 0.5
    kl = kl_divergence(Normal(0.0, log_sq.exp()), Normal(0.0, log_sp.exp())).mean()
    assert torch.allclose(L.prior_matching(log_sp, log_sq), 2 * kl, atol=1e-5)
    # Zero when the two distributions are equal.
    assert abs(float(L.prior_matching(log_sp, log_sp))) < 1e-6


def test_latent_regulariser_minimum():
    # (w*x0^2/s^2 + log s^2) is minimal at s^2 = w*x0^2.
    x0 = torch.full((1, 1, 8), 0.3)
    w = 0.01
    best = 0.5 * math.log(w * 0.09)
    vals = [float(L.latent_regulariser(x0, torch.full_like(x0, best + d), w)) for d in (-0.1, 0.0, 0.1)]
    assert vals[1] < vals[0] and vals[1] < vals[2]


@pytest.mark.parametrize("objective", params.OBJECTIVES)
def test_terms_finite_and_stds_positive(objective):
    torch.manual_seed(0)
    nets = N.Networks(CFG, objective)
    co = L.Coefficients()
    x0, y, t, z = batch()
    out = L.losses(nets, co, x0, y, t, z, eta=0.1, lam=0.5)
    for k in ("loss", "dm", "lr", "pm"):
        assert torch.isfinite(out[k]).all(), k
    assert (out["sigma"] > 0).all() and (out["sigma_prior"] > 0).all()
    assert torch.isfinite(nets.prior(y)).all() and (nets.prior(y) > 0).all()
    if objective == "priorgrad":
        s = nets.prior(y)
        assert float(s.min()) >= CFG.pg_floor - 1e-6 and float(s.max()) <= 1 + 1e-6
    if objective == "cdiffuse":
        assert torch.equal(nets.prior(y), torch.ones_like(y))


def test_restoregrad_every_term_reaches_its_networks():
    torch.manual_seed(0)
    nets = N.Networks(CFG, "restoregrad")
    # Move the sigma nets off their constant start so every path carries gradient.
    with torch.no_grad():
        for p in nets.sigma_parameters():
            p.add_(0.05 * torch.randn_like(p))
    co = L.Coefficients()
    x0, y, t, z = batch()
    out = L.losses(nets, co, x0, y, t, z, eta=0.1, lam=0.5)
    expect = {"dm": ("denoiser", "posterior"), "lr": ("posterior",), "pm": ("prior", "posterior")}
    for term, modules in expect.items():
        nets.zero_grad(set_to_none=True)
        out[term].backward(retain_graph=True)
        for name in modules:
            grads = [p.grad for p in getattr(nets, name).parameters()]
            assert all(g is not None for g in grads), (term, name)
            assert sum(float(g.abs().sum()) for g in grads) > 0, (term, name)
    nets.zero_grad(set_to_none=True)
    out["loss"].backward()
    for name in ("denoiser", "prior", "posterior"):
        assert any(p.grad is not None and float(p.grad.abs().sum()) > 0
                   for p in getattr(nets, name).parameters()), name


def test_noposterior_trains_prior():
    torch.manual_seed(0)
    nets = N.Networks(CFG, "restoregrad-noposterior")
    assert nets.posterior is None
    out = L.losses(nets, L.Coefficients(), *batch(), eta=0.1, lam=0.5)
    out["loss"].backward()
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in nets.prior.parameters())


def test_overfit_one_pair():
    """One 1-second pair with fixed (t, z) draws: the tiny denoiser must cut the loss >= 90%."""
    torch.manual_seed(0)
    nets = N.Networks(CFG, "cdiffuse")
    co = L.Coefficients()
    g = torch.Generator().manual_seed(3)
    n = 16000
    tt = torch.arange(n) / 16000
    x0 = (0.5 * torch.sin(2 * math.pi * 200 * tt) * torch.sin(2 * math.pi * 2 * tt)).view(1, 1, n)
    y = x0 + 0.1 * torch.randn(1, 1, n, generator=g)
    t = torch.tensor([20, 45])
    x0b, yb = x0.expand(2, 1, n), y.expand(2, 1, n)
    z = torch.randn(2, 1, n, generator=g)
    opt = torch.optim.Adam(nets.parameters(), lr=1e-2)
    first = None
    for _ in range(250):
        out = L.losses(nets, co, x0b, yb, t, z, 0.0, 0.0)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        first = first if first is not None else float(out["loss"])
    assert float(out["loss"]) <= 0.1 * first, (first, float(out["loss"]))


def test_x0_parameterisation_is_consistent():
    """The x0-parameterised graph returns eps such that the sampler's x0 estimate is f."""
    torch.manual_seed(0)
    cfg = CFG.replace(param="x0")
    nets = N.Networks(cfg, "restoregrad")
    with torch.no_grad():
        nets.denoiser.decoder.weight.normal_(0, 0.05)
    co = L.Coefficients()
    x0, y, t, z = batch()
    t = torch.tensor([7, 40])
    x_t = co.a[t].view(-1, 1, 1) * x0 + co.b[t].view(-1, 1, 1) * y + co.sqrt_delta[t].view(-1, 1, 1) * z
    e = nets.denoiser(x_t, y, t.float())
    f = nets.denoiser.head(x_t, y, t.float())
    est = (x_t - co.b[t].view(-1, 1, 1) * y - co.sqrt_delta[t].view(-1, 1, 1) * e) / co.a[t].view(-1, 1, 1)
    assert torch.allclose(est, f, atol=1e-4)
    out = L.losses(nets, co, x0, y, t, z, 0.1, 0.5)
    assert all(torch.isfinite(out[k]) for k in ("loss", "dm", "lr", "pm"))


def test_learning_rate_decays_linearly_then_holds():
    cfg = CFG.replace(lr=3e-4, lr_final=3e-5, lr_decay_from=1000, lr_decay_until=3000)
    assert L.learning_rate(cfg, 0) == 3e-4
    assert L.learning_rate(cfg, 1000) == 3e-4
    assert L.learning_rate(cfg, 2000) == pytest.approx(1.65e-4)
    assert L.learning_rate(cfg, 3000) == 3e-5
    assert L.learning_rate(cfg, 10**6) == 3e-5
    assert L.learning_rate(CFG.replace(lr=2e-4), 10**6) == 2e-4  # no decay set: constant


def test_si_sdr_cap_saturates_and_keeps_gradients_bounded():
    torch.manual_seed(0)
    ref = torch.randn(2, 4000)
    near = (ref + 1e-4 * torch.randn(2, 4000)).requires_grad_(True)
    uncapped = L.si_sdr_db(near, ref)
    capped = L.si_sdr_db(near, ref, cap_db=30.0)
    assert (uncapped > 70).all()
    assert (capped < 30.0).all() and (capped > 29.0).all()
    capped.sum().backward()
    g_capped = near.grad.norm()
    near.grad = None
    L.si_sdr_db(near, ref).sum().backward()
    assert g_capped < 0.01 * near.grad.norm()
    # Far from the cap the two agree.
    noisy = ref + 0.5 * torch.randn(2, 4000)
    assert torch.allclose(L.si_sdr_db(noisy, ref), L.si_sdr_db(noisy, ref, cap_db=30.0), atol=0.05)


def test_multi_resolution_loss_zero_at_target_finite_in_silence():
    torch.manual_seed(0)
    ref = 0.05 * torch.randn(2, 4000)
    assert float(L.multi_resolution(ref, ref)) == 0.0
    quieter = L.multi_resolution(0.5 * ref, ref)
    near = L.multi_resolution(ref + 1e-3 * torch.randn(2, 4000), ref)
    assert 0 < float(near) < float(quieter)
    # A silent reference and a silent estimate (the clean mixtures' gaps): finite gradients.
    est = torch.zeros(2, 4000, requires_grad=True)
    L.multi_resolution(est, torch.zeros(2, 4000)).backward()
    assert torch.isfinite(est.grad).all()


def test_multi_resolution_level_normalised_counts_quiet_items_alike():
    torch.manual_seed(2)
    ref = 0.05 * torch.randn(1, 4000)
    est = ref + 0.01 * torch.randn(1, 4000)
    loud = L.multi_resolution(est, ref, norm_rms=0.05)
    quiet = L.multi_resolution(0.01 * est, 0.01 * ref, norm_rms=0.05)
    assert torch.allclose(loud, quiet, rtol=1e-4)
    # Unnormalised, the same relative error 40 dB lower scores ~16x less (level^0.6).
    assert float(L.multi_resolution(0.01 * est, 0.01 * ref)) < 0.1 * float(L.multi_resolution(est, ref))
    # A silent reference stays finite.
    z = torch.zeros(1, 4000, requires_grad=True)
    L.multi_resolution(z, torch.zeros(1, 4000), norm_rms=0.05).backward()
    assert torch.isfinite(z.grad).all()


def test_auxiliary_adds_the_multi_resolution_term_on_the_estimate_waveform():
    cfg = params.get("tf-tiny").replace(aux_spec=0.0, aux_sisdr=0.0, aux_mr=2.0)
    torch.manual_seed(1)
    clean = 0.05 * torch.randn(2, 1, 8000)
    x0 = stft.compress(stft.analyse(clean[:, 0], cfg.n_fft, cfg.hop), cfg.compress)
    same = L.auxiliary(cfg, x0, x0, clean)
    assert float(same["mr"]) < 1e-6
    f = x0 * 0.8
    out = L.auxiliary(cfg, f, x0, clean)
    assert float(out["mr"]) > 1e-4
    assert torch.allclose(out["aux"], 2.0 * out["mr"])


def _tf_pair(cfg, seed: int = 2):
    torch.manual_seed(seed)
    clean = 0.05 * torch.randn(4, 1, 4000)
    noisy = clean + 0.02 * torch.randn(4, 1, 4000)
    spec = lambda w: stft.compress(stft.analyse(w[:, 0], cfg.n_fft, cfg.hop), cfg.compress)
    return clean, spec(clean), spec(noisy)


def test_restart_chain_feeds_the_second_step_what_the_sampler_does():
    from models.train import inference as I
    from models.train import schedule as S

    nets = N.build("tf-tiny", "restoregrad-noposterior", {"chain_frac": 0.5})
    nets.eval()
    _, x0, y = _tf_pair(nets.cfg)
    z1, z2 = torch.randn_like(x0), torch.randn_like(x0)
    seen = []

    def denoiser(x, yy, t):
        seen.append(x.clone())
        return nets.denoiser(x, yy, t)

    I.sample(denoiser, nets.prior, y, S.restart_betas(0.0, 0.02, 2), torch.stack([z1, z2]))
    chain = L.RestartChain(0.02)
    x_s, _ = chain.second_input(nets, y, z1, z2)
    assert len(seen) == 2 and not torch.allclose(seen[1], seen[0])
    assert torch.allclose(x_s, seen[1], atol=1e-4), float((x_s - seen[1]).abs().max())
    # The sampler's second step sees its first estimate at alpha_bar = 1 - 0.02.
    assert abs(chain.t_restart - S.align(S.training(), S.make(S.restart_betas(0.0, 0.02, 2)))[0]) < 1e-9


def test_chain_items_train_the_second_step_and_leave_the_rest_as_before():
    nets = N.build("tf-tiny", "restoregrad-noposterior", {"chain_frac": 0.5})
    off = N.build("tf-tiny", "restoregrad-noposterior", {})
    off.load_state_dict(nets.state_dict())
    clean, x0, y = _tf_pair(nets.cfg)
    t = torch.tensor([3, 10, 20, 40])
    z, z2 = torch.randn_like(x0), torch.randn_like(x0)
    co = L.Coefficients(chain_restart=0.02)
    on = L.losses(nets, co, x0, y, t, z, 0.1, 0.5, clean, z2)
    # Without z2 (or with chain_frac 0) the batch trains as it always did.
    plain = L.losses(off, L.Coefficients(), x0, y, t, z, 0.1, 0.5, clean)
    assert float(plain["chain"]) == 0.0
    assert torch.equal(L.losses(nets, co, x0, y, t, z, 0.1, 0.5, clean)["loss"], plain["loss"])
    # With it, the last two items train through the chain: the total is the item-weighted mean.
    first = L.direct_losses(nets, co, x0[:2], y[:2], t[:2], z[:2], 0.1, 0.5, clean[:2])
    chain, chain_dm = co.chain.loss(nets, x0[2:], y[2:], z[2:], z2[2:], clean[2:])
    assert torch.allclose(on["loss"], (first["loss"] + chain) / 2)
    assert float(on["chain"]) > 0 and torch.allclose(on["chain"], chain_dm)
    # The gradient reaches the denoiser through the second step only (the first is detached).
    nets.zero_grad()
    chain.backward()
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in nets.prior.parameters())
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in nets.denoiser.parameters())
    with pytest.raises(ValueError, match="time-frequency x0"):
        L.chain_items(params.get("tiny").replace(chain_frac=0.5), co, 4)
