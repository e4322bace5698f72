"""A text Transformer encoder written from scratch."""

from __future__ import annotations

import torch
from torch import nn

from kgtool.encoders.attention import TransformerStack
from kgtool.encoders.base import Encoder
from kgtool.encoders.pooling import masked_pool
from kgtool.encoders.sinusoidal import sinusoidal_embedding
from kgtool.encoders.tokenizer import PAD_ID
from kgtool.errors import ConfigError

POSITIONS = ("sinusoidal", "learned")


class TransformerEncoder(Encoder):
    """Token embeddings + positions → pre-norm Transformer blocks → masked mean/max pooling.

    ``<pad>`` keys are masked in every attention layer and left out of the pooling, so appending
    padding does not change the output.

    Shapes:
        - input: token ids (n, length) with length ≤ max_length, ``<pad>`` = 0
        - output: (n, out_dim) with ``out_dim = dim``
    """

    @classmethod
    def for_text(cls, vocab_size: int, dim: int, layers: int, max_tokens: int) -> "TransformerEncoder":
        return cls(vocab_size, dim=dim, num_layers=layers, max_length=max_tokens)

    def __init__(
        self,
        vocab_size: int,
        dim: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        max_length: int = 128,
        positions: str = "sinusoidal",
        pooling: str = "mean",
    ) -> None:
        super().__init__(
            vocab_size=vocab_size,
            dim=dim,
            num_heads=num_heads,
            num_layers=num_layers,
            max_length=max_length,
            positions=positions,
            pooling=pooling,
        )
        if positions not in POSITIONS:
            raise ConfigError(f"positions must be one of {POSITIONS}, got {positions!r}")
        self.pooling = pooling
        self.out_dim = dim
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        if positions == "learned":
            self.positions = nn.Parameter(torch.randn(max_length, dim) * 0.02)
        else:
            self.register_buffer("positions", sinusoidal_embedding(torch.arange(max_length), dim), persistent=False)
        self.stack = TransformerStack(dim, num_heads, num_layers)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        mask = token_ids != PAD_ID
        x = self.embedding(token_ids) + self.positions[: token_ids.shape[1]]
        return masked_pool(self.stack(x, mask), mask, self.pooling)
