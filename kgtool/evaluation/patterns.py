"""A model's filtered ranking metrics per relation category and per relation pattern, as
LibKGE and the papers since TransE break them down."""

from __future__ import annotations

from kgtool.data.kg import KGDataset
from kgtool.data.patterns import CATEGORIES
from kgtool.evaluation.ranking import group_metrics, link_prediction_ranks


def relation_groups(report: dict, relations: list[str], min_confidence: float = 0.5) -> dict[str, dict[str, list[int]]]:
    """Relation ids per category and per pattern of a :func:`~kgtool.data.patterns.relation_patterns`
    report: ``symmetric`` / ``antisymmetric`` (confidence at least ``min_confidence``), ``inverse``
    (has an inverse in the report), ``composition`` (heads a composition rule)."""
    index = {name: i for i, name in enumerate(relations)}
    rows = report["relations"]
    composed = {rule["head"] for rule in report["compositions"]}
    patterns = {
        "symmetric": [n for n, r in rows.items() if (r["symmetry"] or 0) >= min_confidence],
        "antisymmetric": [n for n, r in rows.items() if (r["antisymmetry"] or 0) >= min_confidence],
        "inverse": [n for n, r in rows.items() if r["inverses"]],
        "composition": [n for n in rows if n in composed],
    }
    categories = {c: [n for n, r in rows.items() if r["category"] == c] for c in CATEGORIES}
    as_ids = lambda groups: {name: [index[n] for n in members] for name, members in groups.items()}
    return {"per_category": as_ids(categories), "per_pattern": as_ids(patterns)}


def pattern_metrics(model, dataset: KGDataset, report: dict, split: str = "test", min_confidence: float = 0.5,
                    memory_budget_mb: int = 512) -> dict:
    """``{"per_category": {"1-N": metrics}, "per_pattern": {"symmetric": metrics}}`` of ``split``,
    ranked once (filtered by all splits); ``metrics`` has realistic ``mrr``, ``hits@k``, and
    ``head`` / ``tail`` blocks (head side: ``(?, r, t)`` queries)."""
    triples = dataset.splits[split]
    head, tail = link_prediction_ranks(model, triples, dataset.all_triples(), memory_budget_mb)
    relations = triples[:, 1].cpu()
    return {kind: group_metrics(head, tail, relations, groups)
            for kind, groups in relation_groups(report, dataset.relations, min_confidence).items()}
