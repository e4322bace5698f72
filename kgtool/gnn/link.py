"""GNN link prediction as a KGE model: a GNN entity representation under a KGE interaction.

A graph's edges become the triples of one relation, ``edge``, split by PyG's
``RandomLinkSplit`` (``gnn.val_ratio``, ``gnn.test_ratio``; seeded by the caller's global seed).
An undirected graph (``gnn.undirected``; by default: every edge has its reverse) splits each
pair of directions together and keeps both directions in every split, so that both are trained,
filtered and ranked; a directed one keeps every edge in its own direction. Node rows come from
the GNN (:class:`~kgtool.gnn.representation.GraphRepresentation`) passing messages over the
training edges, in training and in evaluation alike; ``gnn.decoder`` names the interaction that
scores a pair (``dot``: DistMult starting as the plain dot product, its one relation row all ones,
then learned as a diagonal).

Training is the KGE side's negative sampling with binary cross-entropy: ``gnn.link_negatives``
corrupted heads or tails per edge, drawn uniformly and filtered of training edges. Evaluation is
its filtered ranking of both ends of each held-out edge against all nodes; ``predict``,
``export`` and ``analyze`` work as on any KGE run.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import is_undirected

from kgtool.config import Config, TrainingConfig
from kgtool.data.kg import SPLITS, KGDataset
from kgtool.encoders.from_files import multimodal_from_files
from kgtool.errors import CheckpointError, DataError
from kgtool.gnn.models import GNNStack
from kgtool.gnn.options import DECODERS
from kgtool.gnn.representation import GraphRepresentation
from kgtool.kge.interactions import Interaction
from kgtool.kge.objectives import NegativeSampling, Objective
from kgtool.kge.task import KGETask

RELATION = "edge"  # the one relation of a graph's links


class GNNLinkTask(KGETask):
    """Link prediction on ``graph`` by ``config.model.name`` (GCN, GAT, GraphSAGE) and the
    interaction ``config.gnn.decoder``; a :class:`~kgtool.kge.task.KGETask` on its one-relation
    :class:`~kgtool.data.kg.KGDataset`."""

    def __init__(self, config: Config, graph: Data, name: str):
        self.graph, self.name = graph, name
        dataset, self.undirected = link_split(graph, config, name)
        representation = graph_representation(config, graph, dataset.train)
        super().__init__(config, dataset, interaction=link_interaction(config), entity_encoder=representation)
        if config.gnn.decoder == "dot":  # DistMult from the plain dot product, its relation row all ones
            torch.nn.init.ones_(self.model.relation_embeddings.weight)

    @property
    def full_batch(self) -> bool:
        """Each loss is one whole-graph forward pass: the training loop takes one batch an epoch."""
        return self.config.gnn.sampler == "full"

    @cached_property
    def objective(self) -> Objective:
        return NegativeSampling(self.dataset, link_training(self.config))

    def upgrade_state_dict(self, state: dict[str, Tensor]) -> dict[str, Tensor]:
        """The model state of a link run written before link prediction became a KGE model (kgtool
        0.1: ``encoder.*`` GNN, ``decoder.*``, ``node_encoder.*``) in today's names, so that such a
        run folder still loads: its dot decoder is DistMult with the relation row all ones. An MLP
        decoder has no KGE interaction: a CheckpointError says to train the run again."""
        if not any(key.startswith("encoder.") for key in state):
            return state
        if any(key.startswith("decoder.") for key in state):
            raise CheckpointError("this link-prediction run has an MLP decoder (gnn.decoder=mlp), which kgtool no "
                                  "longer has: link prediction scores with KGE interactions now; train it again")
        renamed = {"encoder.": "entity_embeddings.stack.", "node_encoder.": "entity_embeddings.node_encoder."}
        upgraded = {}
        for key, value in state.items():
            prefix = next((p for p in renamed if key.startswith(p)), None)
            upgraded[renamed[prefix] + key[len(prefix):] if prefix else key] = value
        upgraded["relation_embeddings.weight"] = torch.ones_like(self.model.relation_embeddings.weight)
        return upgraded

    def describe(self) -> str:
        g = self.graph
        return (f"{self.name}: {g.num_nodes} nodes, {g.num_edges} edges, {g.num_features} features; link prediction, "
                f"{'undirected' if self.undirected else 'directed'}: {self.dataset.describe()}")


def link_interaction(config: Config) -> Interaction:
    """The score function of a link task: ``gnn.decoder``'s interaction on the GNN's output width."""
    return dataclasses.replace(config.model, dim=config.gnn.hidden_dim).build_interaction(DECODERS[config.gnn.decoder])


def link_training(config: Config) -> TrainingConfig:
    """The objective's options of a link task: ``gnn.link_negatives`` uniform, filtered negatives
    per edge under binary cross-entropy."""
    return dataclasses.replace(config.training, scoring="negatives", loss="bce", negative_sampler="uniform",
                               num_negatives=config.gnn.link_negatives, shared_negatives=False,
                               filter_negatives=True, subsampling=False, reciprocal=False)


def link_split(graph: Data, config: Config, name: str) -> tuple[KGDataset, bool]:
    """The edges of ``graph`` as a one-relation KGDataset (nodes ``"0"``…``"n-1"``) cut by PyG's
    ``RandomLinkSplit``, and whether the graph is taken as undirected."""
    from torch_geometric.transforms import RandomLinkSplit

    g = config.gnn
    undirected = g.undirected if g.undirected is not None else is_undirected(graph.edge_index, num_nodes=graph.num_nodes)
    split = RandomLinkSplit(num_val=g.val_ratio, num_test=g.test_ratio, is_undirected=undirected,
                            split_labels=True, add_negative_train_samples=False)
    parts = dict(zip(SPLITS, split(Data(edge_index=graph.edge_index, num_nodes=graph.num_nodes))))
    for part, key in (("valid", "gnn.val_ratio"), ("test", "gnn.test_ratio")):
        if parts[part].pos_edge_label_index.size(1) == 0:
            raise DataError(f"{key}={getattr(g, key.split('.')[1])} of {name}'s {graph.num_edges} edges "
                            f"leaves no {part} edge; raise {key}")
    splits = {}
    for part, data in parts.items():
        edges = data.pos_edge_label_index
        if undirected:
            edges = torch.cat([edges, edges.flip(0)], dim=1)
        splits[part] = torch.stack([edges[0], torch.zeros_like(edges[0]), edges[1]], dim=1)
    dataset = KGDataset(name=name, entities=[str(i) for i in range(graph.num_nodes)], relations=[RELATION],
                        splits=splits)
    return dataset, undirected


def graph_representation(config: Config, graph: Data, train: Tensor):
    """The ``entity_encoder`` factory of the link task's KGE model: width -> GraphRepresentation
    passing messages over the training edges ``train`` ``(m, 3)``."""
    g = config.gnn
    features = graph.x if graph.x is not None else torch.empty(graph.num_nodes, 0)
    node_encoder = None
    if config.encoders.enabled:
        names = [str(i) for i in range(graph.num_nodes)]
        node_encoder = multimodal_from_files(names, config.encoders.dim, **config.encoders.representation_options())
    fanout = g.fanouts() if g.sampler == "neighbor" else None
    in_dim = features.size(1) + (node_encoder.out_dim if node_encoder is not None else 0)
    if in_dim == 0:
        raise DataError(f"{graph}: the nodes have no features and no encoders are configured; the GNN has no input")

    def build(out_width: int) -> GraphRepresentation:
        stack = GNNStack(config.model.name, in_dim, g.hidden_dim, out_width, g.num_layers, g.dropout, g.heads,
                         g.output_heads, g.norm, g.jk)
        return GraphRepresentation(stack, features, train[:, [0, 2]].t().contiguous(), node_encoder, fanout)

    return build
