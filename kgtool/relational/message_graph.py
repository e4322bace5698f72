"""The message graph of a knowledge graph: its training triples, each in both directions."""

from __future__ import annotations

import torch
from torch import Tensor


def message_graph(train: Tensor, num_relations: int) -> tuple[Tensor, Tensor]:
    """Edges along which relational GNNs pass messages: ``(h, r, t)`` becomes ``h -> t`` typed
    ``r`` and its reverse ``t -> h`` typed as the inverse relation ``num_relations + r``, so that
    each entity hears from both its heads and its tails.

    Only training triples may enter: a validation or test triple in the message graph would hand
    the answer to the model being ranked on it.

    :param train: shape: (n, 3), the training triples ``(h, r, t)``
    :return: ``edge_index`` (2, 2n), messages flowing ``edge_index[0] -> edge_index[1]`` as in
        PyG, and ``edge_type`` (2n,) in ``[0, 2 * num_relations)``; original edges come first.
    """
    h, r, t = train.long().unbind(dim=1)  # PyG's scatter takes int64 indices
    edge_index = torch.stack([torch.cat([h, t]), torch.cat([t, h])])
    edge_type = torch.cat([r, r + num_relations])
    return edge_index, edge_type
