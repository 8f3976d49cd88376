"""The mask head's transform pair and start point, and the floor schedules."""
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from models.train import learner as L
from models.train import model as M
from models.train import networks as N
from models.train import params
from models.train import schedule as S


@pytest.mark.parametrize("kernel,stride,offset", [(32, 8, 12), (32, 8, 24), (16, 8, 4)])
def test_block_transform_reconstructs_through_relu(kernel, stride, offset):
    enc, dec = M.block_transform_pair(kernel, stride, offset)
    x = torch.randn(2, 1, 40 * stride, dtype=torch.float32)
    # frame j of the analysis starts at j*stride - offset; synthesis frame j writes j*stride...
    c = F.conv1d(F.pad(x, (offset, kernel - stride - offset)), enc, stride=stride)
    y = F.conv_transpose1d(F.relu(c), dec, stride=stride)
    assert y.shape == x.shape
    assert (y - x).abs().max() < 1e-5


@pytest.mark.parametrize("config", ["small", "rt"])
def test_mask_head_starts_at_the_input(config):
    """Untrained, the x0 estimate is sigmoid(4) * y whatever x_t and t: training starts from
    the noisy input, not from silence."""
    torch.manual_seed(0)
    nets = N.Networks(params.get(config), "restoregrad").eval()
    y = torch.randn(2, 1, 1600) * 0.1
    with torch.no_grad():
        f = nets.denoiser.head(torch.randn(2, 1, 1600), y, torch.tensor([2.0, 45.0]))
    assert (f - torch.sigmoid(torch.tensor(4.0)) * y).abs().max() < 1e-5


def test_mask_head_needs_x0():
    with pytest.raises(ValueError):
        M.Denoiser(params.get("small").replace(param="eps"))


@pytest.mark.parametrize("floor,n", [(0.0, 6), (20.0, 6), (12.5, 3), (0.0, 1)])
def test_floor_schedule_lands_on_its_training_steps(floor, n):
    betas = S.floor_betas(floor, n)
    assert len(betas) == n and np.all(betas > 0) and np.all(betas < 1)
    t = S.align(S.training(), S.make(betas))
    want = [params.TRAIN_T - 1.0] if n == 1 else np.linspace(floor, params.TRAIN_T - 1, n)
    assert np.allclose(t, want, atol=1e-6)
