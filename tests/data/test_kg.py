"""KGDataset: the summary counts what a user should know of the data; duplicates can be dropped."""

import pytest
import torch

from kgtool.data import KGDataset, OGBProtocol
from kgtool.errors import DataError

LABELED = {
    "train": [("a", "r", "b"), ("b", "r", "c"), ("a", "r", "b"), ("c", "s", "a")],  # one repeat
    "valid": [("a", "s", "c"), ("b", "r", "c"), ("a", "s", "c")],  # one train triple, one repeat
    "test": [("b", "s", "d"), ("a", "s", "c"), ("c", "new", "a")],  # one valid triple; a relation only here
}


def test_summary_counts_duplicates_and_relations_not_in_train():
    dataset = KGDataset.from_labeled("toy", LABELED)
    assert dataset.duplicate_triples() == {"train": 1, "valid": 2, "test": 1}
    assert dataset.unseen_relations() == {"valid": 0, "test": 1}
    text = dataset.describe()
    assert "relations not in train: 0 in valid, 1 in test" in text
    assert ("duplicate triples (repeats, or valid/test triples also in train): 1 in train, 2 in valid, "
            "1 in test (data.drop_duplicates=true drops them)") in text


def test_summary_of_clean_data_mentions_neither():
    labeled = {"train": [("a", "r", "b"), ("b", "s", "c")], "valid": [("b", "r", "a")], "test": [("c", "s", "a")]}
    text = KGDataset.from_labeled("toy", labeled).describe()
    assert "duplicate" not in text and "relations not in train" not in text


def test_without_duplicates_keeps_each_triple_once_at_its_first_split():
    dataset = KGDataset.from_labeled("toy", LABELED)
    dropped = dataset.without_duplicates()

    def labels(split):
        e, r = dropped.entities, dropped.relations
        return [(e[h], r[rel], e[t]) for h, rel, t in dropped.splits[split].tolist()]

    assert labels("train") == [("a", "r", "b"), ("b", "r", "c"), ("c", "s", "a")]
    assert labels("valid") == [("a", "s", "c")]
    assert labels("test") == [("b", "s", "d"), ("c", "new", "a")]
    assert dropped.entities == dataset.entities and dropped.relations == dataset.relations
    assert dropped.duplicate_triples() == {"train": 0, "valid": 0, "test": 0}


def test_without_duplicates_keeps_ogb_negatives_in_step():
    dataset = KGDataset.from_labeled("toy", LABELED)
    negatives = {s: (torch.arange(len(dataset.splits[s]))[:, None].repeat(1, 2), torch.zeros(len(dataset.splits[s]), 2))
                 for s in ("valid", "test")}
    dataset.ogb_protocol = OGBProtocol("ogbl-toy", negatives)
    head, _ = dataset.without_duplicates().ogb_protocol.negatives["test"]
    assert head[:, 0].tolist() == [0, 2]


def test_a_split_of_only_duplicates_is_an_error():
    labeled = {**LABELED, "valid": [("a", "r", "b")]}
    with pytest.raises(DataError, match="toy: split.s. valid hold only duplicates"):
        KGDataset.from_labeled("toy", labeled).without_duplicates()
