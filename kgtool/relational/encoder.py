"""RelationalEncoder: entity representations by R-GCN or CompGCN message passing, for any
KGE score function (plugged into :class:`~kgtool.kge.model.KGEModel` as its entity encoder)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import torch
from torch import Tensor, nn

from kgtool.errors import ConfigError
from kgtool.memory_budget import rows_within
from kgtool.options import choice
from kgtool.relational.compgcn_conv import CompGCNConv
from kgtool.relational.message_graph import message_graph
from kgtool.relational.rgcn_conv import RelationalGraphConv
from kgtool.sampling.neighbor import NeighborSampler

KINDS = ("rgcn", "compgcn", "lte")  # R-GCN, CompGCN, or the same stack without messages (LTE)
INPUT_INITS = ("normal", "xavier_normal")  # starts of the input entity table


class LinearTransform(nn.Linear):
    """A layer of LTE (Zhang et al., 2022, "Rethinking graph convolutional networks in knowledge
    graph completion"): the linear map of a GNN layer without its messages, the ablation that
    tells what message passing adds. Shapes: x (n, in) -> (n, out); the edges are ignored."""

    def forward(self, x: Tensor, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        return super().forward(x)


class RelationalEncoder(nn.Module):
    """A stack of R-GCN or CompGCN layers over the message graph of the training triples (or,
    ``lte``, of :class:`LinearTransform` layers that pass no messages).

    The input rows are an entity table (``nn.Embedding``) or any module with ``encode_all()``
    (the text/image encoders). Hidden layers are followed by an activation (ReLU for R-GCN, tanh
    for CompGCN and LTE, as in their papers) and dropout; the last layer outputs the rows the score
    function takes. CompGCN also carries relation rows (``2R``: relations and inverses) through
    its layers for its messages; the score function keeps its own relation table, so that every
    interaction (RotatE's phases included) and reciprocal training work unchanged.

    Each entity's row depends on its neighbourhood, so the stack encodes all entities together
    (``whole_graph``): :class:`~kgtool.kge.model.KGEModel` calls :meth:`encode_all` once per
    training step and once per evaluation. Without gradients (evaluation) each layer runs over
    chunks of target entities with about ``max_edges`` incoming edges each, so that messages
    take ``O(max_edges · width)`` memory, not ``O(num_edges · width)``.

    R-GCN layers are PyG's ``RGCNConv`` (mean over each relation's neighbours, plus a root
    weight) with a faster pure-torch forward (:class:`RelationalGraphConv`); ``FastRGCNConv``
    would gather an ``(in, out)`` weight per edge.

    With a ``fanout`` training steps encode only the step's entities, each from its sampled
    k-hop neighbourhood (:meth:`encode_subgraph`, the pure-torch
    :class:`~kgtool.sampling.neighbor.NeighborSampler` on the typed message graph).

    In eval mode (inference) messages also flow along ``support`` edges: facts known at
    inference only, such as those that place a semi-inductive split's new entities. An entity
    of no training triple has an input table row that no positive ever trained, so its row
    starts from zero and it is represented by its neighbours alone (text/image inputs are kept:
    they describe new entities too).

    :param kind: ``rgcn``, ``compgcn`` or ``lte`` (one of :data:`KINDS`)
    :param inputs: the input rows ``(num_entities, width)``
    :param edge_index: shape: (2, num_edges), from :func:`message_graph` of the training triples
    :param edge_type: shape: (num_edges,), in ``[0, 2 * num_relations)``
    :param support: ``(edge_index, edge_type)`` of the message graph of the support triples, or None
    :param out_width: width of the output rows (the score function's entity width)
    :param max_edges: edges per chunk of inference without gradients
    :param layers: message-passing layers; the last outputs the score function's rows
    :param width: width of the input rows and of hidden layers
    :param dropout: dropout after each hidden layer
    :param entity_dropout: training zeroes each entity's input table row with this probability
    :param composition: CompGCN's composition of entity and relation rows (``COMPOSITIONS``)
    :param num_bases: R-GCN's basis decomposition of the relation weights; None: one weight each
    :param num_blocks: R-GCN's block-diagonal relation weights of this many blocks
    :param fanout: incoming edges sampled per entity at each hop (-1: all) for training steps; None: the full graph

    Shapes:
        - ids: (*s,) -> (*s, out_width); encode_all: () -> (num_entities, out_width)
    """

    whole_graph = True

    def __init__(self, kind: str, inputs: nn.Module, edge_index: Tensor, edge_type: Tensor, num_entities: int,
                 num_relations: int, out_width: int, max_edges: int = 2**20,
                 support: tuple[Tensor, Tensor] | None = None, *, layers: int = 2, width: int = 64,
                 dropout: float = 0.1, entity_dropout: float = 0.0, composition: str = "sub",
                 num_bases: int | None = None, num_blocks: int | None = None, fanout: list[int] | None = None):
        super().__init__()
        if kind not in KINDS:
            raise ConfigError(f"unknown relational encoder {kind!r}; known: {', '.join(KINDS)}")
        self.inputs = inputs
        self.kind = kind
        self.max_edges = max_edges
        self.entity_dropout = entity_dropout
        untrained = torch.ones(num_entities, dtype=torch.bool)
        untrained[edge_index.flatten()] = False
        table = isinstance(inputs, nn.Embedding)
        self.register_buffer("untrained", untrained if table else None, persistent=False)
        # buffers rebuilt from the dataset; sorted by target, so that a chunk of targets is a slice
        training_graph = by_target(edge_index, edge_type)
        inference_graph = training_graph
        if support is not None:
            inference_graph = by_target(torch.cat([edge_index, support[0]], dim=1), torch.cat([edge_type, support[1]]))
        for prefix, (index, types) in (("", training_graph), ("inference_", inference_graph)):
            self.register_buffer(f"{prefix}edge_index", index, persistent=False)
            self.register_buffer(f"{prefix}edge_type", types, persistent=False)
        # training on sampled subgraphs (encode_subgraph); the sampler's edge ids index the buffers above
        self.sampler = NeighborSampler(self.edge_index, num_entities, fanout) if fanout else None
        widths = [width] * layers + [out_width]
        pairs = list(pairwise(widths))
        if self.kind == "rgcn":
            self.layers = nn.ModuleList(RelationalGraphConv(a, b, 2 * num_relations, num_bases, num_blocks)
                                        for a, b in pairs)
            self.activation = nn.ReLU()
        elif self.kind == "lte":
            self.layers = nn.ModuleList(LinearTransform(a, b) for a, b in pairs)
            self.activation = nn.Tanh()
        else:
            self.relation_inputs = nn.Parameter(torch.empty(2 * num_relations, width))
            nn.init.xavier_uniform_(self.relation_inputs)
            self.layers = nn.ModuleList(CompGCNConv(a, b, num_relations, composition, i < len(pairs) - 1)
                                        for i, (a, b) in enumerate(pairs))
            self.activation = nn.Tanh()
        self.dropout = nn.Dropout(dropout)

    def input_rows(self, ids: Tensor | None = None) -> Tensor:
        """Input rows ``(b, width)`` of entities ``ids`` ``(b,)``, or ``(num_entities, width)`` of all.
        Table rows of untrained entities are zero, and in training so is each other row with
        probability ``entity_dropout``."""
        if ids is not None:
            rows = self.inputs(ids)
        else:
            rows = self.inputs.weight if isinstance(self.inputs, nn.Embedding) else self.inputs.encode_all()
        if self.untrained is None:  # text/image inputs describe new entities too
            return rows
        zero = self.untrained if ids is None else self.untrained[ids]
        if self.training and self.entity_dropout:
            zero = zero | (torch.rand(len(rows), device=rows.device) < self.entity_dropout)
        return rows.masked_fill(zero[:, None], 0) if zero.any() else rows

    def encode_all(self) -> Tensor:
        """All entities' output rows ``(num_entities, out_width)``, layer by layer over the whole
        graph: the training triples', and in eval mode the support triples' too."""
        if self.training:
            return self._run(self.input_rows(), self.edge_index, self.edge_type)
        return self._run(self.input_rows(), self.inference_edge_index, self.inference_edge_type)

    def encode_subgraph(self, seeds: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Output rows ``(b, out_width)`` of distinct entities ``seeds`` ``(b,)``, computed on
        their sampled neighbourhood: ``fanout[i]`` incoming edges per entity at hop ``i`` (all
        with ``-1``: then the rows equal :meth:`encode_all`'s), drawn from ``generator``."""
        self.sampler.generator = generator
        sample = self.sampler.sample(seeds.cpu())
        device = self.edge_type.device
        nodes, edges = sample.node.to(device), sample.edge.to(device)
        edge_index = torch.stack([sample.row, sample.col]).to(device)
        return self._run(self.input_rows(nodes), edge_index, self.edge_type[edges])[:len(seeds)]

    def _run(self, x: Tensor, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        """The stack on a graph whose edges are grouped by target: ``(n, width)`` -> ``(n, out_width)``."""
        relations = self.relation_inputs if self.kind == "compgcn" else None
        for i, layer in enumerate(self.layers):
            x, relations = self._layer(layer, x, relations, edge_index, edge_type)
            if i < len(self.layers) - 1:
                x = self.dropout(self.activation(x))
        return x

    def _layer(self, layer: nn.Module, x: Tensor, relations: Tensor | None, edge_index: Tensor,
               edge_type: Tensor) -> tuple[Tensor, Tensor | None]:
        """One layer: ``(n, in)`` -> ``(n, out)`` (and CompGCN's relations); without gradients,
        target chunk by target chunk."""
        if torch.is_grad_enabled() or self.kind == "lte" or len(edge_type) <= self.max_edges:
            return self._layer_on(layer, x, relations, edge_index, edge_type)
        outputs = []
        for targets, edges in self._chunks(edge_index[1], len(x)):
            out, new_relations = self._layer_on(layer, x, relations, edge_index[:, edges], edge_type[edges])
            outputs.append(out[targets])  # exact for these targets: all their incoming edges took part
        return torch.cat(outputs), new_relations

    @staticmethod
    def _layer_on(layer: nn.Module, x: Tensor, relations: Tensor | None, edge_index: Tensor, edge_type: Tensor):
        if relations is None:
            return layer(x, edge_index, edge_type), None
        return layer(x, relations, edge_index, edge_type)

    def _chunks(self, targets: Tensor, num_nodes: int) -> list[tuple[slice, slice]]:
        """Consecutive target ranges and the slices of their incoming edges (``targets`` ``(E,)``
        sorted); a chunk holds the targets whose edges start within one ``max_edges`` window."""
        ptr = torch.zeros(num_nodes + 1, dtype=torch.long)
        torch.cumsum(torch.bincount(targets.cpu(), minlength=num_nodes), dim=0, out=ptr[1:])
        _, sizes = torch.unique_consecutive(ptr[:-1] // self.max_edges, return_counts=True)
        ends = torch.cumsum(sizes, dim=0).tolist()
        starts = [0] + ends[:-1]
        return [(slice(a, b), slice(int(ptr[a]), int(ptr[b]))) for a, b in zip(starts, ends)]

    def forward(self, ids: Tensor) -> Tensor:
        return self.encode_all()[ids]


def by_target(edge_index: Tensor, edge_type: Tensor) -> tuple[Tensor, Tensor]:
    """The edges ``(2, E)``, ``(E,)`` reordered by target (stable)."""
    order = torch.argsort(edge_index[1], stable=True)
    return edge_index[:, order], edge_type[order]


def relational_encoder(kind: str, train: Tensor, num_entities: int, num_relations: int,
                       inputs: Callable[[int], nn.Module] | None = None, memory_budget_mb: int = 512,
                       support: Tensor | None = None, *, width: int, input_init: str = "normal",
                       **options) -> Callable[[int], RelationalEncoder]:
    """The ``entity_encoder`` factory of a :class:`~kgtool.kge.model.KGEModel`: width -> encoder.

    :param kind: ``rgcn``, ``compgcn`` or ``lte``
    :param train: shape: (n, 3), the training triples: the only ones the message graph holds in training
    :param inputs: builds the input rows' module from a width (text/image encoders); None: a table
    :param memory_budget_mb: inference keeps a layer's messages within about this much (float32
        messages, their compositions and the aggregation's buffers: four copies)
    :param support: shape: (s, 3), triples that join the message graph at inference only
    :param width: width of the input rows and hidden layers
    :param input_init: the input table's start (:data:`INPUT_INITS`; see :func:`input_table`)
    :param options: :class:`RelationalEncoder`'s other keyword options (``layers``, ``dropout``, …)
    """
    edge_index, edge_type = message_graph(train, num_relations)
    support_graph = message_graph(support, num_relations) if support is not None and len(support) else None

    def build(out_width: int) -> RelationalEncoder:
        rows = inputs(width) if inputs is not None else input_table(num_entities, width, input_init)
        max_edges = rows_within(memory_budget_mb, 4 * 4 * max(width, out_width))
        return RelationalEncoder(kind, rows, edge_index, edge_type, num_entities, num_relations, out_width,
                                 max_edges, support_graph, width=width, **options)

    return build


def input_table(num_entities: int, width: int, init: str) -> nn.Embedding:
    """The input entity table ``(num_entities, width)``, started ``normal`` (N(0, 1), as
    ``nn.Embedding`` starts) or ``xavier_normal`` (standard deviation ``sqrt(2 / (num_entities +
    width))``, as CompGCN's reference code starts it: 0.007 for WN18RR's 40,943 entities at width
    200)."""
    choice("relational.input_init", init, INPUT_INITS)
    table = nn.Embedding(num_entities, width)
    if init == "xavier_normal":
        nn.init.xavier_normal_(table.weight)
    return table
