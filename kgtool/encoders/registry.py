"""Encoders by name (the names configs and the CLI use) and their checkpoints as plain data."""

from __future__ import annotations

from typing import Any

from kgtool.encoders.bag import BagOfWordsEncoder
from kgtool.encoders.base import Encoder
from kgtool.encoders.cnn import CNNEncoder
from kgtool.encoders.diffusion import DiffusionEncoder
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
}


def build_encoder(name: str, **config: Any) -> Encoder:
    """``ENCODERS[name](**config)``, with a ConfigError naming the choices for an unknown name."""
    if name not in ENCODERS:
        raise ConfigError(f"unknown encoder {name!r}; choose one of {sorted(ENCODERS)}")
    return ENCODERS[name](**config)


def encoder_checkpoint(encoder: Encoder) -> dict[str, Any]:
    """Name, config and weights: only str, dicts, lists, numbers and tensors, so
    ``torch.load(..., weights_only=True)`` reads it back."""
    name = next(key for key, cls in ENCODERS.items() if type(encoder) is cls)
    return {"name": name, "config": encoder.config(), "state_dict": encoder.state_dict()}


def encoder_from_checkpoint(checkpoint: dict[str, Any]) -> Encoder:
    """Rebuild the encoder ``encoder_checkpoint`` described, weights included, in eval mode."""
    encoder = build_encoder(checkpoint["name"], **checkpoint["config"])
    encoder.load_state_dict(checkpoint["state_dict"])
    return encoder.eval()
