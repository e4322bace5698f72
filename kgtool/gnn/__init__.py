"""GNNs: GCN/GAT/GraphSAGE stacks, node and link heads, and the tasks the training loop drives."""

from kgtool.gnn.heads import DotProductDecoder, MLPDecoder, NodeClassifier, RelationDecoder
from kgtool.gnn.models import GNN_KINDS, GNNStack
from kgtool.gnn.task import GNNTask, LinkPredictionTask, NodeClassificationTask

__all__ = ["GNN_KINDS", "DotProductDecoder", "GNNStack", "GNNTask", "LinkPredictionTask",
           "MLPDecoder", "NodeClassificationTask", "NodeClassifier", "RelationDecoder"]
