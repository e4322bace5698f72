"""What the benchmarks share: their common arguments (``--data-dir``, ``--threads``, ``--set``),
the facts of the machine a table ran on, peak memory, timing (of a call, of ``Trainer`` steps
phase by phase), the machine's limits (matmul rate, memory bandwidth) that the fraction-of-bound
columns divide by, and the random graphs that the synthetic benchmarks train on.

The benchmarks are scripts, not a package: ``python benchmarks/NAME.py`` puts this folder on
``sys.path``, so ``from _harness import ...`` finds this file, and ``kgtool`` is the installed
package (``pip install -e ".[bench]"``). torch is imported where it is used, so that the
benchmarks that only start ``kgtool`` processes stay light.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the configs/ of the benchmarks' default runs live here


# -- common arguments --------------------------------------------------------------------------
def add_data_dir(parser: argparse.ArgumentParser, required: bool = False, holding: str = "named datasets' files") -> None:
    """``--data-dir``, defaulting to ``$KGTOOL_DATA``; ``required``: one of the two must be given."""
    default = os.environ.get("KGTOOL_DATA")
    parser.add_argument("--data-dir", default=default, required=required and not default,
                        help=f"folder holding {holding} (default: $KGTOOL_DATA)")


def add_threads(parser: argparse.ArgumentParser, default: int | None = 1) -> None:
    """``--threads``: torch's intra-op threads, set by :func:`parse`; ``None``: torch's default."""
    default_note = f"default {default}" if default else "default: torch's; on a busy machine 1 avoids thread contention"
    parser.add_argument("--threads", type=int, default=default, help=f"torch threads ({default_note})")


def add_settings(parser: argparse.ArgumentParser, help: str = "kgtool config override (repeatable)") -> None:
    """``--set KEY=VALUE`` (repeatable) into ``args.settings``."""
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE", help=help)


def parse(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> argparse.Namespace:
    """The parsed arguments, with torch's threads set to ``--threads`` where it is given."""
    args = parser.parse_args(argv)
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    return args


# -- the machine -------------------------------------------------------------------------------
def machine_facts() -> str:
    """One line: architecture, cores, load, torch version and threads, python."""
    import torch

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores (load average {load}), torch {torch.__version__} "
            f"with {torch.get_num_threads()} threads, python {platform.python_version()}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_rate() -> float:
    """The machine's float32 matmul rate in flop/s, as torch gets it (best of three)."""
    import torch

    a, b = torch.randn(2048, 1024), torch.randn(1024, 4096)
    return 2 * 2048 * 1024 * 4096 / best_of(lambda: a @ b)


def memory_bandwidth() -> float:
    """Bytes per second read and written by a copy of 512 MiB (best of three)."""
    import torch

    source = torch.randn(2**27)
    target = torch.empty_like(source)
    return 2 * source.numel() * 4 / best_of(lambda: target.copy_(source))


# -- timing ------------------------------------------------------------------------------------
def timed(compute) -> tuple[float, object]:
    """Seconds of ``compute()`` and its result."""
    started = time.perf_counter()
    result = compute()
    return time.perf_counter() - started, result


def best_of(compute, repeats: int = 3) -> float:
    return min(timed(compute)[0] for _ in range(repeats))


def time_steps(trainer, batches, warmup: int) -> dict:
    """``trainer.step`` (a :class:`kgtool.training.Trainer`) on each of ``batches`` (tensors of
    training example ids), the first ``warmup`` untimed.

    Returns ``{"seconds": {"loss", "backward", "step"}, "losses": [...]}``: the seconds of each
    phase summed over the timed steps, and their losses. Hooks on the trainer's loss module and
    optimizer time the loss (with sampling) and the optimizer's update; backward is the rest of
    the step (with ``zero_grad``).
    """
    marks = {}

    def mark(name: str):
        return lambda *_: marks.__setitem__(name, time.perf_counter())  # a hook returning None changes nothing

    hooks = [trainer.step_loss.register_forward_pre_hook(mark("loss")),
             trainer.step_loss.register_forward_hook(mark("loss done")),
             trainer.optimizer.register_step_pre_hook(mark("step")),
             trainer.optimizer.register_step_post_hook(mark("step done"))]
    seconds, losses = {"loss": 0.0, "backward": 0.0, "step": 0.0}, []
    trainer.task.model.train()
    try:
        for i, ids in enumerate(batches):
            step_seconds, value = timed(lambda: trainer.step(ids))
            if i < warmup:
                continue
            loss, update = marks["loss done"] - marks["loss"], marks["step done"] - marks["step"]
            seconds["loss"] += loss
            seconds["backward"] += step_seconds - loss - update
            seconds["step"] += update
            losses.append(value)
    finally:
        for hook in hooks:
            hook.remove()
    return {"seconds": seconds, "losses": losses}


# -- random graphs -----------------------------------------------------------------------------
class EntityNames(Sequence):
    """Labels ``e0 … e{n-1}`` made on demand, so a synthetic vocabulary of millions of entities
    costs no memory (a list of 3M Python strings would take about 200 MB)."""

    def __init__(self, count: int, prefix: str = "e"):
        self.count, self.prefix = count, prefix

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.count))]
        if not -self.count <= index < self.count:
            raise IndexError(index)
        return f"{self.prefix}{index % self.count}"


def random_kg(num_entities: int, num_relations: int, num_train: int, num_test: int, seed: int = 0,
              dtype=None):
    """A :class:`KGDataset` of uniformly random ``(head, relation, tail)`` triples, ``num_train``
    for training, ``num_test`` each for valid and test. ``dtype`` is the id type (int64 default)."""
    import torch

    from kgtool.data.kg import KGDataset

    generator = torch.Generator().manual_seed(seed)
    dtype = dtype or torch.long

    def triples(n: int):
        out = torch.empty((n, 3), dtype=dtype)
        out[:, 0] = torch.randint(num_entities, (n,), generator=generator, dtype=dtype)
        out[:, 1] = torch.randint(num_relations, (n,), generator=generator, dtype=dtype)
        out[:, 2] = torch.randint(num_entities, (n,), generator=generator, dtype=dtype)
        return out

    splits = {"train": triples(num_train), "valid": triples(num_test), "test": triples(num_test)}
    return KGDataset(name=f"random-{num_entities}", entities=EntityNames(num_entities),
                     relations=EntityNames(num_relations, "r"), splits=splits)


# -- the digits graph (encoders_digits.py) ---------------------------------------------------------
def homophilous_edges(labels, degree: int, homophily: float, seed: int):
    """(2, num_edges) undirected edges: each node picks ``degree`` partners, each of its own class
    with probability ``homophily`` and uniformly at random otherwise."""
    import numpy as np
    import torch
    from torch_geometric.utils import to_undirected

    rng = np.random.default_rng(seed)
    by_class = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    sources, targets = [], []
    for node, label in enumerate(labels):
        for _ in range(degree):
            pool = by_class[label] if rng.random() < homophily else np.arange(len(labels))
            partner = int(rng.choice(pool))
            if partner != node:
                sources.append(node)
                targets.append(partner)
    return to_undirected(torch.tensor([sources, targets]))


def train_split(labels, per_class: int, seed: int):
    """(n,) bool mask of ``per_class`` random training nodes per class."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    mask = torch.zeros(len(labels), dtype=torch.bool)
    for c in np.unique(labels):
        mask[rng.choice(np.flatnonzero(labels == c), per_class, replace=False)] = True
    return mask
