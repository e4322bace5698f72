"""Shared test fixtures: small datasets built in memory and the path of the offline benchmark data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Tests are many small operations: on one thread they run faster and every run is bitwise
# reproducible (some encoder backward kernels add in a varying order on several threads). On a
# loaded 2-core machine OpenMP's spinning threads made the GraphSAINT estimator test take 400 s
# instead of 16. Subprocesses (the CLI, torchrun) inherit the setting through the environment.
os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1)

from kgtool.config import GNN_MODELS, Config
from kgtool.data.kg import KGDataset

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def random_dataset(num_entities: int = 30, num_relations: int = 4, num_triples: int = 300, seed: int = 0) -> KGDataset:
    """A random graph (deduplicated triples) cut into 80/10/10 splits; every id appears in train."""
    g = torch.Generator().manual_seed(seed)
    triples = torch.stack([torch.randint(num_entities, (num_triples,), generator=g),
                           torch.randint(num_relations, (num_triples,), generator=g),
                           torch.randint(num_entities, (num_triples,), generator=g)], dim=1)
    triples = torch.unique(triples, dim=0)
    triples = triples[torch.randperm(len(triples), generator=g)]
    n = len(triples)
    splits = {"train": triples[: int(0.8 * n)], "valid": triples[int(0.8 * n): int(0.9 * n)], "test": triples[int(0.9 * n):]}
    cover = torch.stack([torch.arange(num_entities), torch.arange(num_entities) % num_relations,
                         torch.arange(num_entities).roll(1)], dim=1)
    splits["train"] = torch.cat([splits["train"], cover])
    return KGDataset(name="random", entities=[f"e{i}" for i in range(num_entities)],
                     relations=[f"r{i}" for i in range(num_relations)], splits=splits)


@pytest.fixture
def tiny_dataset() -> KGDataset:
    return random_dataset()


def alias_bomb(depth: int) -> str:
    """A YAML flow list of nested anchors whose aliases expand to ``9**depth`` strings (a "billion
    laughs"): 300 bytes at depth 7 printed as a 39 MB error line before configs refused aliases."""
    names = [chr(ord("a") + i) for i in range(depth)]
    layers = ["&a [" + ", ".join(["lol"] * 9) + "]"]
    layers += [f"&{name} [" + ", ".join([f"*{previous}"] * 9) + "]" for previous, name in zip(names, names[1:])]
    return "[" + ", ".join(layers) + "]"


def small_config(**sections) -> Config:
    """A config that trains in a second or two on UMLS; ``sections``: {"training": {...}}."""
    values = {"model": {"dim": 16}, "training": {"epochs": 2, "eval_every": 1, "batch_size": 256, "progress": False}}
    for name, overrides in sections.items():
        values.setdefault(name, {}).update(overrides)
    if values["model"].get("name") not in GNN_MODELS:  # a GNN refuses the KGE objective's options
        values["training"].setdefault("num_negatives", 8)
    return Config.from_dict(values)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"offline benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA
