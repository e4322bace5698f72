"""Embeddings out of a run, with their labels: as tensors, TSV or ``.npy`` files, or the files of
TensorBoard's Embedding Projector.

Rows are the representations the model scores with, one per id in id order:

- KGE runs: the entity rows of ``model.all_entities()`` (with text/image encoders, the encoded
  representations) and the relation rows the score function takes (RotatE: the unit rotations
  ``cos θ + i sin θ``, not the stored phases). Complex models (ComplEx, RotatE) give the ``dim``
  real parts, then the ``dim`` imaginary parts. Reciprocal runs add a row per inverse relation,
  labeled ``"<relation> (inverse)"``, after the relations.
  GNN link prediction runs are KGE runs whose entity rows are the GNN's node outputs (labeled by
  node index) and whose one relation row is the interaction's.
- GNN node classification runs: node representations from the full-graph forward pass of
  evaluation, labeled by node index: the input of the last layer (the last hidden layer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from kgtool.errors import ConfigError
from kgtool.evaluation.mode import evaluation_mode
from kgtool.run_folder import make_folder

EXPORT_FORMATS = ("tsv", "npy", "projector")


def as_rows(x: Tensor) -> Tensor:
    """Formula inputs ``(n, dim)``, or complex ``(n, dim, 2)`` -> ``(n, 2·dim)`` real parts then
    imaginary parts."""
    return torch.cat([x[..., 0], x[..., 1]], dim=-1) if x.dim() == 3 else x


def entity_embeddings(run) -> tuple[Tensor, list[str]]:
    """``(num_entities, width)`` float rows in id order (on the CPU) and the labels."""
    if hasattr(run.model, "all_entities"):
        with evaluation_mode(run.model):
            return as_rows(run.model.all_entities()).detach().cpu(), list(run.dataset.entities)  # DistMult: the weight
    return gnn_node_representations(run.task), [str(i) for i in range(run.dataset.num_nodes)]


def relation_embeddings(run) -> tuple[Tensor, list[str]] | None:
    """``(relation rows, width)`` and labels of a KGE run; None for GNN runs."""
    table = getattr(run.model, "relation_embeddings", None)
    if table is None:
        return None
    labels = list(run.dataset.relations)
    if table.num_embeddings > len(labels):  # reciprocal: inverses follow
        labels += [f"{label} (inverse)" for label in labels]
    with torch.no_grad():
        rows = run.model.relations(torch.arange(table.num_embeddings, device=table.weight.device))
    return as_rows(rows).cpu(), labels


def gnn_node_representations(task) -> Tensor:
    """``(num_nodes, width)``: what enters the last GNN layer of node classification, captured
    during ``task.evaluate("test")``, the exact full-graph pass."""
    from kgtool.gnn.models import GNNStack

    stack = next(m for m in task.model.modules() if isinstance(m, GNNStack))
    captured = []
    hook = stack.convs[-1].register_forward_pre_hook(lambda module, args: captured.append(args[0]))
    try:
        task.evaluate("test")
    finally:
        hook.remove()
    return captured[-1].detach().cpu()


def export_run(run, output: str | Path | None = None, style: str = "tsv") -> list[Path]:
    """Write a run's embeddings and labels to ``output`` (default ``<run>/export``); returns the files.

    ``tsv`` / ``npy``: ``entities.tsv`` and ``relations.tsv`` (``id<TAB>label``),
    ``entity_embeddings.{tsv,npy}`` and ``relation_embeddings.{tsv,npy}`` (one row per id; no
    relations for GNN runs). ``projector``: the entities as ``vectors.tsv`` and ``metadata.tsv``
    for TensorBoard's Embedding Projector (projector.tensorflow.org loads them too).
    """
    if style not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {style!r}; known: {', '.join(EXPORT_FORMATS)}")
    folder = Path(output) if output is not None else run.path / "export"
    make_folder(folder, "export folder")
    entities = entity_embeddings(run)
    if style == "projector":
        return [write_matrix(folder / "vectors.tsv", entities[0]), write_lines(folder / "metadata.tsv", entities[1])]
    files = []
    for name, rows_name, table in (("entities", "entity_embeddings", entities),
                                   ("relations", "relation_embeddings", relation_embeddings(run))):
        if table is not None:
            rows, labels = table
            files.append(write_lines(folder / f"{name}.tsv", [f"{i}\t{label}" for i, label in enumerate(labels)]))
            files.append(write_matrix(folder / f"{rows_name}.{style}", rows))
    return files


def write_matrix(path: Path, rows: Tensor) -> Path:
    """``rows`` ``(n, width)`` as ``.npy`` (float32) or tab-separated text (9 significant digits,
    enough to give the float32 back exactly)."""
    array = rows.float().numpy()
    if path.suffix == ".npy":
        np.save(path, array)
    else:
        np.savetxt(path, array, fmt="%.9g", delimiter="\t")
    return path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path
