"""OGB's official link-prediction protocol: each valid/test triple is ranked against OGB's fixed
sample of corrupted heads, and separately of corrupted tails, by ``ogb.linkproppred.Evaluator``.

These numbers are what the OGB leaderboards report; they are not comparable with the filtered
ranking against all entities (:mod:`kgtool.evaluation.ranking`), and are reported apart from it.
As in OGB's examples, the head and the tail side are pooled: each metric is the mean over both
sides of all triples. The evaluator breaks ties realistically: rank
``1 + (#negatives > positive + #negatives >= positive) / 2``.
"""

from __future__ import annotations

import torch
from ogb.linkproppred import Evaluator
from torch import Tensor

from kgtool.data.kg import KGDataset
from kgtool.errors import KGToolError
from kgtool.evaluation.mode import evaluation_mode
from kgtool.evaluation.ranking import reject_nan
from kgtool.memory_budget import rows_within

OGB_METRICS = ("mrr", "hits@1", "hits@3", "hits@10")


def evaluate_ogb(model, dataset: KGDataset, split: str, batch_size: int | None = None,
                 memory_budget_mb: int = 512) -> dict:
    """OGB's metrics of ``dataset.splits[split]`` against ``dataset.ogb_protocol``'s negatives.

    ``model`` is a :class:`~kgtool.kge.model.KGEModel`. A reciprocal model answers head queries
    through its inverse relations, as in the filtered ranking. Unless ``batch_size`` is given, a
    batch of ``b`` triples keeps its ``(b, k + 1, dim)`` candidate embeddings within the budget.

    :return: ``{"mrr", "hits@1", "hits@3", "hits@10": float, "protocol": str}``.
    """
    protocol = dataset.ogb_protocol
    if protocol is None:
        raise KGToolError(f"dataset {dataset.name} has no OGB protocol (only the OGB sets have sampled negatives)")
    if split not in protocol.negatives:
        raise KGToolError(f"dataset {dataset.name}: OGB's sampled negatives cover {', '.join(protocol.negatives)}, "
                          f"not {split!r}")
    triples = dataset.splits[split]
    head_negatives, tail_negatives = protocol.negatives[split]
    width = model.interaction.entity_width
    candidates = 1 + max(head_negatives.shape[1], tail_negatives.shape[1])
    batch_size = batch_size or rows_within(memory_budget_mb, 3 * 4 * candidates * width)
    evaluator = Evaluator(name=protocol.name)
    device = next(model.parameters()).device
    results = {metric: [] for metric in OGB_METRICS}
    with evaluation_mode(model):
        for start in range(0, len(triples), batch_size):
            batch = triples[start:start + batch_size].to(device)
            for head_side, negatives in ((True, head_negatives), (False, tail_negatives)):
                scores = side_scores(model, batch, negatives[start:start + batch_size].to(device), head_side)
                reject_nan(scores)
                lists = evaluator.eval({"y_pred_pos": scores[:, 0], "y_pred_neg": scores[:, 1:]})
                for metric in OGB_METRICS:
                    results[metric].append(lists[f"{metric}_list"].float().cpu())
    metrics = {metric: torch.cat(parts).mean().item() for metric, parts in results.items()}
    return {**metrics, "protocol": f"ogb {protocol.name} sampled negatives"}


def side_scores(model, triples: Tensor, negatives: Tensor, head_side: bool) -> Tensor:
    """Scores ``(b, 1 + k)`` of triples ``(b, 3)`` with the head (or tail) replaced by itself and
    by each of ``negatives`` ``(b, k)``; column 0 is the true triple.

    The positive is scored in the same call as its negatives, as in OGB's examples, so that a
    negative equal to the positive entity gets exactly the positive's score (a tie).
    """
    h, r, t = triples.unbind(dim=1)
    candidates = torch.cat([(h if head_side else t)[:, None], negatives], dim=1)
    if not head_side:
        return model.score_tail_candidates(h, r, candidates)
    return model.score_head_candidates(r, t, candidates)
