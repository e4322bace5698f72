"""Training objectives of KGE models: how a batch of training examples becomes a loss.

An objective owns its training examples (the rows the training loop shuffles), what it draws or
looks up per batch (negatives, answer labels) and its loss; the model it trains is handed in, so a
model loads for inference without any objective (no sampler, no filter index).

- :class:`NegativeSampling` (pykeen's sLCWA): each training triple against ``k`` corrupted ones.
- :class:`OneVsAll`: each triple as a query ``(h, r, ?)`` (and ``(?, r, t)``) against all entities,
  its one answer the target.
- :class:`KvsAll` (pykeen's LCWA): each distinct query against all entities, all its training
  answers the targets.

With reciprocal relations every triple ``(h, r, t)`` also trains ``(t, r⁻¹, h)`` and all queries
are tail queries. ``OBJECTIVES`` maps ``training.scoring`` to the class.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor

from kgtool.data.answers import AnswerIndex
from kgtool.data.kg import KGDataset
from kgtool.kge import losses
from kgtool.kge.model import KGEModel
from kgtool.kge.negatives import CorruptionSampler, head_corruption_probability

if TYPE_CHECKING:
    from kgtool.kge.options import KGETrainingOptions as TrainingConfig


class Objective:
    """The examples and loss of one way of training. Subclasses define :meth:`_examples` and
    :meth:`batch_loss`, and may draw per-batch inputs in :meth:`draw`."""

    loss_names: tuple[str, ...] = ()  # the values of training.loss it takes

    def __init__(self, dataset: KGDataset, training: TrainingConfig):
        self.training = training
        self.num_relations = dataset.num_relations
        self.num_entities = dataset.num_entities
        self.examples = self._examples(dataset)

    def _examples(self, dataset: KGDataset) -> Tensor:
        """The training examples ``(n, 3)`` (or ``(n, 2)`` queries)."""
        raise NotImplementedError

    def num_examples(self) -> int:
        return len(self.examples)

    def loss(self, model: KGEModel, example_ids: Tensor, generator: torch.Generator) -> Tensor:
        """Loss of the training examples ``example_ids`` ``(b,)``, regularizer included; a scalar.
        Per-batch inputs are drawn first, so that a relational encoder can encode every entity of
        the step at once."""
        device = model.relation_embeddings.weight.device
        batch = self.examples[example_ids].to(device)
        drawn = self.draw(batch, generator)
        with model.encoding_once(self.step_entities(batch, drawn), generator):
            loss = self.batch_loss(model, example_ids, batch, drawn)
            return loss + self._penalty(model, batch)

    def draw(self, batch: Tensor, generator: torch.Generator):
        """What the batch's loss needs beyond the batch (negatives); None by default."""
        return None

    def step_entities(self, batch: Tensor, drawn) -> Tensor:
        """Every entity id the step looks up (anchors and answers; ``(b, 2)`` queries: anchors)."""
        return batch[:, 0::2].flatten()

    def batch_loss(self, model: KGEModel, example_ids: Tensor, batch: Tensor, drawn) -> Tensor:
        raise NotImplementedError

    def _penalty(self, model: KGEModel, batch: Tensor) -> Tensor | float:
        t = self.training
        if t.regularizer == "none":
            return 0.0
        relation_ids = batch[:, 1] % model.relation_embeddings.num_embeddings
        return t.regularizer_weight * model.penalty(t.regularizer, batch[:, 0::2], relation_ids)

    def _with_inverses(self, train: Tensor) -> Tensor:
        """``train`` ``(n, 3)`` followed by ``(t, r + R, h)`` for each triple: with reciprocal
        relations the learned inverses; without, head queries ``(?, r, t)`` of the original relation."""
        inverse = torch.stack([train[:, 2], train[:, 1] + self.num_relations, train[:, 0]], dim=1)
        return torch.cat([train, inverse])


