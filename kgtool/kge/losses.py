"""Losses of KGE training. Higher scores mean more plausible triples throughout.

Sampled-negative losses take positive scores ``(b,)``, negative scores ``(b, k)`` and optional
per-positive weights ``(b,)`` (RotatE's subsampling); all-entity losses take scores
``(b, num_entities)`` with targets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

BLOCK_ELEMENTS = 2**19  # 2 MiB of float32 scores: a block and its temporaries fit in a core's L2


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


# the losses of sampled negatives by name: loss(positive (b,), negative (b, k), [option,] weights=(b,) or None)
SAMPLED_LOSSES = {"nssa": nssa_loss, "margin": margin_ranking_loss, "softplus": softplus_loss, "bce": bce_loss}
ALL_ENTITIES_LOSSES = ("ce", "bce")  # the kinds of all_entities_loss


def all_entities_loss(kind: str, scores: Tensor, rows: Tensor, answers: Tensor, label_smoothing: float) -> Tensor:
    """1vsAll/KvsAll loss of ``scores`` ``(b, n)`` against the multi-hot labels that put a 1 at
    ``(rows[j], answers[j])`` for each ``j`` (``(m,)`` each; every row has at least one answer).

    ``ce``: cross-entropy against the labels normalised to a distribution (1vsAll: the one true
    answer); ``bce``: per-entity binary cross-entropy with labels smoothed to
    ``(1 - ε)·y + ε / n`` as in ConvE; ``ce`` smooths its targets in the same way.
    """
    return AllEntitiesLoss.apply(scores, rows, answers, kind, label_smoothing)


class AllEntitiesLoss(torch.autograd.Function):
    """:func:`all_entities_loss` with a hand-written backward and no dense label tensor.

    Why by hand: built from ``F.cross_entropy`` with dense probability targets, a KvsAll step on
    FB15k-237 (1,024 queries x 14,541 entities) spent more time in passes over ``(b, n)`` tensors
    (filling and normalising the labels, log-softmax, its product with the targets and their
    backwards) than in the three matrix products of ComplEx's scoring
    (``benchmarks/all_entities_loss.py`` times both). Here the forward reads the scores once for
    ``logsumexp`` (``ce``) or ``softplus`` (``bce``); the backward writes the one ``(b, n)``
    gradient, ``softmax`` or ``sigmoid`` of the scores less the smoothing, then subtracts the
    targets at the answers. Both go over blocks of rows of about :data:`BLOCK_ELEMENTS`, so that
    each block's temporaries stay in cache instead of being fresh ``(b, n)`` tensors.
    """

    @staticmethod
    def forward(ctx, scores: Tensor, rows: Tensor, answers: Tensor, kind: str, label_smoothing: float) -> Tensor:
        b, n = scores.shape
        ctx.kind, ctx.block_rows = kind, max(1, BLOCK_ELEMENTS // n)
        ctx.spread = label_smoothing / n  # every entity's share of the smoothing
        ctx.divisor = b if kind == "ce" else b * n  # ce: mean over rows; bce: over all entries
        blocks = scores.split(ctx.block_rows)
        if kind == "ce":  # per row: logsumexp(s) - Σ_j target_j·s_j, targets (1-ε)/count at answers + ε/n
            normaliser = torch.cat([torch.logsumexp(block, dim=1) for block in blocks])
            share = (1.0 - label_smoothing) / torch.bincount(rows, minlength=b).to(scores.dtype)[rows]
            total = normaliser.sum()
        else:  # per entry: softplus(s) - y'·s, y' = (1-ε)·y + ε/n
            normaliser = scores.new_empty(0)
            share = torch.full_like(rows, 1.0 - label_smoothing, dtype=scores.dtype)
            total = sum(F.softplus(block).sum() for block in blocks)
        targeted = (share * scores[rows, answers]).sum()
        if ctx.spread:
            targeted = targeted + ctx.spread * scores.sum()
        ctx.save_for_backward(scores, rows, answers, share, normaliser)
        return (total - targeted) / ctx.divisor

    @staticmethod
    def backward(ctx, grad: Tensor):
        scores, rows, answers, share, normaliser = ctx.saved_tensors
        scale = grad / ctx.divisor
        gradient = torch.empty_like(scores)
        for start in range(0, len(scores), ctx.block_rows):
            block = slice(start, start + ctx.block_rows)
            if ctx.kind == "ce":  # softmax
                torch.sub(scores[block], normaliser[block, None], out=gradient[block]).exp_()
            else:
                torch.sigmoid(scores[block], out=gradient[block])
            if ctx.spread:
                gradient[block].sub_(ctx.spread)
            gradient[block].mul_(scale)
        gradient.index_put_((rows, answers), -share * scale, accumulate=True)
        return gradient, None, None, None, None

