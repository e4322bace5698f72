import gzip

import networkx as nx
import pytest
from kgtool.data import load_folder, load_kg, load_networkx, load_triples_factories
from kgtool.errors import DataError

TRIPLES = {
    "train": ["00260881\t_hypernym\t00260622", "a\tr\tb", "b\tr\tc", "c\ts\ta"],
    "valid": ["a\ts\tc"],
    "test": ["b\ts\td"],
}


def write_split(folder, split, lines, suffix=".txt", newline="\n"):
    data = (newline.join(lines) + newline).encode()
    path = folder / f"{split}{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    return path


def write_dataset(folder, suffixes=(".txt", ".txt", ".txt"), newline="\n"):
    for (split, lines), suffix in zip(TRIPLES.items(), suffixes):
        write_split(folder, split, lines, suffix, newline)
    return folder


def test_folder_with_crlf_gzip_and_tsv(tmp_path):
    dataset = load_folder(write_dataset(tmp_path, (".txt.gz", ".tsv", ".txt"), newline="\r\n"))
    assert dataset.num_relations == 3
    assert "00260881" in dataset.entities  # ids stay strings, leading zeros kept
    assert all(not e.endswith("\r") for e in dataset.entities)
    assert [len(dataset.splits[s]) for s in ("train", "valid", "test")] == [4, 1, 1]
    h, r, t = dataset.train[1].tolist()
    assert (dataset.entities[h], dataset.relations[r], dataset.entities[t]) == ("a", "r", "b")


def test_vocabulary_covers_all_splits_and_counts_unseen(tmp_path):
    dataset = load_folder(write_dataset(tmp_path))
    assert "d" in dataset.entities  # only in test
    assert dataset.unseen_entities() == {"valid": 0, "test": 1}


def test_wrong_column_count_names_file_and_line(tmp_path):
    write_dataset(tmp_path)
    write_split(tmp_path, "valid", ["a\ts\tc", "a\tb"])
    with pytest.raises(DataError, match=r"valid.txt:2: expected 3 tab-separated fields, found 2"):
        load_folder(tmp_path)


def test_empty_split(tmp_path):
    write_dataset(tmp_path)
    (tmp_path / "test.txt").write_text("\n")
    with pytest.raises(DataError, match="split 'test' has no triples"):
        load_folder(tmp_path)


def test_unreadable_gzip(tmp_path):
    write_dataset(tmp_path)
    (tmp_path / "train.txt").unlink()
    (tmp_path / "train.txt.gz").write_bytes(b"this is not gzip")
    with pytest.raises(DataError, match="cannot read .*train.txt.gz"):
        load_folder(tmp_path)


def test_duplicate_split_files(tmp_path):
    write_dataset(tmp_path)
    write_split(tmp_path, "train", TRIPLES["train"], ".tsv")
    with pytest.raises(DataError, match="more than one train file: train.txt, train.tsv"):
        load_folder(tmp_path)


def test_missing_split_and_folder(tmp_path):
    write_dataset(tmp_path)
    (tmp_path / "valid.txt").unlink()
    with pytest.raises(DataError, match="no valid file"):
        load_folder(tmp_path)
    with pytest.raises(DataError, match="neither a known name"):
        load_kg(str(tmp_path / "nowhere"))


def test_pykeen_shipped_datasets_load_offline():
    dataset = load_kg("umls")
    assert (dataset.num_entities, dataset.num_relations) == (135, 46)
    assert [len(dataset.splits[s]) for s in ("train", "valid", "test")] == [5216, 652, 661]


def test_triples_factory_matches_pykeen_labels():
    from pykeen.datasets import Nations

    nations = Nations()
    dataset = load_triples_factories("nations", nations.training, nations.validation, nations.testing)
    assert len(dataset.train) == nations.training.num_triples
    h, r, t = dataset.train[0].tolist()
    assert (dataset.entities[h], dataset.relations[r], dataset.entities[t]) in {tuple(x) for x in nations.training.triples.tolist()}


def test_networkx_relations_from_keys_or_attributes_and_given_splits():
    graph = nx.MultiDiGraph()
    graph.add_edge("a", "b", key="likes", split="train")
    graph.add_edge("b", "c", relation="knows", split="train")
    graph.add_edge("a", "c", key="likes", split="valid")
    graph.add_edge("c", "a", key="likes", split="test")
    dataset = load_networkx(graph)
    assert dataset.relations == ["knows", "likes"]
    assert len(dataset.train) == 2 and len(dataset.valid) == 1


