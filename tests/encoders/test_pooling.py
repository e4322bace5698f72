import pytest
import torch

from kgtool.encoders.pooling import masked_pool
from kgtool.errors import ConfigError


def test_masked_mean_and_max_ignore_masked_positions():
    x = torch.tensor([[[1.0, -1.0], [3.0, 5.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])
    assert masked_pool(x, mask, "mean").tolist() == [[2.0, 2.0]]
    assert masked_pool(x, mask, "max").tolist() == [[3.0, 5.0]]


def test_row_without_valid_positions_pools_to_zero():
    x = torch.randn(1, 3, 2)
    mask = torch.zeros(1, 3, dtype=torch.bool)
    for pooling in ("mean", "max"):
        assert masked_pool(x, mask, pooling).tolist() == [[0.0, 0.0]]


def test_unknown_pooling():
    with pytest.raises(ConfigError):
        masked_pool(torch.zeros(1, 1, 1), torch.ones(1, 1, dtype=torch.bool), "sum")
