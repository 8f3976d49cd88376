import hashlib
import json

import numpy as np
import onnx
import pytest
import torch

from models.train import export as E
from models.train import params


@pytest.fixture(scope="module", params=["restoregrad", "priorgrad", "cdiffuse"])
def bundle(tmp_path_factory, request):
    out = tmp_path_factory.mktemp(request.param)
    E.main(["--untrained", "--config", "tiny", "--objective", request.param, "--out", str(out)])
    return out, request.param


def test_manifest_and_files(bundle):
    out, objective = bundle
    m = json.loads((out / "manifest.json").read_text())
    for key in ("schema", "name", "version", "kind", "config", "objective", "trained", "description",
                "sample_rate", "length_multiple", "context", "training_betas", "inference_schedules",
                "default_steps", "final_blend", "input_rms", "networks", "card"):
        assert key in m, key
    assert m["trained"] is False and m["objective"] == objective and m["kind"] == "offline"
    assert len(m["training_betas"]) == 50 and m["inference_schedules"]["6"] == params.INFERENCE_SCHEDULES["6"]
    assert m["length_multiple"] == 8 and m["context"] > 0
    for net in m["networks"].values():
        f = out / net["file"]
        assert hashlib.sha256(f.read_bytes()).hexdigest() == net["sha256"]
        model = onnx.load(str(f))
        onnx.checker.check_model(model)
        assert model.opset_import[0].version >= 13
        names = [i.name for i in model.graph.input]
        assert names == [i["name"] for i in net["inputs"]]
        # dynamic time axis on every [1,1,-1] input
        for i in model.graph.input:
            dims = i.type.tensor_type.shape.dim
            if len(dims) == 3:
                assert dims[2].dim_param, i.name
    assert (out / "CARD.md").exists()


def _load(out, name, idx):
    e = idx["files"][name]
    return np.fromfile(out / "golden" / e["file"], dtype="<f4").reshape(e["shape"])


def test_golden_consistent_with_torch(bundle):
    out, objective = bundle
    idx = json.loads((out / "golden" / "index.json").read_text())
    assert set(idx["files"]) == {"y", "x_t", "t", "eps", "sigma", "noise", "sample"}
    y, noise = _load(out, "y", idx), _load(out, "noise", idx)
    assert noise.shape == (6, y.shape[-1]) and y.shape[-1] % 8 == 0
    assert _load(out, "sample", idx).shape == (y.shape[-1],)
    assert (_load(out, "sigma", idx) > 0).all()


def test_reference_evaluator_matches_torch(bundle):
    try:
        from onnx.reference import ReferenceEvaluator
    except ImportError:
        pytest.skip(f"onnx {onnx.__version__} has no onnx.reference.ReferenceEvaluator (needs >= 1.13); "
                    "the Go golden test checks the graphs through ONNX Runtime instead")
    out, _ = bundle
    idx = json.loads((out / "golden" / "index.json").read_text())
    y, x_t, t = (_load(out, k, idx) for k in ("y", "x_t", "t"))
    eps = ReferenceEvaluator(str(out / "denoiser.onnx")).run(None, {"x_t": x_t, "y": y, "t": t})[0]
    sig = ReferenceEvaluator(str(out / "prior.onnx")).run(None, {"y": y})[0]
    assert np.abs(eps - _load(out, "eps", idx)).max() <= 1e-4
    assert np.abs(sig - _load(out, "sigma", idx)).max() <= 1e-4


def test_card_names_the_gap_noise_and_its_start():
    meta = {"overrides": {"gap_noise": 0.3},
            "resumed": [{"step": 5, "overrides": {}}, {"step": 19797, "overrides": {"gap_noise": 0.3}}]}
    note = E.gap_note(meta)
    assert "from step 19,797 on, 30%" in note and "--gap-noise" in note
    assert E.gap_note({"overrides": {}}) == ""


def test_card_ancestry_follows_the_starting_checkpoints_on_disk(tmp_path):
    first = {"meta": {"command": "train A"}}
    torch.save(first, tmp_path / "a.pt")
    second = {"meta": {"command": "train B", "init_from": {"checkpoint": str(tmp_path / "a.pt"), "command": "train A",
                                                          "resumed": [{"command": "resume A"}], "wall_minutes": 10.0}}}
    torch.save(second, tmp_path / "b.pt")
    third = {"command": "train C", "init_from": {"checkpoint": str(tmp_path / "b.pt"), "command": "train B",
                                                  "resumed": [], "wall_minutes": 5.0}}
    assert E.ancestry(third) == (["train A", "resume A", "train B"], 15.0)
    # A starting checkpoint no longer on disk: only what this run recorded of it.
    gone = {"init_from": {"checkpoint": str(tmp_path / "gone.pt"), "command": "train X", "wall_minutes": 2.0}}
    assert E.ancestry(gone) == (["train X"], 2.0)
    assert E.ancestry({"command": "fresh"}) == ([], 0.0)
