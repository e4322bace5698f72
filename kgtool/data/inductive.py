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
import os
import shutil
import tempfile
from pathlib import Path

import torch

from kgtool.options import check_seed
from kgtool.data.kg import SUPPORT, KGDataset
from kgtool.data.readers import load_folder
from kgtool.errors import DataError


def held_out_groups(num_entities: int, fraction: float, seed: int) -> torch.Tensor:
    """Each entity's group ``(num_entities,)``: 0 seen, 1 held out for valid, 2 held out for test;
    ``fraction`` of the entities, chosen with ``seed``, are held out, half for valid, half for test."""
    if not 0 < fraction < 1:
        raise DataError(f"the held-out fraction must be in (0, 1), got {fraction}")
    check_seed("seed", seed)
    count = round(fraction * num_entities)
    if count < 2:
        raise DataError(f"fraction={fraction} of {num_entities} entities holds out {count}; valid and test need "
                        f"a held-out entity each: use a fraction of at least {2 / num_entities:.3g}")
    order = torch.randperm(num_entities, generator=torch.Generator().manual_seed(seed))
    held_out = order[:count]
    group = torch.zeros(num_entities, dtype=torch.long)
    group[held_out[:len(held_out) // 2]] = 1
    group[held_out[len(held_out) // 2:]] = 2
    return group


def between(triples: torch.Tensor, group: torch.Tensor, first: int, second: int) -> torch.Tensor:
    """The triples ``(n, 3)`` with one end in group ``first`` and the other in ``second``."""
    head, tail = group[triples[:, 0]], group[triples[:, 2]]
    return triples[((head == first) & (tail == second)) | ((head == second) & (tail == first))]


def refuse_useless(split: KGDataset, group: torch.Tensor, known: torch.Tensor, parameters: str) -> KGDataset:
    """``split`` if it can train and measure something, else a DataError naming ``parameters``
    and the numbers: it needs training triples, and valid and test triples about a held-out
    entity. ``group``: each entity's group ``(num_entities,)`` (see :func:`held_out_groups`);
    ``known``: all triples ``(n, 3)`` of the dataset split."""
    if not len(split.train):
        raise DataError(f"{parameters} leaves no training triple between the {int((group == 0).sum())} seen "
                        f"entities; hold out a smaller fraction")
    for name, held_out in (("valid", 1), ("test", 2)):
        triples = split.splits[name]
        if ((group[triples[:, 0]] == held_out) | (group[triples[:, 2]] == held_out)).any():
            continue
        anchored = between(known, group, 0, held_out)
        new = torch.where(group[anchored[:, 0]] > 0, anchored[:, 0], anchored[:, 2])
        most = int(torch.bincount(new).max()) if len(new) else 0
        raise DataError(f"{parameters} leaves no {name} triple about a held-out entity: its "
                        f"{int((group == held_out).sum())} held-out entities have at most {most} triples with seen "
                        f"entities" + (f"; use a support below {most}" if most else "; hold out a larger fraction"))
    return split


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
    split = KGDataset(f"{dataset.name}-inductive", dataset.entities, dataset.relations, splits, dataset.entity_text)
    return refuse_useless(split, group, known, f"fraction={fraction}")


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
    split = KGDataset(f"{dataset.name}-semi-inductive", dataset.entities, dataset.relations, splits,
                      dataset.entity_text)
    return refuse_useless(split, group, known, f"fraction={fraction}, support={support}")


def write_folder(dataset: KGDataset, folder: str | Path) -> None:
    """``train.txt``, ``valid.txt``, ``test.txt`` (labeled triples; ``support.txt`` when the dataset
    has support triples), ``entities.txt`` and ``relations.txt`` (the vocabularies in id order),
    which :func:`~kgtool.data.readers.load_folder` reads back with the same ids."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    e, r = dataset.entities, dataset.relations
    for split in dataset.splits:
        lines = (f"{e[h]}\t{r[rel]}\t{e[t]}\n" for h, rel, t in dataset.splits[split].tolist())
        (folder / f"{split}.txt").write_text("".join(lines), encoding="utf-8")
    (folder / "entities.txt").write_text("".join(f"{entity}\n" for entity in e), encoding="utf-8")
    (folder / "relations.txt").write_text("".join(f"{relation}\n" for relation in r), encoding="utf-8")


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
        place_folder(split, parameters, folder)
    if recorded.is_file() and json.loads(recorded.read_text()) != parameters:
        raise DataError(f"{folder} holds a split with {recorded.read_text().strip()}, not {json.dumps(parameters)}; "
                        "choose another folder")
    return load_folder(folder, name=f"{dataset.name}-{'semi-' if support else ''}inductive")


def place_folder(split: KGDataset, parameters: dict, folder: Path) -> None:
    """Write ``split`` (:func:`write_folder`) and its ``split.json`` beside ``folder``, then rename
    the whole into place: a failed or killed write never leaves a partial split there that later
    runs would read. An empty ``folder`` is replaced; a split another process placed first is kept."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    except OSError as error:
        raise DataError(f"cannot write the split to {folder}: {error.strerror}") from None
    try:
        written = staging / folder.name  # made by mkdir, so with the user's permissions, not mkdtemp's 0700
        write_folder(split, written)
        (written / "split.json").write_text(json.dumps(parameters) + "\n")
        os.replace(written, folder)
    except OSError as error:
        if not (folder / "entities.txt").is_file():
            reason = "it exists and holds other files" if folder.is_dir() else error.strerror
            raise DataError(f"cannot write the split to {folder}: {reason}; choose another folder") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
