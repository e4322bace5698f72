"""The one interface every encoder shares: ``encoder(inputs) -> (n, out_dim)`` plus a plain config.

An encoder's constructor arguments are plain data (int, float, str, lists, dicts), kept by
:class:`Encoder` so that ``config()`` can travel in a checkpoint loaded with
``torch.load(weights_only=True)`` and ``from_config()`` can rebuild the module before
``load_state_dict``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from kgtool.errors import ConfigError


class Encoder(nn.Module):
    """Base class: subclasses call ``super().__init__(**constructor_arguments)`` and set ``out_dim``."""

    out_dim: int

    def __init__(self, **hparams: Any) -> None:
        super().__init__()
        self.hparams = hparams

    def config(self) -> dict[str, Any]:
        """The constructor arguments: ``type(self).from_config(self.config())`` rebuilds the module."""
        return dict(self.hparams)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Encoder":
        return cls(**config)

    @classmethod
    def for_images(cls, channels: int, size: int, dim: int, layers: int) -> "Encoder":
        """The encoder of ``(n, channels, size, size)`` images at width ``dim`` (``encoders.dim``)
        with ``layers`` blocks where it has blocks; image encoders define it."""
        raise ConfigError(f"{cls.__name__} does not encode images")

    @classmethod
    def for_text(cls, vocab_size: int, dim: int, layers: int, max_tokens: int) -> "Encoder":
        """The encoder of token ids ``(n, max_tokens)`` of a ``vocab_size`` vocabulary at width
        ``dim`` with ``layers`` blocks where it has blocks; text encoders define it."""
        raise ConfigError(f"{cls.__name__} does not encode token ids")

    def freeze(self) -> "Encoder":
        """Stop training this encoder (its features become fixed); ``unfreeze`` fine-tunes again."""
        self.requires_grad_(False)
        return self.eval()

    def unfreeze(self) -> "Encoder":
        self.requires_grad_(True)
        return self.train()
