"""Transductive ablation of relational encoders: the same KGE score function and training budget
with entities from a table, through LTE (the stack without messages), R-GCN and CompGCN.

Every row of a dataset trains ``configs/<dataset>/<model>.yaml`` with the same ``--set``
overrides (epochs, optimizer, ...); only ``relational.*`` differs between rows:

    python benchmarks/relational_ablation.py                                   # UMLS, Kinships
    python benchmarks/relational_ablation.py --datasets umls --set training.epochs=20
    python benchmarks/relational_ablation.py --datasets codex-s --config configs/umls/complex.yaml \
        --data-dir DIR --set training.epochs=20

Test metrics are of the best validated epoch (realistic ranks, filtered).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _harness import REPO, add_data_dir, add_settings, add_threads, machine_facts, parse, timed

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
        wall, run = timed(lambda: kgtool.fit(config, output=Path(folder) / "run"))
    test = run.metrics["test"]
    return {"dataset": dataset, "model": model, "row": row, "mrr": test["mrr"], "hits@1": test["hits@1"],
            "hits@10": test["hits@10"], "best_epoch": run.metrics.get("best_epoch"), "wall_s": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="umls,kinships")
    parser.add_argument("--model", default="complex")
    parser.add_argument("--config", help="config file of every dataset (default: configs/<dataset>/<model>.yaml)")
    add_data_dir(parser)
    parser.add_argument("--rows", default=",".join(ROWS))
    add_settings(parser, help="override of every row, e.g. training.epochs=20 (repeatable)")
    add_threads(parser)
    parser.add_argument("--output", help="also write the rows as JSON lines here")
    args = parse(parser)
    print(machine_facts())
    settings = args.settings + ([f"data.data_dir={args.data_dir}"] if args.data_dir else [])
    print(f"settings of every row: {' '.join(settings) or '(the config files)'}")
    print("| dataset | entity rows | test MRR | Hits@1 | Hits@10 | best epoch | seconds |\n|---|---|---:|---:|---:|---:|---:|")
    for dataset in args.datasets.split(","):
        for row in args.rows.split(","):
            result = run_row(dataset, args.model, row, settings, args.config)
            print(f"| {dataset} | {row} | {result['mrr']:.4f} | {result['hits@1']:.4f} | {result['hits@10']:.4f} "
                  f"| {result['best_epoch']} | {result['wall_s']:.0f} |", flush=True)
            if args.output:
                with open(args.output, "a") as out:
                    out.write(json.dumps({**result, "settings": args.settings}) + "\n")


if __name__ == "__main__":
    main()
