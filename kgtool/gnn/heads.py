"""What turns node representations into class predictions. (Links are scored by the KGE
interactions: :mod:`kgtool.gnn.link`.)"""

from __future__ import annotations

from torch import Tensor, nn


class NodeClassifier(nn.Module):
    """An encoder whose last layer emits class logits, with its loss and prediction.

    Shapes:
        - forward: as the encoder; output (num_nodes, num_classes)
    """

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None) -> Tensor:
        return self.encoder(x, edge_index, edge_weight)

    @staticmethod
    def loss(logits: Tensor, labels: Tensor, weights: Tensor | None = None) -> Tensor:
        """Cross-entropy: the mean over nodes, or ``sum(weights * loss)`` when weighted.

        :param logits: shape: (n, num_classes)
        :param labels: shape: (n,)
        :param weights: shape: (n,), e.g. GraphSAINT's normalisation
        """
        if weights is None:
            return nn.functional.cross_entropy(logits, labels)
        return (weights * nn.functional.cross_entropy(logits, labels, reduction="none")).sum()
