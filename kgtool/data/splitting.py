"""Split one file of triples into train/valid/test, every entity and relation of valid and test
also in train, the same way for the same seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from kgtool.options import check_seed
from kgtool.data.inductive import write_folder
from kgtool.data.kg import SPLITS, KGDataset
from kgtool.data.readers import read_triples
from kgtool.errors import ConfigError, DataError


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` -> three shares summing to 1, valid and test above 0 (a dataset needs
    both); else a ConfigError naming it."""
    try:
        ratios = tuple(float(x) for x in text.split(","))
    except ValueError:
        ratios = ()
    if len(ratios) != 3 or min(ratios) <= 0 or abs(sum(ratios) - 1) > 1e-6:
        raise ConfigError(f"ratios must be three positive numbers summing to 1, e.g. 0.8,0.1,0.1; got {text!r}")
    return ratios


def split_triples(triples: Tensor, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
                  seed: int = 0) -> dict[str, Tensor]:
    """Distinct ``triples`` ``(n, 3)`` shuffled with ``seed`` and cut into ``{split: (m, 3)}``.

    The first triple (in shuffled order) of each entity and of each relation goes to train; the
    others fill valid and test to ``round(ratio · n)`` triples, the rest is train. So valid and
    test only hold entities and relations train has, and a graph of many rare entities gives
    smaller valid and test sets than the ratios ask.
    """
    check_seed("seed", seed)
    triples = torch.unique(triples, dim=0)
    shuffled = triples[torch.randperm(len(triples), generator=torch.Generator().manual_seed(seed))].numpy()
    first_of_entity = np.unique(shuffled[:, [0, 2]].reshape(-1), return_index=True)[1] // 2
    first_of_relation = np.unique(shuffled[:, 1], return_index=True)[1]
    in_train = np.zeros(len(shuffled), dtype=bool)
    in_train[first_of_entity] = in_train[first_of_relation] = True
    rest = np.flatnonzero(~in_train)
    num_valid, num_test = (round(ratio * len(shuffled)) for ratio in ratios[1:])
    valid, test = rest[:num_valid], rest[num_valid:num_valid + num_test]
    in_train[rest[num_valid + num_test:]] = True
    return {"train": torch.from_numpy(shuffled[in_train]), "valid": torch.from_numpy(shuffled[valid]),
            "test": torch.from_numpy(shuffled[test])}


def split_file(path: str | Path, output: str | Path, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
               seed: int = 0) -> KGDataset:
    """Split the triples of ``path`` (``head<TAB>relation<TAB>tail``, ``.gz`` too) and write
    ``train.txt``, ``valid.txt``, ``test.txt`` (and ``entities.txt``) to ``output``, which
    ``kgtool fit --dataset OUTPUT`` reads; returns the dataset written."""
    existing = [f.name for f in Path(output).glob("*") if f.name.split(".")[0] in SPLITS]
    if existing:
        raise DataError(f"{output} already holds {', '.join(sorted(existing))}; choose another output folder")
    labeled = read_triples(Path(path))
    entities = sorted({e for h, _, t in labeled for e in (h, t)})
    relations = sorted({r for _, r, _ in labeled})
    entity_id, relation_id = {e: i for i, e in enumerate(entities)}, {r: i for i, r in enumerate(relations)}
    ids = torch.tensor([(entity_id[h], relation_id[r], entity_id[t]) for h, r, t in labeled], dtype=torch.long)
    splits = split_triples(ids.reshape(-1, 3), ratios, seed)
    for split, ratio in zip(SPLITS, ratios):
        if ratio > 0 and not len(splits[split]):
            raise DataError(f"{path}: too few triples for a {split} split: its {len(labeled)} triples "
                            f"are all needed in train to cover every entity and relation")
    dataset = KGDataset(Path(path).name, entities, relations, splits)
    write_folder(dataset, output)
    return dataset
