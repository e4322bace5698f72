"""Composition operators against their definitions, element by element."""

import pytest
import torch

from kgtool.relational.composition import COMPOSITIONS


def composed_by_loop(name: str, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """φ(x, r) of 1-d vectors, one output element at a time."""
    d = len(x)
    if name == "sub":
        return torch.tensor([x[k] - r[k] for k in range(d)], dtype=torch.float64)
    if name == "mult":
        return torch.tensor([x[k] * r[k] for k in range(d)], dtype=torch.float64)
    return torch.tensor([sum(x[i] * r[(i + k) % d] for i in range(d)) for k in range(d)], dtype=torch.float64)


@pytest.mark.parametrize("name", ["sub", "mult", "corr"])
@pytest.mark.parametrize("d", [5, 6])  # odd and even lengths: rfft keeps d // 2 + 1 frequencies
def test_composition_matches_its_definition_and_broadcasts(name, d):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, d, generator=g, dtype=torch.float64)
    r = torch.randn(1, d, generator=g, dtype=torch.float64)
    out = COMPOSITIONS[name](x, r)
    assert out.shape == (4, d)
    for i in range(4):
        torch.testing.assert_close(out[i], composed_by_loop(name, x[i], r[0]))


def test_circular_correlation_is_not_symmetric():
    """Correlation, not convolution: ``x ⋆ r`` differs from ``r ⋆ x`` (index order matters)."""
    x, r = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 1.0, 0.0])
    torch.testing.assert_close(COMPOSITIONS["corr"](x, r), torch.tensor([2.0, 1.0, 3.0]))  # x_{1-k}
    torch.testing.assert_close(COMPOSITIONS["corr"](r, x), torch.tensor([2.0, 3.0, 1.0]))  # x_{1+k}
