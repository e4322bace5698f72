"""Tiny link-prediction sets written in OGB's on-disk format, so ogb's ``LinkPropPredDataset``
reads them without downloading: ``RELEASE_v1.txt`` (without it ogb asks to update the folder),
an empty ``processed/`` (ogb writes its cache there but does not create it),
the graph in ``raw/`` (``edge.csv.gz``, ``num-node-list.csv.gz``, ``num-edge-list.csv.gz``,
``edge_reltype.csv.gz``; heterogeneous: ``num-node-dict.csv.gz``, ``triplet-type-list.csv.gz``
and ``relations/<head>___<relation>___<tail>/``), and ``split/<type>/{train,valid,test}.pt``.

As in OGB's files, the graph holds the training triples, the wikikg2-style split dicts hold
tensors and the biokg-style ones numpy arrays with node-type names in ``head_type``/``tail_type``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

NUM_NEGATIVES = 4


def write_csv(path: Path, rows: list, header: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ([",".join(header)] if header else []) + [",".join(map(str, row)) if isinstance(row, (list, tuple))
                                                      else str(row) for row in rows]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))


def start_folder(root: Path, name: str) -> Path:
    folder = root / name.replace("-", "_")
    folder.mkdir(parents=True)
    (folder / "RELEASE_v1.txt").write_text("tiny test copy\n")
    (folder / "processed").mkdir()  # OGB's zips hold it empty; ogb saves its cache there
    return folder


def write_wikikg2(root: Path, seed: int = 0) -> dict:
    """A homogeneous 'ogbl-wikikg2': 12 entities, 3 relations; returns the split dicts written."""
    folder = start_folder(root, "ogbl-wikikg2")
    g = torch.Generator().manual_seed(seed)
    num_entities, sizes = 12, {"train": 30, "valid": 5, "test": 6}
    parts = {}
    for split, n in sizes.items():
        part = {"head": torch.randint(num_entities, (n,), generator=g),
                "relation": torch.randint(3, (n,), generator=g),
                "tail": torch.randint(num_entities, (n,), generator=g)}
        if split != "train":
            part["head_neg"] = torch.randint(num_entities, (n, NUM_NEGATIVES), generator=g)
            part["tail_neg"] = torch.randint(num_entities, (n, NUM_NEGATIVES), generator=g)
        parts[split] = part
    parts["train"]["relation"][:3] = torch.arange(3)  # every relation in train
    train = parts["train"]
    write_csv(folder / "raw" / "edge.csv.gz", torch.stack([train["head"], train["tail"]], 1).tolist())
    write_csv(folder / "raw" / "edge_reltype.csv.gz", train["relation"].tolist())
    write_csv(folder / "raw" / "num-node-list.csv.gz", [num_entities])
    write_csv(folder / "raw" / "num-edge-list.csv.gz", [sizes["train"]])
    write_splits(folder / "split" / "time", parts)
    return parts


# biokg-style: node types listed unsorted on purpose (global ids follow the sorted order)
BIOKG_NODES = {"protein": 5, "disease": 3, "drug": 4}
BIOKG_TRIPLETS = [("drug", "drug-disease", "disease"), ("protein", "protein-protein", "protein"),
                  ("drug", "drug-protein", "protein")]
BIOKG_RELTYPE = {"drug-disease": 1, "protein-protein": 0, "drug-protein": 2}


def write_biokg(root: Path, seed: int = 0) -> dict:
    """A heterogeneous 'ogbl-biokg' with local ids per node type; returns the split dicts written."""
    folder = start_folder(root, "ogbl-biokg")
    rng = np.random.default_rng(seed)
    parts = {}
    for split, n in {"train": 24, "valid": 5, "test": 6}.items():
        chosen = [BIOKG_TRIPLETS[i] for i in (np.arange(n) % 3 if split == "train" else rng.integers(3, size=n))]
        part = {"head_type": [h for h, _, _ in chosen], "tail_type": [t for _, _, t in chosen],
                "relation": np.array([BIOKG_RELTYPE[r] for _, r, _ in chosen], dtype=np.int64)}
        part["head"] = np.array([rng.integers(BIOKG_NODES[t]) for t in part["head_type"]], dtype=np.int64)
        part["tail"] = np.array([rng.integers(BIOKG_NODES[t]) for t in part["tail_type"]], dtype=np.int64)
        if split != "train":
            for side in ("head", "tail"):
                part[f"{side}_neg"] = np.stack([rng.integers(BIOKG_NODES[t], size=NUM_NEGATIVES)
                                                for t in part[f"{side}_type"]]).astype(np.int64)
        parts[split] = part
    raw = folder / "raw"
    write_csv(raw / "num-node-dict.csv.gz", [list(BIOKG_NODES.values())], header=list(BIOKG_NODES))
    write_csv(raw / "triplet-type-list.csv.gz", BIOKG_TRIPLETS)
    train = parts["train"]
    for triplet in BIOKG_TRIPLETS:
        rows = [i for i in range(len(train["head"])) if (train["head_type"][i], train["tail_type"][i]) ==
                (triplet[0], triplet[2]) and train["relation"][i] == BIOKG_RELTYPE[triplet[1]]]
        subdir = raw / "relations" / "___".join(triplet)
        write_csv(subdir / "edge.csv.gz", [(train["head"][i], train["tail"][i]) for i in rows])
        write_csv(subdir / "num-edge-list.csv.gz", [len(rows)])
        write_csv(subdir / "edge_reltype.csv.gz", [BIOKG_RELTYPE[triplet[1]]] * len(rows))
    write_splits(folder / "split" / "random", parts)
    return parts


def write_splits(folder: Path, parts: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split, part in parts.items():
        torch.save(part, folder / f"{split}.pt")


def biokg_global(local, types) -> np.ndarray:
    """Reference global ids: offsets of the node types in sorted order, as OGB's examples use."""
    offsets, start = {}, 0
    for node_type in sorted(BIOKG_NODES):
        offsets[node_type] = start
        start += BIOKG_NODES[node_type]
    local = np.asarray(local)
    shift = np.array([offsets[t] for t in types]).reshape(-1, *([1] * (local.ndim - 1)))
    return local + shift
