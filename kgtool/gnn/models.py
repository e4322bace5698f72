"""GCN, GAT and GraphSAGE stacks built from PyG's layers.

One class serves all three: ``GNNStack(kind, ...)`` stacks ``num_layers`` convolutions of that
kind, the last mapping to ``out_dim`` (class logits, or node embeddings for link prediction).
Between layers: optional normalisation, ReLU (ELU for GAT, as in its paper), dropout, and an
optional residual connection where input and output widths agree.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn import GATConv, GCNConv, SAGEConv

GNN_KINDS = ("gcn", "gat", "sage")
NORMS = {"none": None, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


def make_conv(kind: str, in_dim: int, out_dim: int, heads: int, dropout: float, last: bool,
              normalize: bool = True) -> nn.Module:
    """One convolution; GAT hidden layers concatenate ``heads`` heads of ``out_dim`` each,
    its last layer averages them. ``normalize=False``: GCN takes its normalised edge weights
    (self-loops included) from the caller."""
    if kind == "gcn":
        return GCNConv(in_dim, out_dim, normalize=normalize)
    if kind == "sage":
        return SAGEConv(in_dim, out_dim)
    if kind == "gat":
        return GATConv(in_dim, out_dim, heads=heads, concat=not last, dropout=dropout)
    raise ValueError(f"unknown GNN kind '{kind}'; known: {', '.join(GNN_KINDS)}")


class GNNStack(nn.Module):
    """``num_layers`` message-passing layers of one kind.

    Shapes:
        - x: (num_nodes, in_dim); edge_index: (2, num_edges); edge_weight: (num_edges,) or None,
          used by GCN only (GraphSAINT's aggregation normalisation)
        - output: (num_nodes, out_dim)

    :param heads: attention heads of GAT hidden layers (hidden width ``hidden_dim * heads``);
        ``output_heads`` for its last layer.
    :param norm: ``none``, ``batch`` or ``layer``, after each hidden layer.
    :param residual: add each hidden layer's input to its output where the widths agree.
    :param normalize: GCN normalises the given graph itself; False: the edge weights are the
        normalisation (GraphSAINT's unbiased aggregation, see :mod:`kgtool.sampling.saint`).
    """

    def __init__(self, kind: str, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int = 2,
                 dropout: float = 0.5, heads: int = 8, output_heads: int = 1, norm: str = "none",
                 residual: bool = False, normalize: bool = True):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        if norm not in NORMS:
            raise ValueError(f"unknown norm '{norm}'; known: {', '.join(NORMS)}")
        self.kind, self.dropout, self.residual = kind, dropout, residual
        width = hidden_dim * heads if kind == "gat" else hidden_dim
        dims = [in_dim] + [width] * (num_layers - 1)
        self.convs = nn.ModuleList()
        for i in range(num_layers):
            last = i == num_layers - 1
            layer_heads = output_heads if last else heads
            self.convs.append(make_conv(kind, dims[i], out_dim if last else hidden_dim, layer_heads, dropout, last,
                                        normalize))
        norm_class = NORMS[norm]
        self.norms = nn.ModuleList(norm_class(width) for _ in range(num_layers - 1)) if norm_class else None
        self.activation = nn.functional.elu if kind == "gat" else nn.functional.relu

    def reset_parameters(self) -> None:
        for module in [*self.convs, *(self.norms or [])]:
            module.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        for i, conv in enumerate(self.convs[:-1]):
            x_in = x
            x = self._convolve(conv, x, edge_index, edge_weight)
            if self.norms is not None:
                x = self.norms[i](x)
            x = self.activation(x)
            if self.residual and x.shape == x_in.shape:
                x = x + x_in
        return self._convolve(self.convs[-1], x, edge_index, edge_weight)

    def _convolve(self, conv: nn.Module, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None) -> Tensor:
        x = nn.functional.dropout(x, self.dropout, self.training)
        return conv(x, edge_index, edge_weight) if self.kind == "gcn" else conv(x, edge_index)
