"""The causal `rt` networks: streaming step == whole signal, causality, budget, training path,
and the streaming bundle exporter."""
import hashlib
import json

import onnx
import pytest
import torch

from models.train import export as E
from models.train import learner as L
from models.train import model as M
from models.train import networks as N
from models.train import params
from models.train import rt_model as R

torch.set_num_threads(1)

SMALL = dict(channels=16, cond_channels=8, layers=6, emb_dim=16, emb_hidden=32, sigma_channels=4)


def _nets(objective="restoregrad", **kw):
    torch.manual_seed(0)
    nets = N.Networks(params.get("rt").replace(**kw), objective).eval()
    with torch.no_grad():  # the output layers start at zero: make them matter
        for m in nets.modules():
            if isinstance(m, torch.nn.ConvTranspose1d):
                m.weight.normal_(0, 0.05)
    return nets


def _stream_denoiser(den, x, y, t, hop):
    caches, out = R.zero_caches(den), []
    for i in range(0, x.shape[-1], hop):
        e, caches = den.step(x[..., i:i + hop], y[..., i:i + hop], t, caches)
        out.append(e)
    return torch.cat(out, -1)


def _stream_prior(pri, y, hop):
    caches, out = R.zero_caches(pri), []
    for i in range(0, y.shape[-1], hop):
        s, caches = pri.step(y[..., i:i + hop], caches)
        out.append(s)
    return torch.cat(out, -1)


@pytest.mark.parametrize("hop", [160, 168, 320])
def test_step_equals_whole(hop):
    nets = _nets(**SMALL)
    g = torch.Generator().manual_seed(1)
    n = hop * 25  # 25 hops: longer than the largest dilation's cache
    y = torch.randn(1, 1, n, generator=g) * 0.3
    x = torch.randn(1, 1, n, generator=g)
    t = torch.tensor([7.25])
    with torch.no_grad():
        whole = nets.denoiser(x, y, t)
        streamed = _stream_denoiser(nets.denoiser, x, y, t, hop)
        assert whole.shape == x.shape and whole.abs().max() > 1e-2
        # eps = (x_t - b*y - a*f)/sqrt(delta) is large at small t: compare relative to it
        assert (whole - streamed).abs().max() < 1e-6 * whole.abs().max()
        sw, ss = nets.prior(y), _stream_prior(nets.prior, y, hop)
        assert sw.shape == y.shape and sw.std() > 1e-3
        assert (sw - ss).abs().max() < 1e-5


def test_full_size_rt_step_equals_whole():
    nets = _nets()
    y = torch.randn(1, 1, 160 * 30) * 0.2
    x = torch.randn(1, 1, 160 * 30)
    with torch.no_grad():
        whole = nets.denoiser(x, y, torch.tensor([30.0]))
        d = whole - _stream_denoiser(nets.denoiser, x, y, torch.tensor([30.0]), 160)
        assert d.abs().max() < 1e-6 * whole.abs().max()


