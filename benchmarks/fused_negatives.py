"""Training steps with per-row negatives: the fused candidate kernels against the plain path.

One process, random models and graphs, ``--threads`` torch threads; each row times
``kgtool.training.Trainer.step`` (positive and candidate scores, NSSA loss, backward, Adam) on
batches of random triples, negatives not filtered, after two warm-up steps, which pay the
compiling. "plain" is ``fused_negatives=False``; "eager chunks" runs the same chunked kernels
uncompiled (the path without a C++ compiler). The losses of the rows must agree: the script prints
the largest difference from the plain path's.

    python benchmarks/fused_negatives.py --threads 1
"""

from __future__ import annotations

import argparse
from unittest import mock

import torch

from _harness import add_threads, machine_facts, parse, random_kg, time_steps

# case: model, entities, relations, batch, negatives, dim (complex numbers for RotatE)
CASES = {
    "UMLS RotatE": ("rotate", 135, 46, 512, 64, 200),
    "UMLS TransE": ("transe", 135, 46, 512, 64, 200),
    "FB15k-237 RotatE": ("rotate", 14_541, 237, 1024, 128, 250),
    "FB15k-237 TransE": ("transe", 14_541, 237, 1024, 128, 500),
}
WARMUP = 2  # untimed steps of each row, which pay the compiling


def step_seconds(case: tuple, fused: bool, steps: int) -> tuple[float, list[float]]:
    """Mean seconds of a training step and the losses; each row corrupts its head or its tail."""
    from kgtool.config import resolve_config
    from kgtool.kge.task import KGETask
    from kgtool.training import Trainer

    name, n, relations, batch, negatives, dim = case
    config = resolve_config({
        "model": {"name": name, "dim": dim, "margin": 9.0},
        "training": {"num_negatives": negatives, "batch_size": batch, "lr": 1e-3, "fused_negatives": fused,
                     "filter_negatives": False, "device": "cpu", "progress": False},
    })
    dataset = random_kg(n, relations, batch * (WARMUP + steps), 0)
    torch.manual_seed(0)  # the embeddings' initialisation
    trainer = Trainer(KGETask(config, dataset), config)
    timed = time_steps(trainer, torch.arange(len(dataset.train)).split(batch), WARMUP)
    return sum(timed["seconds"].values()) / steps, timed["losses"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads(parser)
    parser.add_argument("--steps", type=int, default=5)
    args = parse(parser)
    from kgtool.kge import candidates

    print(machine_facts())
    print(f"{'case':<18} {'plain ms':>9} {'fused ms':>9} {'speed-up':>8} {'eager chunks ms':>16} {'loss diff':>10}")
    for label, case in CASES.items():
        plain, plain_losses = step_seconds(case, False, args.steps)
        fused, fused_losses = step_seconds(case, True, args.steps)
        with mock.patch.object(candidates, "kernels", lambda: (candidates.distances, candidates.query_terms)):
            eager, _ = step_seconds(case, True, args.steps)
        difference = max(abs(a - b) for a, b in zip(plain_losses, fused_losses))
        print(f"{label:<18} {plain * 1e3:>9.0f} {fused * 1e3:>9.0f} {plain / fused:>7.1f}x {eager * 1e3:>16.0f} "
              f"{difference:>10.1e}")


if __name__ == "__main__":
    main()
