"""OGB's knowledge-graph link-prediction sets (ogbl-biokg, ogbl-wikikg2) as a KGDataset, with
OGB's official sampled negatives for valid/test attached as an :class:`OGBProtocol`.

ogb's ``LinkPropPredDataset`` reads ``<root>/ogbl_<name>/`` and downloads it when missing: the
graph (``raw/*.csv.gz``, cached as ``processed/data_processed``) and the split dicts
``split/<split type>/{train,valid,test}.pt`` holding ``head``, ``relation``, ``tail`` id arrays
``(n,)``, ``head_neg`` and ``tail_neg`` ``(n, k)`` in valid/test and, in the heterogeneous
biokg, ``head_type`` and ``tail_type`` (node-type names; its ids count within each type).

biokg's global entity ids put the node types in sorted order, each type's local ids after the
previous types' (``"drug:12"`` is local id 12 of type drug), as OGB's own examples number them;
wikikg2's entities and relations keep their ids, as strings.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from kgtool.data.kg import SPLITS, KGDataset, OGBProtocol
from kgtool.errors import DataError

OGB_LINK = ("ogbl-biokg", "ogbl-wikikg2")
FORCE_FULL_UNPICKLING = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"


def load_ogb_link(name: str, root: Path) -> KGDataset:
    """``name`` (one of :data:`OGB_LINK`) from ``root/ogbl_<name>/``, downloaded there if missing."""
    dataset, parts = _read_with_ogb(name, Path(root))
    graph = dataset[0]
    if dataset.is_hetero:
        node_types = sorted(graph["num_nodes_dict"])
        counts = [int(graph["num_nodes_dict"][t]) for t in node_types]
        entities = [f"{t}:{i}" for t, count in zip(node_types, counts) for i in range(count)]
    else:
        node_types, counts = [], [int(graph["num_nodes"])]
        entities = list(map(str, range(counts[0])))
    ids = _GlobalIds(node_types, counts)
    split_dir = Path(dataset.root) / "split" / dataset.meta_info["split"]
    splits, negatives = {}, {}
    for split in SPLITS:
        where = split_dir / ("split_dict.pt" if (split_dir / "split_dict.pt").is_file() else f"{split}.pt")
        splits[split], split_negatives = _convert_split(parts[split], ids, where, with_negatives=split != "train")
        if split_negatives is not None:
            negatives[split] = split_negatives
        parts[split] = None  # drops OGB's copy of this split once converted (GBs for wikikg2)
    num_relations = max(int(s[:, 1].max()) + 1 if len(s) else 0 for s in splits.values())
    return KGDataset(name=name, entities=entities, relations=_relation_labels(graph, num_relations),
                     splits=splits, ogb_protocol=OGBProtocol(name, negatives))


def _convert_split(part, ids: _GlobalIds, where: Path, with_negatives: bool):
    """OGB's split dict -> triples ``(n, 3)`` of global ids, and ``(head_neg, tail_neg)``
    ``(n, k)`` of global ids when ``with_negatives`` (else None)."""
    _require(part, ["head", "relation", "tail"] + (["head_type", "tail_type"] if ids.node_types else []), where)
    heads = _as_long(part["head"], f"{where}, head")
    n = len(heads)
    head_types = ids.type_codes(part.get("head_type"), n, f"{where}, head_type")
    tail_types = ids.type_codes(part.get("tail_type"), n, f"{where}, tail_type")
    relations = _as_long(part["relation"], f"{where}, relation", rows=n)
    if n and relations.min() < 0:
        raise DataError(f"{where}, relation: negative relation id {int(relations.min())}")
    triples = torch.stack([ids.to_global(heads, head_types, f"{where}, head"), relations,
                           ids.to_global(part["tail"], tail_types, f"{where}, tail", rows=n)], dim=1)
    if not with_negatives:
        return triples, None
    _require(part, ["head_neg", "tail_neg"], where)
    return triples, tuple(ids.to_global(part[key], types, f"{where}, {key}", rows=n, ndim=2)
                          for key, types in (("head_neg", head_types), ("tail_neg", tail_types)))


class _GlobalIds:
    """Global entity ids from OGB's ids, which count within a node type in biokg: the global id
    of local id ``i`` of type ``t`` is ``offset[t] + i``. With no node types, ids are global."""

    def __init__(self, node_types: list[str], counts: list[int]):
        self.node_types = node_types
        self.counts = torch.tensor(counts)
        self.offsets = self.counts.cumsum(0) - self.counts

    def type_codes(self, names, rows: int, where: str) -> Tensor | None:
        """Indices into ``node_types`` ``(rows,)`` of the type names, or None without types."""
        if not self.node_types:
            return None
        codes = pd.Index(self.node_types).get_indexer(names)  # hashed; -1: unknown
        if len(codes) != rows:
            raise DataError(f"{where}: {len(codes)} entries for {rows} triples")
        if (codes < 0).any():
            unknown = list(names)[int(np.argmax(codes < 0))]
            raise DataError(f"{where}: unknown node type {unknown!r} (the graph has {', '.join(self.node_types)})")
        return torch.from_numpy(codes).long()

    def to_global(self, local, types: Tensor | None, where: str, rows: int | None = None, ndim: int = 1) -> Tensor:
        """Global ids of local ids ``(rows,)`` (``ndim=1``) or ``(rows, k)`` whose row i has the
        type ``types[i]`` (``(rows,)``, or None without types); an id outside its type is a
        DataError."""
        local = _as_long(local, where, rows, ndim)
        if local.numel() == 0:
            return local
        low = local.reshape(len(local), -1).amin(dim=1)  # per row: no (n, k) temporaries
        high = local.reshape(len(local), -1).amax(dim=1)
        limit = self.counts[0] if types is None else self.counts[types]
        bad = (low < 0) | (high >= limit)
        if bad.any():
            row = int(bad.nonzero()[0])
            kind = "" if types is None else f" of type {self.node_types[int(types[row])]}"
            count = int(self.counts[0] if types is None else self.counts[types[row]])
            raise DataError(f"{where}, row {row}: id {int(low[row]) if low[row] < 0 else int(high[row])} is "
                            f"outside 0..{count - 1}, the nodes{kind}")
        if types is None:
            return local  # wikikg2's negatives are GBs: no copy
        return local + self.offsets[types].view(-1, *([1] * (ndim - 1)))


def _as_long(values, where: str, rows: int | None = None, ndim: int = 1) -> Tensor:
    """An int64 tensor of OGB's numpy array or tensor, sharing its memory when it is int64."""
    try:
        tensor = torch.as_tensor(values)
    except (TypeError, ValueError) as error:
        raise DataError(f"{where}: not an array of ids ({error})") from None
    if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise DataError(f"{where}: ids must be integers, found {tensor.dtype}")
    if tensor.dim() != ndim or (rows is not None and len(tensor) != rows):
        expected = "(n,)" if ndim == 1 else "(n, k)"
        raise DataError(f"{where}: shape {tuple(tensor.shape)}, expected {expected}"
                        + (f" with n = {rows}" if rows is not None else ""))
    return tensor.long()


