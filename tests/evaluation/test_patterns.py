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
