"""Content fingerprints of datasets, so a run is never evaluated on other data than it trained on.

The fingerprint hashes the data as loaded (vocabularies in id order and the id triples of every
split, in sorted order; or a graph's tensors), not the files' bytes: the same triples read from a
gzipped, CRLF or re-sorted copy give the same fingerprint, while one changed, added or dropped
triple does not.
"""

from __future__ import annotations

import hashlib
import json

import torch

from kgtool.data.kg import KGDataset
from kgtool.errors import DataError

# the PyG Data attributes that decide what a GNN run trains and is judged on
GRAPH_TENSORS = ("x", "edge_index", "edge_attr", "y", "train_mask", "val_mask", "test_mask")


def dataset_fingerprint(dataset) -> str:
    """``"sha256:<hex>"`` of a :class:`KGDataset` or a PyG ``Data``."""
    digest = hashlib.sha256()
    if isinstance(dataset, KGDataset):
        digest.update(json.dumps([dataset.entities, dataset.relations]).encode())
        for split in sorted(dataset.splits):
            _update(digest, split, sorted_rows(dataset.splits[split]))
        if dataset.entity_features is not None:  # they feed encoders.features
            for name, tensor in zip(("features", "has_features"), dataset.entity_features):
                _update(digest, name, tensor)
    elif hasattr(dataset, "edge_index"):
        for name in GRAPH_TENSORS:
            value = getattr(dataset, name, None)
            if isinstance(value, torch.Tensor):
                _update(digest, name, value)
    else:
        raise DataError(f"cannot fingerprint a {type(dataset).__name__}: expected a KGDataset or a PyG Data")
    return f"sha256:{digest.hexdigest()}"


def sorted_rows(triples: torch.Tensor) -> torch.Tensor:
    """The id triples ``(n, 3)`` in lexicographic order: a split's fingerprint is that of its set
    of triples (with repeats), not of the order of the lines they were read from."""
    if not len(triples):
        return triples
    width = int(triples.max()) + 1
    keys = (triples[:, 0] * width + triples[:, 1]) * width + triples[:, 2]
    return triples[torch.argsort(keys, stable=True)]


def _update(digest, name: str, tensor: torch.Tensor) -> None:
    tensor = tensor.detach().cpu().contiguous()
    digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
    digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
