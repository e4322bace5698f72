"""Bi-directional LSTM and GRU text encoders with masked pooling."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from kgtool.encoders.base import Encoder
from kgtool.encoders.pooling import masked_pool
from kgtool.encoders.tokenizer import PAD_ID


class RecurrentEncoder(Encoder):
    """Token embeddings → bi-directional RNN → masked mean/max pooling over the real tokens.

    Sequences are packed, so the backward direction starts at each text's last real token and
    padding never enters the recurrence or the pooled output.

    Shapes:
        - input: token ids (n, length), ``<pad>`` = 0, as :class:`WordTokenizer` makes them
        - output: (n, out_dim) with ``out_dim = 2 * hidden_dim``
    """

    rnn_class: type[nn.RNNBase]

    @classmethod
    def for_text(cls, vocab_size: int, dim: int, layers: int, max_tokens: int) -> "RecurrentEncoder":
        return cls(vocab_size, embed_dim=dim, hidden_dim=dim // 2)  # two directions of dim / 2

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 64,
        hidden_dim: int = 64,
        num_layers: int = 1,
        pooling: str = "mean",
    ) -> None:
        super().__init__(
            vocab_size=vocab_size, embed_dim=embed_dim, hidden_dim=hidden_dim, num_layers=num_layers, pooling=pooling
        )
        self.pooling = pooling
        self.out_dim = 2 * hidden_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_ID)
        self.rnn = self.rnn_class(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True, bidirectional=True)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        mask = token_ids != PAD_ID
        # pack_padded_sequence rejects empty sequences; an empty text's output is masked out anyway.
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(self.embedding(token_ids), lengths, batch_first=True, enforce_sorted=False)
        hidden, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=token_ids.shape[1])
        return masked_pool(hidden, mask, self.pooling)


class LSTMEncoder(RecurrentEncoder):
    __doc__ = RecurrentEncoder.__doc__.replace("RNN", "LSTM", 1)
    rnn_class = nn.LSTM


class GRUEncoder(RecurrentEncoder):
    __doc__ = RecurrentEncoder.__doc__.replace("RNN", "GRU", 1)
    rnn_class = nn.GRU
