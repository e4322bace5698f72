"""Samplers: neighbour and GraphSAINT subgraph samplers for GNN mini-batches."""

from kgtool.sampling.neighbor import NeighborSampler, make_node_loader, parse_fanout
from kgtool.sampling.saint import RandomWalkSampler

__all__ = ["NeighborSampler", "RandomWalkSampler", "make_node_loader", "parse_fanout"]
