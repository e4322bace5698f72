"""A vectorised neighbour sampler in pure torch, behind PyG's ``BaseSampler`` contract.

PyG's own ``NeighborLoader`` needs the compiled ``pyg-lib`` or ``torch-sparse``. This sampler
needs neither: PyG's ``NodeLoader`` / ``LinkLoader`` drive it and yield ordinary ``Data``
batches (seeds first and in order, ``n_id``, ``e_id``, ``batch_size``, local ``edge_index``),
the same kind of batch ``NeighborLoader`` yields. :func:`make_node_loader` picks whichever is
available.

Messages flow ``edge_index[0] -> edge_index[1]``, so a node's neighbours are the *sources* of
its incoming edges, as in PyG. Sampling is without replacement; every random number comes from
``self.generator``, so a seeded generator gives the same batch every time.
"""

from __future__ import annotations


import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.loader import NeighborLoader, NodeLoader
from torch_geometric.sampler import BaseSampler, EdgeSamplerInput, NegativeSampling, NodeSamplerInput, SamplerOutput
from torch_geometric.sampler.neighbor_sampler import edge_sample
import torch_geometric.typing

from kgtool.options import parse_fanout  # noqa: F401 (kgtool.sampling's name for it)


class IncomingCSR:
    """The graph's incoming edges grouped by target node, built once.

    ``sources[ptr[v]:ptr[v + 1]]`` are the sources of the edges into ``v`` and
    ``edge_ids[...]`` their columns in the original ``edge_index``.
    """

    def __init__(self, edge_index: Tensor, num_nodes: int):
        """:param edge_index: shape: (2, num_edges)"""
        order = torch.argsort(edge_index[1], stable=True)
        self.sources = edge_index[0, order].contiguous()
        self.edge_ids = order
        counts = torch.bincount(edge_index[1], minlength=num_nodes)
        self.ptr = torch.zeros(num_nodes + 1, dtype=torch.long)
        torch.cumsum(counts, dim=0, out=self.ptr[1:])
        self.num_nodes = num_nodes

    def degree(self, nodes: Tensor) -> Tensor:
        """In-degrees ``(n,)`` of ``nodes`` ``(n,)``."""
        return self.ptr[nodes + 1] - self.ptr[nodes]


def segment_arange(counts: Tensor) -> Tensor:
    """``cat([arange(c) for c in counts])``, without the loop. Shape: (sum(counts),)"""
    starts = torch.cumsum(counts, 0) - counts
    return torch.arange(int(counts.sum())) - torch.repeat_interleave(starts, counts)


