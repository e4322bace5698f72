"""RelationalEncoder: entity representations by R-GCN or CompGCN message passing, for any
KGE score function (plugged into :class:`~kgtool.kge.model.KGEModel` as its entity encoder)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn
from torch_geometric.nn import RGCNConv

from kgtool.config import RelationalConfig
from kgtool.relational.compgcn_conv import CompGCNConv
from kgtool.relational.message_graph import message_graph


class RelationalEncoder(nn.Module):
    """A stack of R-GCN or CompGCN layers over the message graph of the training triples.

    The input rows are an entity table (``nn.Embedding``) or any module with ``encode_all()``
    (the text/image encoders). Hidden layers are followed by an activation (ReLU for R-GCN, tanh
    for CompGCN, as in their papers) and dropout; the last layer outputs the rows the score
    function takes. CompGCN also carries relation rows (``2R``: relations and inverses) through
    its layers for its messages; the score function keeps its own relation table, so that every
    interaction (RotatE's phases included) and reciprocal training work unchanged.

    Each entity's row depends on its neighbourhood, so the stack encodes all entities together
    (``whole_graph``): :class:`~kgtool.kge.model.KGEModel` calls :meth:`encode_all` once per
    training step and once per evaluation.

    R-GCN layers are PyG's ``RGCNConv`` (mean over each relation's neighbours, plus a root
    weight): without pyg-lib it runs a loop over relations in pure torch, while
    ``FastRGCNConv`` would gather a ``(in, out)`` weight per edge.

    :param inputs: the input rows ``(num_entities, config.width)``
    :param edge_index: shape: (2, num_edges), from :func:`message_graph`
    :param edge_type: shape: (num_edges,), in ``[0, 2 * num_relations)``
    :param out_width: width of the output rows (the score function's entity width)

    Shapes:
        - ids: (*s,) -> (*s, out_width); encode_all: () -> (num_entities, out_width)
    """

    whole_graph = True

    def __init__(self, config: RelationalConfig, inputs: nn.Module, edge_index: Tensor, edge_type: Tensor,
                 num_relations: int, out_width: int):
        super().__init__()
        self.inputs = inputs
        self.kind = config.encoder
        self.register_buffer("edge_index", edge_index, persistent=False)  # rebuilt from the dataset
        self.register_buffer("edge_type", edge_type, persistent=False)
        widths = [config.width] * config.layers + [out_width]
        pairs = list(zip(widths[:-1], widths[1:]))
        if self.kind == "rgcn":
            self.layers = nn.ModuleList(RGCNConv(a, b, 2 * num_relations, num_bases=config.num_bases,
                                                 num_blocks=config.num_blocks) for a, b in pairs)
            self.activation = nn.ReLU()
        else:
            self.relation_inputs = nn.Parameter(torch.empty(2 * num_relations, config.width))
            nn.init.xavier_uniform_(self.relation_inputs)
            self.layers = nn.ModuleList(CompGCNConv(a, b, num_relations, config.composition) for a, b in pairs)
            self.activation = nn.Tanh()
        self.dropout = nn.Dropout(config.dropout)

    def input_rows(self) -> Tensor:
        if isinstance(self.inputs, nn.Embedding):
            return self.inputs.weight
        return self.inputs.encode_all()

    def encode_all(self) -> Tensor:
        """All entities' output rows ``(num_entities, out_width)``, layer by layer over the whole graph."""
        x = self.input_rows()
        relations = self.relation_inputs if self.kind == "compgcn" else None
        for i, layer in enumerate(self.layers):
            if relations is None:
                x = layer(x, self.edge_index, self.edge_type)
            else:
                x, relations = layer(x, relations, self.edge_index, self.edge_type)
            if i < len(self.layers) - 1:
                x = self.dropout(self.activation(x))
        return x

    def forward(self, ids: Tensor) -> Tensor:
        return self.encode_all()[ids]


def relational_encoder(config: RelationalConfig, train: Tensor, num_entities: int, num_relations: int,
                       inputs: Callable[[int], nn.Module] | None = None) -> Callable[[int], RelationalEncoder]:
    """The ``entity_encoder`` factory of a :class:`~kgtool.kge.model.KGEModel`: width -> encoder.

    :param train: shape: (n, 3), the training triples: the only ones the message graph holds
    :param inputs: builds the input rows' module from a width (text/image encoders); None: a table
    """
    edge_index, edge_type = message_graph(train, num_relations)

    def build(out_width: int) -> RelationalEncoder:
        rows = inputs(config.width) if inputs is not None else nn.Embedding(num_entities, config.width)
        return RelationalEncoder(config, rows, edge_index, edge_type, num_relations, out_width)

    return build
