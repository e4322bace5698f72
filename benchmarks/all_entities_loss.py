"""KvsAll/1vsAll training steps with kgtool's sparse-target loss against the dense-label loss it
replaced (``F.cross_entropy`` or ``F.binary_cross_entropy_with_logits`` on a ``(batch, entities)``
label tensor), alternating in one process on the same batches. A step is
``kgtool.training.Trainer.step`` (scoring, loss, backward, optimizer) with one loss function or the
other in ``kgtool.kge.losses``.

    python benchmarks/all_entities_loss.py --data-dir DIR --threads 1
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _harness import REPO, add_data_dir, add_settings, add_threads, best_of, machine_facts, parse

from kgtool.config import Config
from kgtool.data.registry import load_kg
from kgtool.kge import losses
from kgtool.kge.task import KGETask
from kgtool.training import Trainer


def dense_label_loss(kind: str, scores, rows, answers, label_smoothing: float):
    """The loss as it was: a dense multi-hot label tensor, normalised per row for ``ce``."""
    labels = torch.zeros_like(scores)
    labels[rows, answers] = 1.0
    if kind == "ce":
        return F.cross_entropy(scores, labels / labels.sum(dim=1, keepdim=True), label_smoothing=label_smoothing)
    return F.binary_cross_entropy_with_logits(scores, (1 - label_smoothing) * labels + label_smoothing / labels.shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir(parser)
    parser.add_argument("--config", default=str(REPO / "configs/fb15k237/complex-kvsall-cpu.yaml"))
    add_settings(parser)
    add_threads(parser, default=2)
    parser.add_argument("--steps", type=int, default=5)
    args = parse(parser)
    config = Config.load(args.config).override(args.settings)
    task = KGETask(config, load_kg(config.data.dataset, args.data_dir or config.data.data_dir))
    trainer = Trainer(task, config)
    batches = torch.randperm(task.num_examples(), generator=torch.Generator().manual_seed(0)).split(config.training.batch_size)
    print(machine_facts())
    print(f"{args.config} {' '.join(args.settings)}: {config.training.scoring}, loss {config.training.loss}, "
          f"batch {config.training.batch_size}, {task.dataset.num_entities:,} entities")

    def steps(loss_function):
        def run():
            original = losses.all_entities_loss  # what the task's objective calls
            losses.all_entities_loss = loss_function
            try:
                for ids in batches[:args.steps]:
                    trainer.step(ids)
            finally:
                losses.all_entities_loss = original
        return run

    sparse, dense = steps(losses.all_entities_loss), steps(dense_label_loss)
    sparse(), dense()  # warm-up
    seconds = {"dense labels (before)": best_of(dense), "sparse targets (kgtool)": best_of(sparse)}
    print("| loss | ms per step |\n|---|---:|")
    for name, value in seconds.items():
        print(f"| {name} | {1000 * value / args.steps:,.0f} |")
    print(f"speed-up {seconds['dense labels (before)'] / seconds['sparse targets (kgtool)']:.2f}x")


if __name__ == "__main__":
    main()
