import torch

from kgtool.data.answers import AnswerIndex
from tests.conftest import random_dataset


def test_lookup_matches_brute_force():
    triples = random_dataset(num_entities=12, num_relations=3, num_triples=200).all_triples()
    index = AnswerIndex.tails(triples, num_relations=3)
    anchors = torch.tensor([0, 5, 11, 3, 3])
    relations = torch.tensor([0, 2, 1, 0, 1])
    rows, answers = index.lookup(anchors, relations)
    for i, (a, r) in enumerate(zip(anchors.tolist(), relations.tolist())):
        expected = sorted({t for h, rr, t in triples.tolist() if h == a and rr == r})
        assert sorted(answers[rows == i].tolist()) == expected


def test_heads_index_and_unknown_queries():
    triples = torch.tensor([[0, 0, 1], [2, 0, 1], [2, 0, 1], [1, 1, 0]])
    index = AnswerIndex.heads(triples, num_relations=2)
    rows, answers = index.lookup(torch.tensor([1, 9, 0]), torch.tensor([0, 0, 1]))
    assert rows.tolist() == [0, 0, 2] and answers.tolist() == [0, 2, 1]
    dense = index.dense(torch.tensor([1]), torch.tensor([0]), num_entities=3)
    assert dense.tolist() == [[1.0, 0.0, 1.0]]
