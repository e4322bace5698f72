"""Unsupervised pre-training on images, shared by the diffusion and VAE encoders."""

from __future__ import annotations

import torch


class Pretrainable:
    """Adds ``pretrain`` to an encoder that defines ``loss(images, generator) -> scalar``."""

    def loss(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def pretrain(
        self, images: torch.Tensor, epochs: int = 10, batch_size: int = 64, lr: float = 1e-3, seed: int = 0
    ) -> list[float]:
        """Train all parameters with Adam on ``loss``; ``seed`` fixes shuffling and sampled noise.

        :param images: shape: (n, channels, h, w), values in [0, 1]
        :return: the mean loss of each epoch, ``epochs`` values
        """
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        self.train()
        losses = []
        for _ in range(epochs):
            total = 0.0
            for batch in torch.randperm(len(images), generator=generator).split(batch_size):
                loss = self.loss(images[batch], generator)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            losses.append(total / len(images))
        self.eval()
        return losses
