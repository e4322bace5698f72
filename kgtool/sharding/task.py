"""ShardedKGETask: :class:`KGETask` with the entity table sharded over the ranks."""

from __future__ import annotations

from functools import cached_property

from kgtool.evaluation.ranking import evaluate_link_prediction
from kgtool.kge.objectives import NegativeSampling
from kgtool.kge.task import KGETask
from kgtool.sharding.model import ShardedKGEModel
from kgtool.sharding.ranking import sharded_link_prediction_ranks


class ShardedKGETask(KGETask):
    """Trains a :class:`ShardedKGEModel` with sampled negatives and ranks with
    :func:`sharded_link_prediction_ranks`. ``distributed.negatives=local`` draws each rank's
    negatives from the entities it holds (PBG's same-partition negatives): their rows need no
    exchange, so a step fetches from other ranks only the rows of its positives."""

    def _build_model(self, interaction, entity_encoder) -> ShardedKGEModel:
        return ShardedKGEModel(interaction, self.dataset.num_entities, self.dataset.num_relations,
                               reciprocal=self.training.reciprocal, compile=self.training.compile,
                               seed=self.training.seed)

    @cached_property
    def objective(self) -> NegativeSampling:
        """Negative sampling (1vsAll/KvsAll are refused with a sharded table); ``local`` negatives
        come from the entities this rank holds."""
        pool = self.model.table.owned_ids if self.config.distributed.negatives == "local" else None
        return NegativeSampling(self.dataset, self.training, pool=pool)

    def evaluate(self, split: str) -> dict:
        """Filtered ranking of ``split`` (a collective: every rank calls it, every rank gets the metrics)."""
        labels = self.dataset.relations if self.config.evaluation.per_relation else None
        return evaluate_link_prediction(self.model, self.dataset.splits[split], self.dataset.all_triples(),
                                        self.config.evaluation.memory_budget_mb, labels,
                                        categories=self.relation_categories if labels else None,
                                        trained_entities=self.trained_entities,
                                        ranker=sharded_link_prediction_ranks)
