"""GCN, GAT and GraphSAGE: PyG's models (``torch_geometric.nn.models``) behind one constructor.

``GNNStack(kind, ...)`` holds PyG's ``GCN``, ``GAT`` or ``GraphSAGE`` of ``num_layers`` layers,
the last mapping to ``out_dim`` (class logits, or node embeddings for link prediction); between
layers PyG applies the optional normalisation, ReLU (ELU for GAT, as in its paper) and dropout.
Two things the papers do that PyG's models leave out are added here: dropout on the input
features (GCN and GAT on Cora), and a last GAT layer with its own number of heads (GAT: 8
hidden heads, 1 output head).
"""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn.models import GAT, GCN, GraphSAGE

GNN_KINDS = ("gcn", "gat", "sage")
NORMS = {"none": (None, None), "batch": ("batch_norm", None), "layer": ("layer_norm", {"mode": "node"})}
JUMPING_KNOWLEDGE = ("none", "last", "cat", "max")


class OutputHeadsGAT(GAT):
    """PyG's GAT whose last layer averages ``output_heads`` heads (PyG uses ``heads`` throughout)."""

    def __init__(self, *args, output_heads: int = 1, **kwargs):
        self.output_heads = output_heads  # read by init_conv while the base class builds the layers
        super().__init__(*args, **kwargs)

    def init_conv(self, in_channels, out_channels, **kwargs):
        if getattr(self, "_is_conv_to_out", False):  # PyG marks the layer that maps to out_channels
            kwargs = {**kwargs, "heads": self.output_heads}
        return super().init_conv(in_channels, out_channels, **kwargs)


class GNNStack(nn.Module):
    """Input dropout, then PyG's GCN, GAT or GraphSAGE.

    Shapes:
        - x: (num_nodes, in_dim); edge_index: (2, num_edges); edge_weight: (num_edges,) or None,
          used by GCN only (GraphSAINT's aggregation weights)
        - output: (num_nodes, out_dim)

    :param heads: attention heads of GAT hidden layers (hidden width ``hidden_dim * heads``);
        ``output_heads`` for its last layer.
    :param norm: ``none``, ``batch`` or ``layer`` (per node), after each hidden layer.
    :param jk: PyG's jumping knowledge over the layers' outputs (``cat``, ``max``, ``last``), then
        a linear map to ``out_dim``; ``none``: the last layer maps to ``out_dim`` itself.
    :param normalize: GCN normalises the given graph itself; False: the edge weights are the
        normalisation (GraphSAINT's unbiased aggregation, see :mod:`kgtool.sampling.saint`).
    """

    def __init__(self, kind: str, in_dim: int, hidden_dim: int, out_dim: int, num_layers: int = 2,
                 dropout: float = 0.5, heads: int = 8, output_heads: int = 1, norm: str = "none",
                 jk: str = "none", normalize: bool = True):
        super().__init__()
        if kind not in GNN_KINDS:
            raise ValueError(f"unknown GNN kind '{kind}'; known: {', '.join(GNN_KINDS)}")
        if norm not in NORMS:
            raise ValueError(f"unknown norm '{norm}'; known: {', '.join(NORMS)}")
        if jk not in JUMPING_KNOWLEDGE:
            raise ValueError(f"unknown jumping knowledge '{jk}'; known: {', '.join(JUMPING_KNOWLEDGE)}")
        self.kind, self.dropout = kind, dropout
        norm_name, norm_kwargs = NORMS[norm]
        common = dict(in_channels=in_dim, num_layers=num_layers, out_channels=out_dim, dropout=dropout,
                      norm=norm_name, norm_kwargs=norm_kwargs, jk=None if jk == "none" else jk)
        if kind == "gcn":
            self.model = GCN(hidden_channels=hidden_dim, normalize=normalize, **common)
        elif kind == "sage":
            self.model = GraphSAGE(hidden_channels=hidden_dim, **common)
        else:
            self.model = OutputHeadsGAT(hidden_channels=hidden_dim * heads, heads=heads, output_heads=output_heads,
                                        act="elu", **common)

    @property
    def convs(self) -> nn.ModuleList:
        return self.model.convs

    def reset_parameters(self) -> None:
        self.model.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        x = nn.functional.dropout(x, self.dropout, self.training)
        return self.model(x, edge_index, edge_weight=edge_weight)
