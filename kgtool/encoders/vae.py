"""A convolutional VAE (Kingma & Welling, 2014) whose posterior means serve as image features."""

from __future__ import annotations

import torch
from torch import nn

from kgtool.encoders.base import Encoder
from kgtool.encoders.pretraining import Pretrainable


class VAEEncoder(Pretrainable, Encoder):
    r"""Two stride-2 convolutions → Gaussian posterior ``q(z|x) = N(μ, σ²)``; a mirrored decoder
    gives Bernoulli pixel logits. Trained on the negative ELBO per image,
    ``BCE(x, decoder(z)) + β KL(q(z|x) ‖ N(0, I))`` summed over pixels and latent dimensions.
    Features are the posterior means ``μ``, which are deterministic.

    Shapes:
        - input: images (n, in_channels, image_size, image_size), values in [0, 1]
        - output: (n, out_dim) with ``out_dim = latent_dim``
    """

    @classmethod
    def for_images(cls, channels: int, size: int, dim: int, layers: int) -> "VAEEncoder":
        return cls(in_channels=channels, image_size=size, latent_dim=dim)

    def __init__(
        self, image_size: int = 8, in_channels: int = 1, channels: int = 32, latent_dim: int = 16, beta: float = 1.0
    ) -> None:
        super().__init__(
            image_size=image_size, in_channels=in_channels, channels=channels, latent_dim=latent_dim, beta=beta
        )
        self.beta = beta
        self.out_dim = latent_dim
        reduced = -(-image_size // 4)  # two stride-2 convolutions with padding 1 round up
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.Flatten(),
            nn.Linear(2 * channels * reduced**2, 2 * latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 2 * channels * reduced**2),
            nn.Unflatten(1, (2 * channels, reduced, reduced)),
            nn.SiLU(),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(2 * channels, channels, 3, padding=1),
            nn.SiLU(),
            nn.Upsample(size=image_size),
            nn.Conv2d(channels, in_channels, 3, padding=1),
        )

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of ``q(z|x)``, each of shape (n, latent_dim)."""
        return self.encoder(images).chunk(2, dim=1)

    def loss(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The negative ELBO averaged over the batch, with the reparameterisation noise from ``generator``."""
        mean, log_var = self.posterior(images)
        z = mean + (0.5 * log_var).exp() * torch.randn(mean.shape, generator=generator).to(mean.device)
        reconstruction = nn.functional.binary_cross_entropy_with_logits(self.decoder(z), images, reduction="sum")
        kl = 0.5 * (mean**2 + log_var.exp() - 1 - log_var).sum()
        return (reconstruction + self.beta * kl) / len(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.posterior(images)[0]
