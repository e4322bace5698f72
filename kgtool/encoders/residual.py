"""The residual convolution block shared by the CNN encoder and the diffusion UNet."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn


def group_norm(channels: int) -> nn.GroupNorm:
    # GroupNorm, not BatchNorm: an image's features must not depend on the rest of its batch.
    return nn.GroupNorm(min(8, channels), channels)


class ResidualBlock(nn.Module):
    """``x + conv(silu(norm(conv(silu(norm(x))) + cond)))``, ResNet v2 style, with an optional
    per-image conditioning vector (the diffusion time embedding) added between the convolutions.

    Shapes:
        - x: (n, in_channels, h, w)
        - cond: (n, cond_dim), only when ``cond_dim > 0``
        - output: (n, out_channels, h / stride, w / stride)
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, cond_dim: int = 0) -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.cond = nn.Linear(cond_dim, out_channels) if cond_dim else None
        self.norm2 = group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut = (
            nn.Identity()
            if stride == 1 and in_channels == out_channels
            else nn.Conv2d(in_channels, out_channels, 1, stride=stride)
        )

    def forward(self, x: torch.Tensor, cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        if self.cond is not None:
            h = h + self.cond(cond)[:, :, None, None]
        h = self.conv2(nn.functional.silu(self.norm2(h)))
        return self.shortcut(x) + h
