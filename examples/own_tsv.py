"""Your own triples: one TSV file, split into train/valid/test, trained, and queried by label.

    python examples/own_tsv.py
"""

import random
from pathlib import Path

import kgtool
from kgtool.data import load_folder
from kgtool.data.splitting import split_file

random.seed(0)
cities = [f"city_{i}" for i in range(8)]
with open("family.tsv", "w", encoding="utf-8") as out:
    out.write("head\trelation\ttail\n")  # a header line is skipped with a warning
    for i in range(60):
        person, parent = f"person_{i}", f"person_{i // 2}"
        if i:
            out.write(f"{parent}\tparent_of\t{person}\n")
            out.write(f"{person}\tchild_of\t{parent}\n")
        out.write(f"{person}\tlives_in\t{random.choice(cities)}\n")

# the same as `kgtool split family.tsv --ratios 0.8,0.1,0.1 --seed 0 --output data/family`
split_file("family.tsv", "data/family", (0.8, 0.1, 0.1), seed=0)
dataset = load_folder("data/family")
print(dataset.describe())

run = kgtool.fit({"model": {"name": "complex", "dim": 32},
                  "training": {"scoring": "1vsall", "loss": "ce", "reciprocal": True, "epochs": 20, "eval_every": 5}},
                 dataset="data/family", output="runs/family")
print("test MRR", round(run.metrics["test"]["mrr"], 4))
print(run.predict_heads("child_of", "person_3", top=3))
assert Path("runs/family/metrics.json").is_file()
