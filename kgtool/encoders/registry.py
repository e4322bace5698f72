"""Encoders by name (the names configs and the CLI use) and their checkpoints as plain data."""

from __future__ import annotations

from typing import Any

from kgtool.encoders.bag import BagOfWordsEncoder
from kgtool.encoders.base import Encoder
from kgtool.encoders.cnn import CNNEncoder
from kgtool.encoders.diffusion import DiffusionEncoder
from kgtool.encoders.features import FeatureEncoder
from kgtool.encoders.pretrained_text import PretrainedTextEncoder
from kgtool.encoders.recurrent import GRUEncoder, LSTMEncoder
from kgtool.encoders.torchvision_backbone import TorchvisionEncoder
from kgtool.encoders.transformer import TransformerEncoder
from kgtool.encoders.vae import VAEEncoder
from kgtool.encoders.vit import ViTEncoder
from kgtool.errors import ConfigError

TEXT_ENCODERS: dict[str, type[Encoder]] = {
    "bow": BagOfWordsEncoder,
    "lstm": LSTMEncoder,
    "gru": GRUEncoder,
    "transformer": TransformerEncoder,
    "pretrained": PretrainedTextEncoder,
}
IMAGE_ENCODERS: dict[str, type[Encoder]] = {
    "cnn": CNNEncoder,
    "vit": ViTEncoder,
    "torchvision": TorchvisionEncoder,
    "diffusion": DiffusionEncoder,
    "vae": VAEEncoder,
}
ENCODERS: dict[str, type[Encoder]] = {**TEXT_ENCODERS, **IMAGE_ENCODERS, "features": FeatureEncoder}


def known_encoder(registry: dict[str, type[Encoder]], name: str, kind: str = "") -> type[Encoder]:
    """``registry[name]``, with a ConfigError naming the choices for an unknown name."""
    if name not in registry:
        raise ConfigError(f"unknown {kind + ' ' if kind else ''}encoder {name!r}; choose one of {sorted(registry)}")
    return registry[name]


def build_encoder(name: str, **config: Any) -> Encoder:
    """``ENCODERS[name](**config)``, with a ConfigError naming the choices for an unknown name."""
    return known_encoder(ENCODERS, name)(**config)
