"""Data-parallel training, 1 process against 2: ``torchrun --nproc-per-node N -m kgtool fit``.

Every case trains the same model with the same global batch; the table shows positive
triples (or nodes) per second in training, the wall clock of the whole job and the test
metric. On this 2-core machine the fair comparison is 1 process x 2 threads against
2 processes x 1 thread (one core each).

    python benchmarks/distributed.py                      # UMLS RotatE and TransE (offline)
    python benchmarks/distributed.py --dataset fb15k237 --data-dir DIR --epochs 1
    python benchmarks/distributed.py --device cuda        # GPU machine: NCCL, dense gradients
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import add_data_dir, machine_facts, parse

CASES = {
    "rotate": ["--model", "rotate", "--set", "model.dim=256", "--set", "training.num_negatives=64",
               "--batch-size", "1024", "--set", "training.sparse=true"],
    "transe": ["--model", "transe", "--set", "model.dim=256", "--set", "training.num_negatives=64",
               "--batch-size", "1024", "--set", "training.sparse=true"],
}
LAYOUTS = [(1, 1), (1, 2), (2, 1)]  # (processes, threads per process)


def run_job(case: list[str], processes: int, threads: int, args) -> dict:
    """One ``torchrun`` job; its log and metrics, and its wall clock."""
    output = Path(tempfile.mkdtemp(prefix="kgtool-ddp-")) / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               "-m", "kgtool", "fit", *case, "--dataset", args.dataset, "--epochs", str(args.epochs),
               "--no-progress", "--output", str(output), "--set", f"training.device={args.device}",
               "--set", f"training.eval_every={args.epochs}"]
    if args.data_dir:
        command += ["--data-dir", args.data_dir]
    if args.device == "cuda":
        command += ["--set", "training.sparse=false"]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    wall = time.perf_counter() - started
    epochs = [json.loads(line) for line in (output / "log.jsonl").read_text().splitlines()]
    test = json.loads((output / "metrics.json").read_text())["test"]
    return {"examples_per_second": sum(e["examples_per_second"] for e in epochs) / len(epochs), "wall": wall,
            "mrr": test.get("mrr", test.get("accuracy"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="umls")
    add_data_dir(parser)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--device", default="cpu")
    args = parse(parser)
    layouts = [(p, 1) for p in (1, 2)] if args.device == "cuda" else LAYOUTS
    print(machine_facts())
    print(f"# {args.dataset}, {args.epochs} epochs, device {args.device}; global batch equal in every layout")
    print("| case | processes x threads | train triples/s | speed-up | job wall s | test MRR |")
    print("|---|---|---:|---:|---:|---:|")
    for name in args.cases:
        baseline = None
        for processes, threads in layouts:
            result = run_job(CASES[name], processes, threads, args)
            baseline = baseline or result["examples_per_second"]
            print(f"| {name} | {processes} x {threads} | {result['examples_per_second']:,.0f} | "
                  f"{result['examples_per_second'] / baseline:.2f}x | {result['wall']:.1f} | {result['mrr']:.3f} |",
                  flush=True)


if __name__ == "__main__":
    main()
