"""Inductive splits of a knowledge graph: some entities are held out of training.

- :func:`inductive_split`: held-out entities lose all their triples. A model meets them only at
  evaluation, where it must represent them from something other than triples (their text,
  through ``kgtool.encoders``).
- :func:`semi_inductive_split`: each held-out entity keeps a few *support* triples, known at
  inference only, from which a relational GNN (``relational.encoder``) represents it.

A structure-only model has never trained the held-out entities' embeddings, so it ranks them at chance.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from kgtool.data.kg import SUPPORT, KGDataset
from kgtool.data.readers import load_folder
from kgtool.errors import DataError


def held_out_groups(num_entities: int, fraction: float, seed: int) -> torch.Tensor:
    """Each entity's group ``(num_entities,)``: 0 seen, 1 held out for valid, 2 held out for test;
    ``fraction`` of the entities, chosen with ``seed``, are held out, half for valid, half for test."""
    if not 0 < fraction < 1:
        raise DataError(f"the held-out fraction must be in (0, 1), got {fraction}")
    order = torch.randperm(num_entities, generator=torch.Generator().manual_seed(seed))
    held_out = order[:round(fraction * num_entities)]
    group = torch.zeros(num_entities, dtype=torch.long)
    group[held_out[:len(held_out) // 2]] = 1
    group[held_out[len(held_out) // 2:]] = 2
    return group


def between(triples: torch.Tensor, group: torch.Tensor, first: int, second: int) -> torch.Tensor:
    """The triples ``(n, 3)`` with one end in group ``first`` and the other in ``second``."""
    head, tail = group[triples[:, 0]], group[triples[:, 2]]
    return triples[((head == first) & (tail == second)) | ((head == second) & (tail == first))]


def inductive_split(dataset: KGDataset, fraction: float = 0.1, seed: int = 0) -> KGDataset:
    """Hold out ``fraction`` of the entities (chosen with ``seed``), half for valid, half for test.

    - train: the training triples between seen entities;
    - valid / test: the triples of any split with exactly one end held out for valid / test
      and the other end seen. Triples between two held-out entities are dropped: nothing known
      would anchor them.

    Entity and relation vocabularies (and so ids) are those of ``dataset``: held-out entities
    stay candidates in ranking, though no training triple names them.
    """
    group = held_out_groups(dataset.num_entities, fraction, seed)
    known = dataset.all_triples()
    splits = {"train": between(dataset.train, group, 0, 0), "valid": between(known, group, 0, 1),
              "test": between(known, group, 0, 2)}
    return KGDataset(f"{dataset.name}-inductive", dataset.entities, dataset.relations, splits, dataset.entity_text)


def semi_inductive_split(dataset: KGDataset, fraction: float = 0.1, support: int = 3, seed: int = 0) -> KGDataset:
    """Hold out ``fraction`` of the entities (chosen with ``seed``, half for valid, half for
    test); each keeps ``support`` of its triples as the few facts known when it arrives.

    - train: the training triples between seen entities;
    - support: per held-out entity, ``support`` of its triples with a seen entity (all of them
      when it has no more), drawn with ``seed``. No model trains on them; they are known at
      inference: relational GNNs pass messages over them, and ranking filters them;
    - valid / test: the valid / test triples between seen entities (queries about seen entities,
      as in the transductive split), plus the other triples linking a held-out valid / test
      entity to a seen one (queries about new entities; evaluation reports the two kinds apart).

    Triples between two held-out entities are dropped. Vocabularies are those of ``dataset``.
    """
    if support < 1:
        raise DataError(f"each held-out entity needs at least 1 support triple, got support={support} "
                        "(inductive_split holds entities out without any)")
    group = held_out_groups(dataset.num_entities, fraction, seed)
    generator = torch.Generator().manual_seed(seed)
    known = dataset.all_triples()
    anchored = torch.cat([between(known, group, 0, 1), between(known, group, 0, 2)])
    anchored = anchored[torch.randperm(len(anchored), generator=generator)]
    new = torch.where(group[anchored[:, 0]] > 0, anchored[:, 0], anchored[:, 2])  # each triple's held-out end
    order = torch.argsort(new, stable=True)  # by entity, in random order within each
    anchored, new = anchored[order], new[order]
    counts = torch.bincount(new, minlength=dataset.num_entities)
    position = torch.arange(len(new)) - (torch.cumsum(counts, 0) - counts)[new]  # within its entity's triples
    queries, query_group = anchored[position >= support], group[new[position >= support]]
    splits = {"train": between(dataset.train, group, 0, 0),
              "valid": torch.cat([between(dataset.valid, group, 0, 0), queries[query_group == 1]]),
              "test": torch.cat([between(dataset.test, group, 0, 0), queries[query_group == 2]]),
              SUPPORT: anchored[position < support]}
    return KGDataset(f"{dataset.name}-semi-inductive", dataset.entities, dataset.relations, splits,
                     dataset.entity_text)


def write_folder(dataset: KGDataset, folder: str | Path) -> None:
    """``train.txt``, ``valid.txt``, ``test.txt`` (labeled triples; ``support.txt`` when the dataset
    has support triples) and ``entities.txt`` (the whole vocabulary), which
    :func:`~kgtool.data.readers.load_folder` reads back with the same ids."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    e, r = dataset.entities, dataset.relations
    for split in dataset.splits:
        lines = (f"{e[h]}\t{r[rel]}\t{e[t]}\n" for h, rel, t in dataset.splits[split].tolist())
        (folder / f"{split}.txt").write_text("".join(lines), encoding="utf-8")
    (folder / "entities.txt").write_text("".join(f"{entity}\n" for entity in e), encoding="utf-8")


def saved_inductive_split(dataset: KGDataset, folder: str | Path, fraction: float = 0.1, seed: int = 0,
                          support: int = 0) -> KGDataset:
    """The split of ``dataset`` in ``folder``: :func:`inductive_split`, or with ``support > 0``
    :func:`semi_inductive_split`. Written there first (with ``split.json``, its parameters) if
    the folder has none, so every later run reads the same files; a folder written with other
    parameters is a DataError rather than a silent mix."""
    folder = Path(folder)
    parameters = {"dataset": dataset.name, "fraction": fraction, "seed": seed, "support": support}
    recorded = folder / "split.json"
    if not (folder / "entities.txt").is_file():
        split = (semi_inductive_split(dataset, fraction, support, seed) if support
                 else inductive_split(dataset, fraction, seed))
        write_folder(split, folder)
        recorded.write_text(json.dumps(parameters) + "\n")
    elif recorded.is_file() and json.loads(recorded.read_text()) != parameters:
        raise DataError(f"{folder} holds a split with {recorded.read_text().strip()}, not {json.dumps(parameters)}; "
                        "choose another folder")
    return load_folder(folder, name=f"{dataset.name}-{'semi-' if support else ''}inductive")
