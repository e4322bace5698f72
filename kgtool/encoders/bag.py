"""A bag-of-words text encoder: the mean of the token embeddings."""

from __future__ import annotations

import torch
from torch import nn

from kgtool.encoders.base import Encoder
from kgtool.encoders.tokenizer import PAD_ID


class BagOfWordsEncoder(Encoder):
    r"""``mean_{i: x_i ≠ <pad>} E[x_i]``: word order is ignored, and ``nn.EmbeddingBag`` pools
    the rows without materialising (n, length, dim), so encoding every entity is cheap. With the
    tokenizer's character n-grams, words that share a stem ("chieftain", "chieftainship") share
    most of their tokens, as in fastText.

    Shapes:
        - input: token ids (n, length), ``<pad>`` = 0
        - output: (n, out_dim) with ``out_dim = dim``; all-padding rows give zeros
    """

    @classmethod
    def for_text(cls, vocab_size: int, dim: int, layers: int, max_tokens: int) -> "BagOfWordsEncoder":
        return cls(vocab_size, dim=dim)

    def __init__(self, vocab_size: int, dim: int = 64) -> None:
        super().__init__(vocab_size=vocab_size, dim=dim)
        self.out_dim = dim
        self.embedding = nn.EmbeddingBag(vocab_size, dim, mode="mean", padding_idx=PAD_ID)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(token_ids)
