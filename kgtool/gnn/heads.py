"""What turns node representations into predictions: class logits, or scores of links.

Link decoders are ``score(h, t)`` on broadcastable tensors, so one call scores a batch of
pairs, pairs against sampled negatives, or a node against all nodes. A KGE score function
``score(h, r, t)`` (``kgtool.kge.interactions``) becomes a decoder on multi-relational graphs
by fixing ``r``: :class:`RelationDecoder`.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn


class NodeClassifier(nn.Module):
    """An encoder whose last layer emits class logits, with its loss and prediction.

    Shapes:
        - forward: as the encoder; output (num_nodes, num_classes)
    """

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        return self.encoder(x, edge_index, edge_weight)

    @staticmethod
    def loss(logits: Tensor, labels: Tensor, weights: Tensor | None = None) -> Tensor:
        """Cross-entropy: the mean over nodes, or ``sum(weights * loss)`` when weighted.

        :param logits: shape: (n, num_classes)
        :param labels: shape: (n,)
        :param weights: shape: (n,), e.g. GraphSAINT's normalisation
        """
        if weights is None:
            return nn.functional.cross_entropy(logits, labels)
        return (weights * nn.functional.cross_entropy(logits, labels, reduction="none")).sum()


class DotProductDecoder(nn.Module):
    """``score(h, t) = <h, t>``.

    :param h: shape: (*batch_dims, dim); t: shape: (*batch_dims, dim), broadcastable
    :return: shape: (*batch_dims,)
    """

    def forward(self, h: Tensor, t: Tensor) -> Tensor:
        return (h * t).sum(dim=-1)


class MLPDecoder(nn.Module):
    """``score(h, t) = MLP(h ⊙ t)``: a learned, symmetric pair score.

    :param h: shape: (*batch_dims, dim); t: shape: (*batch_dims, dim), broadcastable
    :return: shape: (*batch_dims,)
    """

    def __init__(self, dim: int, hidden_dim: int, dropout: float = 0.0):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden_dim, 1))

    def reset_parameters(self) -> None:
        for layer in self.mlp:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()

    def forward(self, h: Tensor, t: Tensor) -> Tensor:
        return self.mlp(h * t).squeeze(-1)


class RelationDecoder(nn.Module):
    """A KGE score function ``score(h, r, t)`` with one learned relation vector as a decoder.

    :param score: a broadcasting score function, e.g. from ``kgtool.kge.interactions``.
    :param relation_shape: shape of the relation representation the score function expects.
    """

    def __init__(self, score: Callable[[Tensor, Tensor, Tensor], Tensor], relation_shape: tuple[int, ...]):
        super().__init__()
        self.score = score
        self.relation = nn.Parameter(torch.empty(relation_shape))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # std 1/sqrt(dim): scores start at the scale of a dot product of unit vectors
        nn.init.normal_(self.relation, std=self.relation.shape[-1] ** -0.5)

    def forward(self, h: Tensor, t: Tensor) -> Tensor:
        return self.score(h, self.relation, t)


LINK_DECODERS = {"dot": DotProductDecoder, "mlp": MLPDecoder}
