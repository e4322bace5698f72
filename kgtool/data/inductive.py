"""An inductive split of a knowledge graph: some entities are held out with all their triples.

A model then meets the held-out entities only at evaluation, where it must represent them from
something other than training triples (their text, through ``kgtool.encoders``). A structure-only
model has never trained their embeddings, so it ranks them at chance.
"""

from __future__ import annotations

from pathlib import Path

import torch

from kgtool.data.kg import SPLITS, KGDataset
from kgtool.data.readers import load_folder
from kgtool.errors import DataError


def inductive_split(dataset: KGDataset, fraction: float = 0.1, seed: int = 0) -> KGDataset:
    """Hold out ``fraction`` of the entities (chosen with ``seed``), half for valid, half for test.

    - train: the training triples between seen entities;
    - valid / test: the triples of any split with exactly one end held out for valid / test
      and the other end seen. Triples between two held-out entities are dropped: nothing known
      would anchor them.

    Entity and relation vocabularies (and so ids) are those of ``dataset``: held-out entities
    stay candidates in ranking, though no training triple names them.
    """
    if not 0 < fraction < 1:
        raise DataError(f"the held-out fraction must be in (0, 1), got {fraction}")
    order = torch.randperm(dataset.num_entities, generator=torch.Generator().manual_seed(seed))
    held_out = order[:round(fraction * dataset.num_entities)]
    group = torch.zeros(dataset.num_entities, dtype=torch.long)  # 0: seen, 1: valid, 2: test
    group[held_out[:len(held_out) // 2]] = 1
    group[held_out[len(held_out) // 2:]] = 2

    def between(triples: torch.Tensor, first: int, second: int) -> torch.Tensor:
        head, tail = group[triples[:, 0]], group[triples[:, 2]]
        return triples[((head == first) & (tail == second)) | ((head == second) & (tail == first))]

    known = dataset.all_triples()
    splits = {"train": between(dataset.train, 0, 0), "valid": between(known, 0, 1), "test": between(known, 0, 2)}
    return KGDataset(f"{dataset.name}-inductive", dataset.entities, dataset.relations, splits, dataset.entity_text)


def write_folder(dataset: KGDataset, folder: str | Path) -> None:
    """``train.txt``, ``valid.txt``, ``test.txt`` (labeled triples) and ``entities.txt`` (the whole
    vocabulary), which :func:`~kgtool.data.readers.load_folder` reads back with the same ids."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    e, r = dataset.entities, dataset.relations
    for split in SPLITS:
        lines = (f"{e[h]}\t{r[rel]}\t{e[t]}\n" for h, rel, t in dataset.splits[split].tolist())
        (folder / f"{split}.txt").write_text("".join(lines), encoding="utf-8")
    (folder / "entities.txt").write_text("".join(f"{entity}\n" for entity in e), encoding="utf-8")


def saved_inductive_split(dataset: KGDataset, folder: str | Path, fraction: float = 0.1, seed: int = 0) -> KGDataset:
    """The split in ``folder``, written there first if the folder has none, so every later run
    reads the same files."""
    folder = Path(folder)
    if not (folder / "entities.txt").is_file():
        write_folder(inductive_split(dataset, fraction, seed), folder)
    return load_folder(folder, name=f"{dataset.name}-inductive")
