"""R-GCN's layer: PyG's ``RGCNConv`` (its parameters, initialisation and math) with a forward
pass that is fast in pure torch."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.nn import RGCNConv


class RelationalGraphConv(RGCNConv):
    r"""PyG's ``RGCNConv`` with ``aggr="mean"`` (Schlichtkrull et al., 2018):

    .. math::
        h_v' = W_{root} h_v + b + \sum_r \operatorname{mean}_{u \in N_r(v)} W_r h_u

    with full, basis (``num_bases``) or block-diagonal (``num_blocks``) relation weights.

    Without pyg-lib, PyG's forward loops over relations and indexes ``weight[r]`` in each step;
    the backward pass of each index writes a gradient the size of all relations' weights, which
    made one UMLS layer (92 edge types, 200 -> 400) take 0.7 s backward against 0.05 s forward.
    This forward computes the same numbers (tested against PyG's): the mean of each (target,
    relation) pair's sources first, then each relation's weight once on its pairs' means, with
    the weights split by ``unbind`` (one gradient write for all).

    Shapes:
        - x: (num_nodes, in_channels); edge_index: (2, num_edges); edge_type: (num_edges,)
        - output: (num_nodes, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, num_relations: int,
                 num_bases: int | None = None, num_blocks: int | None = None):
        super().__init__(in_channels, out_channels, num_relations, num_bases=num_bases, num_blocks=num_blocks,
                         aggr="mean")

    def forward(self, x: Tensor, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        R = self.num_relations
        pairs, slot = torch.unique(edge_index[1] * R + edge_type, return_inverse=True)  # (target, relation)
        counts = torch.bincount(slot, minlength=len(pairs)).clamp(min=1).to(x.dtype)
        means = x.new_zeros(len(pairs), x.shape[1]).index_add_(0, slot, x[edge_index[0]]) / counts[:, None]
        target, relation = pairs // R, pairs % R
        order = torch.argsort(relation, stable=True)
        sizes = torch.bincount(relation, minlength=R).tolist()
        weights = self.relation_weights()
        messages = [self.transform(part, weights[r]) for r, part in enumerate(means[order].split(sizes)) if sizes[r]]
        out = x @ self.root + self.bias
        return out.index_add(0, target[order], torch.cat(messages)) if messages else out

    def relation_weights(self) -> tuple[Tensor, ...]:
        """Per relation: ``(in, out)``, or ``(num_blocks, in / num_blocks, out / num_blocks)``."""
        if self.num_bases is not None:
            return (self.comp @ self.weight.flatten(1)).view(self.num_relations, self.in_channels_l,
                                                             self.out_channels).unbind(0)
        return self.weight.unbind(0)

    def transform(self, x: Tensor, weight: Tensor) -> Tensor:
        """``x`` ``(p, in)`` through one relation's weight -> ``(p, out)``."""
        if self.num_blocks is None:
            return x @ weight
        return torch.einsum("pbi,bio->pbo", x.view(len(x), self.num_blocks, -1), weight).flatten(1)