def sample_offsets(degree: Tensor, k: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Pick ``min(degree, k)`` distinct offsets in ``[0, degree)`` for each node, uniformly.

    Nodes with at most ``k`` neighbours (any number if ``k = -1``) keep all of them. For the
    others Floyd's algorithm draws a uniform k-subset in ``k`` vectorised steps, whatever the
    degree, so hubs cost no more than leaves: step ``i`` draws ``t`` in ``[0, d - k + i]`` and
    takes ``d - k + i`` instead when ``t`` was already taken.

    :param degree: shape: (n,)
    :return: ``(owner, offset)``, both shape (sum(min(degree, k)),): the position of the node
        in ``degree`` each pick belongs to, and the pick; grouped by owner, owners ascending.
    """
    counts = degree.clamp(max=k) if k >= 0 else degree
    owner = torch.repeat_interleave(torch.arange(len(degree)), counts)
    offset = segment_arange(counts)  # all neighbours, right for nodes not above the fanout
    big_nodes = (degree > counts).nonzero().flatten()
    if len(big_nodes):
        d = degree[big_nodes]
        chosen = torch.empty((len(big_nodes), k), dtype=torch.long)
        for i in range(k):  # a loop over the k draws, not over nodes
            upper = d - k + i  # inclusive
            t = (torch.rand(len(big_nodes), generator=generator, dtype=torch.float64) * (upper + 1)).long()
            taken = (chosen[:, :i] == t.unsqueeze(1)).any(dim=1)
            chosen[:, i] = torch.where(taken, upper, t)
        starts = torch.cumsum(counts, 0) - counts
        offset[(starts[big_nodes, None] + torch.arange(k)).flatten()] = chosen.flatten()
    return owner, offset


class NeighborSampler(BaseSampler):
    """Uniform ``fanout[i]`` in-neighbours per node at hop ``i``, as GraphSAGE samples.

    :param edge_index: shape: (2, num_edges), the graph to sample from.
    :param num_nodes: number of nodes of that graph.
    :param fanout: neighbours per node at each hop; ``-1`` keeps all of them.
    :param generator: the source of all randomness; set it (``sampler.generator = g``) to
        make batches reproducible.
    """

    def __init__(self, edge_index: Tensor, num_nodes: int, fanout: list[int],
                 generator: torch.Generator | None = None):
        self.csr = IncomingCSR(edge_index, num_nodes)
        self.fanout = list(fanout)
        self.generator = generator
        # Global -> local ids of the batch being built, and a scratch array to find first
        # occurrences; both reset after use so one batch costs O(batch), not O(num_nodes).
        self._local = torch.full((num_nodes,), -1, dtype=torch.long)
        self._first = torch.full((num_nodes,), torch.iinfo(torch.long).max, dtype=torch.long)

    def sample(self, seeds: Tensor) -> SamplerOutput:
        """The sampled subgraph around ``seeds`` ``(b,)``: node ``i < b`` is ``seeds[i]``."""
        csr, local = self.csr, self._local
        nodes, rows, cols, edges = [seeds], [], [], []
        local[seeds] = torch.arange(len(seeds))
        frontier, frontier_global = torch.arange(len(seeds)), seeds  # the nodes to expand
        num_nodes, sampled_nodes, sampled_edges = len(seeds), [len(seeds)], []
        try:
            for k in self.fanout:
                owner, offset = sample_offsets(csr.degree(frontier_global), k, self.generator)
                position = csr.ptr[frontier_global[owner]] + offset
                source = csr.sources[position]
                new = self._distinct(source[local[source] < 0])
                local[new] = torch.arange(num_nodes, num_nodes + len(new))
                num_nodes += len(new)
                nodes.append(new)
                rows.append(local[source])
                cols.append(frontier[owner])
                edges.append(csr.edge_ids[position])
                sampled_nodes.append(len(new))
                sampled_edges.append(len(source))
                frontier, frontier_global = torch.arange(num_nodes - len(new), num_nodes), new
            node = torch.cat(nodes)
        finally:
            local[torch.cat(nodes)] = -1
        empty = torch.empty(0, dtype=torch.long)
        return SamplerOutput(node=node, row=torch.cat(rows) if rows else empty, col=torch.cat(cols) if cols else empty,
                             edge=torch.cat(edges) if edges else empty,
                             num_sampled_nodes=sampled_nodes, num_sampled_edges=sampled_edges)

    def _distinct(self, nodes: Tensor) -> Tensor:
        """``nodes`` ``(n,)`` without repeats, in order of first occurrence; no sort, so O(n)."""
        position = torch.arange(len(nodes))
        self._first.scatter_reduce_(0, nodes, position, reduce="amin")
        distinct = nodes[self._first[nodes] == position]
        self._first[nodes] = torch.iinfo(torch.long).max
        return distinct

    def sample_from_nodes(self, index: NodeSamplerInput, **kwargs) -> SamplerOutput:
        if index.time is not None:
            raise ValueError("NeighborSampler does not sample in time; seed times are not supported")
        out = self.sample(index.node)
        out.metadata = (index.input_id, None)
        return out

    def sample_from_edges(self, index: EdgeSamplerInput, neg_sampling: NegativeSampling | None = None) -> SamplerOutput:
        """Sample around both ends of the seed edges (and of their negatives).

        PyG's ``edge_sample`` draws the negatives with torch's global generator; it runs here
        under a forked global state seeded from ``self.generator``, so batches stay
        reproducible and the caller's global state is untouched.
        """
        if index.time is not None:
            raise ValueError("NeighborSampler does not sample in time; edge times are not supported")
        seed = int(torch.randint(2**62, (1,), generator=self.generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return edge_sample(index, lambda nodes, _time: self.sample(nodes), self.csr.num_nodes,
                               disjoint=False, neg_sampling=neg_sampling)


def make_node_loader(data: Data, input_nodes: Tensor, fanout: list[int], batch_size: int, shuffle: bool = False,
                     generator: torch.Generator | None = None, **kwargs) -> NodeLoader:
    """A loader of neighbour-sampled batches around ``input_nodes`` (a mask or ids).

    PyG's ``NeighborLoader`` when its compiled backend is installed; otherwise ``NodeLoader``
    with :class:`NeighborSampler`. Both yield ``Data`` with ``n_id``, ``e_id``, ``batch_size``
    and the seeds as the first ``batch_size`` nodes.
    """
    if torch_geometric.typing.WITH_PYG_LIB or torch_geometric.typing.WITH_TORCH_SPARSE:
        return NeighborLoader(data, num_neighbors=fanout, input_nodes=input_nodes, batch_size=batch_size,
                              shuffle=shuffle, generator=generator, **kwargs)
    sampler = NeighborSampler(data.edge_index, data.num_nodes, fanout, generator)
    return NodeLoader(data, sampler, input_nodes=input_nodes, batch_size=batch_size, shuffle=shuffle,
                      generator=generator, **kwargs)
