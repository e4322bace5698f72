"""How many rows of work fit a memory budget: the one formula behind every chunked computation
(ranking batches, OGB's sampled negatives, relational GNN inference by target chunks)."""

from __future__ import annotations

MIB = 2**20


def rows_within(budget_mb: int, bytes_per_row: int) -> int:
    """The number of rows (at least 1) whose ``bytes_per_row`` each fit ``budget_mb`` MiB, e.g.
    query batches of ``3 · 4 · num_entities`` bytes: three ``(batch, num_entities)`` float32
    tensors (scores, filter mask, comparisons)."""
    return max(1, budget_mb * MIB // max(1, bytes_per_row))
