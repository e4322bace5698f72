"""The GNN family's options (the ``gnn`` section) and the checks of their values.

Names come from the code: :data:`~kgtool.gnn.models.GNN_KINDS`, its ``NORMS`` and
``JUMPING_KNOWLEDGE``; a link task's decoders are the KGE interactions, plus ``dot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from kgtool.errors import ConfigError, quoted
from kgtool.gnn.models import GNN_KINDS, JUMPING_KNOWLEDGE, NORMS
from kgtool.kge.interactions import INTERACTIONS
from kgtool.options import at_least_one, choice, fanout_option, probabilities

GNN_MODELS = GNN_KINDS
TASKS = ("node", "link")  # kgtool.gnn.task.GNNTask.from_config: NodeClassificationTask | GNNLinkTask
SAMPLERS = ("full", "neighbor", "saint")  # full graph | kgtool.sampling.NeighborSampler | RandomWalkSampler
DECODERS = {"dot": "distmult", **{name: name for name in INTERACTIONS}}  # gnn.decoder -> the KGE interaction
# the KGE training options a link task's objective reads (kgtool.gnn.link.link_training sets the rest)
LINK_TASK_KGE_OPTIONS = ("regularizer", "regularizer_weight")


@dataclass
class GNNConfig:
    hidden_dim: int = 64  # width of hidden GNN layers
    num_layers: int = 2  # message-passing layers
    dropout: float = 0.5  # dropout on features and hidden layers
    sampler: str = "full"  # full | neighbor | saint
    task: str = "node"  # node (classification) | link (prediction)
    heads: int = 8  # GAT attention heads of hidden layers (hidden width hidden_dim * heads)
    output_heads: int = 1  # GAT attention heads of the last layer, averaged
    norm: str = "none"  # none | batch | layer, after each hidden layer
    jk: str = "none"  # PyG's jumping knowledge over the layers' outputs: none | last | cat | max
    fanout: str = "10,10"  # neighbor sampler: neighbours per node at each hop, -1 for all
    walk_length: int = 2  # saint: random-walk steps from each root (roots: the batch's train nodes)
    saint_subgraphs: int = 50  # saint: subgraphs pre-sampled to estimate the normalisation
    # link task: the KGE interaction scoring node pairs: dot (DistMult with one relation) | complex | transe | rotate
    decoder: str = "dot"
    link_negatives: int = 1  # link task: random negative edges per positive edge
    undirected: Optional[bool] = None  # link task: edges are undirected; None: true when every edge has its reverse
    val_ratio: float = 0.05  # link task: share of edges held out for validation
    test_ratio: float = 0.1  # link task: share of edges held out for testing

    def fanouts(self) -> list[int]:
        """``fanout`` as neighbours per hop, or a ConfigError naming ``gnn.fanout``."""
        return fanout_option("gnn", self.fanout)

    def check_values(self) -> None:
        """Each option on its own: choices and ranges."""
        choice("gnn.task", self.task, TASKS)
        choice("gnn.sampler", self.sampler, SAMPLERS)
        choice("gnn.norm", self.norm, NORMS)
        choice("gnn.jk", self.jk, JUMPING_KNOWLEDGE)
        choice("gnn.decoder", self.decoder, DECODERS)
        at_least_one("gnn", hidden_dim=self.hidden_dim, num_layers=self.num_layers, heads=self.heads,
                     output_heads=self.output_heads, walk_length=self.walk_length,
                     saint_subgraphs=self.saint_subgraphs, link_negatives=self.link_negatives)
        probabilities("gnn", dropout=self.dropout)
        for name in ("val_ratio", "test_ratio"):
            if not 0 < getattr(self, name) < 1:
                raise ConfigError(f"gnn.{name} must be in (0, 1): validation and testing need edges, "
                                  f"got {quoted(getattr(self, name))}")
        self.fanouts()

    def check_combinations(self) -> None:
        """The combinations within the section that cannot work or would ignore an option."""
        if self.val_ratio + self.test_ratio >= 1:
            raise ConfigError(f"gnn.val_ratio + gnn.test_ratio must leave training edges, got "
                              f"{self.val_ratio} + {self.test_ratio}")
        if self.task == "link" and self.sampler == "saint":
            raise ConfigError("gnn.sampler=saint supports gnn.task=node only")
        if self.jk != "none" and self.output_heads != 1:
            raise ConfigError("gnn.output_heads sets GAT's last layer, which gnn.jk replaces by a linear map")
