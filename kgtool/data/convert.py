"""The datasets ``kgtool.fit(config, dataset=X)`` takes, converted in one place, and back out.

In: :func:`as_dataset` turns what a pykeen, PyG or networkx user holds into what a task trains on:
a :class:`KGDataset` for KGE models, a PyG ``Data`` for GNN models (gcn, gat, sage).

PyG graphs for KGE models (``Data`` with an optional ``edge_type``, or ``HeteroData``):

- entities: the nodes; a ``HeteroData``'s are numbered type by type in ``node_types`` order,
  labeled ``"<node type>:<index>"`` and typed (``KGDataset.entity_types``); a ``Data``'s are
  labeled ``"0".."n-1"``;
- relations: a ``HeteroData``'s edge types ``(src, rel, dst)``, labeled ``"src__rel__dst"`` (PyG's
  own spelling); a ``Data``'s ``edge_type`` values (one relation ``"edge"`` without them);
- splits, the first that applies: boolean ``train_mask``/``val_mask``/``test_mask`` on every edge
  store (one per edge); a ``(train, valid, test)`` tuple of graphs over the same nodes, each
  split's edges being its positive ``edge_label_index`` where present (PyG's ``RandomLinkSplit``
  output) else its ``edge_index``; else all edges shuffled with seed 0 and cut 80/10/10.

Out: :func:`as_triples_factories` and :func:`as_pyg` give pykeen factories and PyG graphs with the
dataset's labels and ids (see ``Run.to_triples_factory`` and ``Run.to_pyg``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from kgtool.config import GNN_MODELS, Config
from kgtool.data.kg import SPLITS, KGDataset
from kgtool.data.readers import load_networkx, load_triples_factories, random_split
from kgtool.errors import DataError

ACCEPTED = ("a registered name or a dataset folder, a KGDataset, a pykeen TriplesFactory or a (train, valid, test) "
            "tuple of them, a directed networkx (Multi)DiGraph, a PyG Data or HeteroData or a (train, valid, test) "
            "tuple of them")
EDGE_TYPE_SEPARATOR = "__"  # PyG's: ("author", "writes", "paper") <-> "author__writes__paper"
MASKS = {"train": "train_mask", "valid": "val_mask", "test": "test_mask"}


def as_dataset(obj, config: Config):
    """``obj`` as the dataset of ``config.model.name``'s task; None stays None (the task then loads
    ``config.data.dataset``). Anything else is a :class:`DataError` saying what is accepted."""
    if obj is None:
        return None
    if isinstance(obj, (str, Path)):
        return load_named(str(obj), config)
    if config.model.name in GNN_MODELS:
        return _as_graph(obj, config.model.name)
    return _as_kg(obj)


def as_trained(dataset, config: Config):
    """The data a task trains on: ``dataset`` itself or, with ``data.drop_duplicates``, each of its
    triples once (:meth:`KGDataset.without_duplicates`). A run records this data's fingerprint."""
    if config.data.drop_duplicates and isinstance(dataset, KGDataset):
        return dataset.without_duplicates()
    return dataset


def load_named(name: str, config: Config):
    """The registered dataset or folder ``name`` as ``config.model.name``'s task takes it: a node
    graph for GNN models, else a KGDataset (``config.data.data_dir`` holds named datasets)."""
    if config.model.name in GNN_MODELS:
        from kgtool.data.graphs import load_graph

        return load_graph(name, config.data.data_dir)
    from kgtool.data.registry import load_kg

    return load_kg(name, config.data.data_dir)


def _as_graph(obj, model: str):
    """A PyG ``Data`` for a GNN task: as given, or from a networkx graph with node features."""
    from torch_geometric.data import Data

    if isinstance(obj, Data):
        return obj
    if _is_networkx(obj):
        from kgtool.data.graphs import from_networkx_graph

        return from_networkx_graph(obj)
    raise DataError(f"dataset for the GNN model {model}: expected a registered name or a graph folder, a PyG Data, "
                    f"or a networkx graph with node features; got {_describe(obj)}. Typed graphs (HeteroData, "
                    f"TriplesFactory) train KGE models, e.g. with relational.encoder=compgcn")


def _as_kg(obj) -> KGDataset:
    if isinstance(obj, KGDataset):
        return obj
    parts = tuple(obj) if isinstance(obj, (tuple, list)) else (obj,)
    if len(parts) == 3 and all(_is_triples_factory(p) for p in parts):
        return load_triples_factories("pykeen", *parts)
    if len(parts) == 1 and _is_triples_factory(obj):
        train, valid, test = obj.split([0.8, 0.1, 0.1], random_state=0)
        return load_triples_factories("pykeen", train, valid, test)
    if len(parts) == 1 and _is_networkx(obj):
        return load_networkx(obj)
    if len(parts) in (1, 3) and all(_is_pyg(p) for p in parts):
        return from_pyg(parts)
    raise DataError(f"dataset: expected {ACCEPTED}; got {_describe(obj)}")


