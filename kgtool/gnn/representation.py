"""A homogeneous GNN (GCN, GAT, GraphSAGE) as the entity representation of a KGE model.

Link prediction on a graph is then KGE link prediction with one relation: the model's entity rows
are the GNN's node outputs, a KGE interaction scores node pairs, and the KGE objectives, filtered
ranking, ``predict``, ``export`` and ``analyze`` apply unchanged (:mod:`kgtool.gnn.link`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kgtool.gnn.models import GNNStack
from kgtool.sampling.neighbor import NeighborSampler


class GraphRepresentation(nn.Module):
    """Node rows by message passing over a fixed graph: ``stack(inputs, edge_index)``.

    Each node's row depends on its neighbourhood, so the stack encodes all nodes together
    (``whole_graph``): :class:`~kgtool.kge.model.KGEModel` calls :meth:`encode_all` once per
    training step and once per evaluation, or, with a ``fanout``, :meth:`encode_subgraph` for the
    step's nodes on their sampled neighbourhoods.

    :param stack: the GNN, mapping input rows to ``out_width`` rows
    :param features: the nodes' features ``(num_nodes, f)`` (may be ``f = 0``)
    :param edge_index: shape: (2, num_edges), the message graph (the training edges)
    :param node_encoder: a module mapping node ids ``(b,)`` to encoded rows ``(b, e)`` with
        ``encode_all()``, whose output follows the features (text/images), or None
    :param fanout: incoming edges per node at each hop of a training step's sampled subgraph
        (one per layer, ``-1``: all); None: the whole graph every step

    Shapes:
        - ids: (*s,) -> (*s, out_width); encode_all: () -> (num_nodes, out_width)
    """

    whole_graph = True

    def __init__(self, stack: GNNStack, features: Tensor, edge_index: Tensor, node_encoder: nn.Module | None = None,
                 fanout: list[int] | None = None):
        super().__init__()
        self.stack = stack
        self.node_encoder = node_encoder
        self.register_buffer("features", features, persistent=False)
        self.register_buffer("edge_index", edge_index, persistent=False)
        self.sampler = NeighborSampler(edge_index, len(features), fanout) if fanout else None

    def inputs(self, ids: Tensor | None = None) -> Tensor:
        """The GNN's input rows of nodes ``ids`` ``(b,)`` (None: all): features, then encoded rows."""
        x = self.features if ids is None else self.features[ids]
        if self.node_encoder is None:
            return x
        encoded = self.node_encoder.encode_all() if ids is None else self.node_encoder(ids)
        return torch.cat([x, encoded], dim=1)

    def encode_all(self) -> Tensor:
        return self.stack(self.inputs(), self.edge_index)

    def encode_subgraph(self, seeds: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Rows ``(b, out_width)`` of distinct nodes ``seeds`` ``(b,)``, each computed on its sampled
        neighbourhood (drawn from ``generator``)."""
        self.sampler.generator = generator
        sample = self.sampler.sample(seeds.cpu())
        device = self.features.device
        edge_index = torch.stack([sample.row, sample.col]).to(device)
        return self.stack(self.inputs(sample.node.to(device)), edge_index)[:len(seeds)]

    def forward(self, ids: Tensor) -> Tensor:
        return self.encode_all()[ids]
