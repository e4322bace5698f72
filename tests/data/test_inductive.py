import pytest
import torch

from kgtool.data.inductive import held_out_groups, inductive_split, saved_inductive_split, semi_inductive_split
from kgtool.errors import DataError
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
    assert torch.equal(saved_inductive_split(dataset, tmp_path / "split", fraction=0.2).test, saved.valid)  # the files win
    with pytest.raises(DataError, match='"fraction": 0.2.*choose another folder'):
        saved_inductive_split(dataset, tmp_path / "split", fraction=0.1)  # not silently the 0.2 split


def test_semi_inductive_split_keeps_support_triples_apart():
    dataset = random_dataset(num_entities=80, num_triples=1200)
    split = semi_inductive_split(dataset, fraction=0.2, support=2, seed=3)
    group = held_out_groups(dataset.num_entities, 0.2, 3)
    seen = set((group == 0).nonzero().flatten().tolist())
    assert set(split.train[:, [0, 2]].flatten().tolist()) <= seen
    support_counts = {}
    for h, _, t in split.support.tolist():
        assert (h in seen) != (t in seen)
        new = t if h in seen else h
        support_counts[new] = support_counts.get(new, 0) + 1
    assert set(support_counts.values()) <= {1, 2} and 2 in support_counts.values()
    for name, held_out in (("valid", 1), ("test", 2)):
        triples = split.splits[name].tolist()
        kinds = {"seen": [], "new": []}
        for h, r, t in triples:
            kinds["seen" if h in seen and t in seen else "new"].append((h, r, t))
        # seen queries: the original split's triples between seen entities
        original = [tuple(x) for x in dataset.splits[name].tolist() if x[0] in seen and x[2] in seen]
        assert kinds["seen"] == original
        for h, _, t in kinds["new"]:
            new = t if h in seen else h
            assert int(group[new]) == held_out and support_counts[new] == 2  # queries only after 2 support
        assert kinds["new"]
    # every triple of a held-out entity with a seen one is support or a query, none is lost or doubled
    anchored = [x for x in dataset.all_triples().tolist() if (x[0] in seen) != (x[2] in seen)]
    placed = split.support.tolist() + [x for s in ("valid", "test") for x in split.splits[s].tolist()
                                       if (x[0] in seen) != (x[2] in seen)]
    assert sorted(map(tuple, anchored)) == sorted(map(tuple, placed))


def test_semi_inductive_split_saves_and_reads_its_support(tmp_path):
    dataset = random_dataset(num_entities=80, num_triples=1200)
    saved = saved_inductive_split(dataset, tmp_path / "split", fraction=0.2, support=2)
    expected = semi_inductive_split(dataset, fraction=0.2, support=2)
    assert (tmp_path / "split" / "support.txt").is_file()
    assert set(saved.splits) == {"train", "valid", "test", "support"}
    assert all(torch.equal(saved.splits[s], expected.splits[s]) for s in saved.splits)
    assert "support triples" in saved.describe()
    # support triples are known facts: ranking filters them
    assert len(saved.all_triples()) == sum(len(x) for x in saved.splits.values())
    with pytest.raises(DataError, match="at least 1 support"):
        semi_inductive_split(dataset, support=0)


@pytest.mark.parametrize("fraction, support, message", [
    (0.01, 0, r"fraction=0.01 of 60 entities holds out 1; .* at least 0.0333"),
    (0.97, 0, r"fraction=0.97 leaves no training triple between the 2 seen entities"),
    (0.2, 1000, r"support=1000 leaves no valid triple about a held-out entity: its 6 held-out entities have at most "
                r"\d+ triples with seen entities; use a support below \d+"),
])
def test_splits_that_measure_nothing_are_refused_with_the_numbers(tmp_path, fraction, support, message):
    dataset = random_dataset(num_entities=60, num_triples=600)
    with pytest.raises(DataError, match=message):
        saved_inductive_split(dataset, tmp_path / "split", fraction=fraction, support=support)
    assert not (tmp_path / "split").exists()
    saved_inductive_split(dataset, tmp_path / "split", fraction=0.2, support=support and 2)  # a retry there works


def test_a_failed_write_leaves_no_partial_split(tmp_path, monkeypatch):
    import kgtool.data.inductive as inductive

    dataset, write_folder = random_dataset(num_entities=60, num_triples=600), inductive.write_folder

    def write_then_fail(split, folder):
        write_folder(split, folder)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(inductive, "write_folder", write_then_fail)
    with pytest.raises(DataError, match="cannot write the split to .*split: No space left on device"):
        saved_inductive_split(dataset, tmp_path / "split", fraction=0.2)
    assert list(tmp_path.iterdir()) == []  # neither the split nor its staging folder
    monkeypatch.undo()
    (tmp_path / "split").mkdir()  # an empty folder is replaced; one holding other files is not
    assert saved_inductive_split(dataset, tmp_path / "split", fraction=0.2).entities == dataset.entities
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="other: it exists and holds other files"):
        saved_inductive_split(dataset, tmp_path / "other", fraction=0.2)
    assert [p.name for p in (tmp_path / "other").iterdir()] == ["notes.txt"]


def test_a_seed_torch_cannot_take_is_a_config_error(tmp_path):
    from kgtool.errors import ConfigError

    dataset = random_dataset(num_entities=60, num_triples=600)
    with pytest.raises(ConfigError, match=r"seed must be in \[0, 2\*\*64 - 1\].*got 100000000000000000000000"):
        saved_inductive_split(dataset, tmp_path / "split", fraction=0.2, seed=10**23)
