"""ShardedKGEModel: a KGE model whose entity table is a :class:`ShardedEntityTable`."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import Tensor

from kgtool.kge.entity_rows import EntityRows
from kgtool.kge.interactions import Interaction
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

    def __init__(self, interaction: Interaction, num_entities: int, num_relations: int, reciprocal: bool = False,
                 compile: bool = False, seed: int = 0):
        def table(width: int) -> ShardedEntityTable:
            return ShardedEntityTable(num_entities, width, seed, init=lambda rows: self.interaction.reset_parameters(rows))

        super().__init__(interaction, num_entities, num_relations, reciprocal=reciprocal, compile=compile,
                         entity_encoder=table, fused_negatives=False)
        self.entity_rows = ShardedRows(self.table, table=False)

    @property
    def table(self) -> ShardedEntityTable:
        return self.entity_embeddings


class ShardedRows(EntityRows):
    """:class:`EntityRows` of a sharded table: a training step fetches the rows of its distinct
    entities from their owners once, on entry."""

    @contextmanager
    def step(self, entity_ids: Tensor | None = None, generator: torch.Generator | None = None):
        if entity_ids is None:
            yield
            return
        self.step_ids = torch.unique(entity_ids)
        self.step_table = self.module.rows(self.step_ids)
        try:
            yield
        finally:
            self.step_table = self.step_ids = None
