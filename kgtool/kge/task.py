"""KGETask: what the shared training loop needs to train and judge a KGE model on a KGDataset.

Training examples depend on ``training.scoring``:

- ``negatives``: the training triples; each is scored against ``k`` corrupted triples.
- ``1vsall``: the training triples as queries ``(h, r, ?)`` (and ``(?, r, t)``), each scored
  against all entities with its one answer as the target.
- ``kvsall``: the distinct queries of the training triples, each scored against all entities
  with all of its training answers as targets.

With reciprocal relations every triple ``(h, r, t)`` also trains ``(t, r⁻¹, h)`` and all
queries are tail queries.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property, partial

import torch
from torch import Tensor

from kgtool.config import Config
from kgtool.data.answers import AnswerIndex
from kgtool.data.kg import KGDataset
from kgtool.data.patterns import relation_categories
from kgtool.encoders.from_files import multimodal_from_files
from kgtool.errors import ConfigError
from kgtool.evaluation.ranking import evaluate_link_prediction
from kgtool.kge import losses
from kgtool.kge.model import KGEModel
from kgtool.kge.negatives import CorruptionSampler, head_corruption_probability
from kgtool.relational.encoder import relational_encoder


class KGETask:
    headline_metric = "mrr"

    def __init__(self, config: Config, dataset: KGDataset):
        self.config = config
        self.dataset = dataset
        self.training = config.training
        # with encoders, entities are represented from their text/images, at the width the model asks for
        entity_encoder = (partial(multimodal_from_files, dataset.entities, **dataclasses.asdict(config.encoders))
                          if config.encoders.enabled else None)
        if config.relational.encoder != "none":  # message passing over the training triples, fed by the above
            entity_encoder = relational_encoder(config.relational, dataset.train, dataset.num_entities,
                                                dataset.num_relations, entity_encoder,
                                                config.evaluation.memory_budget_mb, dataset.support)
        self.model = self._build_model(entity_encoder)
        self.queries = self._training_queries()
        self.weights = self._subsampling_weights() if self.training.subsampling else None
        if self.training.scoring == "negatives":
            head_probability = head_corruption_probability(dataset.train, dataset.num_relations,
                                                           self.training.negative_sampler)
            if self.training.reciprocal:
                head_probability = torch.zeros(2 * dataset.num_relations)
            known = self.queries if self.training.filters_negatives else None  # training triples (and inverses)
            self.sampler = CorruptionSampler(dataset.num_entities, self.training.num_negatives, head_probability,
                                             shared=self.training.shared_negatives, known=known,
                                             pool=self._negative_pool())
        if self.training.scoring == "kvsall":
            self.answers = AnswerIndex(self.queries[:, 0], self.queries[:, 1], self.queries[:, 2],
                                       2 * dataset.num_relations)
            self.queries = torch.unique(self.queries[:, :2], dim=0)
        self.protocol = self._protocol()

    def _build_model(self, entity_encoder) -> KGEModel:
        """The model this task trains (a subclass may build another, e.g. with a sharded table)."""
        return KGEModel(self.config.model, self.dataset.num_entities, self.dataset.num_relations,
                        reciprocal=self.training.reciprocal, sparse=self.training.sparse,
                        compile=self.training.compile, entity_encoder=entity_encoder,
                        fused_negatives=self.training.fused_negatives is not False)

    def _negative_pool(self) -> Tensor | None:
        """The entities negatives are drawn from; None: all (a subclass may restrict them)."""
        return None

    @classmethod
    def from_config(cls, config: Config, dataset: KGDataset | None = None) -> "KGETask":
        from kgtool.data.registry import load_kg

        return cls(config, dataset if dataset is not None else load_kg(config.data.dataset, config.data.data_dir))

    def _training_queries(self) -> Tensor:
        """Training examples as ``(anchor, relation, answer)`` ``(n, 3)``.

        Relation ids ``>= num_relations`` mark head queries: with reciprocal relations they are
        the learned inverses; without, ``(t, r + R, h)`` asks ``(?, r, t)`` of the original
        relation (1vsall/kvsall). Negative sampling keeps the plain triples (it corrupts either
        side itself) unless relations are reciprocal.
        """
        train = self.dataset.train
        if self.training.scoring == "negatives" and not self.training.reciprocal:
            return train
        inverse = torch.stack([train[:, 2], train[:, 1] + self.dataset.num_relations, train[:, 0]], dim=1)
        return torch.cat([train, inverse])

    def _subsampling_weights(self) -> Tensor:
        """RotatE's weights ``1 / sqrt(count(h, r) + count(t, r⁻¹))``, counts starting at 4."""
        q = self.queries
        R = 2 * self.dataset.num_relations

        def frequency(anchor: Tensor, relation: Tensor) -> Tensor:
            _, inverse, counts = torch.unique(anchor * R + relation, return_inverse=True, return_counts=True)
            return counts[inverse].float() + 4

        inverse_relation = (q[:, 1] + self.dataset.num_relations) % R
        return (frequency(q[:, 0], q[:, 1]) + frequency(q[:, 2], inverse_relation)).rsqrt()

    def num_examples(self) -> int:
        return len(self.queries)

    def loss(self, example_ids: Tensor, generator: torch.Generator) -> Tensor:
        """Loss of the training examples ``example_ids`` ``(b,)``; a scalar. Negatives are drawn
        first, so that a relational encoder can encode every entity of the step at once."""
        device = self.model.relation_embeddings.weight.device
        batch = self.queries[example_ids].to(device)
        negatives = None
        if self.training.scoring == "negatives":
            negatives = tuple(x.to(device) for x in self.sampler.sample(batch.cpu(), generator))
        entity_ids = [batch[:, 0::2].flatten()] + ([negatives[1].flatten()] if negatives else [])
        with self.model.encoding_once(torch.cat(entity_ids), generator):
            return self._loss(example_ids, batch, negatives)

    def _loss(self, example_ids: Tensor, batch: Tensor, negatives: tuple[Tensor, Tensor] | None) -> Tensor:
        device = batch.device
        if self.training.scoring == "negatives":
            weights = self.weights[example_ids].to(device) if self.weights is not None else None
            loss = self._negative_sampling_loss(batch, negatives, weights)
        else:
            anchors, relations = batch[:, 0], batch[:, 1]
            scores = self.score_queries(anchors, relations)
            if self.training.scoring == "kvsall":
                rows, answers = (ids.to(device) for ids in self.answers.lookup(anchors, relations))
            else:
                rows, answers = torch.arange(len(batch), device=device), batch[:, 2]
            loss = losses.all_entities_loss(self.training.loss, scores, rows, answers, self.training.label_smoothing)
        if self.training.regularizer != "none":
            entity_ids = batch[:, 0::2]  # anchors and answers; kvsall queries have anchors only
            relation_ids = batch[:, 1] % self.model.relation_embeddings.num_embeddings
            penalty = self.model.penalty(self.training.regularizer, entity_ids, relation_ids)
            loss = loss + self.training.regularizer_weight * penalty
        return loss

    def score_queries(self, anchors: Tensor, relations: Tensor) -> Tensor:
        """All-entity scores ``(b, num_entities)`` of tail queries ``(anchor, r)`` and, for ids
        ``r >= R`` of a non-reciprocal model, head queries ``(?, r - R, anchor)``."""
        if self.training.reciprocal:
            return self.model.score_tails(anchors, relations)
        R = self.dataset.num_relations
        head = relations >= R
        scores = anchors.new_empty((len(anchors), self.dataset.num_entities), dtype=torch.float)
        if (~head).any():
            scores[~head] = self.model.score_tails(anchors[~head], relations[~head])
        if head.any():
            scores[head] = self.model.score_heads(relations[head] - R, anchors[head])
        return scores

    def _negative_sampling_loss(self, positives: Tensor, negatives: tuple[Tensor, Tensor],
                                weights: Tensor | None) -> Tensor:
        """``negatives``: which side each row corrupts ``(b,)`` and the entities ``(b, k)`` or ``(1, k)``."""
        corrupt_head, entities = negatives
        h, r, t = positives.unbind(dim=1)
        negative = positives.new_empty((len(positives), entities.shape[1]), dtype=torch.float)

        def candidates(rows: Tensor) -> Tensor:  # (rows, k), or the shared (1, k)
            return entities if self.sampler.shared else entities[rows]

        head, tail = corrupt_head, ~corrupt_head
        if head.any():
            negative[head] = self.model.score_head_candidates(r[head], t[head], candidates(head))
        if tail.any():
            negative[tail] = self.model.score_tail_candidates(h[tail], r[tail], candidates(tail))
        positive = self.model.score_hrt(positives)
        loss_name = self.training.loss
        if loss_name == "nssa":
            return losses.nssa_loss(positive, negative, self.training.adversarial_temperature, weights)
        if loss_name == "margin":
            return losses.margin_ranking_loss(positive, negative, self.training.loss_margin, weights)
        if loss_name == "softplus":
            return losses.softplus_loss(positive, negative, weights)
        return losses.bce_loss(positive, negative, weights)

    def evaluate(self, split: str) -> dict:
        """Metrics of ``split`` under ``evaluation.protocol``: filtered ranking against all
        entities and/or, for OGB link sets, OGB's official sampled negatives."""
        protocol, budget = self.protocol, self.config.evaluation.memory_budget_mb
        metrics = {}
        if protocol in ("full", "both"):
            labels = self.dataset.relations if self.config.evaluation.per_relation else None
            metrics = evaluate_link_prediction(self.model, self.dataset.splits[split], self.dataset.all_triples(),
                                               budget, labels, categories=self.relation_categories if labels else None,
                                               trained_entities=self.trained_entities)
        if protocol in ("ogb", "both"):
            from kgtool.evaluation.ogb_protocol import (
                evaluate_ogb,  # imports ogb, which takes seconds
            )

            ogb = evaluate_ogb(self.model, self.dataset, split, memory_budget_mb=budget)
            metrics = ogb if protocol == "ogb" else {**metrics, "ogb": ogb}
        return metrics

    @cached_property
    def trained_entities(self) -> Tensor:
        """``(num_entities,)`` bool: the entity occurs in a training triple (computed once)."""
        return self.dataset.trained_entities()

    @cached_property
    def relation_categories(self) -> list[str]:
        """Each relation's category (1-1, 1-N, N-1, N-N) over all splits, computed once rather than at
        every validation (0.2 s on FB15k-237, 22 s on 16M triples)."""
        return relation_categories(self.dataset.all_triples(), self.dataset.num_relations)

    def _protocol(self) -> str:
        """``evaluation.protocol`` with ``auto`` resolved; checked before any training."""
        protocol, ogb = self.config.evaluation.protocol, self.dataset.ogb_protocol
        if protocol == "auto":
            return "full" if ogb is None else "ogb"
        if protocol != "full" and ogb is None:
            raise ConfigError(f"evaluation.protocol={protocol} needs an OGB link set (ogbl-biokg, ogbl-wikikg2); "
                              f"{self.dataset.name} has no OGB negatives")
        return protocol

    def describe(self) -> str:
        return self.dataset.describe()

    def extra_state(self) -> dict:
        """Vocabularies, saved in the checkpoint so predictions can name entities."""
        return {"entities": self.dataset.entities, "relations": self.dataset.relations}
