"""A small ResNet-style image encoder."""

from __future__ import annotations

import torch
from torch import nn

from kgtool.encoders.base import Encoder
from kgtool.encoders.residual import ResidualBlock, group_norm


class CNNEncoder(Encoder):
    """Stem convolution → one residual block per entry of ``channels`` (each after the first
    halves the resolution) → average pooling to a ``pool_size`` × ``pool_size`` grid → linear
    projection of the flattened grid.

    ``pool_size=1`` is global average pooling, right for images much larger than the receptive
    field. On small images (8×8 digits) it discards where the strokes are, which is most of what
    tells a digit apart: a grid keeps that layout.

    Shapes:
        - input: images (n, in_channels, h, w), any h, w ≥ 1
        - output: (n, out_dim)
    """

    @classmethod
    def for_images(cls, channels: int, size: int, dim: int, layers: int) -> "CNNEncoder":
        return cls(in_channels=channels, out_dim=dim)

    def __init__(
        self,
        in_channels: int = 1,
        channels: tuple[int, ...] | list[int] = (16, 32),
        out_dim: int = 64,
        pool_size: int = 1,
    ) -> None:
        super().__init__(in_channels=in_channels, channels=list(channels), out_dim=out_dim, pool_size=pool_size)
        self.out_dim = out_dim
        self.stem = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        widths = [channels[0], *channels]
        self.blocks = nn.Sequential(
            *(ResidualBlock(widths[i], widths[i + 1], stride=1 if i == 0 else 2) for i in range(len(channels)))
        )
        self.head = nn.Sequential(group_norm(channels[-1]), nn.SiLU(), nn.AdaptiveAvgPool2d(pool_size), nn.Flatten())
        self.proj = nn.Linear(channels[-1] * pool_size**2, out_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.proj(self.head(self.blocks(self.stem(images))))
