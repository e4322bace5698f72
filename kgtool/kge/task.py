"""KGETask: what the shared training loop needs to train and judge a KGE model on a KGDataset.

The task holds the model (entity representation + relation table + interaction) and the dataset;
its training objective (:mod:`kgtool.kge.objectives`, chosen by ``training.scoring``) is built at
the first training step, so a model loaded for evaluation or prediction builds no negative sampler
and no filter index.
"""

from __future__ import annotations

from functools import cached_property, partial
from typing import Callable

import torch
from torch import Tensor, nn

from kgtool.config import Config
from kgtool.data.kg import KGDataset
from kgtool.data.patterns import relation_categories
from kgtool.encoders.from_files import multimodal_from_files
from kgtool.errors import ConfigError
from kgtool.evaluation.ranking import evaluate_link_prediction
from kgtool.kge.interactions import Interaction
from kgtool.kge.model import KGEModel
from kgtool.kge import objectives
from kgtool.kge.objectives import Objective
from kgtool.relational.encoder import relational_encoder


class KGETask:
    headline_metric = "mrr"

    def __init__(self, config: Config, dataset: KGDataset, interaction: Interaction | None = None,
                 entity_encoder: Callable[[int], nn.Module] | None = None):
        """:param interaction: the score function (default: ``config.model``'s)
        :param entity_encoder: the entity representation's factory, width -> module (default: as
            ``config`` says: a table, the text/image encoders, a relational GNN over them)"""
        self.config = config
        self.dataset = dataset
        self.training = config.training
        if entity_encoder is None:
            entity_encoder = entity_representation(config, dataset)
        self.model = self._build_model(interaction or config.model.build_interaction(), entity_encoder)
        self.protocol = self._protocol()

    def _build_model(self, interaction: Interaction, entity_encoder) -> KGEModel:
        """The model this task trains (a subclass may build another, e.g. with a sharded table)."""
        return KGEModel(interaction, self.dataset.num_entities, self.dataset.num_relations,
                        reciprocal=self.training.reciprocal, sparse=self.training.sparse,
                        compile=self.training.compile, entity_encoder=entity_encoder,
                        fused_negatives=self.training.fused_negatives is not False)

    @classmethod
    def from_config(cls, config: Config, dataset: KGDataset | None = None) -> "KGETask":
        from kgtool.data.convert import as_trained
        from kgtool.data.registry import load_kg

        if dataset is None:
            dataset = load_kg(config.data.dataset, config.data.data_dir)
        return cls(config, as_trained(dataset, config))

    @cached_property
    def objective(self) -> Objective:
        """The training objective of ``training.scoring``, built when training first asks for it."""
        return objectives.OBJECTIVES[self.training.scoring](self.dataset, self.training)

    def num_examples(self) -> int:
        return self.objective.num_examples()

    def loss(self, example_ids: Tensor, generator: torch.Generator) -> Tensor:
        """Loss of the training examples ``example_ids`` ``(b,)``; a scalar."""
        return self.objective.loss(self.model, example_ids, generator)

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


def entity_representation(config: Config, dataset: KGDataset) -> Callable[[int], nn.Module] | None:
    """The entity representation ``config`` asks for, as a factory (width -> module), or None for
    a table: the text/image encoders, and a relational GNN (R-GCN, CompGCN) over them or a table."""
    # with encoders, entities are represented from their text/images, at the width the model asks for
    entity_encoder = None
    if config.encoders.enabled:
        features = None
        if config.encoders.features:
            if dataset.entity_features is None:
                raise ConfigError(f"encoders.features: {dataset.name} has no entity features (a PyG graph's node x)")
            features = dataset.entity_features
        entity_encoder = partial(multimodal_from_files, dataset.entities, features=features,
                                 **config.encoders.representation_options())
    if config.relational.encoder != "none":  # message passing over the training triples, fed by the above
        entity_encoder = relational_encoder(config.relational.encoder, dataset.train, dataset.num_entities,
                                            dataset.num_relations, entity_encoder, config.evaluation.memory_budget_mb,
                                            dataset.support, **config.relational.encoder_options())
    return entity_encoder
