"""Seconds of the answer commands (export, predict, evaluate --triples, analyze) on FB15k-237.

Trains a small DistMult (dim 64, 3 epochs of 32 negatives per triple, Adam 0.01) into a temporary
run folder, then times each command as a fresh process (so each time includes starting python,
reading FB15k-237 again and loading the run):

    OMP_NUM_THREADS=1 python benchmarks/answers_speed.py --data-dir DIR
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import add_data_dir, machine_facts, parse, timed

QUERIES = 1000


def kgtool_seconds(args: list[str]) -> float:
    """Seconds of ``python -m kgtool ARGS``; a failure stops the benchmark."""
    return timed(lambda: subprocess.run([sys.executable, "-m", "kgtool", *args], check=True,
                                        stdout=subprocess.DEVNULL))[0]


def write_queries(test_file: Path, out: Path, count: int) -> None:
    """The first ``count`` test triples as tail queries ``head<TAB>relation<TAB>?``."""
    lines = test_file.read_text().splitlines()[:count]
    out.write_text("".join("\t".join(line.split("\t")[:2] + ["?"]) + "\n" for line in lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_dir(parser, required=True)
    args = parse(parser)
    test_file = Path(args.data_dir) / "FB15k-237" / "test.txt"
    print(machine_facts())
    with tempfile.TemporaryDirectory() as tmp:
        run, queries = f"{tmp}/run", Path(tmp) / "queries.tsv"
        write_queries(test_file, queries, QUERIES)
        first = test_file.read_text().splitlines()[0].split("\t")
        commands = [
            ["fit", "--model", "distmult", "--dataset", "fb15k237", "--data-dir", args.data_dir, "--epochs", "3",
             "--set", "model.dim=64", "--set", "training.num_negatives=32", "--set", "training.batch_size=2048",
             "--set", "training.lr=0.01", "--output", run, "--no-progress"],
            ["export", run, "--format", "tsv"],
            ["export", run, "--format", "npy", "--output", f"{tmp}/npy"],
            ["predict", run, "--head", first[0], "--relation", first[1], "--top", "10"],
            ["predict", run, "--queries", str(queries), "--filter", "--format", "tsv"],
            ["evaluate", run, "--triples", str(test_file)],
            ["analyze", "fb15k237", "--data-dir", args.data_dir],
        ]
        print("| command | seconds |\n|---|---|")
        for command in commands:
            seconds = kgtool_seconds(command)
            shown = " ".join(c.replace(tmp + "/", "") for c in command)
            print(f"| `kgtool {shown}` | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
