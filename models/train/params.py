"""Named configurations (`CONFIGS`: `tf`, `tf-rt`, the waveform `small`, `rt`, `paper`, and
the test sizes `tiny`, `tf-tiny`), the training and inference schedules' constants, and the
parsing of config overrides given on a command line."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

# Training schedule shared by every config: T = 50, beta linear 1e-4 ... 0.035 (CDiffuSE).
TRAIN_T = 50
TRAIN_BETA_START = 1e-4
TRAIN_BETA_END = 0.035

# Fast inference schedules (manifest `inference_schedules`). "6" is CDiffuSE's; "3" is ours:
# it keeps the first and last cumulative noise levels close to the 6-step schedule's
# (sqrt(alpha_bar') = 0.9995 ... 0.689, inside the training range) with one middle step.
INFERENCE_SCHEDULES: dict[str, list[float]] = {
    "6": [1e-4, 1e-3, 0.01, 0.05, 0.2, 0.35],
    "3": [1e-3, 0.05, 0.5],
}

OBJECTIVES = ("cdiffuse", "priorgrad", "restoregrad", "restoregrad-noposterior")


@dataclass
class Config:
    """Network shapes; the diffusion maths lives in schedule.py and learner.py."""

    name: str
    sample_rate: int = 16000
    # Strided encoder / transposed-conv decoder (stride 1 and kernel 1 = raw sample rate).
    kernel: int = 32
    stride: int = 8
    channels: int = 32          # residual channels C
    cond_channels: int = 16     # encoded-noisy-signal channels fed to every layer
    layers: int = 7
    dilation_cycle: int = 10    # dilation 2^(i mod cycle)
    emb_dim: int = 64           # sinusoidal embedding size of the continuous step t
    emb_hidden: int = 128       # step-embedding MLP width
    # Prior / Posterior Net (strided 1-D ResNet encoder that outputs a per-sample std).
    sigma_channels: int = 12
    sigma_blocks: int = 2
    sigma_kernel: int = 32
    sigma_stride: int = 8
    sigma_min: float = 1e-3
    sigma_max: float = 2.0
    # Handcrafted PriorGrad std: frame RMS over `pg_frame` samples, divided by the local
    # maximum within +-`pg_norm_window` samples, clamped below at `pg_floor`.
    pg_frame: int = 256
    pg_norm_window: int = 8000
    pg_floor: float = 0.1
    # Loss weights (RestoreGrad's eta and lambda) and training defaults.
    eta: float = 0.1
    # Weight w of ||x0||^2_{Sigma^-1} in L_LR: "alpha_bar" = alpha_bar_T (RestoreGrad's formula,
    # 0.41 here) or "kl" = a_T^2/delta_T (the exact KL to CDiffuSE's start, 0.0035), which
    # collapses sigma (README.md, "L_LR in practice").
    lr_weight: str = "alpha_bar"
    lam: float = 0.5
    lr: float = 1e-3
    # Linear learning-rate decay (learner.learning_rate): from lr at step lr_decay_from to
    # lr_final at lr_decay_until, lr_final after; lr_decay_until 0 keeps lr constant.
    lr_final: float = 0.0
    lr_decay_from: int = 0
    lr_decay_until: int = 0
    sigma_warmup: int = 200     # steps before the sigma nets' parameters move
    grad_clip: float = 1.0
    segment: int = 16000        # training crop, samples
    causal: bool = False        # reserved for the `rt` config
    # "eps": the network outputs eps directly (CDiffuSE). "x0": it outputs an estimate f of x0
    # and the graph returns eps = (x_t - b(t)*y - a(t)*f)/sqrt(delta(t)) with the training
    # schedule's coefficients at the continuous t; trained with L_DM on x0 (README.md, levers).
    param: str = "eps"
    # x0 head: "synth" (a transposed conv synthesises x0 from the residual stack) or "mask"
    # (model.MaskHead: a mask on a learned transform of y, starting at f = y; needs x0).
    head: str = "synth"
    # Time-frequency networks (configs `tf`, `tf-rt`; tf_model.py). domain "wave" = the
    # sample-domain networks above; "stft" = diffusion on the compressed complex STFT.
    domain: str = "wave"
    n_fft: int = 512
    hop: int = 256
    compress: float = 0.3       # |Y|^compress per bin
    low_bins: int = 65          # bins kept as their own bands (0..2 kHz at 512/16 kHz)
    high_bands: int = 32        # ERB-spaced triangular bands above
    tf_c1: int = 16
    tf_c2: int = 32
    tf_blocks: int = 2
    tf_intra: int = 16          # per direction, across bands
    tf_inter: int = 32          # over time (per direction when not causal)
    sigma_hidden: int = 32
    s_min: float = 0.3          # sigma = s * (|y_c| + kappa), s in [s_min, s_max]
    s_max: float = 2.0
    s_init: float = 0.6
    kappa: float = 0.05
    # One sigma per frame, shared by its bins (the paper's time envelope), instead of one per
    # bin: per-bin sigma makes L_DM's Sigma^-1 norm weight quiet bins far above loud ones
    # (models/results/RESULTS.md, section A).
    sigma_per_frame: bool = False
    # Levers beyond the paper (README.md; reported apart from the like-for-like comparison):
    aux_spec: float = 0.0       # weight of the compressed-spectral loss on the x0 estimate
    aux_sisdr: float = 0.0      # weight of -SI-SDR (dB) of the x0 estimate's waveform
    aux_mr: float = 0.0         # weight of the multi-resolution compressed STFT loss on that waveform
    mr_norm_rms: float = 0.0    # scale each pair to this clean RMS before that loss (0 = off)
    t_last: float = 0.0         # probability of drawing t = T-1 (the sampler's first step)
    gap_noise: float = 0.0      # share of noises drawn from data.Mixer.gap_noise (vehicle, fan, cafe)
    dm_weight: float = 1.0      # weight of L_DM (1 = the method; 0 only for diagnostic predictor runs)
    recipe: str = "v1"          # data.RECIPES: what a training mixture may be (v2: issue 22's)
    # Soft ceiling of the SI-SDR lever in dB (0 = none): on clean and high-SNR items the
    # uncapped dB term has unbounded, exploding gradients (gradient norms 4-14 against 1.2).
    sisdr_cap: float = 0.0
    # Training through the sampler's restart chain (issue 23, learner.RestartChain): this share
    # of each batch trains the second step on the model's own first estimate, re-noised to
    # alpha_bar = 1 - chain_restart (0 = off).
    chain_frac: float = 0.0
    chain_restart: float = 0.02

    def replace(self, **kw) -> "Config":
        return dataclasses.replace(self, **kw)


CONFIGS: dict[str, Config] = {
    # CPU-trainable latent-frame-rate denoiser (2 kHz latent rate), non-causal.
    "small": Config(name="small", param="x0", head="mask"),
    # CDiffuSE / DiffWave paper size at the raw sample rate: for GPUs.
    "paper": Config(
        name="paper", kernel=1, stride=1, channels=64, cond_channels=80, layers=30,
        dilation_cycle=10, emb_dim=128, emb_hidden=512, sigma_channels=64, sigma_blocks=3,
        sigma_kernel=32, lr=2e-4, segment=16000,
    ),
    # Tests only: tiny and fast.
    "tiny": Config(
        name="tiny", kernel=16, stride=8, channels=16, cond_channels=8, layers=3,
        dilation_cycle=3, emb_dim=16, emb_hidden=32, sigma_channels=4, sigma_blocks=1,
        sigma_kernel=16, sigma_warmup=0,
    ),
    # Streaming: `small`'s shapes with causal convolutions (rt_model.py; stride - 1 = 7 samples
    # of look-ahead inside each hop), run frame by frame with explicit caches (export.py).
    "rt": Config(name="rt", causal=True, param="x0", head="mask"),
    # Time-frequency: offline (bidirectional over time) and streaming (causal, frame by frame).
    "tf": Config(name="tf", domain="stft", param="x0", head="mask", segment=32000, sigma_warmup=200,
                 aux_spec=1.0, aux_sisdr=0.02, t_last=0.4),
    "tf-rt": Config(name="tf-rt", domain="stft", causal=True, param="x0", head="mask", segment=32000,
                    sigma_warmup=200, aux_spec=1.0, aux_sisdr=0.02, t_last=0.4),
    "tf-tiny": Config(name="tf-tiny", domain="stft", causal=True, param="x0", head="mask", segment=8000,
                      tf_c1=4, tf_c2=8, tf_blocks=1, tf_intra=4, tf_inter=8, sigma_hidden=8,
                      emb_dim=16, emb_hidden=32, sigma_warmup=0, aux_spec=1.0, aux_sisdr=0.02, t_last=0.4),
}


def get(name: str) -> Config:
    try:
        return CONFIGS[name]
    except KeyError:
        raise SystemExit(f"unknown config {name!r}; known: {', '.join(CONFIGS)}") from None


def override_fields() -> dict[str, type]:
    """The Config fields a command line may override (all but the name), with their types."""
    return {f.name: type(f.default) for f in dataclasses.fields(Config) if f.name != "name"}


def parse_value(kind: type, text: str):
    if kind is bool:
        if text.lower() not in ("1", "true", "yes", "0", "false", "no"):
            raise ValueError(f"not a boolean: {text!r}")
        return text.lower() in ("1", "true", "yes")
    return kind(text)


def parse_overrides(items: list[str], base: Config) -> dict:
    """FIELD=VALUE strings -> {field: value of the field's type} (export --set)."""
    fields = override_fields()
    out = {}
    for it in items:
        k, _, v = it.partition("=")
        if k not in fields or not v:
            raise SystemExit(f"bad --set {it!r} (want FIELD=VALUE of params.Config)")
        try:
            out[k] = parse_value(type(getattr(base, k)), v)
        except ValueError as e:
            raise SystemExit(f"bad --set {it!r}: {e}") from None
    return out
