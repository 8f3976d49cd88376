"""torchrun with two CPU ranks (gloo) trains as one process at the same global batch, and a
distributed run resumes from its checkpoint (issue 26)."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from models.train import data as D
from models.train import distributed as DI

ROOT = Path(__file__).resolve().parents[3]
# Weights after a few Adam steps: the same batches, gradients averaged over two ranks instead
# of one mean over the global batch, so they differ only by float summation order.
WEIGHT_TOL = 1e-4


def _corpus(dir: Path) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(2 * D.SR) / D.SR
    speech = [0.3 * np.sin(2 * np.pi * f * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)) for f in (150, 220, 310)]
    noise = [0.1 * rng.standard_normal(2 * D.SR)]
    a = {}
    for part in ("train", "valid"):
        a[f"speech_{part}"], a[f"speech_{part}_off"] = D._pack(speech)
        a[f"speech_{part}_narrow"] = np.array([False, True, False])
        a[f"noise_{part}"], a[f"noise_{part}_off"] = D._pack(noise)
    np.savez(dir / "corpus.npz", **a)
    m = D.Mixer(D.Corpus.load(dir / "corpus.npz"), "valid", seed=1, recipe="v2")
    np.savez(dir / "valid.npz", **m.validation_set(2, 4096))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(data: Path, out: Path, steps: int, procs: int, *extra: str) -> None:
    args = ["-m", "models.train.train", "--config", "tf-tiny", "--objective", "restoregrad-noposterior",
            "--steps", str(steps), "--batch", "4", "--seed", "3", "--ema", "0", "--threads", "1",
            "--device", "cpu", "--data", str(data), "--keep", "none", "--out", str(out), "--recipe", "v2",
            "--log-every", "1", "--ckpt-minutes", "1000", *extra]
    if procs > 1:
        # --redirects/--tee 2: Debian's torch 1.13 launcher under Python 3.11 fails on their
        # default 0 (Std.from_str returns None for it); 2 keeps stdout and tees stderr.
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(procs),
               "--redirects", "2", "--tee", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(_free_port())] + args
    else:
        cmd = [sys.executable] + args
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu")["nets"]


def _assert_same(a: dict, b: dict) -> None:
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=WEIGHT_TOL, atol=WEIGHT_TOL), k


def test_seeded_batches_do_not_depend_on_the_split(tmp_path):
    _corpus(tmp_path)
    c = D.Corpus.load(tmp_path / "corpus.npz")
    whole = DI.SeededBatches(c, 5, 4, 2000, 0.0, "v2", slice(0, 4), 7).mix(7)
    halves = [DI.SeededBatches(c, 5, 4, 2000, 0.0, "v2", DI.local_slice(4, DI.Setup(rank=r, world=2)), 7).mix(7)
              for r in (0, 1)]
    for i in (0, 1):
        assert np.array_equal(whole[i], np.concatenate([h[i] for h in halves]))
    t, z = DI.seeded_noise(5, 7, 4, 50, 0.4, (4, 2, 10, 9), slice(0, 4))
    t1, z1 = DI.seeded_noise(5, 7, 4, 50, 0.4, (4, 2, 10, 9), slice(2, 4))
    assert torch.equal(t[2:], t1) and torch.equal(z[2:], z1)
    with pytest.raises(SystemExit):
        DI.local_slice(5, DI.Setup(rank=0, world=2))


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not built in")
def test_two_ranks_train_and_resume_as_one_process(tmp_path):
    _corpus(tmp_path)
    _train(tmp_path, tmp_path / "one", 4, 1, "--workers", "1")
    _train(tmp_path, tmp_path / "two", 4, 2)
    one, two = _weights(tmp_path / "one" / "last.pt"), _weights(tmp_path / "two" / "last.pt")
    _assert_same(one, two)
    # The logged losses agree step by step.
    l1 = np.genfromtxt(tmp_path / "one" / "log.csv", delimiter=",", names=True)["loss"]
    l2 = np.genfromtxt(tmp_path / "two" / "log.csv", delimiter=",", names=True)["loss"]
    assert np.allclose(l1[: len(l2)], l2[: len(l1)], rtol=1e-4, atol=1e-5)
    # Two steps, then resumed to four, under torchrun: the straight four-step run's weights.
    _train(tmp_path, tmp_path / "resumed", 2, 2)
    _train(tmp_path, tmp_path / "resumed", 4, 2, "--resume")
    _assert_same(two, _weights(tmp_path / "resumed" / "last.pt"))
    ck = torch.load(tmp_path / "resumed" / "last.pt", map_location="cpu")
    assert ck["step"] == 4 and ck["meta"]["data_stream"] == "seeded"
    # A run that mixes in one stream refuses to continue under torchrun (it would change its data).
    _train(tmp_path, tmp_path / "plain", 1, 1)
    with pytest.raises(AssertionError, match="mixes its batches in one stream"):
        _train(tmp_path, tmp_path / "plain", 2, 2, "--resume")
