"""EntityRows: a KGE model's entity representation behind one interface, with the caches it needs.

The representation is a module, ``KGEModel.entity_embeddings`` (its state-dict keys): a table
(``nn.Embedding``), a :class:`~kgtool.encoders.MultimodalEmbedding`, a relational GNN
(:class:`~kgtool.relational.RelationalEncoder`), a homogeneous GNN
(:class:`~kgtool.gnn.representation.GraphRepresentation`) or a sharded table. The score paths
ask it for rows only through :class:`EntityRows`: ``rows(ids)``, ``all_rows()`` and, around a
training step, ``step(entity_ids)``. What a module offers beyond ``forward(ids)``:

- ``encode_all()`` -> ``(num_entities, width)``: every row (all but the table);
- ``whole_graph = True``: rows depend on each other (GNNs), so a step encodes all rows once, or,
  with a ``sampler``, the step's entities from their subgraphs by ``encode_subgraph(ids, generator)``;
- ``interaction_tables()``: the tables the interaction initialises (a residual fusion's structural rows).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import Tensor, nn


class EntityRows:
    """Rows of the entity representation ``module`` and their caches.

    - ``step_table``: within :meth:`step` of a ``whole_graph`` module, the rows encoded once for
      all lookups of the step, with gradients (all entities, or those of ``step_ids``, sorted);
    - ``eval_table``: every entity's rows, encoded once in eval mode without gradients (ranking,
      prediction) and kept until :meth:`forget` (``train()``, ``eval()``, ``load_state_dict``).

    :param table: ``module`` is a plain ``nn.Embedding`` (rows are its weight; nothing to cache)
    """

    def __init__(self, module: nn.Module, table: bool):
        self.module, self.table = module, table
        self.whole_graph = getattr(module, "whole_graph", False)
        self.step_table: Tensor | None = None
        self.step_ids: Tensor | None = None
        self.eval_table: Tensor | None = None

    def interaction_tables(self) -> list[nn.Embedding]:
        """The tables whose rows are the interaction's to initialise."""
        if self.table:
            return [self.module]
        return list(getattr(self.module, "interaction_tables", list)())

    @contextmanager
    def step(self, entity_ids: Tensor | None = None, generator: torch.Generator | None = None):
        """Within the block (a training step), a ``whole_graph`` module encodes once for every
        lookup: all entities, or with a ``sampler`` the distinct ``entity_ids`` (any shape: every
        entity the step looks up), each from its neighbourhood sampled with ``generator``."""
        if not self.whole_graph:
            yield
            return
        if getattr(self.module, "sampler", None) is not None and entity_ids is not None:
            self.step_ids = torch.unique(entity_ids)
            self.step_table = self.module.encode_subgraph(self.step_ids, generator)
        else:
            self.step_table = self.module.encode_all()
        try:
            yield
        finally:
            self.step_table = self.step_ids = None

    def rows(self, ids: Tensor) -> Tensor:
        """Stored rows ``(*s, width)`` of entity ids ``(*s,)``."""
        if self.step_ids is not None:
            return self.step_table[torch.searchsorted(self.step_ids, ids.contiguous())]
        if self.whole_graph or (self.eval_table is not None and not torch.is_grad_enabled()):
            return self.all_rows()[ids]
        return self.module(ids)

    def all_rows(self) -> Tensor:
        """Stored rows of all entities ``(num_entities, width)``: the table's weight, the step's
        encoding, a fresh encoding in training or with gradients, else the kept ``eval_table``."""
        if self.step_table is not None and self.step_ids is None:
            return self.step_table
        if self.table:
            return self.module.weight
        if self.module.training or torch.is_grad_enabled():
            return self.module.encode_all()
        if self.eval_table is None:
            self.eval_table = self.module.encode_all()
        return self.eval_table

    def forget(self) -> None:
        """Drop the kept ``eval_table`` (the parameters may change)."""
        self.eval_table = None
