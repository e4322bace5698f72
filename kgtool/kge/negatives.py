"""Negative sampling by corruption: replace the head or the tail of a positive triple."""

from __future__ import annotations

import torch
from torch import Tensor

from kgtool.data.patterns import answers_per_query


def head_corruption_probability(triples: Tensor, num_relations: int, kind: str) -> Tensor:
    """Per-relation probability ``(num_relations,)`` of corrupting the head.

    ``uniform``: 1/2. ``bernoulli`` (Wang et al. 2014): ``tph / (tph + hpt)``, with tph the mean
    number of tails per (head, relation) and hpt the mean number of heads per (relation, tail),
    so that the side with many answers is corrupted less often (fewer false negatives).
    """
    if kind == "uniform":
        return torch.full((num_relations,), 0.5)
    tails_per_head, heads_per_tail = answers_per_query(triples, num_relations)
    probability = tails_per_head / (tails_per_head + heads_per_tail)
    return torch.nan_to_num(probability, nan=0.5)


class CorruptionSampler:
    """Draws ``num_negatives`` uniformly random entities per positive, and which side they replace.

    :param head_probability: ``(num_relations,)`` chance of corrupting the head; all zeros
        corrupts tails only (as with reciprocal relations, where heads are asked as tails).
    :param shared: draw one set of ``k`` entities per batch for all its positives, so scoring
        gathers ``k`` rows instead of ``b·k`` and bilinear scores become a matrix product.
    """

    def __init__(self, num_entities: int, num_negatives: int, head_probability: Tensor, shared: bool = False):
        self.num_entities = num_entities
        self.num_negatives = num_negatives
        self.head_probability = head_probability
        self.shared = shared

    def sample(self, positives: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """For ``positives`` ``(b, 3)``: ``corrupt_head`` ``(b,)`` bool and entities ``(b, k)``,
        or ``(1, k)`` when shared."""
        b = len(positives)
        corrupt_head = torch.rand(b, generator=generator) < self.head_probability[positives[:, 1]]
        entities = torch.randint(self.num_entities, (1 if self.shared else b, self.num_negatives), generator=generator)
        return corrupt_head, entities
