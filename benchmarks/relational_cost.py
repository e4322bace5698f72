"""Cost of relational encoders: training steps on sampled subgraphs vs the full graph, and the
layer-wise inference that evaluation runs once, with peak memory. One mode per process, so that
the peak RSS is that mode's:

    python benchmarks/relational_cost.py --dataset fb15k237 --data-dir DIR --fanout 10,5
    python benchmarks/relational_cost.py --dataset fb15k237 --data-dir DIR            # full graph
    python benchmarks/relational_cost.py --synthetic 1000000 --fanout 10,5 --width 32 --dim 32

``--synthetic N`` trains on a random KG of N entities, 100 relations and 5N training triples
(ids uniformly random, as in ``scaling.py``). Steps are ``kgtool.training.Trainer.step`` (loss with
negative sampling, backward, optimizer step); ``--batches`` are timed after ``--warmup``.
"""

from __future__ import annotations

import argparse
import time

import torch

from _harness import add_data_dir, add_threads, machine_facts, parse, peak_rss_mb, random_kg, time_steps

from kgtool.config import Config
from kgtool.kge.task import KGETask
from kgtool.training import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fb15k237")
    add_data_dir(parser)
    parser.add_argument("--synthetic", type=int, help="entities of a random KG instead of --dataset")
    parser.add_argument("--encoder", default="compgcn", choices=("rgcn", "compgcn"))
    parser.add_argument("--fanout", help="sampled subgraphs, e.g. 10,5; default: the full graph")
    parser.add_argument("--model", default="distmult")
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--negatives", type=int, default=64)
    parser.add_argument("--shared-negatives", action="store_true", help="one set of negatives per batch")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    add_threads(parser)
    args = parse(parser)
    print(machine_facts())
    if args.synthetic:
        dataset = random_kg(args.synthetic, 100, 5 * args.synthetic, 1000)
    else:
        from kgtool.data.registry import load_kg

        dataset = load_kg(args.dataset, args.data_dir)
    relational = {"encoder": args.encoder, "width": args.width, "fanout": args.fanout}
    if args.encoder == "rgcn":
        relational["num_bases"] = 10
    config = Config.from_dict({"model": {"name": args.model, "dim": args.dim}, "relational": relational,
                               "training": {"num_negatives": args.negatives, "batch_size": args.batch_size,
                                            "shared_negatives": args.shared_negatives, "device": "cpu"}})
    started = time.perf_counter()
    task = KGETask(config, dataset)
    setup = time.perf_counter() - started
    trainer = Trainer(task, config)
    order = torch.randperm(task.num_examples(), generator=torch.Generator().manual_seed(0))
    batches = list(order[: (args.batches + args.warmup) * args.batch_size].split(args.batch_size))
    timed = time_steps(trainer, batches, args.warmup)
    per_step = sum(timed["seconds"].values()) / args.batches
    steps_per_epoch = -(-task.num_examples() // args.batch_size)
    train_rss = peak_rss_mb()
    task.model.eval()
    started = time.perf_counter()
    with torch.no_grad():
        task.model.all_entities()
    inference = time.perf_counter() - started
    mode = f"sampled {args.fanout}" if args.fanout else "full graph"
    print(f"{dataset.name}: {dataset.num_entities:,} entities, {len(dataset.train):,} training triples; "
          f"{args.encoder} ({mode}), {args.model} dim {args.dim}, width {args.width}, batch {args.batch_size} "
          f"with {args.negatives} {'shared ' if args.shared_negatives else ''}negatives")
    print("| mode | s/step | loss s | backward s | optimizer s | epoch s (extrapolated) | peak RSS MB (training) "
          "| all-entity inference s | peak RSS MB | setup s |")
    s = timed["seconds"]
    print(f"| {mode} | {per_step:.3f} | {s['loss'] / args.batches:.3f} | {s['backward'] / args.batches:.3f} "
          f"| {s['step'] / args.batches:.3f} | {per_step * steps_per_epoch:,.0f} | {train_rss:,.0f} | {inference:.1f} "
          f"| {peak_rss_mb():,.0f} | {setup:.1f} |")


if __name__ == "__main__":
    main()
