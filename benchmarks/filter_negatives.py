"""Ablation of ``training.filter_negatives``: test MRR and training time with and without it.

Uniform negatives are sometimes true training triples (about a tenth on UMLS), and the
self-adversarial loss weighs exactly those the most. Filtering draws them again. Each row trains
the same config with the option off and on, for the same seeds, in this one run:

    python benchmarks/filter_negatives.py                                   # UMLS, Kinships
    python benchmarks/filter_negatives.py --data-dir DIR --cases fb15k237-rotate

The FB15k-237 case keeps a fixed random 20,000 training triples and 500 valid/test triples (all
14,541 entities), so that it runs in minutes on a CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch

from _harness import REPO, add_data_dir, add_threads, machine_facts, parse, timed

import kgtool
from kgtool.config import Config

FB_SUBSET = {"model": {"name": "rotate", "dim": 100, "margin": 9.0},
             "training": {"num_negatives": 64, "batch_size": 512, "lr": 0.001, "epochs": 20, "eval_every": 5,
                          "patience": 0}}
CASES = {  # name: (dataset, config file or dict)
    "umls-rotate": ("umls", REPO / "configs/umls/rotate.yaml"),
    "umls-transe": ("umls", REPO / "configs/umls/transe.yaml"),
    "kinships-rotate": ("kinships", REPO / "configs/kinships/rotate.yaml"),
    "fb15k237-rotate": ("fb15k237", FB_SUBSET),
}


def subset(dataset, train: int, evaluate: int, seed: int = 0):
    """The dataset with a fixed random ``train`` training triples and ``evaluate`` valid/test ones."""
    from kgtool.data.kg import KGDataset

    g = torch.Generator().manual_seed(seed)
    pick = lambda x, n: x[torch.randperm(len(x), generator=g)[:n]]
    splits = {"train": pick(dataset.train, train), "valid": pick(dataset.splits["valid"], evaluate),
              "test": pick(dataset.splits["test"], evaluate)}
    return KGDataset(dataset.name, dataset.entities, dataset.relations, splits)


def run_case(name: str, filtered: bool, seed: int, data_dir: str | None) -> dict:
    dataset_name, source = CASES[name]
    config = Config.load(source) if isinstance(source, Path) else Config.from_dict(source)
    config = config.override([f"training.filter_negatives={str(filtered).lower()}", f"training.seed={seed}",
                              "training.progress=false", f"data.dataset={dataset_name}"]
                             + ([f"data.data_dir={data_dir}"] if data_dir else []))
    dataset = None
    if dataset_name == "fb15k237":
        from kgtool.data.registry import load_kg

        dataset = subset(load_kg(dataset_name, data_dir), 20_000, 500)
    with tempfile.TemporaryDirectory() as folder:
        wall, run = timed(lambda: kgtool.fit(config, output=Path(folder) / "run", dataset=dataset))
        log = [json.loads(line) for line in (Path(folder) / "run" / "log.jsonl").read_text().splitlines()]
    return {"mrr": run.metrics["test"]["mrr"], "hits@10": run.metrics["test"]["hits@10"],
            "train_s": sum(r["seconds"] for r in log), "wall_s": wall, "epochs": len(log)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="umls-rotate,umls-transe,kinships-rotate")
    parser.add_argument("--seeds", type=int, default=2)
    add_data_dir(parser)
    add_threads(parser)
    args = parse(parser)
    print(machine_facts())
    print(f"{'case':<18} {'filter':>6} {'test MRR':>16} {'Hits@10':>8} {'train s/epoch':>13} {'wall s':>8}")
    for name in args.cases.split(","):
        for filtered in (False, True):
            rows = [run_case(name, filtered, seed, args.data_dir) for seed in range(args.seeds)]
            mrr = [r["mrr"] for r in rows]
            spread = statistics.stdev(mrr) if len(mrr) > 1 else 0.0
            per_epoch = statistics.mean(r["train_s"] / r["epochs"] for r in rows)
            print(f"{name:<18} {'on' if filtered else 'off':>6} {statistics.mean(mrr):>9.4f} ± {spread:.4f} "
                  f"{statistics.mean(r['hits@10'] for r in rows):>8.4f} {per_epoch:>13.3f} "
                  f"{statistics.mean(r['wall_s'] for r in rows):>8.1f}", flush=True)


if __name__ == "__main__":
    main()
