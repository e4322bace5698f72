"""The sinusoidal embedding of integer positions (Vaswani et al., 2017), shared by token
positions in Transformers and by diffusion time steps in the UNet."""

from __future__ import annotations

import math

import torch


def sinusoidal_embedding(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """``[sin(p ω_0), ..., sin(p ω_{d/2-1}), cos(p ω_0), ...]`` with ``ω_i = 10000^{-2i/d}``.

    :param positions: shape: (n,), integer or float positions
    :param dim: an even embedding size
    :return: shape: (n, dim)
    """
    half = dim // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = positions.float().unsqueeze(-1) * frequencies.to(positions.device)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)
