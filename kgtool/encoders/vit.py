"""A Vision Transformer (Dosovitskiy et al., 2021) sized for small images."""

from __future__ import annotations

import torch
from torch import nn

from kgtool.encoders.attention import TransformerStack
from kgtool.encoders.base import Encoder
from kgtool.errors import ConfigError


class ViTEncoder(Encoder):
    """Non-overlapping ``patch_size`` patches → linear patch embedding + learned positions →
    pre-norm Transformer blocks (the same blocks as :class:`TransformerEncoder`) → mean over patches.

    Shapes:
        - input: images (n, in_channels, image_size, image_size)
        - output: (n, out_dim) with ``out_dim = dim``
    """

    @classmethod
    def for_images(cls, channels: int, size: int, dim: int, layers: int) -> "ViTEncoder":
        return cls(in_channels=channels, image_size=size, dim=dim, num_layers=layers)

    def __init__(
        self,
        image_size: int = 8,
        patch_size: int = 2,
        in_channels: int = 1,
        dim: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
    ) -> None:
        super().__init__(
            image_size=image_size,
            patch_size=patch_size,
            in_channels=in_channels,
            dim=dim,
            num_heads=num_heads,
            num_layers=num_layers,
        )
        if image_size % patch_size:
            raise ConfigError(f"image_size {image_size} is not divisible by patch_size {patch_size}")
        self.out_dim = dim
        # A strided convolution is the linear map of each flattened patch.
        self.patch_embedding = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)
        self.positions = nn.Parameter(torch.randn((image_size // patch_size) ** 2, dim) * 0.02)
        self.stack = TransformerStack(dim, num_heads, num_layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embedding(images).flatten(2).transpose(1, 2)  # (n, num_patches, dim)
        return self.stack(patches + self.positions).mean(dim=1)
