"""Pooling of variable-length sequences in which padding positions must never count."""

from __future__ import annotations

import torch

from kgtool.errors import ConfigError

POOLINGS = ("mean", "max")


def masked_pool(x: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """Pool over the sequence dimension, using only the positions where ``mask`` is True.

    A row with no valid position pools to zeros (an empty text has no tokens to summarise).

    :param x: shape: (n, length, dim)
    :param mask: shape: (n, length), True at real tokens
    :param pooling: "mean" or "max"
    :return: shape: (n, dim)
    """
    mask = mask.unsqueeze(-1)
    if pooling == "mean":
        return (x * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
    if pooling == "max":
        pooled = x.masked_fill(~mask, float("-inf")).amax(dim=1)
        return pooled.masked_fill(~mask.any(dim=1), 0.0)
    raise ConfigError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