def from_pyg(graphs: tuple) -> KGDataset:
    """A KGDataset from one PyG ``Data``/``HeteroData`` or a ``(train, valid, test)`` tuple of them
    over the same nodes (the module docstring says how nodes, edges and splits map)."""
    first = graphs[0]
    hetero = _is_hetero(first)
    node_types = list(first.node_types) if hetero else [None]
    sizes = [first[t].num_nodes if hetero else first.num_nodes for t in node_types]
    offsets = dict(zip(node_types, torch.tensor([0, *sizes]).cumsum(0).tolist()))
    if any(size is None for size in sizes):
        raise DataError("PyG graph: every node type needs its num_nodes (or x)")
    relations = [EDGE_TYPE_SEPARATOR.join(t) for t in first.edge_types] if hetero else _homogeneous_relations(graphs)
    if len(graphs) == 3:
        splits = {s: _triples(g, offsets, relations, edge_label=True) for s, g in zip(SPLITS, graphs)}
    else:
        splits = _split_triples(first, offsets, relations)
    for split, triples in splits.items():
        if not len(triples):
            raise DataError(f"PyG graph: split '{split}' has no edges")
    if hetero:
        entities = [f"{t}:{i}" for t, n in zip(node_types, sizes) for i in range(n)]
        types = [t for t, n in zip(node_types, sizes) for _ in range(n)]
    else:
        entities, types = [str(i) for i in range(sizes[0])], None
    return KGDataset(name="pyg", entities=entities, relations=relations, splits=splits, entity_types=types,
                     entity_features=_node_features(first, node_types, sizes))


def _node_features(graph, node_types: list, sizes: list[int]) -> tuple[Tensor, Tensor] | None:
    """The nodes' ``x`` as ``(values (n, f), present (n,))`` in entity order: each node type's
    features in columns of their own (zeros elsewhere), as types' features differ; None without any."""
    blocks = [getattr(graph[t] if t is not None else graph, "x", None) for t in node_types]
    widths = [x.shape[1] if x is not None and x.dim() == 2 else 0 for x in blocks]
    if not any(widths):
        return None
    values = torch.zeros(sum(sizes), sum(widths))
    present = torch.zeros(sum(sizes), dtype=torch.bool)
    row, column = 0, 0
    for x, size, width in zip(blocks, sizes, widths):
        if width:
            values[row:row + size, column:column + width] = x.float()
            present[row:row + size] = True
        row, column = row + size, column + width
    return values, present


def _homogeneous_relations(graphs: tuple) -> list[str]:
    types = [g.edge_type for g in graphs if getattr(g, "edge_type", None) is not None]
    if not types:
        return ["edge"]
    return [str(k) for k in range(int(max(t.max() for t in types if t.numel())) + 1)]


def _edge_groups(graph, relations: list[str], edge_label: bool = False):
    """``(relation id, src node type, dst node type, edge store, edge_index (2, m), positives (m,) bool)``
    for each relation of ``graph``; with ``edge_label``, a store's positive ``edge_label_index``
    replaces its ``edge_index``."""
    if _is_hetero(graph):
        stores = [(relations.index(EDGE_TYPE_SEPARATOR.join(t)), t[0], t[2], graph[t]) for t in graph.edge_types]
    else:
        stores = [(None, None, None, graph)]
    for relation, src, dst, store in stores:
        index, label = store.edge_index, None
        if edge_label and getattr(store, "edge_label_index", None) is not None:
            index, label = store.edge_label_index, getattr(store, "edge_label", None)
        positive = label == 1 if label is not None else torch.ones(index.shape[1], dtype=torch.bool)
        yield relation, src, dst, store, index, positive


def _triples(graph, offsets: dict, relations: list[str], edge_label: bool = False, mask: str | None = None) -> Tensor:
    """All (or the ``mask``ed) positive edges of ``graph`` as ``(n, 3)`` KGDataset triples."""
    parts = []
    for relation, src, dst, store, index, keep in _edge_groups(graph, relations, edge_label):
        if mask is not None:
            keep = keep & getattr(store, mask).bool()
        if relation is None:  # a homogeneous graph: relations from edge_type
            edge_type = getattr(store, "edge_type", None) if index is store.edge_index else None
            if edge_type is None and len(relations) > 1:
                raise DataError("PyG Data: the edge_label_index of a split has no edge types, but the graph has "
                                f"{len(relations)}; give each split's edges as its edge_index with edge_type")
            relation_ids = edge_type.long() if edge_type is not None else torch.zeros(index.shape[1], dtype=torch.long)
        else:
            relation_ids = torch.full((index.shape[1],), relation, dtype=torch.long)
        triple = torch.stack([index[0] + offsets[src], relation_ids, index[1] + offsets[dst]], dim=1)
        parts.append(triple[keep])
    return torch.cat(parts).long() if parts else torch.empty((0, 3), dtype=torch.long)


