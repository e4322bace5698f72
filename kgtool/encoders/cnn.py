"""A small ResNet-style image encoder."""

from __future__ import annotations

import torch
from torch import nn

from kgtool.encoders.base import Encoder
from kgtool.encoders.residual import ResidualBlock, group_norm


class CNNEncoder(Encoder):
    """Stem convolution → one residual block per entry of ``channels`` (each after the first
    halves the resolution) → global average pooling → linear projection.

    Shapes:
        - input: images (n, in_channels, h, w), any h, w ≥ 1
        - output: (n, out_dim)
    """

    def __init__(self, in_channels: int = 1, channels: tuple[int, ...] | list[int] = (16, 32), out_dim: int = 64) -> None:
        super().__init__(in_channels=in_channels, channels=list(channels), out_dim=out_dim)
        self.out_dim = out_dim
        self.stem = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        widths = [channels[0], *channels]
        self.blocks = nn.Sequential(
            *(ResidualBlock(widths[i], widths[i + 1], stride=1 if i == 0 else 2) for i in range(len(channels)))
        )
        self.head = nn.Sequential(group_norm(channels[-1]), nn.SiLU())
        self.proj = nn.Linear(channels[-1], out_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = self.head(self.blocks(self.stem(images)))
        return self.proj(h.mean(dim=(2, 3)))
