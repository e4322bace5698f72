"""Semi-inductive link prediction: can a model rank entities that are new at test time and
arrive with a few known triples?

``kgtool.data.inductive.semi_inductive_split`` holds out 10% of the entities (seed 0, half for
valid, half for test); each keeps ``--support`` of its triples with seen entities as *support*:
never trained on, known at inference (the relational encoder passes messages over them; ranking
filters them). Valid and test hold the original valid/test triples between seen entities
(``seen`` queries) and the other triples of held-out entities (``unseen`` queries), ranked
against all entities, filtered. The split is written once to ``--split-dir`` and read back.

Every row trains ``--config`` with the same ``--set`` overrides; only ``relational.*`` differs:

- ``table``: the score function's own entity table. Held-out rows are never trained by a
  positive, only pushed down as negatives (their ids exist during training);
- ``table, new rows zero``: the same trained model with the held-out rows set to zero before
  testing, as for entities that truly arrive after training: it cannot place them;
- ``compgcn``: CompGCN over the training triples (plus the support triples at inference), whose
  held-out entities start from a zero row and are represented by their neighbours.

    OMP_NUM_THREADS=2 python benchmarks/semi_inductive.py --dataset codex-m --data-dir DIR
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from _harness import REPO, add_data_dir, add_settings, add_threads, machine_facts, parse, timed

import kgtool
from kgtool.config import Config
from kgtool.data.inductive import saved_inductive_split
from kgtool.data.registry import load_kg

ROWS = {"table": ["relational.encoder=none"], "compgcn": ["relational.encoder=compgcn"], "rgcn": ["relational.encoder=rgcn"],
        "lte": ["relational.encoder=lte"]}


def summary(row: str, test: dict, best_epoch, wall: float) -> dict:
    return {"row": row, "mrr": test["mrr"], "seen": test["seen_entities"]["mrr"],
            "unseen": test["unseen_entities"]["mrr"], "unseen_hits@10": test["unseen_entities"]["hits@10"],
            "best_epoch": best_epoch, "wall_s": round(wall, 1)}


def run_row(dataset, config_file: str, row: str, settings: list[str]) -> list[dict]:
    """The row's test summary; for ``table`` also that of its model with the held-out rows at zero."""
    config = Config.load(config_file).override(settings + ROWS[row] + ["training.progress=false"])
    with tempfile.TemporaryDirectory() as folder:
        wall, run = timed(lambda: kgtool.fit(config, output=Path(folder) / "run", dataset=dataset))
        results = [summary(row, run.metrics["test"], run.metrics.get("best_epoch"), wall)]
        if row == "table":
            held_out = ~dataset.trained_entities()
            with torch.no_grad():
                run.model.entity_embeddings.weight[held_out] = 0
            results.append(summary("table, new rows zero", run.evaluate("test"), results[0]["best_epoch"], wall))
    return results


def print_row(result: dict, args: argparse.Namespace) -> None:
    print(f"| {result['row']} | {result['mrr']:.4f} | {result['seen']:.4f} | {result['unseen']:.4f} "
          f"| {result['unseen_hits@10']:.4f} | {result['unseen'] / result['seen']:.2f} "
          f"| {result['best_epoch']} | {result['wall_s']:.0f} |", flush=True)
    if args.output:
        with open(args.output, "a") as out:
            out.write(json.dumps({**result, "dataset": args.dataset, "support": args.support,
                                  "settings": args.settings}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="codex-m")
    add_data_dir(parser)
    parser.add_argument("--split-dir", help="folder of the saved split (default: a temporary one)")
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--support", type=int, default=3)
    parser.add_argument("--config", default=str(REPO / "configs" / "codex-m" / "complex-compgcn-inductive.yaml"))
    parser.add_argument("--rows", default="table,compgcn")
    add_settings(parser, help="override of every row, e.g. training.epochs=20 (repeatable)")
    add_threads(parser, default=2)
    parser.add_argument("--output", help="also write the rows as JSON lines here")
    args = parse(parser)
    print(machine_facts())
    split_dir = args.split_dir or tempfile.mkdtemp(prefix="semi-inductive-")
    dataset = saved_inductive_split(load_kg(args.dataset, args.data_dir), split_dir, args.fraction,
                                    support=args.support)
    print(dataset.describe())
    print(f"config: {args.config}; settings of every row: {' '.join(args.settings) or '(none)'}")
    print("| entity rows | test MRR | seen MRR | unseen MRR | unseen Hits@10 | unseen / seen | best epoch | seconds |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in args.rows.split(","):
        for result in run_row(dataset, args.config, row, args.settings):
            print_row(result, args)


if __name__ == "__main__":
    main()
