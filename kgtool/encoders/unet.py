"""A small UNet noise predictor for the DDPM, which also exposes its pooled activations."""

from __future__ import annotations

import torch
from torch import nn

from kgtool.encoders.residual import ResidualBlock, group_norm
from kgtool.encoders.sinusoidal import sinusoidal_embedding


class UNet(nn.Module):
    """One resolution level down and up with a skip connection, every block conditioned on the
    time step: ``h0`` at full resolution, ``h1`` at half, ``h2`` back at full after the skip.

    Shapes:
        - x: (n, in_channels, h, w), any h, w ≥ 2
        - t: (n,) integer time steps
        - output: predicted noise (n, in_channels, h, w) and pooled activations: ``h0``, ``h1``,
          ``h2`` each average-pooled to a ``pool_size`` × ``pool_size`` grid, flattened and
          concatenated, of shape (n, 4 * channels * pool_size²)
    """

    def __init__(self, in_channels: int = 1, channels: int = 32, pool_size: int = 1) -> None:
        super().__init__()
        self.channels = channels
        self.pool_size = pool_size
        time_dim = 4 * channels
        self.time_mlp = nn.Sequential(nn.Linear(channels, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.down = ResidualBlock(channels, channels, cond_dim=time_dim)
        self.downsample = ResidualBlock(channels, 2 * channels, stride=2, cond_dim=time_dim)
        self.mid = ResidualBlock(2 * channels, 2 * channels, cond_dim=time_dim)
        self.up = ResidualBlock(3 * channels, channels, cond_dim=time_dim)
        self.out = nn.Sequential(group_norm(channels), nn.SiLU(), nn.Conv2d(channels, in_channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        time = self.time_mlp(sinusoidal_embedding(t, self.channels))
        h0 = self.down(self.stem(x), time)
        h1 = self.mid(self.downsample(h0, time), time)
        # Interpolating to h0's size (not a fixed ×2) also serves odd image sizes.
        h2 = self.up(torch.cat([nn.functional.interpolate(h1, size=h0.shape[-2:]), h0], dim=1), time)
        grids = [nn.functional.adaptive_avg_pool2d(h, self.pool_size) for h in (h0, h1, h2)]
        pooled = torch.cat([grid.flatten(1) for grid in grids], dim=1)
        return self.out(h2), pooled
