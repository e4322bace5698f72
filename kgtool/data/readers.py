"""Readers that turn triple files, pykeen factories and networkx graphs into a KGDataset."""

from __future__ import annotations

import gzip
import io
import logging
import random
import zlib
from pathlib import Path

from kgtool.data.kg import SPLITS, SUPPORT, KGDataset
from kgtool.errors import DataError, quoted

TRIPLE_SUFFIXES = (".txt", ".tsv", ".txt.gz", ".tsv.gz")
# first lines that name the columns of a triple file instead of holding a triple (lower-cased)
TRIPLE_HEADERS = {("head", "relation", "tail"), ("head", "rel", "tail"), ("h", "r", "t"),
                  ("subject", "predicate", "object"), ("s", "p", "o"), ("source", "relation", "target")}
Triple = tuple[str, str, str]
log = logging.getLogger("kgtool")


def open_text(path: Path) -> io.TextIOBase:
    """Open a text file, gunzipping ``.gz``; universal newlines make CRLF files read as LF, and
    ``utf-8-sig`` drops a byte-order mark (Windows editors write one), which would else start
    the first name."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline=None)
    return open(path, encoding="utf-8-sig", newline=None)


def read_tsv(path: Path, columns: int) -> list[tuple[str, ...]]:
    """Read a tab-separated file of exactly ``columns`` fields per line; blank lines are skipped.

    Fields stay strings (ids such as WN18RR's ``00260881`` are never parsed as numbers).
    """
    return [row for _, row in read_numbered_tsv(path, columns)]


def read_numbered_tsv(path: Path, columns: int) -> list[tuple[int, tuple[str, ...]]]:
    """:func:`read_tsv` with each row's line number (from 1), for errors that name the line.

    Whitespace around each field is stripped, so ``"paris "`` and ``"paris"`` are one entity (PyKEEN
    strips whole lines; a name padded by accident is far likelier than one meant so); one warning
    counts the names that changed. Inner spaces are kept. A first line that is an obvious header
    (:data:`TRIPLE_HEADERS`, e.g. ``head<TAB>relation<TAB>tail``) is skipped with a warning.
    """
    rows, padded, first = [], set(), True
    try:
        with open_text(path) as lines:
            for number, line in enumerate(lines, start=1):
                line = line.rstrip("\n")
                if not line.strip():
                    continue
                if first and columns == 3 and tuple(line.lower().split()) in TRIPLE_HEADERS:
                    log.warning(f"{path}:{number}: skipped the header line {line.strip()!r}")
                    first = False
                    continue
                first = False
                fields = line.split("\t")
                if len(fields) != columns:
                    raise DataError(f"{path}:{number}: expected {columns} tab-separated fields, "
                                    f"found {len(fields)}: {line[:80]!r}")
                stripped = tuple(field.strip() for field in fields)
                padded.update(field for field, kept in zip(fields, stripped) if field != kept)
                rows.append((number, stripped))
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"cannot read {path}: {error}") from None
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    if padded:
        log.warning(f"{path}: stripped the whitespace around {len(padded)} names (e.g. {quoted(min(padded))}), "
                    f"so they match the same names without it")
    return rows


def read_triples(path: Path) -> list[Triple]:
    """``head<TAB>relation<TAB>tail`` lines as string triples."""
    return read_tsv(path, columns=3)


def find_split_files(folder: Path) -> dict[str, Path]:
    """Map each split to its one file in ``folder`` (``train.txt``, ``train.tsv.gz``, ...); a
    ``support`` file is optional."""
    if not folder.is_dir():
        raise DataError(f"dataset folder {folder} does not exist")
    files = {}
    for split in (*SPLITS, SUPPORT):
        candidates = [folder / f"{split}{suffix}" for suffix in TRIPLE_SUFFIXES if (folder / f"{split}{suffix}").is_file()]
        if not candidates and split == SUPPORT:
            continue
        if not candidates:
            raise DataError(f"{folder}: no {split} file (looked for {split}{{{','.join(TRIPLE_SUFFIXES)}}})")
        if len(candidates) > 1:
            raise DataError(f"{folder}: more than one {split} file: {', '.join(c.name for c in candidates)}")
        files[split] = candidates[0]
    return files


def load_folder(folder: str | Path, name: str | None = None) -> KGDataset:
    """A dataset from a folder holding train/valid/test triple files (and optionally support).

    An ``entities.txt`` file (one label a line), when present, is the entity vocabulary in id
    order; it may name entities of no triple (an inductive split's held-out entities); a
    ``relations.txt`` likewise orders the relations (else sorted). Entity labels for printing are
    taken from ``text/entity2text.txt[.gz]`` when present.
    """
    folder = Path(folder)
    files = find_split_files(folder)
    entities, relations = (read_vocabulary(folder / f"{kind}.txt") for kind in ("entities", "relations"))
    dataset = KGDataset.from_labeled(name or folder.name, {s: read_triples(p) for s, p in files.items()}, entities,
                                     relations)
    for text_file in (folder / "text" / "entity2text.txt", folder / "text" / "entity2text.txt.gz"):
        if text_file.is_file():
            dataset.entity_text = dict(read_tsv(text_file, columns=2))
    return dataset


def read_vocabulary(path: Path) -> list[str] | None:
    """The labels of ``path`` (one a line) in id order, or None when there is no such file."""
    return [row[0] for row in read_tsv(path, columns=1)] if path.is_file() else None


def load_triples_factories(name: str, train, valid, test) -> KGDataset:
    """A dataset from three pykeen ``TriplesFactory`` objects.

    Factories that share their label-to-id maps (a pykeen dataset's, or ``factory.split()``'s)
    keep pykeen's ids and labels as they are; others are joined through their labeled triples.
    """
    factories = {"train": train, "valid": valid, "test": test}
    if all(f.entity_to_id == train.entity_to_id and f.relation_to_id == train.relation_to_id for f in (valid, test)):
        for split, factory in factories.items():
            if not factory.num_triples:
                raise DataError(f"{name}: split '{split}' has no triples")
        return KGDataset(name=name, entities=labels_by_id(train.entity_to_id),
                         relations=labels_by_id(train.relation_to_id),
                         splits={s: f.mapped_triples.long().clone() for s, f in factories.items()})
    return KGDataset.from_labeled(name, {s: [tuple(t) for t in f.triples.tolist()] for s, f in factories.items()})


def labels_by_id(label_to_id: dict[str, int]) -> list[str]:
    """``{label: id}`` with ids ``0..n-1`` -> the labels in id order."""
    labels = sorted(label_to_id, key=label_to_id.__getitem__)
    if [label_to_id[label] for label in labels] != list(range(len(labels))):
        raise DataError(f"label ids must be 0..{len(labels) - 1} without gaps")
    return labels


def load_networkx(graph, relation_attr: str = "relation", split_attr: str = "split",
                  fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0,
                  name: str = "networkx") -> KGDataset:
    """A dataset from a networkx (Multi)DiGraph; nodes become entity labels (``str(node)``).

    The relation of an edge is its ``relation_attr`` attribute, else (multigraphs) its key. An
    edge's split is its ``split_attr`` attribute when every edge has one, else the edges are
    shuffled with ``seed`` and cut by ``fractions``.
    """
    if not graph.is_directed():
        raise DataError(f"{name}: a knowledge graph must be directed (got {type(graph).__name__})")
    edges = graph.edges(keys=True, data=True) if graph.is_multigraph() else ((h, t, None, d) for h, t, d in graph.edges(data=True))
    triples, split_of = [], []
    for head, tail, key, attrs in edges:
        relation = attrs.get(relation_attr, key)
        if relation is None:
            raise DataError(f"{name}: edge ({head!r}, {tail!r}) has no '{relation_attr}' attribute or key")
        triples.append((str(head), str(relation), str(tail)))
        split_of.append(attrs.get(split_attr))
    if not triples:
        raise DataError(f"{name}: the graph has no edges")
    if all(s is not None for s in split_of):
        unknown = sorted({s for s in split_of if s not in SPLITS})
        if unknown:
            raise DataError(f"{name}: edge '{split_attr}' values must be train/valid/test, found {unknown}")
        labeled = {s: [t for t, sp in zip(triples, split_of) if sp == s] for s in SPLITS}
    else:
        labeled = {s: [triples[i] for i in idx] for s, idx in random_split(len(triples), fractions, seed).items()}
    return KGDataset.from_labeled(name, labeled)


def random_split(n: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0) -> dict[str, list[int]]:
    """``{split: positions}``: ``range(n)`` shuffled with ``seed`` and cut by ``fractions``."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cut1 = int(fractions[0] * n)
    cut2 = cut1 + int(fractions[1] * n)
    return {"train": order[:cut1], "valid": order[cut1:cut2], "test": order[cut2:]}
