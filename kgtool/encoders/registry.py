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

ENCODERS: dict[str, type[Encoder]] = {
    "bow": BagOfWordsEncoder,
    "lstm": LSTMEncoder,
    "gru": GRUEncoder,
    "transformer": TransformerEncoder,
    "pretrained": PretrainedTextEncoder,
    "cnn": CNNEncoder,
    "vit": ViTEncoder,
    "torchvision": TorchvisionEncoder,
    "diffusion": DiffusionEncoder,
    "vae": VAEEncoder,
    "features": FeatureEncoder,
}


def build_encoder(name: str, **config: Any) -> Encoder:
    """``ENCODERS[name](**config)``, with a ConfigError naming the choices for an unknown name."""
    if name not in ENCODERS:
        raise ConfigError(f"unknown encoder {name!r}; choose one of {sorted(ENCODERS)}")
    return ENCODERS[name](**config)
