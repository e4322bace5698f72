"""GraphSAINT random-walk subgraphs (Zeng et al., 2020), in pure torch.

Each batch is the subgraph *induced* by the nodes that random walks from a set of roots visit.
Nodes and edges near many walks' paths appear more often than others; GraphSAINT removes that
bias with two weights estimated once by pre-sampling ``N`` subgraphs:

- loss weight of node v: ``1 / p_v`` with ``p_v = C_v / N`` (``C_v``: subgraphs holding v), so
  ``sum_{v in subgraph} loss_v / p_v`` has the full-graph sum as its expectation;
- aggregation weight of edge (u, v): ``α_uv = C_v / C_uv``, so that a node's aggregated messages
  are, in expectation, those of the full graph.

The aggregation must use the full graph's fixed coefficients times ``α`` (as the paper and PyG's
GraphSAINT example do): a layer that normalises the sampled subgraph again, like ``GCNConv``
with its default ``normalize=True``, estimates something else. :func:`gcn_coefficients` and
:func:`unbiased_gcn_edges` give a ``GCNConv(normalize=False)`` the weights it needs.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data

from kgtool.sampling.neighbor import IncomingCSR, segment_arange


def gcn_coefficients(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, Tensor]:
    """GCN's symmetric normalisation of the full graph with self-loops, kept apart from the edges
    so that sampled edges can look theirs up by id: ``w_uv = 1 / sqrt(d_u d_v)`` for each edge
    ``(u, v)`` ``(m,)`` and ``w_vv = 1 / d_v`` for each node's self-loop ``(n,)``, with ``d`` the
    in-degree plus one, as ``GCNConv`` computes it.

    :param edge_index: shape: (2, m), without self-loops
    """
    degree = torch.bincount(edge_index[1], minlength=num_nodes).float() + 1
    inverse_root = degree.rsqrt()
    return inverse_root[edge_index[0]] * inverse_root[edge_index[1]], 1 / degree


def unbiased_gcn_edges(sub: Data, edge_coefficients: Tensor, self_coefficients: Tensor) -> tuple[Tensor, Tensor]:
    """The sampled subgraph's ``edge_index`` ``(2, m_s + n_s)`` with a self-loop per node and its
    weights ``α_uv w_uv`` (edges) and ``w_vv`` (self-loops: sampled whenever ``v`` is, ``α = 1``),
    so that ``GCNConv(normalize=False)`` on it estimates the full graph's GCN aggregation.

    :param sub: a subgraph from :meth:`RandomWalkSampler.sample`
    :param edge_coefficients, self_coefficients: from :func:`gcn_coefficients` of the full graph
    """
    return with_self_loops(sub.edge_index, sub.edge_norm * edge_coefficients[sub.e_id], self_coefficients[sub.n_id])


def with_self_loops(edge_index: Tensor, edge_weights: Tensor, self_weights: Tensor) -> tuple[Tensor, Tensor]:
    """``edge_index`` ``(2, m)`` followed by a self-loop of each of its ``n`` nodes, and the weights
    ``(m + n,)``: ``edge_weights`` ``(m,)`` then ``self_weights`` ``(n,)``, one per node (PyG's
    ``add_self_loops`` fills every loop with the same value)."""
    loops = torch.arange(len(self_weights))
    return torch.cat([edge_index, torch.stack([loops, loops])], dim=1), torch.cat([edge_weights, self_weights])


class RandomWalkSampler:
    """Subgraphs induced by random walks of ``walk_length`` steps along incoming edges.

    :param edge_index: shape: (2, num_edges)
    :param num_nodes: number of nodes of the graph.
    :param walk_length: steps of each walk (GraphSAINT uses 2-4).
    :param generator: the source of all randomness (``sampler.generator = g`` to reproduce).
    """

    def __init__(self, edge_index: Tensor, num_nodes: int, walk_length: int = 2,
                 generator: torch.Generator | None = None):
        self.csr = IncomingCSR(edge_index, num_nodes)
        self.num_edges = edge_index.size(1)
        self.edge_targets = edge_index[1]
        self.walk_length = walk_length
        self.generator = generator
        self.node_norm = torch.ones(num_nodes)  # 1 / p_v; ones until estimate_norms runs
        self.edge_norm = torch.ones(self.num_edges)  # α_uv
        self._local = torch.full((num_nodes,), -1, dtype=torch.long)

    def walk(self, roots: Tensor) -> Tensor:
        """The distinct nodes ``(n,)`` visited by one walk from each root ``(r,)``, sorted.
        A walk that reaches a node without incoming edges stays there."""
        csr, current, visited = self.csr, roots, [roots]
        for _ in range(self.walk_length):
            degree = csr.degree(current)
            pick = csr.ptr[current] + (torch.rand(len(current), generator=self.generator) * degree).long()
            step = csr.sources[pick.clamp(max=max(len(csr.sources) - 1, 0))] if len(csr.sources) else current
            current = torch.where(degree > 0, step, current)
            visited.append(current)
        return torch.unique(torch.cat(visited))

    def induced(self, nodes: Tensor) -> tuple[Tensor, Tensor]:
        """Edges among ``nodes`` ``(n,)``: local ``edge_index`` ``(2, m)`` and their ids ``(m,)``."""
        csr, local = self.csr, self._local
        local[nodes] = torch.arange(len(nodes))
        try:
            degree = csr.degree(nodes)
            target = torch.repeat_interleave(torch.arange(len(nodes)), degree)
            position = torch.repeat_interleave(csr.ptr[nodes], degree) + segment_arange(degree)
            source = local[csr.sources[position]]
            keep = source >= 0
        finally:
            local[nodes] = -1
        return torch.stack([source[keep], target[keep]]), csr.edge_ids[position[keep]]

    def sample(self, roots: Tensor) -> Data:
        """The subgraph of walks from ``roots`` ``(r,)``: ``n_id`` (its nodes, global ids),
        local ``edge_index``, ``e_id``, and the normalisations ``node_norm`` ``(n,)`` and
        ``edge_norm`` ``(m,)`` of its nodes and edges."""
        nodes = self.walk(roots)
        edge_index, edge_ids = self.induced(nodes)
        return Data(n_id=nodes, edge_index=edge_index, e_id=edge_ids, num_nodes=len(nodes),
                    node_norm=self.node_norm[nodes], edge_norm=self.edge_norm[edge_ids])

    def estimate_norms(self, root_pool: Tensor, roots_per_subgraph: int, num_subgraphs: int) -> None:
        """Estimate ``node_norm`` and ``edge_norm`` from ``num_subgraphs`` subgraphs whose roots
        are drawn from ``root_pool`` ``(p,)`` as training will draw them.

        Counts start at one, not zero: a node or edge no pre-sampled subgraph held is rare,
        and a large finite weight is safer than an infinite one.
        """
        node_count = torch.zeros(len(self.node_norm))
        edge_count = torch.zeros(self.num_edges)
        for _ in range(num_subgraphs):  # a loop over subgraphs, each one vectorised
            pick = torch.randperm(len(root_pool), generator=self.generator)[:roots_per_subgraph]
            nodes = self.walk(root_pool[pick])
            _, edge_ids = self.induced(nodes)
            node_count[nodes] += 1
            edge_count[edge_ids] += 1
        node_count.clamp_(min=1)
        self.node_norm = num_subgraphs / node_count
        self.edge_norm = node_count[self.edge_targets] / edge_count.clamp(min=1)
