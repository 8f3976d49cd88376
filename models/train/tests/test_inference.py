"""inference.py's command line on a training checkpoint."""
import numpy as np
import soundfile as sf
import torch

from models.train import inference as I
from models.train import networks


def test_main_pads_to_the_length_multiple(tmp_path):
    """`paper` has stride 1 but a sigma stride of 8: the input must be padded to the networks'
    common length multiple (8), not the stride, or the prior's output does not fit."""
    nets = networks.build("paper", "restoregrad")
    assert nets.cfg.stride == 1 and networks.length_multiple(nets.cfg) == 8
    ckpt = tmp_path / "paper.pt"
    torch.save({"meta": {"config": "paper", "objective": "restoregrad", "overrides": {}},
                "nets": nets.state_dict()}, ckpt)
    rng = np.random.default_rng(1)
    y = (0.1 * rng.standard_normal(1003)).astype(np.float32)  # not a multiple of 8
    sf.write(tmp_path / "in.wav", y, 16000, subtype="FLOAT")
    I.main([str(ckpt), str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--steps", "3", "--no-ema"])
    out, sr = sf.read(tmp_path / "out.wav", dtype="float32")
    assert sr == 16000 and out.shape == (1003,) and np.isfinite(out).all()
