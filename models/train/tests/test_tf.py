"""The time-frequency pipeline: STFT framing and compression, band matrices, the tf networks
(identity start, causal stepping == whole signal), the losses in the STFT domain, the export."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from models.train import export as EX
from models.train import inference as I
from models.train import learner as L
from models.train import networks as N
from models.train import params
from models.train import stft
from models.train import tf_model as TM
from models.train.experiments import sigma_weight as SW

TINY = params.get("tf-tiny")


def test_stft_round_trip_is_exact():
    x = torch.randn(3, 4000) * 0.1
    spec = stft.analyse(x, 512, 256)
    assert spec.shape == (3, 2, stft.frames_for(4000, 256), 257)
    back = stft.synthesise(stft.decompress(stft.compress(spec, 0.3), 0.3), 4000, 512, 256)
    assert (back - x).abs().max() < 1e-5


def test_stft_frame_matches_numpy_rfft():
    x = torch.randn(1, 1000)
    spec = stft.analyse(x, 512, 256)
    p = 256
    padded = np.concatenate([np.zeros(p), x[0].numpy(), np.zeros(2048)])
    j = 2
    ref = np.fft.rfft(padded[j * 256:j * 256 + 512] * stft.window(512).numpy())
    assert np.abs(spec[0, 0, j].numpy() - ref.real).max() < 1e-4
    assert np.abs(spec[0, 1, j].numpy() - ref.imag).max() < 1e-4


def test_compression_is_power_law():
    spec = torch.tensor([[[[3.0]], [[4.0]]]])  # |Y| = 5
    c = stft.compress(spec, 0.5)
    assert torch.allclose(stft.magnitude(c), torch.tensor(5.0 ** 0.5))
    assert torch.allclose(c[:, 0] / c[:, 1], torch.tensor(0.75))
    assert torch.equal(stft.compress(torch.zeros(1, 2, 1, 1), 0.3), torch.zeros(1, 2, 1, 1))


def test_band_matrices_partition_bins():
    C, E = TM.band_matrices(257, 65, 32, 16000)
    assert C.shape == (257, 97) and E.shape == (97, 257)
    assert np.allclose(E.sum(axis=0), 1.0)        # every bin is a convex combination of bands
    assert np.allclose(C.sum(axis=0), 1.0)        # every band is a weighted mean of bins
    assert np.allclose(E[:65, :65], np.eye(65))   # low bins are their own bands


def test_untrained_denoiser_outputs_y():
    den = TM.TFDenoiser(TINY)
    y = torch.randn(2, 2, 7, 257)
    x = torch.randn(2, 2, 7, 257)
    assert torch.allclose(den.head(x, y, torch.tensor([0.0, 49.0])), y)


@pytest.mark.parametrize("objective", ["restoregrad", "cdiffuse", "priorgrad"])
def test_causal_step_equals_whole_signal(objective):
    torch.manual_seed(0)
    nets = N.Networks(TINY, objective)
    with torch.no_grad():
        for m in nets.modules():
            if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Linear)):
                m.weight.normal_(0, 0.1)
    nets.eval()
    y, x = torch.randn(1, 2, 9, 257), torch.randn(1, 2, 9, 257)
    t = torch.tensor([12.5])
    with torch.no_grad():
        whole = nets.denoiser(x, y, t)
        sig = nets.prior(y)
        dc, pc, out, sout = nets.denoiser.zero_caches(), nets.prior.zero_caches(), [], []
        for j in range(9):
            e, dc = nets.denoiser.step(x[:, :, j:j + 1], y[:, :, j:j + 1], t, dc)
            s, pc = nets.prior.step(y[:, :, j:j + 1], pc)
            out.append(e)
            sout.append(s)
    assert (torch.cat(out, 2) - whole).abs().max() < 1e-4 * whole.abs().max()
    assert (torch.cat(sout, 2) - sig).abs().max() < 1e-5


def test_sigma_is_bounded_relative_to_y():
    net = TM.TFSigmaNet(TINY, 1)
    with torch.no_grad():
        net.out.bias.fill_(50.0)
    y = torch.randn(2, 2, 5, 257)
    my = stft.magnitude(y, 1e-8)
    s = net(y)
    assert torch.allclose(s, TINY.s_max * (my + TINY.kappa), rtol=1e-4)
    with torch.no_grad():
        net.out.bias.fill_(-50.0)
    assert torch.allclose(net(y), TINY.s_min * (my + TINY.kappa), rtol=1e-4)


def test_sigma_per_frame_is_shared_by_the_bins_and_bounded_by_the_frame_rms():
    cfg = TINY.replace(sigma_per_frame=True)
    y = torch.randn(2, 2, 5, 257)
    rms = stft.magnitude(y, 1e-8).pow(2).mean(-1, keepdim=True).sqrt()
    net = TM.TFSigmaNet(cfg, 1)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.Linear):
                m.weight.normal_(0, 0.3)
        s = net(y)
    assert s.shape == (2, 1, 5, 257)
    assert (s - s[..., :1]).abs().max() == 0  # one value per frame
    assert (s[..., :1] >= cfg.s_min * (rms + cfg.kappa) * (1 - 1e-5)).all()
    assert (s[..., :1] <= cfg.s_max * (rms + cfg.kappa) * (1 + 1e-5)).all()
    pg = TM.TFPriorGrad(cfg)(y)
    assert torch.allclose(pg, rms.clamp_min(cfg.pg_floor).expand_as(pg))


@pytest.mark.parametrize("objective", ["restoregrad", "priorgrad"])
def test_sigma_per_frame_steps_equal_whole_signal(objective):
    torch.manual_seed(0)
    nets = N.Networks(TINY.replace(sigma_per_frame=True, causal=True), objective)
    y = torch.randn(1, 2, 7, 257)
    with torch.no_grad():
        whole = nets.prior(y)
        pc, sout = nets.prior.zero_caches(), []
        for j in range(7):
            s, pc = nets.prior.step(y[:, :, j:j + 1], pc)
            sout.append(s)
    assert (torch.cat(sout, 2) - whole).abs().max() < 1e-5


@pytest.mark.parametrize("objective", params.OBJECTIVES)
def test_losses_finite_in_stft_domain(objective):
    torch.manual_seed(1)
    nets = N.Networks(TINY, objective)
    co = L.Coefficients()
    wave = torch.randn(2, 1, 4096) * 0.1
    x0 = stft.compress(stft.analyse(wave[:, 0], 512, 256), 0.3)
    y = x0 + 0.3 * torch.randn_like(x0)
    res = L.losses(nets, co, x0, y, torch.tensor([0, 49]), torch.randn_like(x0), 0.1, 0.5, wave)
    assert torch.isfinite(res["loss"])
    res["loss"].backward()
    for p in nets.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all()
    assert res["spec"] > 0 and torch.isfinite(res["sisdr"])
    if objective == "restoregrad":
        assert res["pm"] >= 0 and res["lr"] != 0


def test_sample_t_weights_last_step():
    g = torch.Generator().manual_seed(0)
    t = L.sample_t(10000, 50, g, t_last=0.4)
    frac = float((t == 49).float().mean())
    assert 0.40 < frac < 0.44  # 0.4 + 0.6/50
    assert int(t.min()) == 0


def test_export_writes_schema2_bundle_and_golden(tmp_path):
    torch.manual_seed(0)
    nets = N.Networks(TINY, "restoregrad")
    m = EX.export_stft(nets, tmp_path / "b", "b", {"seed": 0}, False, 0.0, 2)
    assert m["schema"] == 2 and m["domain"] == "stft" and m["kind"] == "streaming"
    assert m["stft"] == {"n_fft": 512, "hop": 256, "window": "sqrt_hann", "compress": 0.3, "scale": 1.0}
    assert m["networks"]["denoiser"]["inputs"][0]["shape"] == [1, 2, -1, 257]
    assert m["networks"]["denoiser_step"]["inputs"][0]["shape"] == [1, 2, 1, 257]
    assert m["streaming"]["algorithmic_latency"] == 512
    idx = json.loads((tmp_path / "b" / "golden" / "index.json").read_text())
    g = {k: np.fromfile(tmp_path / "b" / "golden" / v["file"], "<f4").reshape(v["shape"])
         for k, v in idx["files"].items()}
    noise = torch.from_numpy(g["noise"]).permute(0, 2, 1, 3).unsqueeze(1)
    out = I.enhance_stft(TINY, nets.denoiser, nets.prior, torch.from_numpy(g["wave_y"]).view(1, 1, -1),
                         I.uniform_betas(2), noise=noise)
    assert np.abs(out.view(-1).numpy() - g["wave_out"]).max() < 1e-5
    assert g["noise"].shape[1:] == (g["y"].shape[2], 2, 257)


def test_sigma_weight_stats_flat_and_uneven_spectra():
    torch.manual_seed(0)
    white = SW.weight_stats(torch.randn(2, 16000), TINY)
    tone = SW.weight_stats(torch.sin(torch.arange(16000) * 0.3).unsqueeze(0) + 1e-3 * torch.randn(1, 16000), TINY)
    assert white["ratio_median"] < tone["ratio_median"]
    assert 0.5 <= white["quiet_half_share"] < tone["quiet_half_share"] <= 1.0
