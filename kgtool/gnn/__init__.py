"""GNNs: GCN/GAT/GraphSAGE stacks, the node classifier, and the tasks the training loop drives
(node classification; link prediction as a KGE model over a GNN representation)."""

from kgtool.gnn.heads import NodeClassifier
from kgtool.gnn.models import GNN_KINDS, GNNStack
from kgtool.gnn.representation import GraphRepresentation
from kgtool.gnn.task import GNNTask, NodeClassificationTask

__all__ = ["GNN_KINDS", "GNNStack", "GNNTask", "GraphRepresentation", "NodeClassificationTask", "NodeClassifier"]