@pytest.mark.parametrize("cut", [1000, 1003, 2047])
def test_causal(cut):
    """Changing the input from sample `cut` on leaves every output before cut - lookahead
    unchanged (exactly: before cut rounded down to the stride)."""
    nets = _nets(**SMALL)
    g = torch.Generator().manual_seed(2)
    n = 3200
    y, x = torch.randn(1, 1, n, generator=g), torch.randn(1, 1, n, generator=g)
    y2, x2 = y.clone(), x.clone()
    y2[..., cut:] += torch.randn(1, 1, n - cut, generator=g)
    x2[..., cut:] -= 1.0
    t = torch.tensor([3.0])
    la = nets.denoiser.lookahead()
    assert la == nets.cfg.stride - 1 == 7
    with torch.no_grad():
        a, b = nets.denoiser(x, y, t), nets.denoiser(x2, y2, t)
        keep = cut - la
        assert torch.equal(a[..., :keep], b[..., :keep])
        assert (a[..., cut // 8 * 8:] - b[..., cut // 8 * 8:]).abs().max() > 1e-3  # the future does change
        pa, pb = nets.prior(y), nets.prior(y2)
        assert torch.equal(pa[..., :keep], pb[..., :keep])


def test_receptive_field_is_context():
    """An impulse at sample 0 no longer reaches outputs `context` samples later."""
    nets = _nets(**SMALL)
    for net, call in ((nets.denoiser, lambda y: nets.denoiser(y, y, torch.tensor([5.0]))), (nets.prior, nets.prior)):
        n = net.context() + 400
        z = torch.zeros(1, 1, n)
        imp = z.clone()
        imp[..., 0] = 1.0
        with torch.no_grad():
            d = (call(imp) - call(z)).abs()
        assert d[..., : 8].max() > 0
        assert d[..., net.context():].max() == 0


def test_rt_budget_and_shapes():
    cfg = params.get("rt")
    assert cfg.causal and cfg.stride == 8 and cfg.kernel <= 32
    nets = N.Networks(cfg, "restoregrad")
    assert isinstance(nets.denoiser, R.Denoiser) and isinstance(nets.prior, R.SigmaNet)
    assert isinstance(nets.posterior, M.SigmaNet)  # training only: may look ahead
    assert M.macs_per_second(nets.denoiser, cfg.sample_rate) <= 0.15e9
    assert M.macs_per_second(nets.prior, cfg.sample_rate) <= 0.15e9
    # 10 ms hops of 20 latent frames: the largest dilation's cache spans several hops.
    assert max(s[-1] for _, s in nets.denoiser.cache_specs()) > 160 // cfg.stride


def test_rt_trains():
    """The training objective runs on the causal networks and moves every parameter."""
    cfg = params.get("rt").replace(**SMALL)
    nets = N.Networks(cfg, "restoregrad")
    with torch.no_grad():  # posterior != prior, so prior matching pulls on the prior
        nets.posterior.decoder.weight.normal_(0, 0.05)
    co = L.Coefficients()
    g = torch.Generator().manual_seed(3)
    x0 = torch.randn(2, 1, 1600, generator=g) * 0.1
    y = x0 + torch.randn(2, 1, 1600, generator=g) * 0.05
    res = L.losses(nets, co, x0, y, torch.tensor([3, 40]), torch.randn(2, 1, 1600, generator=g), 0.1, 0.5)
    res["loss"].backward()
    assert torch.isfinite(res["loss"])
    head = nets.denoiser.mask_head  # rt's default head
    for p in (head.mask.weight, head.synth.weight, head.decoder.weight):
        assert p.grad.abs().sum() > 0
    assert nets.prior.decoder.conv.weight.grad.abs().sum() > 0


def test_priorgrad_cannot_stream():
    with pytest.raises(SystemExit):
        N.Networks(params.get("rt"), "priorgrad")


def test_stream_export(tmp_path):
    out = tmp_path / "b"
    E.main(["--untrained", "--config", "rt", "--out", str(out), "--hop", "320", "--set", "channels=8", "cond_channels=4",
             "layers=3", "emb_dim=8", "emb_hidden=16", "sigma_channels=4"])
    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "streaming" and m["config"] == "rt" and m["trained"] is False and m["input_rms"] == 0
    s = m["streaming"]
    assert s["hop"] == 320 and s["lookahead"] == 7 and s["latency"] == 0 and s["algorithmic_latency"] == 320
    assert set(m["networks"]) == {"denoiser", "prior", "denoiser_step", "prior_step"}
    for name, net in m["networks"].items():
        f = out / net["file"]
        assert hashlib.sha256(f.read_bytes()).hexdigest() == net["sha256"]
        g = onnx.load(str(f))
        onnx.checker.check_model(g)
        assert [i.name for i in g.graph.input] == [i["name"] for i in net["inputs"]]
        assert [o.name for o in g.graph.output] == [o["name"] for o in net["outputs"]]
    den = s["networks"]["denoiser_step"]
    assert [i["name"] for i in den["inputs"]] == ["y", "x_t", "t"] and den["output"] == "eps"
    assert len(den["caches"]) == 3 + 3 and all(c["output"] == c["input"] + "_out" for c in den["caches"])
    step_inputs = m["networks"]["denoiser_step"]["inputs"]
    assert step_inputs[0]["shape"] == [1, 1, 320] and step_inputs[3]["shape"] == den["caches"][0]["shape"]
    idx = json.loads((out / "golden" / "index.json").read_text())
    assert "streaming" in idx and idx["files"]["y"]["shape"][-1] % 8 == 0
    with pytest.raises(SystemExit):
        E.main(["--untrained", "--config", "rt", "--out", str(tmp_path / "c"), "--hop", "100"])
