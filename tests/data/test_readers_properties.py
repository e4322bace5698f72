"""Property tests of the triple readers: random names survive a write and a read."""

import gzip
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from kgtool.data import KGDataset, load_folder
from kgtool.data.inductive import write_folder
from kgtool.data.readers import TRIPLE_HEADERS

# Any character but the separators (tab, newlines) and surrogates, which UTF-8 cannot hold; inner
# spaces and quotes are drawn often. A name keeps no whitespace at its ends (the reader strips it,
# as documented) and does not start with U+FEFF (read as a byte-order mark at a file's start).
CHARACTERS = st.one_of(st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n\r"),
                       st.sampled_from(" '\"`«»“”‘’\\#?"))
NAMES = st.text(CHARACTERS, min_size=1, max_size=12).map(str.strip).filter(lambda n: n and not n.startswith("\ufeff"))
PADDING = st.text(st.sampled_from(" \u00a0\u3000\x0b\x0c"), max_size=2)


def is_header(triple) -> bool:
    return tuple("\t".join(triple).lower().split()) in TRIPLE_HEADERS


TRIPLES = st.lists(st.tuples(NAMES, NAMES, NAMES), min_size=1, max_size=8).filter(lambda t: not is_header(t[0]))
LABELED = st.fixed_dictionaries({"train": TRIPLES, "valid": TRIPLES, "test": TRIPLES})


def labels(dataset: KGDataset, split: str) -> list[tuple[str, str, str]]:
    e, r = dataset.entities, dataset.relations
    return [(e[h], r[rel], e[t]) for h, rel, t in dataset.splits[split].tolist()]


@settings(max_examples=30, deadline=None)
@given(labeled=LABELED, gzipped=st.booleans())
def test_written_triples_read_back_the_same(labeled, gzipped):
    dataset = KGDataset.from_labeled("random", labeled)
    with tempfile.TemporaryDirectory() as folder:
        write_folder(dataset, folder)
        if gzipped:
            train = Path(folder) / "train.txt"
            (Path(folder) / "train.txt.gz").write_bytes(gzip.compress(train.read_bytes()))
            train.unlink()
        read = load_folder(folder)
    assert read.entities == dataset.entities and read.relations == dataset.relations
    assert all(labels(read, split) == triples for split, triples in labeled.items())


@settings(max_examples=30, deadline=None)
@given(labeled=LABELED, paddings=st.lists(PADDING, min_size=6, max_size=6), marked=st.booleans())
def test_padded_names_and_a_byte_order_mark_read_as_the_names_alone(labeled, paddings, marked):
    """Files written by other tools: whitespace around fields, a byte-order mark (Windows)."""
    with tempfile.TemporaryDirectory() as folder:
        for split, triples in labeled.items():
            lines = ["\t".join(f"{paddings[i % 6]}{name}{paddings[(i + 1) % 6]}" for i, name in enumerate(triple))
                     for triple in triples]
            text = ("\ufeff" if marked else "") + "\n".join(lines) + "\n"
            (Path(folder) / f"{split}.txt").write_text(text, encoding="utf-8")
        read = load_folder(folder)
    assert all(labels(read, split) == triples for split, triples in labeled.items())