def _require(part, keys: list[str], where: Path) -> None:
    if not isinstance(part, dict):
        raise DataError(f"{where}: expected a dict of arrays, found {type(part).__name__}")
    missing = [k for k in keys if k not in part]
    if missing:
        raise DataError(f"{where}: no {', '.join(repr(k) for k in missing)} entry (has: {', '.join(map(str, part))})")


def _relation_labels(graph: dict, num_relations: int) -> list[str]:
    """biokg's relation names (from the graph's ``(head type, relation, tail type)`` edge sets),
    else the ids as strings; ids stay the labels if the names do not name each id once."""
    labels = [str(r) for r in range(num_relations)]
    reltypes = graph.get("edge_reltype")
    if isinstance(reltypes, dict):
        names = {}
        for (_, relation, _), ids in reltypes.items():
            for r in np.unique(ids).tolist():
                names.setdefault(r, set()).add(relation)
        named = [next(iter(names[r])) if len(names.get(r, ())) == 1 else str(r) for r in range(num_relations)]
        if len(set(named)) == num_relations:
            labels = named
    return labels


def _read_with_ogb(name: str, root: Path):
    """ogb's ``LinkPropPredDataset`` and its split dicts, or a DataError naming the folder."""
    import ogb.linkproppred

    folder = root / name.replace("-", "_")
    master = Path(ogb.linkproppred.__file__).parent / "master.csv"
    version = pd.read_csv(master, index_col=0, keep_default_na=False)[name]["version"]
    if folder.is_dir() and not (folder / f"RELEASE_v{version}.txt").exists():
        # ogb would ask on stdin whether to delete it
        raise DataError(f"dataset '{name}': {folder} has no RELEASE_v{version}.txt, so it is not a complete "
                        f"copy of OGB's version {version}; delete the folder to download it again")
    try:
        with _full_unpickling():
            dataset = ogb.linkproppred.LinkPropPredDataset(name=name, root=str(root))
            return dataset, dataset.get_edge_split()
    except Exception as error:  # ogb raises plain exceptions (RuntimeError, pandas, pickle, URLError)
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise DataError(f"dataset '{name}': ogb could not read or download it under {folder}: "
                        f"{type(error).__name__}: {message}") from None


@contextlib.contextmanager
def _full_unpickling():
    """Lets ogb's own ``torch.load`` calls unpickle fully, as they did before torch 2.6 made
    ``weights_only=True`` the default: OGB's split files hold numpy arrays and ogb caches the
    graph with pickle protocol 4, neither of which the weights-only loader reads
    (snap-stanford/ogb#497). Only OGB's files, as downloaded or as ogb wrote them, are read."""
    previous = os.environ.get(FORCE_FULL_UNPICKLING)
    os.environ[FORCE_FULL_UNPICKLING] = "1"  # read by torch.load at each call; documented there
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=f"Environment variable {FORCE_FULL_UNPICKLING}")
            yield
    finally:
        if previous is None:
            del os.environ[FORCE_FULL_UNPICKLING]
        else:
            os.environ[FORCE_FULL_UNPICKLING] = previous
