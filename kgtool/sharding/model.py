"""ShardedKGEModel: a KGE model whose entity table is a :class:`ShardedEntityTable`."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import Tensor

from kgtool.config import ModelConfig
from kgtool.kge.model import KGEModel
from kgtool.sharding.table import ShardedEntityTable


class ShardedKGEModel(KGEModel):
    """:class:`KGEModel` with the entity rows spread over the ranks; relations stay replicated.

    A training step fetches the rows of all its entities once, within :meth:`encoding_once`
    (positives and negatives alike: the score paths then look rows up locally, however many
    times and on whichever branches a rank takes). Outside a step, :meth:`entities` fetches
    rows on every call: a collective, so every rank must make the same calls (as
    :mod:`kgtool.sharding.ranking` does). In one process the shard is the whole table, and the
    model scores like a plain one (prediction and export of a finished run).
    """

    def __init__(self, config: ModelConfig, num_entities: int, num_relations: int, reciprocal: bool = False,
                 compile: bool = False, seed: int = 0):
        def table(width: int) -> ShardedEntityTable:
            return ShardedEntityTable(num_entities, width, seed, init=lambda rows: self.interaction.reset_parameters(rows))

        super().__init__(config, num_entities, num_relations, reciprocal=reciprocal, compile=compile,
                         entity_encoder=table, fused_negatives=False)

    @property
    def table(self) -> ShardedEntityTable:
        return self.entity_embeddings

    @contextmanager
    def encoding_once(self, entity_ids: Tensor | None = None, generator: torch.Generator | None = None):
        """Within the block (a training step), lookups take the rows of the distinct
        ``entity_ids`` (any shape), fetched from their owners once on entry."""
        if entity_ids is None:
            yield
            return
        self.step_ids = torch.unique(entity_ids)
        self.step_table = self.table.rows(self.step_ids)
        try:
            yield
        finally:
            self.step_table = self.step_ids = None
