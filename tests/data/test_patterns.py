"""Relation patterns on a hand-made graph: each planted pattern at confidence 1, nothing else."""

import pytest
import torch

from kgtool.data.kg import KGDataset
from kgtool.data.patterns import relation_patterns
from kgtool.errors import ConfigError


def planted_graph() -> KGDataset:
    """Disjoint groups of entities, one pattern each, so that no pattern arises by accident."""
    triples = []
    for i in range(0, 8, 2):  # married: symmetric, 1-1
        triples += [(f"s{i}", "married", f"s{i + 1}"), (f"s{i + 1}", "married", f"s{i}")]
    for parent in range(4):  # parent_of (1-N) and child_of (N-1): inverses
        for k in range(3):
            child = f"c{parent}_{k}"
            triples += [(f"p{parent}", "parent_of", child), (child, "child_of", f"p{parent}")]
    for person in range(12):  # born_in ∘ city_in ⇒ nationality, all N-1
        city, country = f"city{person % 4}", f"country{person % 4 // 2}"
        triples += [(f"q{person}", "born_in", city), (f"q{person}", "nationality", country)]
    triples += [(f"city{c}", "city_in", f"country{c // 2}") for c in range(4)]
    triples += [(f"a{i}", "likes", f"b{j}") for i in range(3) for j in range(3)]  # N-N, antisymmetric
    return KGDataset.from_labeled("planted", {"train": triples, "valid": triples[:1], "test": triples[:1]})


def test_each_planted_pattern_is_found_at_confidence_one_and_nothing_else():
    d = planted_graph()
    report = relation_patterns(d.train, d.num_entities, d.relations, min_support=1, min_confidence=0.01)
    relations = report["relations"]
    assert {name: r["category"] for name, r in relations.items()} == {
        "married": "1-1", "parent_of": "1-N", "child_of": "N-1", "born_in": "N-1", "nationality": "N-1",
        "city_in": "N-1", "likes": "N-N"}
    assert relations["married"]["symmetry"] == 1 and relations["married"]["antisymmetry"] == 0
    for name in set(relations) - {"married"}:
        assert relations[name]["symmetry"] == 0 and relations[name]["antisymmetry"] == 1, name
    assert relations["parent_of"]["inverses"] == [{"relation": "child_of", "confidence": 1.0}]
    assert relations["child_of"]["inverses"] == [{"relation": "parent_of", "confidence": 1.0}]
    assert all(not r["inverses"] for name, r in relations.items() if name not in ("parent_of", "child_of"))
    assert report["compositions"] == [
        {"body": ["born_in", "city_in"], "head": "nationality", "support": 12, "confidence": 1.0}]


def test_support_and_confidence_count_distinct_pairs():
    d = planted_graph()
    nationality = [t for t in d.train.tolist() if d.relations[t[1]] == "nationality"]
    removed = torch.tensor([t for t in d.train.tolist() if t not in nationality[:3]])  # 3 of 12 heads missing
    report = relation_patterns(removed, d.num_entities, d.relations, min_support=1, min_confidence=0.5)
    assert report["compositions"] == [
        {"body": ["born_in", "city_in"], "head": "nationality", "support": 9, "confidence": 0.75}]
    assert relation_patterns(removed, d.num_entities, d.relations, min_support=10)["compositions"] == []
    assert relation_patterns(removed, d.num_entities, d.relations, min_support=1, min_confidence=0.8)["compositions"] == []


@pytest.mark.parametrize("min_support, min_confidence", [(0, 0.5), (-5, 0.5), (1, 2.0), (1, -0.1), (1, float("nan"))])
def test_thresholds_that_would_give_nan_or_nothing_are_refused(min_support, min_confidence):
    with pytest.raises(ConfigError, match=f"got min_support={min_support}, min_confidence={min_confidence}"):
        graph = planted_graph()
        relation_patterns(graph.train, graph.num_entities, graph.relations, min_support, min_confidence)