def test_networkx_random_split_and_errors():
    graph = nx.MultiDiGraph()
    for i in range(50):
        graph.add_edge(i, (i + 1) % 50, key="next")
    dataset = load_networkx(graph, seed=1)
    assert [len(dataset.splits[s]) for s in ("train", "valid", "test")] == [40, 5, 5]
    with pytest.raises(DataError, match="must be directed"):
        load_networkx(nx.Graph([(1, 2)]))
    with pytest.raises(DataError, match="has no 'relation' attribute"):
        load_networkx(nx.DiGraph([(1, 2)]))


def test_named_datasets_from_data_dir(shared_data):
    dataset = load_kg("fb15k237", str(shared_data))  # CRLF lines, gzipped train
    assert (dataset.num_entities, dataset.num_relations) == (14541, 237)
    assert [len(dataset.splits[s]) for s in ("train", "valid", "test")] == [272115, 17535, 20466]
    assert not any(label.endswith("\r") for label in dataset.entities)
    wn = load_kg("wn18rr", str(shared_data))
    assert wn.num_entities == 40943 and "00260881" in wn.entities
    assert wn.unseen_entities()["test"] == 209


def test_data_dir_without_the_dataset(tmp_path):
    with pytest.raises(DataError, match="no folder .*CoDEx-S"):
        load_kg("codex-s", str(tmp_path))


def test_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    write_dataset(tmp_path)
    (tmp_path / "train.txt").write_bytes("\ufeff".encode() + "\n".join(TRIPLES["train"]).encode() + b"\n")
    write_split(tmp_path, "test", ["\ufeffb\ts\td"], suffix=".txt.gz")
    (tmp_path / "test.txt").unlink()
    dataset = load_folder(tmp_path)
    assert not any(label.startswith("\ufeff") for label in dataset.entities)
    assert dataset.num_entities == 6


def test_whitespace_around_names_is_stripped_with_one_warning(tmp_path, caplog):
    write_dataset(tmp_path)
    write_split(tmp_path, "train", [*TRIPLES["train"], "a \t r\tb ", " c\ts\t a"])
    with caplog.at_level("WARNING", logger="kgtool"):
        dataset = load_folder(tmp_path)
    assert dataset.num_entities == 6 and dataset.num_relations == 3  # "a " is "a", " r" is "r"
    assert [r.message for r in caplog.records] == [
        f"{tmp_path / 'train.txt'}: stripped the whitespace around 5 names (e.g. ' a'), "
        "so they match the same names without it"]


def test_inner_spaces_are_kept(tmp_path):
    write_dataset(tmp_path)
    write_split(tmp_path, "valid", ["new york\tlies in\tunited  states"])
    dataset = load_folder(tmp_path)
    assert {"new york", "united  states"} <= set(dataset.entities) and "lies in" in dataset.relations


@pytest.mark.parametrize("header", ["head\trelation\ttail", "Head\tRelation\tTail", "head relation tail",
                                    "subject\tpredicate\tobject", "h\tr\tt", "source\trelation\ttarget"])
def test_an_obvious_header_line_is_skipped_with_a_warning(tmp_path, caplog, header):
    write_dataset(tmp_path)
    write_split(tmp_path, "train", ["", header, *TRIPLES["train"]])
    with caplog.at_level("WARNING", logger="kgtool"):
        dataset = load_folder(tmp_path)
    assert len(dataset.train) == 4 and "head" not in dataset.entities and "h" not in dataset.entities
    assert [r.message for r in caplog.records] == [f"{tmp_path / 'train.txt'}:2: skipped the header line {header!r}"]


def test_a_header_like_line_after_the_first_is_a_triple(tmp_path):
    write_dataset(tmp_path)
    write_split(tmp_path, "train", [*TRIPLES["train"], "h\tr\tt"])
    assert len(load_folder(tmp_path).train) == 5


@pytest.mark.parametrize("given, name", [("FB15k-237", "fb15k237"), ("fb15k-237", "fb15k237"), ("FB15K_237", "fb15k237"),
                                         ("WN18RR", "wn18rr"), ("CoDEx-M", "codex-m"), ("codex_m", "codex-m"),
                                         ("ogbl_biokg", "ogbl-biokg"), ("my-folder", None)])
def test_dataset_names_in_any_case_and_spelling(given, name):
    from kgtool.data.registry import KG_DATASETS
    from kgtool.names import known_name

    assert known_name(given, KG_DATASETS) == name


def test_a_named_dataset_in_another_case_loads_and_a_misspelt_one_gets_did_you_mean():
    assert load_kg("UMLS").name == "umls"
    with pytest.raises(DataError, match=r"dataset 'umsl' is neither a known name \(did you mean 'umls'\?\)"):
        load_kg("umsl")
