"""Feature vectors that come with the items (a PyG graph's node ``x``) as a modality."""

from __future__ import annotations

from torch import Tensor, nn

from kgtool.encoders.base import Encoder


class FeatureEncoder(Encoder):
    """A linear map of each item's feature vector: ``(n, in_dim)`` -> ``(n, out_dim)``. Items of
    several types, each with its own features, hold them in their type's columns (zeros elsewhere),
    so the map learns one projection per type."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__(in_dim=in_dim, out_dim=out_dim)
        self.out_dim = out_dim
        self.linear = nn.Linear(in_dim, out_dim)

    def forward(self, features: Tensor) -> Tensor:
        return self.linear(features.float())
