"""CompGCN's layer on PyG's ``MessagePassing`` (PyG ships none)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from kgtool.relational.composition import COMPOSITIONS


class CompGCNConv(MessagePassing):
    r"""One CompGCN layer (Vashishth et al., 2020): entities hear composed (entity, relation)
    messages, with one weight for original edges, one for inverse edges and one for the
    self-loop; relations are transformed alongside.

    .. math::
        h_v' = \tfrac13\Big(W_O \operatorname{mean}_{(u, r) \in N_O(v)} \phi(h_u, z_r)
               + W_I \operatorname{mean}_{(u, r) \in N_I(v)} \phi(h_u, z_r)
               + W_S\, \phi(h_v, z_{loop})\Big) + b,
        \qquad z_r' = W_{rel} z_r

    where :math:`N_O(v)` are the sources of ``v``'s incoming edges of an original relation
    (type ``< num_relations``), :math:`N_I(v)` those of an inverse relation, and :math:`\phi` is
    the composition operator (``sub``, ``mult`` or ``corr``). A mean over no neighbours is 0.
    The weights act after the mean (the same number: they are linear), on ``n`` rows, not on
    every edge. Nonlinearity and dropout are left to the stack.

    :param num_relations: ``R``, the relations without inverses; edge types lie in ``[0, 2R)``.
    :param update_relations: false for a last layer, whose relation rows nothing reads: it has
        no :math:`W_{rel}` (a parameter without gradient would stall DDP) and returns them as given.

    Shapes:
        - x: (num_nodes, in_channels); relations: (2R, in_channels)
        - edge_index: (2, num_edges); edge_type: (num_edges,)
        - output: (num_nodes, out_channels), (2R, out_channels)
    """

    def __init__(self, in_channels: int, out_channels: int, num_relations: int, composition: str = "sub",
                 update_relations: bool = True):
        super().__init__(aggr="mean")
        self.num_relations = num_relations
        self.compose = COMPOSITIONS[composition]
        self.weight_original = nn.Linear(in_channels, out_channels, bias=False)
        self.weight_inverse = nn.Linear(in_channels, out_channels, bias=False)
        self.weight_self = nn.Linear(in_channels, out_channels, bias=False)
        self.weight_relation = nn.Linear(in_channels, out_channels, bias=False) if update_relations else None
        self.loop_relation = nn.Parameter(torch.empty(1, in_channels))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for linear in (self.weight_original, self.weight_inverse, self.weight_self, self.weight_relation):
            if linear is not None:
                nn.init.xavier_uniform_(linear.weight)
        nn.init.xavier_uniform_(self.loop_relation)
        nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, relations: Tensor, edge_index: Tensor, edge_type: Tensor) -> tuple[Tensor, Tensor]:
        original = edge_type < self.num_relations
        directions = []
        for mask in (original, ~original):
            directions.append(self.propagate(edge_index[:, mask], x=x, relation=relations[edge_type[mask]],
                                             size=(len(x), len(x))))
        out = (self.weight_original(directions[0]) + self.weight_inverse(directions[1])
               + self.weight_self(self.compose(x, self.loop_relation)))
        return out / 3 + self.bias, relations if self.weight_relation is None else self.weight_relation(relations)

    def message(self, x_j: Tensor, relation: Tensor) -> Tensor:
        """Per edge ``(E, in_channels)``: the source composed with the edge's relation."""
        return self.compose(x_j, relation)
