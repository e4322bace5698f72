"""A torchvision classification backbone as an image encoder (optional package)."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from kgtool.encoders.base import Encoder
from kgtool.errors import ConfigError
from kgtool.optional import import_optional


class TorchvisionEncoder(Encoder):
    """A torchvision model with a final ``fc`` layer (ResNet, ResNeXt, RegNet, ...) whose ``fc``
    is dropped, so it returns the pooled features. Weights come only from ``weights_path`` (a
    local state_dict file); none are downloaded. Single-channel images are repeated to RGB.

    Shapes:
        - input: images (n, 1 or 3, h, w)
        - output: (n, out_dim) with ``out_dim`` the input size of the dropped ``fc``
    """

    @classmethod
    def for_images(cls, channels: int, size: int, dim: int, layers: int) -> "TorchvisionEncoder":
        return cls()

    def __init__(self, name: str = "resnet18", weights_path: Optional[str] = None) -> None:
        super().__init__(name=name, weights_path=weights_path)
        models = import_optional("torchvision.models", "TorchvisionEncoder", "torchvision")
        self.backbone = models.get_model(name, weights=None)
        if not isinstance(getattr(self.backbone, "fc", None), nn.Linear):
            raise ConfigError(f"TorchvisionEncoder: {name!r} has no final fc layer to drop")
        if weights_path is not None:
            self.backbone.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
        self.out_dim = self.backbone.fc.in_features
        self.backbone.fc = nn.Identity()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone(images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images)
