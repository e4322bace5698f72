import os

import pytest
import torch
from kgtool.data import load_kg
from kgtool.errors import DataError

from tests.data.ogb_files import BIOKG_NODES, biokg_global, write_biokg, write_splits, write_wikikg2


@pytest.fixture(autouse=True)
def no_download(monkeypatch):
    """Any download attempt by ogb fails the test: the files written must be complete."""
    import ogb.linkproppred.dataset

    def refuse(*args, **kwargs):
        raise AssertionError("ogb tried to download")

    monkeypatch.setattr(ogb.linkproppred.dataset, "decide_download", refuse)
    monkeypatch.setattr(ogb.linkproppred.dataset, "download_url", refuse)


def as_triples(part, to_global=lambda ids, types: ids):
    return torch.stack([torch.as_tensor(to_global(part["head"], part.get("head_type"))),
                        torch.as_tensor(part["relation"]),
                        torch.as_tensor(to_global(part["tail"], part.get("tail_type")))], dim=1)


def test_wikikg2_triples_names_and_negatives(tmp_path):
    parts = write_wikikg2(tmp_path)
    dataset = load_kg("ogbl-wikikg2", str(tmp_path))
    assert dataset.entities == [str(i) for i in range(12)] and dataset.relations == ["0", "1", "2"]
    for split, part in parts.items():
        assert dataset.splits[split].dtype == torch.long
        assert torch.equal(dataset.splits[split], as_triples(part))
    assert dataset.ogb_protocol.name == "ogbl-wikikg2" and set(dataset.ogb_protocol.negatives) == {"valid", "test"}
    for split in ("valid", "test"):
        head, tail = dataset.ogb_protocol.negatives[split]
        assert torch.equal(head, parts[split]["head_neg"]) and torch.equal(tail, parts[split]["tail_neg"])
    assert "4 head and 4 tail negatives" in dataset.describe()
    # the second load reads ogb's processed file (numpy arrays) instead of raw/
    assert (tmp_path / "ogbl_wikikg2" / "processed" / "data_processed").is_file()
    again = load_kg("ogbl-wikikg2", str(tmp_path))
    assert torch.equal(again.train, dataset.train) and again.entities == dataset.entities
    assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ  # full unpickling only inside ogb's calls


def test_biokg_types_get_offsets_in_sorted_order(tmp_path):
    parts = write_biokg(tmp_path)
    dataset = load_kg("ogbl-biokg", str(tmp_path))
    # sorted types: disease 0..2, drug 3..6, protein 7..11
    assert dataset.num_entities == sum(BIOKG_NODES.values()) == 12
    assert dataset.entities[:4] == ["disease:0", "disease:1", "disease:2", "drug:0"]
    assert dataset.entities[7] == "protein:0"
    assert dataset.relations == ["protein-protein", "drug-disease", "drug-protein"]
    for split, part in parts.items():
        assert torch.equal(dataset.splits[split], as_triples(part, biokg_global))
    for split in ("valid", "test"):
        head, tail = dataset.ogb_protocol.negatives[split]
        part = parts[split]
        assert torch.equal(head, torch.as_tensor(biokg_global(part["head_neg"], part["head_type"])))
        assert torch.equal(tail, torch.as_tensor(biokg_global(part["tail_neg"], part["tail_type"])))
        # every negative has the type of the entity it replaces
        names = [[dataset.entities[i].split(":")[0] for i in row] for row in tail.tolist()]
        assert all(set(row) == {t} for row, t in zip(names, part["tail_type"]))


def test_default_root_is_the_cache(tmp_path, monkeypatch):
    write_wikikg2(tmp_path / "cache" / "ogb")
    monkeypatch.delenv("KGTOOL_DATA", raising=False)
    monkeypatch.setenv("KGTOOL_CACHE", str(tmp_path / "cache"))
    assert load_kg("ogbl-wikikg2").num_entities == 12


def test_folder_without_release_file(tmp_path):
    write_wikikg2(tmp_path)
    (tmp_path / "ogbl_wikikg2" / "RELEASE_v1.txt").unlink()
    with pytest.raises(DataError, match=r"ogbl_wikikg2 has no RELEASE_v1.txt"):
        load_kg("ogbl-wikikg2", str(tmp_path))


def test_missing_raw_file_names_the_folder(tmp_path):
    write_biokg(tmp_path)
    (tmp_path / "ogbl_biokg" / "raw" / "num-node-dict.csv.gz").unlink()
    with pytest.raises(DataError, match=r"ogb could not read or download it under .*ogbl_biokg"):
        load_kg("ogbl-biokg", str(tmp_path))


@pytest.mark.parametrize("name, writer, split_type", [("ogbl-wikikg2", write_wikikg2, "time"),
                                                      ("ogbl-biokg", write_biokg, "random")])
def test_negative_outside_the_entities(tmp_path, name, writer, split_type):
    parts = writer(tmp_path)
    parts["test"]["tail_neg"][2, 1] = 12 if name == "ogbl-wikikg2" else BIOKG_NODES[parts["test"]["tail_type"][2]]
    write_splits(tmp_path / name.replace("-", "_") / "split" / split_type, parts)
    with pytest.raises(DataError, match=rf"split/{split_type}/test.pt, tail_neg, row 2: id \d+ is outside"):
        load_kg(name, str(tmp_path))


def test_malformed_split_dicts(tmp_path):
    parts = write_biokg(tmp_path)
    folder = tmp_path / "ogbl_biokg" / "split" / "random"
    del parts["valid"]["head_neg"]
    write_splits(folder, parts)
    with pytest.raises(DataError, match=r"random/valid.pt: no 'head_neg' entry"):
        load_kg("ogbl-biokg", str(tmp_path))
    parts = write_biokg(tmp_path / "again")
    parts["train"]["head_type"][5] = "gene"
    write_splits(tmp_path / "again" / "ogbl_biokg" / "split" / "random", parts)
    with pytest.raises(DataError, match=r"train.pt, head_type: unknown node type 'gene'"):
        load_kg("ogbl-biokg", str(tmp_path / "again"))
