"""A DDPM (Ho et al., 2020) whose UNet activations serve as image features."""

from __future__ import annotations

import torch
from torch import nn

from kgtool.encoders.base import Encoder
from kgtool.encoders.pretraining import Pretrainable
from kgtool.encoders.unet import UNet
from kgtool.errors import ConfigError


class DiffusionEncoder(Pretrainable, Encoder):
    r"""DDPM with a linear β schedule and a small UNet ε-predictor, trained on
    ``‖ε - ε_θ(√ᾱ_t x_0 + √(1-ᾱ_t) ε, t)‖²`` with ``t`` uniform over ``0 … num_steps-1``.

    Features: the image (mapped from [0, 1] to [-1, 1]) is noised to step ``feature_step``
    (default 50 of 1000, where ᾱ ≈ 0.97: the image is nearly intact, but the UNet works as it
    learnt to) with one fixed noise image drawn from ``noise_seed``; the features are the
    activations of the UNet's three blocks there, each average-pooled to a ``pool_size`` ×
    ``pool_size`` grid (1: global pooling; a grid keeps the layout of small images). The same
    noise for every image makes an image's features independent of its batch and of the global
    random state.

    Shapes:
        - input: images (n, in_channels, image_size, image_size), values in [0, 1]
        - output: (n, out_dim) with ``out_dim = 4 * channels * pool_size²``
    """

    @classmethod
    def for_images(cls, channels: int, size: int, dim: int, layers: int) -> "DiffusionEncoder":
        return cls(in_channels=channels, image_size=size)

    def __init__(
        self,
        image_size: int = 8,
        in_channels: int = 1,
        channels: int = 32,
        num_steps: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        feature_step: int = 50,
        noise_seed: int = 0,
        pool_size: int = 1,
    ) -> None:
        super().__init__(
            image_size=image_size,
            in_channels=in_channels,
            channels=channels,
            num_steps=num_steps,
            beta_start=beta_start,
            beta_end=beta_end,
            feature_step=feature_step,
            noise_seed=noise_seed,
            pool_size=pool_size,
        )
        if not 0 <= feature_step < num_steps:
            raise ConfigError(f"feature_step must lie in [0, {num_steps}), got {feature_step}")
        self.feature_step = feature_step
        self.out_dim = 4 * channels * pool_size**2
        self.unet = UNet(in_channels, channels, pool_size)
        alpha_bar = torch.cumprod(1 - torch.linspace(beta_start, beta_end, num_steps), dim=0)
        self.register_buffer("alpha_bar", alpha_bar, persistent=False)
        noise = torch.randn(in_channels, image_size, image_size, generator=torch.Generator().manual_seed(noise_seed))
        self.register_buffer("feature_noise", noise, persistent=False)

    def add_noise(self, images: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε`` with ``x_0 = 2 images - 1``.

        :param images: shape: (n, c, h, w) in [0, 1]
        :param t: shape: (n,)
        :param noise: broadcastable to (n, c, h, w)
        :return: shape: (n, c, h, w)
        """
        alpha_bar = self.alpha_bar[t][:, None, None, None]
        return alpha_bar.sqrt() * (2 * images - 1) + (1 - alpha_bar).sqrt() * noise

    def loss(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The noise-prediction objective on a batch, with ``t`` and ε drawn from ``generator``."""
        t = torch.randint(len(self.alpha_bar), (len(images),), generator=generator).to(images.device)
        noise = torch.randn(images.shape, generator=generator).to(images.device)
        predicted, _ = self.unet(self.add_noise(images, t, noise), t)
        return nn.functional.mse_loss(predicted, noise)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        t = torch.full((len(images),), self.feature_step, device=images.device)
        return self.unet(self.add_noise(images, t, self.feature_noise), t)[1]