class NegativeSampling(Objective):
    """Each training triple scored against ``training.num_negatives`` corrupted triples, under one
    of the sampled-negative losses of :mod:`kgtool.kge.losses`.

    :param pool: the entity ids ``(p,)`` negatives are drawn from (default: all), e.g. those a rank
        of a sharded table holds (:mod:`kgtool.sharding`)
    """

    loss_names = tuple(losses.SAMPLED_LOSSES)

    def __init__(self, dataset: KGDataset, training: TrainingConfig, pool: Tensor | None = None):
        super().__init__(dataset, training)
        if training.reciprocal:  # heads are asked as tails of the inverses
            head_probability = torch.zeros(2 * dataset.num_relations)
        else:
            head_probability = head_corruption_probability(dataset.train, dataset.num_relations,
                                                           training.negative_sampler)
        known = self.examples if training.filters_negatives else None  # training triples (and inverses)
        self.sampler = CorruptionSampler(dataset.num_entities, training.num_negatives, head_probability,
                                         shared=training.shared_negatives, known=known, pool=pool)
        self.weights = self._subsampling_weights() if training.subsampling else None
        self.score_loss = sampled_loss(training)

    def _examples(self, dataset: KGDataset) -> Tensor:
        """The training triples; with reciprocal relations their inverses too (the sampler
        corrupts either side of a plain triple itself)."""
        return self._with_inverses(dataset.train) if self.training.reciprocal else dataset.train

    def _subsampling_weights(self) -> Tensor:
        """RotatE's weights ``1 / sqrt(count(h, r) + count(t, r⁻¹))``, counts starting at 4."""
        q = self.examples
        R = 2 * self.num_relations

        def frequency(anchor: Tensor, relation: Tensor) -> Tensor:
            _, inverse, counts = torch.unique(anchor * R + relation, return_inverse=True, return_counts=True)
            return counts[inverse].float() + 4

        inverse_relation = (q[:, 1] + self.num_relations) % R
        return (frequency(q[:, 0], q[:, 1]) + frequency(q[:, 2], inverse_relation)).rsqrt()

    def draw(self, batch: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Which side each row corrupts ``(b,)`` and the negative entities ``(b, k)`` or ``(1, k)``."""
        return tuple(x.to(batch.device) for x in self.sampler.sample(batch.cpu(), generator))

    def step_entities(self, batch: Tensor, drawn: tuple[Tensor, Tensor]) -> Tensor:
        return torch.cat([batch[:, 0::2].flatten(), drawn[1].flatten()])

    def batch_loss(self, model: KGEModel, example_ids: Tensor, batch: Tensor, drawn: tuple[Tensor, Tensor]) -> Tensor:
        weights = self.weights[example_ids].to(batch.device) if self.weights is not None else None
        return self.score_loss(model.score_hrt(batch), self.negative_scores(model, batch, drawn), weights=weights)

    def negative_scores(self, model: KGEModel, positives: Tensor, drawn: tuple[Tensor, Tensor]) -> Tensor:
        """Scores ``(b, k)`` of the positives ``(b, 3)`` with the drawn entities in the corrupted place."""
        corrupt_head, entities = drawn
        h, r, t = positives.unbind(dim=1)
        negative = positives.new_empty((len(positives), entities.shape[1]), dtype=torch.float)

        def candidates(rows: Tensor) -> Tensor:  # (rows, k), or the shared (1, k)
            return entities if self.sampler.shared else entities[rows]

        head, tail = corrupt_head, ~corrupt_head
        if head.any():
            negative[head] = model.score_head_candidates(r[head], t[head], candidates(head))
        if tail.any():
            negative[tail] = model.score_tail_candidates(h[tail], r[tail], candidates(tail))
        return negative


def sampled_loss(training: TrainingConfig) -> Callable[[Tensor, Tensor, Tensor | None], Tensor]:
    """``training.loss`` as ``loss(positive (b,), negative (b, k), weights=(b,) or None)``."""
    options = {"nssa": {"temperature": training.adversarial_temperature}, "margin": {"margin": training.loss_margin}}
    return partial(losses.SAMPLED_LOSSES[training.loss], **options.get(training.loss, {}))


class OneVsAll(Objective):
    """Each training triple as a query against all entities; its answer is the target of
    ``training.loss`` (``ce`` or ``bce``, with ``training.label_smoothing``)."""

    loss_names = losses.ALL_ENTITIES_LOSSES

    def _examples(self, dataset: KGDataset) -> Tensor:
        return self._with_inverses(dataset.train)

    def batch_loss(self, model: KGEModel, example_ids: Tensor, batch: Tensor, drawn) -> Tensor:
        rows, answers = self.targets(batch)
        scores = self.score_queries(model, batch[:, 0], batch[:, 1])
        return losses.all_entities_loss(self.training.loss, scores, rows, answers, self.training.label_smoothing)

    def targets(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        """The ``(row, entity)`` pairs ``(m,)`` each that are the batch's answers."""
        return torch.arange(len(batch), device=batch.device), batch[:, 2]

    def score_queries(self, model: KGEModel, anchors: Tensor, relations: Tensor) -> Tensor:
        """All-entity scores ``(b, num_entities)`` of tail queries ``(anchor, r)`` and, for ids
        ``r >= R`` of a non-reciprocal model, head queries ``(?, r - R, anchor)``."""
        if model.reciprocal:
            return model.score_tails(anchors, relations)
        R = self.num_relations
        head = relations >= R
        scores = anchors.new_empty((len(anchors), self.num_entities), dtype=torch.float)
        if (~head).any():
            scores[~head] = model.score_tails(anchors[~head], relations[~head])
        if head.any():
            scores[head] = model.score_heads(relations[head] - R, anchors[head])
        return scores


class KvsAll(OneVsAll):
    """Each distinct training query ``(anchor, r)`` against all entities; all its training answers
    are targets."""

    def _examples(self, dataset: KGDataset) -> Tensor:
        queries = self._with_inverses(dataset.train)
        self.answers = AnswerIndex(queries[:, 0], queries[:, 1], queries[:, 2], 2 * dataset.num_relations)
        return torch.unique(queries[:, :2], dim=0)

    def targets(self, batch: Tensor) -> tuple[Tensor, Tensor]:
        return tuple(ids.to(batch.device) for ids in self.answers.lookup(batch[:, 0], batch[:, 1]))


OBJECTIVES: dict[str, type[Objective]] = {"negatives": NegativeSampling, "1vsall": OneVsAll, "kvsall": KvsAll}
