"""GNN tasks the shared training loop drives: node classification, and the door to link prediction.

``GNNTask.from_config(config)`` loads ``config.data.dataset`` and returns the task
``config.gnn.task`` names: :class:`NodeClassificationTask`, or for ``link`` a KGE task whose
entity representation is the GNN (:mod:`kgtool.gnn.link`). Node classification's training
examples are training nodes; ``loss`` gets a batch of their indices and, for ``gnn.sampler``:

- ``full``: one forward pass over the whole graph, the loss on the batch's examples;
- ``neighbor``: the batch's seed nodes with their sampled neighbourhoods; loss on the seeds;
- ``saint``: the subgraph random walks from the batch's seed nodes induce; loss on all its
  training nodes with GraphSAINT's normalisation. GCN aggregates with the full graph's
  coefficients times GraphSAINT's edge weights, the paper's unbiased estimator; GAT's attention
  and SAGE's mean renormalise over the sampled neighbours instead.

Evaluation is exact: a full-graph forward pass, then accuracy (ogb's ``Evaluator`` for ogbn-*
sets).

With ``encoders`` configured, a node's input ``x`` is its dataset features followed by its
:class:`~kgtool.encoders.MultimodalEmbedding` (text, images, a structural embedding; nodes are
named ``0..n-1`` in the files), encoded for the nodes of each batch's subgraph only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from kgtool.encoders.from_files import multimodal_from_files
from kgtool.evaluation.mode import evaluation_mode
from kgtool.gnn.heads import NodeClassifier
from kgtool.gnn.models import GNNStack
from kgtool.sampling import RandomWalkSampler, make_node_loader
from kgtool.sampling.saint import gcn_coefficients, unbiased_gcn_edges, with_self_loops
from kgtool.training_options import DEFAULT_BATCH_SIZE

if TYPE_CHECKING:
    from kgtool.config import Config


class GNNTask:
    """Shared parts; :meth:`from_config` returns a :class:`NodeClassificationTask` or a
    :class:`~kgtool.gnn.link.GNNLinkTask`."""

    model: nn.Module
    headline_metric: str

    def __init__(self, config: Config, data: Data, name: str):
        self.config, self.dataset, self.name = config, data, name
        self.node_encoder = None
        if config.encoders.enabled:
            names = [str(i) for i in range(data.num_nodes)]
            self.node_encoder = multimodal_from_files(names, config.encoders.dim, **config.encoders.representation_options())

    @classmethod
    def from_config(cls, config: Config, data: Data | None = None) -> "GNNTask":
        """The task of ``config.gnn.task`` on ``data`` (default: ``config.data.dataset``)."""
        from kgtool.data.graphs import load_graph

        from kgtool.gnn.link import GNNLinkTask  # a KGE task: imports the KGE side

        if data is None:
            data = load_graph(config.data.dataset, config.data.data_dir)
        if config.gnn.task == "link":
            return GNNLinkTask(config, data, config.data.dataset)
        return NodeClassificationTask(config, data, config.data.dataset)

    @property
    def full_batch(self) -> bool:
        """Each loss is one whole-graph forward pass: the training loop takes one batch an epoch."""
        return self.config.gnn.sampler == "full"

    def encoder(self, out_dim: int, normalize: bool = True) -> GNNStack:
        g = self.config.gnn
        in_dim = self.dataset.num_features + (self.node_encoder.out_dim if self.node_encoder is not None else 0)
        return GNNStack(self.config.model.name, in_dim, g.hidden_dim, out_dim, g.num_layers,
                        g.dropout, g.heads, g.output_heads, g.norm, g.jk, normalize)

    def _device(self) -> torch.device:
        return next(self.model.parameters()).device

    def with_node_encoder(self, model: nn.Module) -> nn.Module:
        """``model`` holding the node encoder too, so that it trains and is checkpointed with it."""
        if self.node_encoder is not None:
            model.add_module("node_encoder", self.node_encoder)
        return model

    def node_features(self, node_ids: Tensor | None = None) -> Tensor:
        """GNN input of the nodes ``node_ids`` ``(b,)`` (None: all), on the model's device: the
        dataset's features, then the node encoder's output if any. Shape: (b, in_dim)."""
        x, device = self.dataset.x, self._device()
        x = (x if node_ids is None else x[node_ids]).to(device)
        if self.node_encoder is None:
            return x
        encoded = self.node_encoder.encode_all() if node_ids is None else self.node_encoder(node_ids.to(device))
        return torch.cat([x, encoded], dim=1)

    def neighbor_loader(self, graph: Data, input_nodes: Tensor):
        """Called as ``loader(ids)``: the sampled batch around ``input_nodes[ids]``."""
        return make_node_loader(graph, input_nodes, self.config.gnn.fanouts(), batch_size=len(input_nodes))

    def describe(self) -> str:
        d = self.dataset
        classes = int(d.y.max()) + 1 if d.y is not None else 0
        return (f"{self.name}: {d.num_nodes} nodes, {d.num_edges} edges, {d.num_features} features, "
                f"{classes} classes")

    def extra_state(self) -> dict:
        return {}


class NodeClassificationTask(GNNTask):
    headline_metric = "accuracy"

    def __init__(self, config: Config, data: Data, name: str):
        super().__init__(config, data, name)
        self.num_classes = int(data.y.max()) + 1
        sampler = config.gnn.sampler
        # GraphSAINT's GCN aggregates with the full graph's coefficients, so GCN must not normalise again
        self.saint_gcn = sampler == "saint" and config.model.name == "gcn"
        self.model = self.with_node_encoder(NodeClassifier(self.encoder(self.num_classes, not self.saint_gcn)))
        self.train_nodes = data.train_mask.nonzero().flatten()
        if sampler == "neighbor":
            self.loader = self.neighbor_loader(data, self.train_nodes)
        if sampler == "saint":
            self.saint = RandomWalkSampler(data.edge_index, data.num_nodes, config.gnn.walk_length)
            self.saint.generator = torch.Generator().manual_seed(config.training.seed)
            roots = config.training.batch_size or DEFAULT_BATCH_SIZE
            self.saint.estimate_norms(self.train_nodes, roots, config.gnn.saint_subgraphs)
            self.gcn_coefficients = gcn_coefficients(data.edge_index, data.num_nodes)

    def full_graph(self) -> tuple[Tensor, Tensor | None]:
        """``edge_index`` and edge weights of a whole-graph forward pass, on the model's device:
        with GraphSAINT's GCN the normalised graph with self-loops, else the plain edges."""
        d, device = self.dataset, self._device()
        if not self.saint_gcn:
            return d.edge_index.to(device), None
        edge_index, weights = with_self_loops(d.edge_index, *self.gcn_coefficients)
        return edge_index.to(device), weights.to(device)

    def num_examples(self) -> int:
        return len(self.train_nodes)

    def loss(self, example_ids: Tensor, generator: torch.Generator) -> Tensor:
        """Cross-entropy of the training nodes ``example_ids`` ``(b,)`` index; a scalar."""
        d, sampler, device = self.dataset, self.config.gnn.sampler, self._device()
        if sampler == "full":
            logits = self.model(self.node_features(), *self.full_graph())
            seeds = self.train_nodes[example_ids]
            return self.model.loss(logits[seeds.to(device)], d.y[seeds].to(device))
        if sampler == "neighbor":
            self.loader.node_sampler.generator = generator
            batch = self.loader(example_ids)
            logits = self.model(self.node_features(batch.n_id), batch.edge_index.to(device))[:batch.batch_size]
            return self.model.loss(logits, batch.y[:batch.batch_size].to(device))
        self.saint.generator = generator
        sub = self.saint.sample(self.train_nodes[example_ids])
        edge_index, edge_weight = sub.edge_index, None
        if self.saint_gcn:
            edge_index, edge_weight = unbiased_gcn_edges(sub, *self.gcn_coefficients)
            edge_weight = edge_weight.to(device)
        logits = self.model(self.node_features(sub.n_id), edge_index.to(device), edge_weight)
        train = d.train_mask[sub.n_id]
        weights = sub.node_norm[train].to(device) / len(self.train_nodes)
        return self.model.loss(logits[train.to(device)], d.y[sub.n_id[train]].to(device), weights)

    def evaluate(self, split: str) -> dict[str, float]:
        mask = {"valid": self.dataset.val_mask, "test": self.dataset.test_mask}[split]
        d = self.dataset
        with evaluation_mode(self.model):
            logits = self.model(self.node_features(), *self.full_graph()).cpu()
        return {"accuracy": node_accuracy(logits.argmax(dim=1)[mask], d.y[mask], self.name)}



def node_accuracy(predicted: Tensor, labels: Tensor, dataset_name: str = "") -> float:
    """Share of ``predicted`` ``(n,)`` equal to ``labels`` ``(n,)``; ogb's ``Evaluator`` scores
    ogbn-* sets, so results compare with the leaderboard's."""
    if dataset_name.lower().startswith("ogbn-"):
        from ogb.nodeproppred import Evaluator

        return float(Evaluator(dataset_name.lower()).eval({"y_true": labels[:, None], "y_pred": predicted[:, None]})["acc"])
    return (predicted == labels).float().mean().item()
