"""Negative sampling by corruption: replace the head or the tail of a positive triple."""

from __future__ import annotations

import torch
from torch import Tensor

from kgtool.data.answers import AnswerIndex
from kgtool.data.patterns import answers_per_query

CORRUPTED_SIDES = ("uniform", "bernoulli")  # how head_corruption_probability picks the side to corrupt
REDRAW_ROUNDS = 3  # redraws of false negatives before the rest are drawn from each query's non-answers


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

    :param head_probability: ``(num_relations,)`` chance of corrupting the head (one entry per
        relation id, inverse relations included); all zeros
        corrupts tails only (as with reciprocal relations, where heads are asked as tails).
    :param shared: draw one set of ``k`` entities per batch for all its positives, so scoring
        gathers ``k`` rows instead of ``b·k`` and bilinear scores become a matrix product.
    :param known: the training triples ``(n, 3)`` to filter out: a negative that is one of them
        (a false negative, which self-adversarial weighting would weigh most) is drawn again, as
        the RotatE reference code drops them. Not with ``shared``.
    :param pool: the entity ids ``(p,)`` to draw from (default: all), e.g. those a rank of a
        sharded table holds (PBG's same-partition negatives).
    """

    def __init__(self, num_entities: int, num_negatives: int, head_probability: Tensor, shared: bool = False,
                 known: Tensor | None = None, pool: Tensor | None = None):
        self.num_entities = num_entities
        self.pool = pool
        self.num_negatives = num_negatives
        self.head_probability = head_probability
        self.shared = shared
        self.known_tails = self.known_heads = None
        if known is not None and shared:
            raise ValueError("filtering redraws each positive's own negatives; shared negatives have none")
        if known is not None:
            num_relations = len(head_probability)
            self.known_tails = AnswerIndex.tails(known, num_relations)
            self.known_heads = AnswerIndex.heads(known, num_relations)

    def sample(self, positives: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """For ``positives`` ``(b, 3)``: ``corrupt_head`` ``(b,)`` bool and entities ``(b, k)``,
        or ``(1, k)`` when shared."""
        b = len(positives)
        corrupt_head = torch.rand(b, generator=generator) < self.head_probability[positives[:, 1]]
        entities = self._draw((1 if self.shared else b, self.num_negatives), generator)
        if self.known_tails is not None:
            entities = self._redraw_known(positives, corrupt_head, entities, generator)
        return corrupt_head, entities

    def _draw(self, shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
        """Entities drawn uniformly from the pool (all entities by default), of ``shape``."""
        if self.pool is None:
            return torch.randint(self.num_entities, shape, generator=generator)
        return self.pool[torch.randint(len(self.pool), shape, generator=generator)]

    def _is_known(self, positives: Tensor, corrupt_head: Tensor, rows: Tensor, entities: Tensor) -> Tensor:
        """Whether the positive of each row ``rows`` ``(m,)`` with ``entities`` ``(m, c)`` in its
        corrupted place is a known triple: ``(m, c)`` bool. Each side asks its own index."""
        h, r, t = positives[rows].unbind(dim=1)
        head = corrupt_head[rows]
        known = torch.empty(entities.shape, dtype=torch.bool)
        known[~head] = self.known_tails.contains(h[~head], r[~head], entities[~head])
        known[head] = self.known_heads.contains(t[head], r[head], entities[head])
        return known

    def _redraw_known(self, positives: Tensor, corrupt_head: Tensor, entities: Tensor,
                      generator: torch.Generator) -> Tensor:
        """``entities`` with each false negative replaced by a uniform draw among the entities
        that are not answers of its query. A few uniform redraws, each checking only the redrawn
        places, clear most of them; the rest (queries with nearly every entity as an answer,
        e.g. 115 of UMLS's 135 for one) are drawn from a dense mask of their rows' non-answers.
        Only a query with no non-answer keeps some."""
        known = self._is_known(positives, corrupt_head, torch.arange(len(entities)), entities)
        places = known.nonzero()  # (m, 2): row, column
        for _ in range(REDRAW_ROUNDS):
            if not len(places):
                return entities
            rows, columns = places.unbind(dim=1)
            entities[rows, columns] = self._draw((len(places),), generator)
            places = places[self._is_known(positives, corrupt_head, rows, entities[rows, columns, None])[:, 0]]
        rows, inverse = torch.unique(places[:, 0], return_inverse=True)
        if len(rows):
            h, r, t = positives[rows].unbind(dim=1)
            answers = torch.where(corrupt_head[rows, None], self.known_heads.dense(t, r, self.num_entities),
                                  self.known_tails.dense(h, r, self.num_entities))  # (m, num_entities)
            drawable = torch.ones(self.num_entities, dtype=answers.dtype)
            if self.pool is not None:
                drawable = torch.isin(torch.arange(self.num_entities), self.pool).to(answers.dtype)
            allowed = (1 - answers) * drawable
            allowed[allowed.sum(dim=1) == 0] = drawable  # every entity an answer: nothing better to draw
            draws = torch.multinomial(allowed, entities.shape[1], replacement=True, generator=generator)
            entities[places[:, 0], places[:, 1]] = draws[inverse, places[:, 1]]
        return entities
