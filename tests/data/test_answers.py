import torch

from kgtool.data.answers import AnswerIndex, unique_pairs
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


def test_unique_pairs_agrees_with_the_two_dimensional_unique_and_survives_huge_codes():
    g = torch.Generator().manual_seed(0)
    keys, answers = torch.randint(50, (2000,), generator=g), torch.randint(30, (2000,), generator=g)
    expected = torch.unique(torch.stack([keys, answers]), dim=1)
    assert torch.equal(torch.stack(unique_pairs(keys, answers)), expected)
    huge = torch.tensor([2**61, 2**61, 3]), torch.tensor([7, 7, 2**40])  # key * num_answers overflows int64
    assert [x.tolist() for x in unique_pairs(*huge)] == [[3, 2**61], [2**40, 7]]


def test_int32_ids_do_not_overflow_the_query_key():
    triples = torch.tensor([[2_000_000_000, 1, 5]], dtype=torch.int32)
    rows, answers = AnswerIndex.tails(triples, num_relations=4).lookup(triples[:, 0], triples[:, 1])
    assert answers.tolist() == [5]
