import torch

from kgtool.data.inductive import inductive_split, saved_inductive_split
from tests.conftest import random_dataset


def held_out_ends(triples: torch.Tensor, seen: set[int]) -> set[int]:
    """The unseen end of each triple; asserts there is exactly one."""
    ends = set()
    for h, _, t in triples.tolist():
        assert (h in seen) != (t in seen), (h, t)
        ends.add(t if h in seen else h)
    return ends


def test_split_is_deterministic_and_disjoint():
    dataset = random_dataset(num_entities=60, num_triples=600)
    split = inductive_split(dataset, fraction=0.2, seed=1)
    again = inductive_split(dataset, fraction=0.2, seed=1)
    assert all(torch.equal(split.splits[s], again.splits[s]) for s in split.splits)
    assert not torch.equal(inductive_split(dataset, fraction=0.2, seed=2).test, split.test)
    seen = set(split.train[:, [0, 2]].flatten().tolist())
    valid_entities, test_entities = held_out_ends(split.valid, seen), held_out_ends(split.test, seen)
    assert valid_entities and test_entities and not valid_entities & test_entities
    assert len(valid_entities | test_entities) <= 12  # 20% of 60
    assert split.entities == dataset.entities and split.relations == dataset.relations


def test_saved_split_reads_back_with_the_same_ids(tmp_path):
    dataset = random_dataset(num_entities=60, num_triples=600)
    saved = saved_inductive_split(dataset, tmp_path / "split", fraction=0.2)
    expected = inductive_split(dataset, fraction=0.2)
    assert saved.entities == dataset.entities  # held-out entities in no triple stay in the vocabulary
    assert all(torch.equal(saved.splits[s], expected.splits[s]) for s in saved.splits)
    (tmp_path / "split" / "test.txt").write_text((tmp_path / "split" / "valid.txt").read_text())
    assert torch.equal(saved_inductive_split(dataset, tmp_path / "split").test, saved.valid)  # the files win
