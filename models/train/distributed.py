"""Training past one CPU thread: the device, data mixed in DataLoader workers, and
DistributedDataParallel under torchrun (issue 26).

    torchrun --nproc_per_node=2 -m models.train.train --device cpu --config tf-rt ...   # gloo
    torchrun --nproc_per_node=4 -m models.train.train --device cuda ...                # nccl, one GPU a rank

Seeded batches make the data independent of how it is split: item i of the global batch at
step s is mixed from numpy's generator seeded with (seed, s, i), and the diffusion step t and
noise z of the whole global batch come from torch's generator seeded with (seed, s). Rank r of
W takes items [r*B/W, (r+1)*B/W), so W ranks at global batch B see exactly the batch one
process sees, and a resumed run needs only its step count to continue its data stream.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from . import data as D
from . import learner as L
from .networks import Networks


@dataclass
class Setup:
    """Where this process trains: its rank among `world` processes and its device."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """Rank 0 writes checkpoints, logs and prints."""
        return self.rank == 0


def resolve_device(name: str) -> torch.device:
    """auto: CUDA when a GPU is visible, else CPU; cuda without a GPU is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to PyTorch")
    if name not in ("cpu", "cuda"):
        raise SystemExit(f"--device {name}: want auto, cpu or cuda")
    return torch.device(name)


def setup(device: str) -> Setup:
    """Joins the process group when started by torchrun (WORLD_SIZE > 1): gloo on CPU, nccl on
    CUDA with one GPU per local rank."""
    dev = resolve_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Setup(device=dev)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if dev.type == "cuda":
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Setup(rank=rank, world=world, device=dev)


def shutdown() -> None:
    """Ends a torchrun process once every rank is done. It exits without running destructors:
    torch 1.13's DistributedDataParallel can deadlock in them (the Reducer joins gloo's worker
    thread while holding the GIL, and that thread waits for the GIL to free a tensor), which
    hung one two-rank run in a few at its very end."""
    if not dist.is_initialized():
        return
    dist.barrier()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def local_slice(batch: int, s: Setup) -> slice:
    if batch % s.world:
        raise SystemExit(f"--batch {batch} does not split evenly over {s.world} processes")
    per = batch // s.world
    return slice(s.rank * per, (s.rank + 1) * per)


class SeededBatches(IterableDataset):
    """This rank's share of each global batch, from step `start` on; DataLoader workers take
    steps in turn (worker w of k mixes steps start+w, start+w+k, ...; the loader interleaves
    them back in order)."""

    def __init__(self, corpus: D.Corpus, seed: int, batch: int, n: int, gap_noise: float, recipe: str,
                 items: slice, start: int):
        self.seed, self.batch, self.n, self.items, self.start = seed, batch, n, items, start
        # One mixer, its generator re-seeded per item: what an item is depends only on
        # (seed, step, item), not on which rank or worker mixes it.
        self.mixer = D.Mixer(corpus, "train", seed=0, gap_noise=gap_noise, recipe=recipe)

    def pair(self, step: int, item: int) -> tuple[np.ndarray, np.ndarray]:
        self.mixer.rng = np.random.default_rng([self.seed, step, item])
        return self.mixer.pair(self.n)

    def mix(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = zip(*(self.pair(step, i) for i in range(self.batch)[self.items]))
        return np.stack(xs)[:, None, :], np.stack(ys)[:, None, :]

    def __iter__(self):
        w = get_worker_info()
        k, first = (w.num_workers, w.id) if w is not None else (1, 0)
        step = self.start + first
        while True:
            yield self.mix(step)
            step += k


def seeded_loader(ds: SeededBatches, workers: int):
    """An endless iterator of (x, y) numpy batches, in step order."""
    if workers <= 0:
        return iter(ds)
    loader = DataLoader(ds, batch_size=None, num_workers=workers, prefetch_factor=2,
                        persistent_workers=True)
    return (tuple(v.numpy() if torch.is_tensor(v) else v for v in b) for b in loader)


def seeded_noise(seed: int, step: int, batch: int, T: int, t_last: float, shape: tuple[int, ...],
                 items: slice) -> tuple[torch.Tensor, torch.Tensor]:
    """t [b] and z for this rank's items of the global batch at `step` (CPU tensors)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    t = L.sample_t(batch, T, g, t_last)
    z = torch.randn((batch,) + tuple(shape[1:]), generator=g)
    return t[items], z[items]


def seeded_chain_noise(seed: int, step: int, batch: int, shape: tuple[int, ...], items: slice) -> torch.Tensor:
    """The restart chain's second draw for this rank's items (a generator of its own, so the
    draws of seeded_noise stay as they were)."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + step + 7_919 * 1_000_003)
    return torch.randn((batch,) + tuple(shape[1:]), generator=g)[items]


class LossModule(nn.Module):
    """The networks with `learner.losses` as forward, so DistributedDataParallel sees the
    computation that produces the gradients it averages."""

    def __init__(self, nets: Networks, co: L.Coefficients):
        super().__init__()
        self.nets, self.co = nets, co

    def forward(self, x0, y, t, z, eta: float, lam: float, clean=None, z2=None):
        return L.losses(self.nets, self.co, x0, y, t, z, eta, lam, clean, z2)


def wrap(nets: Networks, co: L.Coefficients, s: Setup) -> nn.Module:
    m = LossModule(nets, co)
    if s.world <= 1:
        return m
    # Not every network takes part in every objective's loss (e.g. no posterior).
    return nn.parallel.DistributedDataParallel(
        m, device_ids=[s.device.index] if s.device.type == "cuda" else None, find_unused_parameters=True)


def mean_over_ranks(v: float, s: Setup) -> float:
    if s.world <= 1:
        return v
    t = torch.tensor([v], dtype=torch.float64, device=s.device)  # nccl reduces CUDA tensors only
    dist.all_reduce(t)
    return float(t) / s.world


def main_rank_says(flag: bool, s: Setup) -> bool:
    """Rank 0's flag on every rank (so that all ranks stop at the same step)."""
    if s.world <= 1:
        return flag
    t = torch.tensor([float(flag)], device=s.device)
    dist.broadcast(t, 0)
    return bool(t.item())
