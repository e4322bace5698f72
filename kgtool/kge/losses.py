"""Losses of KGE training. Higher scores mean more plausible triples throughout.

Sampled-negative losses take positive scores ``(b,)``, negative scores ``(b, k)`` and optional
per-positive weights ``(b,)`` (RotatE's subsampling); all-entity losses take scores
``(b, num_entities)`` with targets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def weighted_mean(values: Tensor, weights: Tensor | None) -> Tensor:
    """Mean of ``values`` ``(b,)``, weighted by ``weights`` ``(b,)`` when given."""
    return values.mean() if weights is None else (values * weights).sum() / weights.sum()


def nssa_loss(positive: Tensor, negative: Tensor, temperature: float, weights: Tensor | None = None) -> Tensor:
    """Self-adversarial negative sampling (RotatE, Sun et al. 2019): negatives weighted by
    ``softmax(α · score)`` (no gradient through the weights), positive and negative halves averaged
    as in the reference code."""
    adversarial = torch.softmax(temperature * negative, dim=1).detach()
    positive_loss = -F.logsigmoid(positive)
    negative_loss = -(adversarial * F.logsigmoid(-negative)).sum(dim=1)
    return (weighted_mean(positive_loss, weights) + weighted_mean(negative_loss, weights)) / 2


def margin_ranking_loss(positive: Tensor, negative: Tensor, margin: float, weights: Tensor | None = None) -> Tensor:
    """Pairwise hinge ``max(0, λ - s⁺ + s⁻)`` averaged over the ``k`` negatives of each positive."""
    return weighted_mean(F.relu(margin - positive[:, None] + negative).mean(dim=1), weights)


def softplus_loss(positive: Tensor, negative: Tensor, weights: Tensor | None = None) -> Tensor:
    """Logistic loss ``softplus(-s⁺) + mean softplus(s⁻)`` (Trouillon et al. 2016)."""
    return weighted_mean(F.softplus(-positive) + F.softplus(negative).mean(dim=1), weights)


def bce_loss(positive: Tensor, negative: Tensor, weights: Tensor | None = None) -> Tensor:
    """Binary cross-entropy over the positive and its negatives (labels 1 and 0), per positive."""
    scores = torch.cat([positive[:, None], negative], dim=1)
    labels = torch.zeros_like(scores)
    labels[:, 0] = 1.0
    return weighted_mean(F.binary_cross_entropy_with_logits(scores, labels, reduction="none").mean(dim=1), weights)


def all_entities_loss(kind: str, scores: Tensor, labels: Tensor, label_smoothing: float) -> Tensor:
    """1vsAll/KvsAll loss of ``scores`` ``(b, n)`` against multi-hot ``labels`` ``(b, n)``.

    ``ce``: cross-entropy against the labels normalised to a distribution (1vsAll: the one true
    answer); ``bce``: per-entity binary cross-entropy with labels smoothed to
    ``(1 - ε)·y + ε / n`` as in ConvE.
    """
    if kind == "ce":
        targets = labels / labels.sum(dim=1, keepdim=True)
        return F.cross_entropy(scores, targets, label_smoothing=label_smoothing)
    smoothed = (1.0 - label_smoothing) * labels + label_smoothing / labels.shape[1]
    return F.binary_cross_entropy_with_logits(scores, smoothed)
