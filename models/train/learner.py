"""The training objectives in one function (`losses`), and the step-level training state:
the schedule's coefficients, the t draw, the learning rate, the EMA update."""
from __future__ import annotations

import torch

from . import schedule as S
from . import stft
from .networks import Networks
from .params import Config


class Coefficients:
    """Training-schedule coefficients as float32 tensors; `latent_weight` is L_LR's w."""

    def __init__(self, device: torch.device | str = "cpu", lr_weight: str = "alpha_bar",
                 chain_restart: float = 0.0):
        s = S.training()
        self.chain = RestartChain(chain_restart) if chain_restart > 0 else None
        self.T = s.steps
        self.a = torch.tensor(s.a, dtype=torch.float32, device=device)
        self.b = torch.tensor(s.b, dtype=torch.float32, device=device)
        self.sqrt_delta = torch.tensor(s.delta, dtype=torch.float32, device=device).sqrt()
        if lr_weight == "kl":
            self.latent_weight = S.latent_weight(s)  # a_T^2 / delta_T
        elif lr_weight == "alpha_bar":
            self.latent_weight = float(s.alpha_bar[-1])
        else:
            raise ValueError(f"unknown lr_weight {lr_weight!r}")


class RestartChain:
    """The first two steps of the sampler's restart chain (schedule.restart_betas, n = 2), as
    training through the chain sees them (issue 23): the first step denoises from the top,
    its x0 estimate is carried to alpha_bar = 1 - restart by the sampler's own posterior step,
    and the second step is trained there to return the clean x0. A plain draw at that noise
    level starts from the true x0, so the second step only learns to keep what it is given;
    here it learns to correct the first step's errors."""

    def __init__(self, restart: float):
        self.sched = S.make(S.restart_betas(0.0, restart, 2))
        self.rev = S.reverse_coefficients(self.sched)
        t = S.align(S.training(), self.sched)
        self.t_top, self.t_restart = float(t[1]), float(t[0])

    @torch.no_grad()
    def second_input(self, nets: Networks, y: torch.Tensor, z1: torch.Tensor,
                     z2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The second step's x_t for y with start draw z1 and step draw z2 (exactly what
        inference.sample feeds it), and the prior's sigma; no gradient flows into either."""
        sigma = torch.exp(nets.prior.log_sigma(y))
        x = S.start(self.sched, y, sigma, z1)
        x0 = nets.denoiser.head(x, y, torch.full((y.shape[0],), self.t_top, device=y.device))
        return S.reverse_step(self.sched, self.rev, 1, x, x0, y, sigma, z2), sigma

    def loss(self, nets: Networks, x0: torch.Tensor, y: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor,
             clean: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(the weighted loss, its L_DM term) of the second step's x0 estimate against x0."""
        x_s, sigma = self.second_input(nets, y, z1, z2)
        f = nets.denoiser.head(x_s, y, torch.full((y.shape[0],), self.t_restart, device=y.device))
        dm = (((x0 - f) / sigma) ** 2).mean()
        return nets.cfg.dm_weight * dm + auxiliary(nets.cfg, f, x0, clean)["aux"], dm


def chain_items(cfg: Config, co: Coefficients, batch: int) -> int:
    """How many items at the end of a batch train through the restart chain."""
    if co.chain is None or cfg.chain_frac <= 0:
        return 0
    if cfg.domain != "stft" or cfg.param != "x0":
        raise ValueError("training through the restart chain needs a time-frequency x0 model")
    return min(batch, max(1, round(batch * cfg.chain_frac)))


def prior_matching(log_sp: torch.Tensor, log_sq: torch.Tensor) -> torch.Tensor:
    """Per-element mean of log(sp^2/sq^2) + sq^2/sp^2 - 1 = 2*KL(N(0,sq^2) || N(0,sp^2))."""
    return (2 * (log_sp - log_sq) + torch.exp(2 * (log_sq - log_sp)) - 1.0).mean()


def latent_regulariser(x0: torch.Tensor, log_s: torch.Tensor, weight: float) -> torch.Tensor:
    """Per-element mean of w*x0^2/s^2 + log s^2 (README.md: the derivation and the choice of w)."""
    return (weight * x0 * x0 * torch.exp(-2 * log_s) + 2 * log_s).mean()


def losses(nets: Networks, co: Coefficients, x0: torch.Tensor, y: torch.Tensor,
           t: torch.Tensor, z: torch.Tensor, eta: float, lam: float,
           clean: torch.Tensor | None = None, z2: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """All loss terms for one batch. x0, y, z: [B, 1, N] (waveform) or [B, 2, T, F] (compressed
    STFT, z [B, 2, T, F] and sigma per bin [B, 1, T, F]); t: [B] integer steps (0-based);
    clean: the clean waveform [B, 1, N] for the STFT domain's SI-SDR lever; z2: a second draw
    like z, for the items that train through the restart chain (cfg.chain_frac).

    Returns loss (the total), dm, lr, pm, chain (the chain items' L_DM) and the std used to
    draw eps (sigma) and the prior's std (sigma_prior) for logging."""
    k = chain_items(nets.cfg, co, x0.shape[0]) if z2 is not None else 0
    if k == 0:
        return {**direct_losses(nets, co, x0, y, t, z, eta, lam, clean), "chain": x0.new_zeros(())}
    n = x0.shape[0] - k
    chain, chain_dm = co.chain.loss(nets, x0[n:], y[n:], z[n:], z2[n:], None if clean is None else clean[n:])
    if n == 0:
        zero = x0.new_zeros(())
        sigma = torch.exp(nets.prior.log_sigma(y)).detach()
        return {"loss": chain, "dm": zero, "lr": zero, "pm": zero, "chain": chain_dm, "sigma": sigma,
                "sigma_prior": sigma, "spec": zero, "sisdr": zero, "mr": zero}
    out = direct_losses(nets, co, x0[:n], y[:n], t[:n], z[:n], eta, lam, None if clean is None else clean[:n])
    out["loss"] = (n * out["loss"] + k * chain) / (n + k)
    out["chain"] = chain_dm
    return out


def direct_losses(nets: Networks, co: Coefficients, x0: torch.Tensor, y: torch.Tensor,
                  t: torch.Tensor, z: torch.Tensor, eta: float, lam: float,
                  clean: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The method's losses at the drawn steps t (losses' arguments, no chain)."""
    obj = nets.objective
    zero = x0.new_zeros(())
    aux = {"aux": zero, "spec": zero, "sisdr": zero, "mr": zero}
    log_sp = None
    if obj == "cdiffuse":
        log_s = torch.zeros_like(y[:, :1])  # one sigma per bin (stft) or per sample (wave)
    elif obj == "priorgrad":
        log_s = torch.log(nets.prior(y))
    elif obj == "restoregrad-noposterior":
        log_s = log_sp = nets.prior.log_sigma(y)
    elif obj == "restoregrad":
        log_sp = nets.prior.log_sigma(y)
        log_s = nets.posterior.log_sigma(x0, y)
    else:
        raise ValueError(f"unknown objective {obj!r}")
    sigma = torch.exp(log_s)
    eps = sigma * z
    ti = t.long()
    shape = (-1,) + (1,) * (x0.dim() - 1)
    x_t = (co.a[ti].view(shape) * x0 + co.b[ti].view(shape) * y
           + co.sqrt_delta[ti].view(shape) * eps)
    if nets.cfg.param == "x0":
        # x0-parameterised denoiser: the same Sigma^-1 norm, on the x0 estimate (a weighting
        # of L_DM by delta_t/a_t^2; a lever, see README.md).
        f = nets.denoiser.head(x_t, y, t.float())
        dm = (((x0 - f) / sigma) ** 2).mean()
        if nets.cfg.domain == "stft":
            aux = auxiliary(nets.cfg, f, x0, clean)
    else:
        e = nets.denoiser(x_t, y, t.float())
        dm = (((eps - e) / sigma) ** 2).mean()
    lr = pm = zero
    if obj in ("restoregrad", "restoregrad-noposterior"):
        lr = latent_regulariser(x0, log_s, co.latent_weight)
    if obj == "restoregrad":
        pm = prior_matching(log_sp, log_s)
    loss = nets.cfg.dm_weight * dm + eta * lr + lam * pm + aux["aux"]
    sp = torch.exp(log_sp) if log_sp is not None else sigma
    return {"loss": loss, "dm": dm, "lr": lr, "pm": pm, "sigma": sigma, "sigma_prior": sp,
            "spec": aux["spec"], "sisdr": aux["sisdr"], "mr": aux["mr"]}


def auxiliary(cfg: Config, f: torch.Tensor, x0: torch.Tensor,
              clean: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Levers beyond the paper on the x0 estimate f (compressed STFT, [B, 2, T, F]):
    aux_spec * (0.3 * complex MSE + 0.7 * magnitude MSE) of the compressed spectra,
    aux_sisdr * (-SI-SDR in dB) of f's waveform against the clean waveform, and
    aux_mr * multi_resolution(f's waveform, clean waveform)."""
    zero = f.new_zeros(())
    spec = sisdr = mr = zero
    if cfg.aux_spec > 0:
        mf = torch.sqrt(f[:, :1] ** 2 + f[:, 1:] ** 2 + 1e-8)
        mx = torch.sqrt(x0[:, :1] ** 2 + x0[:, 1:] ** 2 + 1e-8)
        spec = complex_magnitude_mse(f, x0, mf, mx)
    if (cfg.aux_sisdr > 0 or cfg.aux_mr > 0) and clean is not None:
        n = clean.shape[-1]
        wave = stft.synthesise(stft.decompress(f, cfg.compress), n, cfg.n_fft, cfg.hop)
        ref = clean.reshape(clean.shape[0], -1)
        if cfg.aux_sisdr > 0:
            sisdr = si_sdr_db(wave, ref, cfg.sisdr_cap).mean()
        if cfg.aux_mr > 0:
            mr = multi_resolution(wave, ref, cfg.compress, cfg.mr_norm_rms)
    aux = cfg.aux_spec * spec - cfg.aux_sisdr * sisdr + cfg.aux_mr * mr
    return {"aux": aux, "spec": spec, "sisdr": sisdr, "mr": mr}


def complex_magnitude_mse(c_est: torch.Tensor, c_ref: torch.Tensor,
                          m_est: torch.Tensor, m_ref: torch.Tensor) -> torch.Tensor:
    """0.3 * complex MSE + 0.7 * magnitude MSE of compressed spectra (GTCRN's weighting), the one
    mix both spectral levers use."""
    return 0.3 * (c_est - c_ref).pow(2).mean() + 0.7 * (m_est - m_ref).pow(2).mean()


# STFT sizes of the multi-resolution loss (16 kHz: 16, 32 and 64 ms frames). Hop is half the
# frame: a quarter cost 3x the time on one CPU thread for the same frames seen.
MR_FFTS = (256, 512, 1024)
# Below this RMS (-80 dBFS) a reference counts as silence: level normalisation stops there.
MR_RMS_FLOOR = 1e-4


def multi_resolution(est: torch.Tensor, ref: torch.Tensor, power: float = 0.3,
                     norm_rms: float = 0.0) -> torch.Tensor:
    """[B, N] waveforms -> the mean over MR_FFTS of 0.3 * complex MSE + 0.7 * magnitude MSE of
    the power-law compressed spectra. Computed on the synthesised waveform, it also scores what
    the model's own frames cannot (inconsistent spectra change when re-analysed) and weights
    time and frequency detail at three resolutions, which PESQ and ESTOI both hear.

    With norm_rms > 0 each pair is first scaled so that ref has that RMS: the compressed error
    grows with level^power, so unnormalised a -45 dBFS item counts ~60x less than a -15 dBFS
    one and the model learned to serve loud input only (RESULTS 0.8)."""
    if norm_rms > 0:
        rms = ref.pow(2).mean(-1, keepdim=True).sqrt()
        gain = norm_rms / rms.clamp_min(MR_RMS_FLOOR)
        est, ref = est * gain, ref * gain
    total = est.new_zeros(())
    both = torch.cat([est, ref])
    b = est.shape[0]
    for n_fft in MR_FFTS:
        win = torch.hann_window(n_fft, device=est.device, dtype=est.dtype)
        s = torch.view_as_real(torch.stft(both, n_fft, n_fft // 2, window=win, return_complex=True))
        p2 = s.pow(2).sum(-1, keepdim=True) + 1e-6  # |X|^2, off 0: bounded gradients in silence
        m = p2.pow(power / 2)  # |X|^p
        c = s * (m / p2.sqrt())  # compressed complex: |X|^p * X/|X|
        m = m.squeeze(-1)
        total = total + complex_magnitude_mse(c[:b], c[b:], m[:b], m[b:])
    return total / len(MR_FFTS)


def si_sdr_db(est: torch.Tensor, ref: torch.Tensor, cap_db: float = 0.0) -> torch.Tensor:
    """[B, N] -> [B] scale-invariant SDR in dB (differentiable). With cap_db > 0 it saturates
    softly at cap_db: 10*log10(|t|^2 / (|e|^2 + 10^(-cap/10)*|t|^2))."""
    est = est - est.mean(-1, keepdim=True)
    ref = ref - ref.mean(-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / (ref.pow(2).sum(-1, keepdim=True) + 1e-8)
    target = alpha * ref
    t2 = target.pow(2).sum(-1)
    e2 = (est - target).pow(2).sum(-1)
    if cap_db > 0:
        e2 = e2 + 10 ** (-cap_db / 10) * t2
    return 10 * torch.log10(t2 / (e2 + 1e-8) + 1e-8)


def sample_t(batch: int, T: int, generator: torch.Generator | None = None,
             t_last: float = 0.0) -> torch.Tensor:
    """Uniform integer steps; with t_last > 0, that fraction of draws is T-1, the step every
    uniform sampler schedule starts at (a lever, README.md)."""
    t = torch.randint(0, T, (batch,), generator=generator)
    if t_last > 0:
        last = torch.rand(batch, generator=generator) < t_last
        t = torch.where(last, torch.full_like(t, T - 1), t)
    return t


def learning_rate(cfg: Config, step: int) -> float:
    """cfg.lr, decayed linearly to cfg.lr_final between steps cfg.lr_decay_from and
    cfg.lr_decay_until (constant when lr_decay_until is 0)."""
    if cfg.lr_decay_until <= 0 or step <= cfg.lr_decay_from:
        return cfg.lr
    if step >= cfg.lr_decay_until:
        return cfg.lr_final
    frac = (step - cfg.lr_decay_from) / (cfg.lr_decay_until - cfg.lr_decay_from)
    return cfg.lr + frac * (cfg.lr_final - cfg.lr)


def ema_update(ema: Networks, nets: Networks, decay: float) -> None:
    """Moves the EMA copy's weights towards the trained ones (buffers are copied)."""
    with torch.no_grad():
        for pe, p in zip(ema.state_dict().values(), nets.state_dict().values()):
            if pe.dtype.is_floating_point:
                pe.mul_(decay).add_(p, alpha=1 - decay)
            else:
                pe.copy_(p)


def env_corr(sigma: torch.Tensor, x0: torch.Tensor, win: int = 256) -> float:
    """Mean over the batch of the per-example correlation between a std and the clean |x0|
    envelope (moving averages over `win` samples; per bin in the STFT domain)."""
    if x0.dim() == 4:
        env = torch.sqrt(x0[:, :1] ** 2 + x0[:, 1:] ** 2).flatten(1)
        s = sigma.expand(-1, 1, -1, -1).flatten(1)
        e, s = env - env.mean(1, keepdim=True), s - s.mean(1, keepdim=True)
        return float(((e * s).sum(1) / (e.norm(dim=1) * s.norm(dim=1) + 1e-12)).mean())
    env = torch.nn.functional.avg_pool1d(x0.abs(), win, stride=win).flatten(1)
    s = torch.nn.functional.avg_pool1d(sigma, win, stride=win).flatten(1)
    e, s = env - env.mean(1, keepdim=True), s - s.mean(1, keepdim=True)
    c = (e * s).sum(1) / (e.norm(dim=1) * s.norm(dim=1) + 1e-12)
    return float(c.mean())
