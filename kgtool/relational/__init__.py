"""Relational GNNs on knowledge graphs: R-GCN and CompGCN entity encoders for the KGE models,
over the message graph of the training triples."""

from kgtool.relational.compgcn_conv import CompGCNConv
from kgtool.relational.composition import COMPOSITIONS
from kgtool.relational.encoder import RelationalEncoder, relational_encoder
from kgtool.relational.message_graph import message_graph

__all__ = ["COMPOSITIONS", "CompGCNConv", "RelationalEncoder", "message_graph", "relational_encoder"]
