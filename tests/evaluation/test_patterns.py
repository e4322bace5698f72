"""Metrics per relation category and pattern equal ranking each group's triples on their own."""

import pytest
import torch

import kgtool
from kgtool.data.patterns import dataset_patterns
from kgtool.evaluation.patterns import pattern_metrics, relation_groups
from kgtool.evaluation.ranking import evaluate_link_prediction
from tests.conftest import random_dataset, small_config


def test_group_metrics_equal_ranking_each_group_alone(tmp_path):
    dataset = random_dataset(num_entities=20, num_relations=6, num_triples=400)
    run = kgtool.fit(small_config(model={"name": "distmult", "dim": 8}, training={"epochs": 1}),
                     output=tmp_path / "run", dataset=dataset)
    report = dataset_patterns(dataset, min_support=1, min_confidence=0.1)
    metrics = pattern_metrics(run.model, dataset, report, min_confidence=0.1)
    groups = relation_groups(report, dataset.relations, 0.1)
    assert sum(m["num_triples"] for m in metrics["per_category"].values()) == len(dataset.test)
    assert metrics["per_pattern"] and metrics["per_category"]
    for kind, block in metrics.items():
        for name, got in block.items():
            subset = dataset.test[torch.isin(dataset.test[:, 1], torch.tensor(groups[kind][name]))]
            alone = evaluate_link_prediction(run.model, subset, dataset.all_triples())
            assert got["num_triples"] == len(subset)
            for key in ("mrr", "hits@10"):
                assert got[key] == pytest.approx(alone[key])
                assert got["head"][key] == pytest.approx(alone["head"][key])
                assert got["tail"][key] == pytest.approx(alone["tail"][key])


def test_groups_follow_the_report():
    report = {"relations": {"a": {"category": "1-N", "symmetry": 0.9, "antisymmetry": 0.1, "inverses": []},
                            "b": {"category": "1-N", "symmetry": None, "antisymmetry": None,
                                  "inverses": [{"relation": "a", "confidence": 0.7}]},
                            "c": {"category": "N-N", "symmetry": 0.2, "antisymmetry": 0.8, "inverses": []}},
              "compositions": [{"body": ["a", "b"], "head": "c", "support": 3, "confidence": 1.0}]}
    assert relation_groups(report, ["a", "b", "c"], 0.5) == {
        "per_category": {"1-1": [], "1-N": [0, 1], "N-1": [], "N-N": [2]},
        "per_pattern": {"symmetric": [0], "antisymmetric": [2], "inverse": [1], "composition": [2]}}


def brute_force_categories(triples, num_relations):
    categories = []
    for r in range(num_relations):
        pairs = {(h, t) for h, rel, t in triples.tolist() if rel == r}
        heads, tails = {h for h, _ in pairs}, {t for _, t in pairs}
        side = lambda count: "N" if count >= 1.5 else "1"
        categories.append(f"{side(len(pairs) / len(tails))}-{side(len(pairs) / len(heads))}")
    return categories


def test_metrics_carry_a_per_category_block_consistent_with_per_relation(tmp_path):
    from kgtool.data.patterns import relation_categories

    dataset = random_dataset(num_entities=40, num_relations=8, num_triples=300, seed=3)
    categories = relation_categories(dataset.all_triples(), dataset.num_relations)
    assert categories == brute_force_categories(dataset.all_triples(), dataset.num_relations)
    assert set(categories) == {"1-1", "N-1", "N-N"}
    run = kgtool.fit(small_config(model={"name": "transe", "dim": 8}, training={"epochs": 1}),
                     output=tmp_path / "run", dataset=dataset)
    metrics = run.metrics["test"]
    for category, block in metrics["per_category"].items():
        members = [dataset.relations[r] for r, c in enumerate(categories) if c == category]
        rows = [metrics["per_relation"][name] for name in members if name in metrics["per_relation"]]
        assert block["num_triples"] == sum(row["num_triples"] for row in rows)
        weighted = sum(row["mrr"] * row["num_triples"] for row in rows) / block["num_triples"]
        assert block["mrr"] == pytest.approx(weighted)
        assert set(block) >= {"head", "tail"}
    assert sum(b["num_triples"] for b in metrics["per_category"].values()) == len(dataset.test)
