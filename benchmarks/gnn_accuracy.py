"""Cora/CiteSeer test accuracy, mean ± std over seeds, for GCN/GAT/SAGE, full-batch and sampled.

Trains with ``kgtool.fit`` and each model's paper defaults (``kgtool.config.MODEL_DEFAULTS``:
validation every epoch, the best validated model is tested).

    python benchmarks/gnn_accuracy.py --data-dir DIR [--seeds 10] [--runs cora:gcn:full ...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from _harness import add_data_dir, add_threads, machine_facts, parse

import kgtool
from kgtool.config import resolve_config

DEFAULT_RUNS = ["cora:gcn:full", "cora:gcn:neighbor", "cora:gat:full", "cora:gat:neighbor", "cora:sage:full",
                "cora:sage:neighbor", "cora:gcn:saint", "citeseer:gcn:full", "citeseer:gcn:neighbor"]


def train_once(dataset: str, model: str, sampler: str, seed: int, data_dir: str, batch_size: int) -> float:
    """Test accuracy (%) of the best validated epoch of ``kgtool.fit`` with the model's defaults."""
    config = resolve_config({"model": {"name": model}, "data": {"dataset": dataset, "data_dir": data_dir},
                             "gnn": {"sampler": sampler, "fanout": "10,10"},
                             "training": {"batch_size": batch_size, "seed": seed, "progress": False}})
    with tempfile.TemporaryDirectory() as output:
        run = kgtool.fit(config, output=f"{output}/run")
    return 100 * run.metrics["test"]["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir(parser, required=True, holding="Cora/raw and CiteSeer/raw")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=512, help="train nodes per batch (sampled runs)")
    parser.add_argument("--runs", nargs="+", default=DEFAULT_RUNS, help="dataset:model:sampler")
    add_threads(parser, default=None)
    args = parse(parser)
    print(f"# {machine_facts()}")
    print(f"{'dataset':10} {'model':5} {'sampler':9} {'test acc':>14} {'s/run':>7}")
    for run in args.runs:
        dataset, model, sampler = run.split(":")
        started = time.perf_counter()
        scores = [train_once(dataset, model, sampler, seed, args.data_dir, args.batch_size) for seed in range(args.seeds)]
        seconds = (time.perf_counter() - started) / args.seeds
        std = statistics.stdev(scores) if len(scores) > 1 else 0.0
        print(f"{dataset:10} {model:5} {sampler:9} {statistics.mean(scores):7.2f} ± {std:4.2f} {seconds:7.1f}", flush=True)


if __name__ == "__main__":
    main()
