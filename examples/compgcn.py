"""CompGCN entity representations under ComplEx, against the plain table, on UMLS (offline).

    python examples/compgcn.py
"""

import kgtool

base = {"model": {"name": "complex", "dim": 32}, "data": {"dataset": "umls"},
        "training": {"scoring": "1vsall", "loss": "ce", "reciprocal": True, "epochs": 6, "eval_every": 3,
                     "lr": 0.01}}
table = kgtool.fit(base, output="runs/umls-table")
compgcn = kgtool.fit({**base, "relational": {"encoder": "compgcn", "layers": 1, "width": 32, "composition": "sub"}},
                     output="runs/umls-compgcn")
for name, run in (("table", table), ("CompGCN", compgcn)):
    print(f"{name:8s} test MRR {run.metrics['test']['mrr']:.4f}")

# every scoring path reads the GNN's entity rows; the loaded run is in eval mode and ranks the same
again = kgtool.load("runs/umls-compgcn")
assert abs(again.evaluate("test")["mrr"] - compgcn.metrics["test"]["mrr"]) < 1e-6
