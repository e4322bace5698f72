"""Node-graph readers: Planetoid, OGB, networkx and CSV files -> PyG ``Data`` with split masks.

Every reader returns ``Data(x, edge_index, y, train_mask, val_mask, test_mask)``; ``x`` is
float ``(num_nodes, num_features)``, ``y`` long ``(num_nodes,)``, masks bool ``(num_nodes,)``.

A CSV folder holds ``nodes.csv`` (header ``id,label[,split],<feature columns...>``; ``split`` is
train/valid/test, and without it nodes are split 60/20/20 at random with seed 0) and
``edges.csv`` (header ``source,target``; ids as in ``nodes.csv``).
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import torch
from torch_geometric.data import Data
from torch_geometric.utils import index_to_mask

from kgtool.data.registry import cache_dir, data_dir_or_env
from kgtool.errors import DataError
from kgtool.names import did_you_mean, known_name

PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
OGB_NODE = ("ogbn-arxiv", "ogbn-products")
SPLIT_NAMES = ("train", "valid", "test")


def load_graph(name_or_path: str, data_dir: str | None = None) -> Data:
    """A node graph by name (cora, citeseer, pubmed, ogbn-arxiv, ogbn-products) or CSV folder.

    Named Planetoid sets read ``<data_dir>/<Name>/raw`` (``data_dir`` or ``$KGTOOL_DATA``), or
    download when neither is given.
    """
    key = known_name(name_or_path, [*PLANETOID, *OGB_NODE])
    if key in PLANETOID:
        return load_planetoid(PLANETOID[key], data_dir_or_env(data_dir))
    if key in OGB_NODE:
        return load_ogb_node(key, data_dir_or_env(data_dir))
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return load_csv_graph(path)
    known = [*PLANETOID, *OGB_NODE]
    raise DataError(f"graph '{name_or_path}' is neither a known name{did_you_mean(name_or_path, known)} "
                    f"({', '.join(known)}) nor an existing folder")


def load_planetoid(name: str, data_dir: Path | None) -> Data:
    """Cora, CiteSeer or PubMed with the public Planetoid split, through PyG's ``Planetoid``,
    features row-normalised as in the GCN and GAT papers (PyG's ``NormalizeFeatures``).

    ``Planetoid`` writes ``processed/`` beside ``raw/``; the raw files may lie in a read-only
    folder, so they are linked into a writable cache folder first.
    """
    from torch_geometric.datasets import Planetoid

    root = cache_dir() / "planetoid"
    if data_dir is not None:
        source = data_dir / name / "raw"
        if not source.is_dir():
            raise DataError(f"dataset '{name.lower()}': no folder {source} (from --data-dir or KGTOOL_DATA)")
        # one cache folder per raw folder, so that two data dirs never share processed files
        root = cache_dir() / "planetoid" / hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:12]
        raw = root / name / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        for file in source.iterdir():
            if not (raw / file.name).exists():
                (raw / file.name).symlink_to(file.resolve())
    try:
        from torch_geometric.transforms import NormalizeFeatures

        return Planetoid(root=str(root), name=name, transform=NormalizeFeatures())[0]
    except Exception as error:  # PyG raises plain exceptions on missing or corrupt raw files
        raise DataError(f"dataset '{name.lower()}': cannot read Planetoid files under {root / name}: {error}") from None


def load_ogb_node(name: str, data_dir: Path | None) -> Data:  # pragma: no cover - needs network or large files
    """An OGB node-property set with its official split as masks."""
    from ogb.nodeproppred import PygNodePropPredDataset

    root = data_dir if data_dir is not None else cache_dir() / "ogb"
    try:
        dataset = PygNodePropPredDataset(name=name, root=str(root))
    except Exception as error:
        raise DataError(f"dataset '{name}': ogb could not load it under {root}: {error}") from None
    data = dataset[0]
    split = dataset.get_idx_split()
    data.y = data.y.view(-1)
    for mask_name, split_name in zip(("train_mask", "val_mask", "test_mask"), ("train", "valid", "test")):
        data[mask_name] = index_to_mask(split[split_name], data.num_nodes)
    return data


def random_split_masks(num_nodes: int, fractions=(0.6, 0.2), seed: int = 0) -> dict[str, torch.Tensor]:
    """Train/valid/test masks ``(num_nodes,)`` of a seeded random 60/20/20 split."""
    order = torch.randperm(num_nodes, generator=torch.Generator().manual_seed(seed))
    n_train, n_valid = int(fractions[0] * num_nodes), int(fractions[1] * num_nodes)
    parts = (order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:])
    return {name: index_to_mask(part, num_nodes) for name, part in zip(SPLIT_NAMES, parts)}


def build_data(x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor, splits: list[str] | None) -> Data:
    """``Data`` with masks from per-node split names (``None``: random 60/20/20)."""
    n = len(y)
    if splits is None:
        masks = random_split_masks(n)
    else:
        masks = {name: torch.tensor([s == name for s in splits], dtype=torch.bool) for name in SPLIT_NAMES}
    return Data(x=x, edge_index=edge_index, y=y, train_mask=masks["train"], val_mask=masks["valid"],
                test_mask=masks["test"])


def from_networkx_graph(graph, feature_attr: str = "x", label_attr: str = "y", split_attr: str = "split") -> Data:
    """A ``Data`` from a networkx graph whose nodes carry features, a label and optionally a split.

    PyG's ``from_networkx`` converts it (undirected graphs get both directions of each edge;
    node ids become ``0..n-1`` in ``graph.nodes`` order); the attributes are checked first so
    that an error names the node at fault, which PyG's does not.
    """
    from torch_geometric.utils import from_networkx

    nodes = list(graph.nodes)
    for node in nodes:
        attrs = graph.nodes[node]
        for attr in (feature_attr, label_attr):
            if attrs.get(attr) is None:
                raise DataError(f"networkx graph: node {node!r} has no '{attr}' attribute")
        if len(attrs[feature_attr]) != len(graph.nodes[nodes[0]][feature_attr]):
            raise DataError(f"networkx graph: node {node!r} has {len(attrs[feature_attr])} features, "
                            f"node {nodes[0]!r} has {len(graph.nodes[nodes[0]][feature_attr])}")
    splits = [graph.nodes[node].get(split_attr) for node in nodes]
    if any(s is not None for s in splits):
        _check_splits(splits, [f"networkx graph: node {node!r}" for node in nodes])
    # PyG converts every attribute and needs all nodes to have the same ones: give it the features only
    converted = from_networkx(only_attribute(graph, feature_attr), group_node_attrs=[feature_attr])
    labels = [graph.nodes[node][label_attr] for node in nodes]
    return build_data(converted.x.float(), converted.edge_index, _label_ids(labels),
                      splits if splits[0] is not None else None)


def only_attribute(graph, name: str):
    """A copy of ``graph`` whose nodes carry only the attribute ``name`` and whose edges none."""
    copy = graph.__class__()
    copy.add_nodes_from((node, {name: attrs[name]}) for node, attrs in graph.nodes(data=True))
    copy.add_edges_from(graph.edges())
    return copy


def load_csv_graph(folder: Path) -> Data:
    """A ``Data`` from ``nodes.csv`` and ``edges.csv`` in ``folder`` (see the module docstring)."""
    nodes_path, edges_path = folder / "nodes.csv", folder / "edges.csv"
    header, rows = _read_csv(nodes_path, required=("id", "label"))
    feature_columns = [i for i, name in enumerate(header) if name not in ("id", "label", "split")]
    column = {name: i for i, name in enumerate(header)}
    index, features, labels, splits = {}, [], [], []
    for line, row in rows:
        where = f"{nodes_path}, line {line}"
        if len(row) != len(header):
            raise DataError(f"{where}: {len(row)} columns, the header has {len(header)}")
        node = row[column["id"]]
        if node in index:
            raise DataError(f"{where}: node '{node}' appears twice")
        if not row[column["label"]].strip():
            raise DataError(f"{where}: node '{node}' has no label")
        try:
            features.append([float(row[i]) for i in feature_columns])
        except ValueError:
            raise DataError(f"{where}: node '{node}' has a feature that is not a number") from None
        index[node] = len(index)
        labels.append(row[column["label"]])
        if "split" in column:
            splits.append(row[column["split"]])
    if "split" in column:
        _check_splits(splits, [f"{nodes_path}, line {line}" for line, _ in rows])
    _, edge_rows = _read_csv(edges_path, required=("source", "target"))
    pairs = []
    for line, row in edge_rows:
        if len(row) < 2:
            raise DataError(f"{edges_path}, line {line}: expected source,target")
        for node in row[:2]:
            if node not in index:
                raise DataError(f"{edges_path}, line {line}: unknown node '{node}' (not in {nodes_path.name})")
        pairs.append((index[row[0]], index[row[1]]))
    edge_index = torch.tensor(pairs, dtype=torch.long).t().reshape(2, -1)
    return build_data(torch.tensor(features, dtype=torch.float), edge_index, _label_ids(labels),
                      splits if "split" in column else None)


def _read_csv(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line number, fields)`` of the non-empty rows of a CSV file."""
    try:
        with open(path, newline="") as file:
            lines = list(csv.reader(file))
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    if not lines:
        raise DataError(f"{path}: empty file; expected a header with {', '.join(required)}")
    header = [name.strip() for name in lines[0]]
    for name in required:
        if name not in header:
            raise DataError(f"{path}, line 1: header lacks column '{name}' (has: {', '.join(header)})")
    return header, [(i + 1, row) for i, row in enumerate(lines) if i > 0 and row]


def _check_splits(splits: list, places: list[str]) -> None:
    for split, where in zip(splits, places):
        if split not in SPLIT_NAMES:
            raise DataError(f"{where}: split {split!r} is not one of {', '.join(SPLIT_NAMES)}")


def _label_ids(labels: list) -> torch.Tensor:
    """Class ids ``(n,)``: labels as given if all are ints, else sorted distinct labels' ranks."""
    if all(isinstance(label, int) for label in labels):
        return torch.tensor(labels, dtype=torch.long)
    vocabulary = {label: i for i, label in enumerate(sorted(set(map(str, labels))))}
    return torch.tensor([vocabulary[str(label)] for label in labels], dtype=torch.long)
