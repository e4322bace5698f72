"""Filtered ranking with a sharded entity table: no rank ever holds all entities' rows.

Every rank takes every query, fetches the query's entity row from its owner and scores the
candidates it holds, ``(b, local)``. The target's score comes from the target's owner (one
all-reduce), each rank removes the known answers it holds, and counts its candidates scoring
above and equal to the target; the counts are all-reduced into the ranks of
:func:`~kgtool.evaluation.ranking.ranks_from_scores`. The ranks equal those of one process up to
ties within float tolerance: a block of a matrix product may round differently from the whole.
"""

from __future__ import annotations

import torch
from torch import Tensor

from kgtool import distributed
from kgtool.data.answers import AnswerIndex
from kgtool.evaluation.mode import evaluation_mode
from kgtool.evaluation.ranking import Ranks, reject_nan
from kgtool.memory_budget import rows_within
from kgtool.sharding.model import ShardedKGEModel


def sharded_link_prediction_ranks(model: ShardedKGEModel, triples: Tensor, known_triples: Tensor,
                                  memory_budget_mb: int = 512, batch_size: int | None = None) -> tuple[Ranks, Ranks]:
    """Filtered head-side and tail-side ranks ``(n,)`` of ``triples`` ``(n, 3)`` against all
    entities, ``known_triples`` ``(m, 3)`` the filter; a collective, the same ranks on every rank."""
    num_relations = max(int(known_triples[:, 1].max()), int(triples[:, 1].max())) + 1
    local = max(1, len(model.table.shard))
    batch_size = batch_size or rows_within(memory_budget_mb, 3 * 4 * local)
    h, r, t = triples.to(model.table.shard.device).unbind(dim=1)
    with evaluation_mode(model), torch.no_grad():
        tail = sharded_filtered_ranks(model, "tail", h, r, t, AnswerIndex.tails(known_triples, num_relations),
                                      batch_size)
        head = sharded_filtered_ranks(model, "head", t, r, h, AnswerIndex.heads(known_triples, num_relations),
                                      batch_size)
    return head, tail


def sharded_filtered_ranks(model: ShardedKGEModel, side: str, anchors: Tensor, relations: Tensor, targets: Tensor,
                           known: AnswerIndex, batch_size: int) -> Ranks:
    """Filtered ranks of ``targets`` for ``side`` ("tail": ``(anchor, r, ?)``; "head":
    ``(?, r, anchor)``) queries, all ``(n,)``, counted over every rank's candidates."""
    table = model.table
    parts = []
    for start in range(0, len(anchors), batch_size):
        a, r, t = (x[start:start + batch_size] for x in (anchors, relations, targets))
        scores = local_scores(model, side, a, r)  # (b, local)
        mine = table.owns(t)
        target = scores.new_zeros(len(t))
        target[mine] = scores[mine.nonzero()[:, 0], table.local_row(t[mine])]
        target = distributed.summed_over_ranks(target)  # each target's score, from its owner
        rows, answers = (x.to(scores.device) for x in known.lookup(a, r))
        held = table.owns(answers)
        scores[rows[held], table.local_row(answers[held])] = float("-inf")
        differences = scores - target[:, None]
        reject_nan(differences.sum(dim=1))
        counts = torch.stack([(differences > 0).sum(dim=1), (differences == 0).sum(dim=1)])  # (2, b)
        counts[1] += mine.long()  # the target itself, removed by the filter above
        greater, equal = distributed.summed_over_ranks(counts).float().cpu()
        parts.append(Ranks(1 + greater, greater + equal))
    return Ranks(torch.cat([p.optimistic for p in parts]), torch.cat([p.pessimistic for p in parts]))


def local_scores(model: ShardedKGEModel, side: str, anchors: Tensor, relations: Tensor) -> Tensor:
    """Scores ``(b, local)`` of the queries against the candidates this rank holds, in shard
    order; distance models go over chunks of candidates, as :meth:`KGEModel._score_all` does."""
    if side == "head" and model.reciprocal:
        side, relations = "tail", model.inverse(relations)
    known_entity = model.entities(anchors)[:, None]  # a collective: every rank asks for its rows
    relation = model.relations(relations)[:, None]
    candidates = model.interaction.entities(model.table.shard)[None]

    def score(entities: Tensor) -> Tensor:
        if side == "tail":
            return model.score(known_entity, relation, entities)
        return model.score(entities, relation, known_entity)

    if model.interaction.is_bilinear:
        return score(candidates)
    chunk = max(1, model.max_chunk_elements // max(1, len(anchors) * model.interaction.entity_width))
    return torch.cat([score(candidates[:, start:start + chunk])
                      for start in range(0, candidates.shape[1], chunk)], dim=1)
