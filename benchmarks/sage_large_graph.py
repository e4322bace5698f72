"""One epoch of GraphSAGE node classification on a large synthetic graph, CPU only.

kgtool's ``NodeClassificationTask`` with the neighbour sampler (pure torch when neither pyg-lib
nor torch-sparse is installed) on a random graph (default 1M nodes, 10M edges), fanout 15,10,
batches of 1024 training nodes, Adam; each step is ``kgtool.training.Trainer.step``. Labels are
the argmax of a random projection of the features, so the model has something to learn. Prints
the epoch's time and throughput, the peak RSS, and the machine's facts.

    python benchmarks/sage_large_graph.py --threads 1 [--max-batches 20]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch_geometric.data import Data

from _harness import add_threads, machine_facts, parse, peak_rss_mb, timed

from kgtool.config import resolve_config
from kgtool.gnn.task import NodeClassificationTask
from kgtool.training import Trainer


def synthetic_graph(nodes: int, edges: int, features: int, classes: int, train_fraction: float,
                    generator: torch.Generator) -> Data:
    """Uniform random edges and features; the rest of the nodes split evenly into val/test."""
    x = torch.randn(nodes, features, generator=generator)
    y = (x @ torch.randn(features, classes, generator=generator)).argmax(dim=1)
    split = torch.rand(nodes, generator=generator)
    rest = train_fraction + (1 - train_fraction) / 2
    return Data(x=x, y=y, edge_index=torch.randint(nodes, (2, edges), generator=generator), num_nodes=nodes,
                train_mask=split < train_fraction, val_mask=(split >= train_fraction) & (split < rest),
                test_mask=split >= rest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--train-fraction", type=float, default=0.1, help="share of nodes that are training seeds")
    parser.add_argument("--fanout", default="15,10")
    parser.add_argument("--batch-size", type=int, default=1024)
    add_threads(parser, default=None)
    parser.add_argument("--max-batches", type=int, default=None, help="stop early, for a quick check")
    args = parse(parser)

    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    data = synthetic_graph(args.nodes, args.edges, args.features, args.classes, args.train_fraction, generator)
    config = resolve_config({"model": {"name": "sage"}, "gnn": {"sampler": "neighbor", "fanout": args.fanout},
                             "training": {"batch_size": args.batch_size, "device": "cpu"}})
    task = NodeClassificationTask(config, data, "synthetic")
    setup = time.perf_counter() - started
    trainer = Trainer(task, config)

    # count the edges the sampler draws, and the time it takes, without changing what it does
    sampler, sampled = task.loader.node_sampler, {"edges": 0, "seconds": 0.0}
    sample = sampler.sample

    def counted_sample(seeds):
        begun = time.perf_counter()
        out = sample(seeds)
        sampled["seconds"] += time.perf_counter() - begun
        sampled["edges"] += len(out.edge)
        return out

    sampler.sample = counted_sample

    epoch = torch.randperm(task.num_examples(), generator=generator).split(args.batch_size)
    batches = epoch[:args.max_batches] if args.max_batches else epoch
    task.model.train()
    seconds, losses = timed(lambda: [trainer.step(ids) for ids in batches])

    scope = "full epoch" if len(batches) == len(epoch) else f"first {len(batches)} of the epoch's {len(epoch)} batches"
    print(f"# {machine_facts()}")
    print(f"# GraphSAGE hidden {config.gnn.hidden_dim}, {config.gnn.num_layers} layers; fanout {args.fanout}; "
          f"batch {args.batch_size}; train fraction {args.train_fraction}; {scope}")
    rows = [
        ("nodes", f"{args.nodes:,}"),
        ("edges", f"{args.edges:,}"),
        ("train nodes", f"{task.num_examples():,}"),
        ("batches", f"{len(batches):,}"),
        ("setup s (graph, CSR)", f"{setup:.1f}"),
        ("epoch s", f"{seconds:.1f}"),
        ("  of which sampling s", f"{sampled['seconds']:.1f}"),
        ("sampled edges/s", f"{sampled['edges'] / seconds:,.0f}"),
        ("batches/s", f"{len(batches) / seconds:.2f}"),
        ("loss first -> last batch", f"{losses[0]:.3f} -> {losses[-1]:.3f}"),
        ("peak RSS MB", f"{peak_rss_mb():,.0f}"),
    ]
    for name, value in rows:
        print(f"{name:26} {value:>16}")


if __name__ == "__main__":
    main()
