"""Schedule maths of CDiffuSE's interpolating process, exactly as models/BUNDLE.md states it."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import params


@dataclass
class Schedule:
    """Per-step coefficients (0-based n) of x_n = a_n*x0 + b_n*y + sqrt(delta_n)*eps."""

    betas: np.ndarray
    alpha_bar: np.ndarray
    m: np.ndarray
    a: np.ndarray
    b: np.ndarray
    delta: np.ndarray

    @property
    def steps(self) -> int:
        return len(self.betas)


def make(betas) -> Schedule:
    betas = np.asarray(betas, dtype=np.float64)
    alpha_bar = np.cumprod(1.0 - betas)
    m = np.sqrt(np.minimum(1.0, (1.0 - alpha_bar) / np.sqrt(alpha_bar)))
    sq = np.sqrt(alpha_bar)
    a = (1.0 - m) * sq
    b = m * sq
    delta = np.maximum(0.0, (1.0 - alpha_bar) - m**2 * alpha_bar)
    return Schedule(betas, alpha_bar, m, a, b, delta)


def training_betas() -> np.ndarray:
    return np.linspace(params.TRAIN_BETA_START, params.TRAIN_BETA_END, params.TRAIN_T)


def training() -> Schedule:
    return make(training_betas())


def align(train: Schedule, infer: Schedule) -> np.ndarray:
    """Continuous training step t_n with the same sqrt(alpha_bar) as inference step n."""
    s = np.sqrt(train.alpha_bar)
    out = np.zeros(infer.steps)
    for n, v in enumerate(np.sqrt(infer.alpha_bar)):
        if v >= s[0]:
            out[n] = 0.0
            continue
        if v <= s[-1]:
            out[n] = train.steps - 1
            continue
        i = int(np.searchsorted(-s, -v, side="right")) - 1  # s[i] >= v > s[i+1]
        i = min(max(i, 0), train.steps - 2)
        out[n] = i + (s[i] - v) / (s[i] - s[i + 1])
    return np.clip(out, 0.0, train.steps - 1)


def reverse_coefficients(sched: Schedule) -> list[dict[str, float]]:
    """k_n, c_n, delta_{n|n-1}, posterior-mean weights and std for n = 1..S-1 (index 0 unused)."""
    rows: list[dict[str, float]] = [{}]
    for n in range(1, sched.steps):
        k = sched.a[n] / sched.a[n - 1]
        c = sched.b[n] - k * sched.b[n - 1]
        d_cond = max(0.0, sched.delta[n] - k * k * sched.delta[n - 1])
        rows.append({
            "k": k, "c": c, "delta_cond": d_cond,
            "std": math.sqrt(d_cond * sched.delta[n - 1] / sched.delta[n]),
        })
    return rows


def start(sched: Schedule, y, sigma, z):
    """The reverse chain's first x: b'_{S-1}·y + √δ'_{S-1}·σ⊙z (BUNDLE.md); numpy or torch."""
    return float(sched.b[-1]) * y + math.sqrt(float(sched.delta[-1])) * sigma * z


def reverse_step(sched: Schedule, rev: list[dict[str, float]], n: int, x, x0, y, sigma, z):
    """x_{n-1} from x_n and its x0 estimate: the exact Gaussian posterior's mean plus its
    std·σ⊙z (rev = reverse_coefficients(sched)); numpy or torch."""
    r = rev[n]
    mean = (r["delta_cond"] * (float(sched.a[n - 1]) * x0 + float(sched.b[n - 1]) * y)
            + float(sched.delta[n - 1]) * r["k"] * (x - r["c"] * y)) / float(sched.delta[n])
    return mean + r["std"] * sigma * z


def latent_weight(sched: Schedule) -> float:
    """a_T^2 / delta_T: weight of ||x0||^2_{Sigma^-1} in the CDiffuSE latent regulariser."""
    return float(sched.a[-1] ** 2 / sched.delta[-1])


def floor_betas(floor: float, n: int) -> np.ndarray:
    """An n-step inference schedule whose noise levels are those of the training schedule at
    n continuous steps evenly spaced from `floor` to T-1 (sqrt(alpha_bar) interpolated
    linearly between training steps, as `align` reads it back). floor = 0 spans the whole
    range; a higher floor ends the reverse chain at a noisier level, where the x0 estimate
    leans on y rather than on the chain's own x_t (models/results/RESULTS.md, "inference schedule")."""
    tr = training()
    s = np.sqrt(tr.alpha_bar)
    T = tr.steps
    if not 0 <= floor <= T - 1 or n < 1:
        raise ValueError(f"floor {floor} outside 0..{T - 1} or n {n} < 1")
    ts = np.array([T - 1.0]) if n == 1 else np.linspace(floor, T - 1.0, n)
    abar = np.interp(ts, np.arange(T), s) ** 2
    prev = np.concatenate([[1.0], abar[:-1]])
    return 1.0 - abar / prev


def inference_betas(floor: float, restart: float, n: int) -> np.ndarray:
    """The n-step schedule a bundle carries: the restart chain when restart > 0, else n steps
    evenly spaced from the floor."""
    return restart_betas(floor, restart, n) if restart > 0 else floor_betas(floor, n)


def restart_betas(floor: float, restart: float, n: int) -> np.ndarray:
    """An n-step chain whose later steps refine (issue 23): the first step starts where
    floor_betas(floor, 1) starts and predicts x0 from there; its posterior step lands at a small
    noise level (alpha_bar = 1 - restart, reached in n - 1 equal betas), from which each later
    step re-estimates x0 near its own last estimate, as a restart from a small t (StoRM's idea)
    rather than a walk down the training noise levels. n = 1 is floor_betas(floor, 1)."""
    first = floor_betas(floor, 1)
    if n == 1:
        return first
    if not 0 < restart < float(first[0]):
        raise ValueError(f"restart {restart} outside (0, {float(first[0]):.3f})")
    small = np.full(n - 1, restart / (n - 1))
    last = 1.0 - (1.0 - float(first[0])) / float(np.prod(1.0 - small))
    return np.concatenate([small, [last]])