def _split_triples(graph, offsets: dict, relations: list[str]) -> dict[str, Tensor]:
    stores = graph.edge_stores
    has_masks = [all(getattr(s, m, None) is not None for m in MASKS.values()) for s in stores]
    if all(has_masks):
        return {split: _triples(graph, offsets, relations, mask=mask) for split, mask in MASKS.items()}
    if any(has_masks):
        raise DataError("PyG graph: some edge types have train_mask/val_mask/test_mask and some do not; give them "
                        "to every edge type or to none (then edges are split 80/10/10 at random)")
    triples = _triples(graph, offsets, relations)
    return {split: triples[torch.tensor(positions, dtype=torch.long)]
            for split, positions in random_split(len(triples)).items()}


# -- out ---------------------------------------------------------------------------------------
def as_triples_factories(dataset: KGDataset) -> tuple:
    """pykeen ``TriplesFactory`` objects ``(train, valid, test)`` with the dataset's labels and ids."""
    from pykeen.triples import TriplesFactory

    entity_to_id = {label: i for i, label in enumerate(dataset.entities)}
    relation_to_id = {label: i for i, label in enumerate(dataset.relations)}
    return tuple(TriplesFactory(mapped_triples=dataset.splits[s], entity_to_id=entity_to_id,
                                relation_to_id=relation_to_id) for s in SPLITS)


def as_pyg(dataset: KGDataset, entity_rows: Tensor, relation_rows: Tensor | None = None):
    """The dataset as a PyG graph with ``entity_rows`` ``(num_entities, width)`` as node ``x``.

    Typed datasets (from a HeteroData) give a ``HeteroData``: one node type per entity type, one
    edge type per relation, each edge store with all its edges and ``train_mask``/``val_mask``/
    ``test_mask``, and its relation's row as ``relation_x`` ``(1, width)``. Others give a ``Data``
    with ``edge_index`` ``(2, n)``, ``edge_type`` ``(n,)``, the same masks and ``relation_x``
    ``(num_relations, width)``.
    """
    from torch_geometric.data import Data, HeteroData

    triples = torch.cat([dataset.splits[s] for s in SPLITS])
    split_of = torch.cat([torch.full((len(dataset.splits[s]),), i) for i, s in enumerate(SPLITS)])
    masks = {mask: split_of == i for i, mask in enumerate(MASKS.values())}
    if dataset.entity_types is None:
        data = Data(x=entity_rows, edge_index=triples[:, [0, 2]].t().contiguous(), edge_type=triples[:, 1],
                    num_nodes=dataset.num_entities, **masks)
        if relation_rows is not None:
            data.relation_x = relation_rows[:dataset.num_relations]
        return data
    data = HeteroData()
    types = dataset.entity_types
    local = torch.zeros(dataset.num_entities, dtype=torch.long)  # each entity's index within its type
    for node_type in dict.fromkeys(types):
        ids = torch.tensor([i for i, t in enumerate(types) if t == node_type])
        local[ids] = torch.arange(len(ids))
        data[node_type].x = entity_rows[ids]
        data[node_type].num_nodes = len(ids)
    for relation, label in enumerate(dataset.relations):
        edge_type = tuple(label.split(EDGE_TYPE_SEPARATOR))
        chosen = triples[:, 1] == relation
        store = data[edge_type]
        store.edge_index = local[triples[chosen][:, [0, 2]]].t().contiguous()
        for mask, values in masks.items():
            setattr(store, mask, values[chosen])
        if relation_rows is not None:
            store.relation_x = relation_rows[relation:relation + 1]
    return data


# -- what an object is, without importing pykeen (seconds) for every call ------------------------
def _is_triples_factory(obj) -> bool:
    return hasattr(obj, "mapped_triples") and hasattr(obj, "entity_to_id") and hasattr(obj, "relation_to_id")


def _is_networkx(obj) -> bool:
    import networkx

    return isinstance(obj, networkx.Graph)


def _is_pyg(obj) -> bool:
    from torch_geometric.data import Data, HeteroData

    return isinstance(obj, (Data, HeteroData))


def _is_hetero(obj) -> bool:
    from torch_geometric.data import HeteroData

    return isinstance(obj, HeteroData)


def _describe(obj) -> str:
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of {len(obj)} ({', '.join(type(p).__name__ for p in obj)})"
    return f"a {type(obj).__name__}"
