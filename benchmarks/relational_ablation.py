"""Transductive ablation of relational encoders: the same KGE score function and training budget
with entities from a table, through LTE (the stack without messages), R-GCN and CompGCN.

Every row of a dataset trains ``configs/<dataset>/<model>.yaml`` with the same ``--set``
overrides (epochs, optimizer, ...); only ``relational.*`` differs between rows:

    python benchmarks/relational_ablation.py                                   # UMLS, Kinships
    python benchmarks/relational_ablation.py --datasets umls --set training.epochs=20
    python benchmarks/relational_ablation.py --datasets codex-s --config configs/umls/complex.yaml \
        --set data.data_dir=../shared/data --set training.epochs=20

Test metrics are of the best validated epoch (realistic ranks, filtered).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import machine_facts

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kgtool
from kgtool.config import Config

ROWS = {  # name: relational overrides
    "table": [],
    "lte": ["relational.encoder=lte"],
    "rgcn": ["relational.encoder=rgcn", "relational.num_bases=10"],
    "compgcn": ["relational.encoder=compgcn"],
}


def run_row(dataset: str, model: str, row: str, settings: list[str], config_file: str | None = None) -> dict:
    config = Config.load(config_file or REPO / "configs" / dataset / f"{model}.yaml")
    config = config.override([f"data.dataset={dataset}"] + settings + ROWS[row] + ["training.progress=false"])
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        run = kgtool.fit(config, output=Path(folder) / "run")
        wall = time.perf_counter() - started
    test = run.metrics["test"]
    return {"dataset": dataset, "model": model, "row": row, "mrr": test["mrr"], "hits@1": test["hits@1"],
            "hits@10": test["hits@10"], "best_epoch": run.metrics.get("best_epoch"), "wall_s": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="umls,kinships")
    parser.add_argument("--model", default="complex")
    parser.add_argument("--config", help="config file of every dataset (default: configs/<dataset>/<model>.yaml)")
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="override of every row, e.g. training.epochs=20 (repeatable)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", help="also write the rows as JSON lines here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(machine_facts())
    print(f"settings of every row: {' '.join(args.settings) or '(the config files)'}")
    print("| dataset | entity rows | test MRR | Hits@1 | Hits@10 | best epoch | seconds |\n|---|---|---:|---:|---:|---:|---:|")
    for dataset in args.datasets.split(","):
        for row in args.rows.split(","):
            result = run_row(dataset, args.model, row, args.settings, args.config)
            print(f"| {dataset} | {row} | {result['mrr']:.4f} | {result['hits@1']:.4f} | {result['hits@10']:.4f} "
                  f"| {result['best_epoch']} | {result['wall_s']:.0f} |", flush=True)
            if args.output:
                with open(args.output, "a") as out:
                    out.write(json.dumps({**result, "settings": args.settings}) + "\n")


if __name__ == "__main__":
    main()
