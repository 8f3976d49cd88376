"""The STFT-domain representation of schema-2 bundles (models/BUNDLE.md, "Time-frequency
bundles"): sqrt-Hann framing with P = n_fft - hop samples of left padding, power-law
compression of each complex bin, and the exact inverse. The Go host does the same in
dsp/spectral; the golden files check that both agree."""
from __future__ import annotations

import math

import torch


def window(n_fft: int) -> torch.Tensor:
    """Periodic sqrt-Hann: with hop = n_fft/2 the squared windows sum to exactly 1."""
    n = torch.arange(n_fft, dtype=torch.float64)
    return torch.sqrt(0.5 - 0.5 * torch.cos(2 * math.pi * n / n_fft))


def frames_for(n: int, hop: int) -> int:
    """T = ceil(N/hop) + 1 frames: enough for every output sample to be complete."""
    return -(-n // hop) + 1


def analyse(wave: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """[B, N] waveform -> [B, 2, T, F] (real, imaginary) STFT, frame j covering original
    samples [j*hop - P, j*hop - P + n_fft)."""
    b, n = wave.shape
    t = frames_for(n, hop)
    p = n_fft - hop
    padded = torch.nn.functional.pad(wave, (p, p + t * hop - n))
    fr = padded.unfold(-1, n_fft, hop)[:, :t] * window(n_fft).to(wave.device, wave.dtype)
    spec = torch.fft.rfft(fr, dim=-1)  # [B, T, F]
    return torch.stack([spec.real, spec.imag], dim=1)


def synthesise(spec: torch.Tensor, n: int, n_fft: int, hop: int) -> torch.Tensor:
    """[B, 2, T, F] -> [B, N] by windowed inverse FFT and overlap-add (the inverse of analyse)."""
    b, _, t, _ = spec.shape
    fr = torch.fft.irfft(torch.complex(spec[:, 0], spec[:, 1]), n=n_fft, dim=-1)
    fr = fr * window(n_fft).to(spec.device, fr.dtype)  # [B, T, n_fft]
    total = (t - 1) * hop + n_fft
    out = torch.nn.functional.fold(fr.transpose(1, 2), (1, total), (1, n_fft), stride=(1, hop))
    p = n_fft - hop
    return out.reshape(b, total)[:, p:p + n]


def magnitude(spec: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """[B, 2, T, F] -> [B, 1, T, F]."""
    return torch.sqrt(spec[:, :1] ** 2 + spec[:, 1:2] ** 2 + eps)


def compress(spec: torch.Tensor, power: float, scale: float = 1.0) -> torch.Tensor:
    """scale * |Y|^p * Y/|Y| per bin (0 where |Y| = 0)."""
    mag = magnitude(spec)
    gain = torch.where(mag > 0, scale * mag.clamp_min(1e-30) ** (power - 1.0), torch.zeros_like(mag))
    return spec * gain


def decompress(spec: torch.Tensor, power: float, scale: float = 1.0) -> torch.Tensor:
    """The inverse of compress: (|x|/scale)^(1/p) * x/|x|. (The 1e-20 inside the root keeps
    the gradient finite at |x| = 0; its effect on the value is below float precision.)"""
    mag = magnitude(spec, 1e-20)
    safe = mag.clamp_min(1e-30)
    gain = torch.where(mag > 0, (safe / scale) ** (1.0 / power) / safe, torch.zeros_like(mag))
    return spec * gain
