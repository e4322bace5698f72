"""Time to quality: wall-clock seconds until a kgtool model's test MRR first reaches each target.

A user feels the time to a good model, not triples per second. Each row trains ``--config`` (a
run config; ``--set`` overrides) with the test split ranked in place of the validation split
after every ``training.eval_every`` epochs (monitoring only: early stopping is off, and the
numbers reported are the first crossings, not a selected best). It prints, per target MRR, the
training seconds summed over the epochs up to the crossing and the wall-clock seconds including
the rankings in between.

    OMP_NUM_THREADS=2 python benchmarks/time_to_quality.py --data-dir ../shared/data \\
        --config configs/fb15k237/complex-fast.yaml --targets 0.25,0.30
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import machine_facts, peak_rss_mb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import kgtool
from kgtool.config import Config
from kgtool.data.registry import load_kg


def crossings(log: list[dict], walls: list[tuple[int, float]], targets: list[float]) -> dict:
    """``{target: (epoch, training seconds, wall seconds)}`` of the first validation at or above it."""
    found = {}
    wall_at = dict(walls)
    for record in log:
        mrr = record.get("valid", {}).get("mrr")
        for target in targets:
            if mrr is not None and mrr >= target and target not in found:
                seconds = sum(r["seconds"] for r in log if r["epoch"] <= record["epoch"])
                found[target] = (record["epoch"], seconds, wall_at[record["epoch"]])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--targets", default="0.25,0.30")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    targets = [float(x) for x in args.targets.split(",")]
    config = Config.load(args.config).override(args.settings + ["training.progress=false", "training.patience=0"])
    dataset = load_kg(config.data.dataset, args.data_dir or config.data.data_dir)
    monitored = dataclasses.replace(dataset, splits={**dataset.splits, "valid": dataset.test})
    print(machine_facts())
    print(f"config: {args.config} {' '.join(args.settings)}")
    walls = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        run = kgtool.fit(config, output=Path(folder) / "run", dataset=monitored, test=False,
                         on_validation=lambda epoch, value: walls.append((epoch, time.perf_counter() - started)))
        log = [json.loads(line) for line in (Path(folder) / "run" / "log.jsonl").read_text().splitlines()]
    print("| epoch | test MRR | training s (sum) | wall s |\n|---:|---:|---:|---:|")
    for record in log:
        if "valid" in record:
            seconds = sum(r["seconds"] for r in log if r["epoch"] <= record["epoch"])
            print(f"| {record['epoch']} | {record['valid']['mrr']:.4f} | {seconds:.0f} | {dict(walls)[record['epoch']]:.0f} |")
    found = crossings(log, walls, targets)
    print("\n| target test MRR | epoch | training s | wall s |\n|---:|---:|---:|---:|")
    for target in targets:
        epoch, seconds, wall = found.get(target, ("not reached", float("nan"), float("nan")))
        print(f"| {target:.2f} | {epoch} | {seconds:.0f} | {wall:.0f} |")
    print(f"peak RSS {peak_rss_mb():,.0f} MB; {run.metrics.get('best_epoch')} best epoch")


if __name__ == "__main__":
    main()
