"""A small hyperparameter search with Optuna (pip install "kgtool-ml[search]"), then the winner again.

    python examples/search.py
"""

from pathlib import Path

import kgtool

Path("space.yaml").write_text("""\
training.lr: {type: float, low: 1e-3, high: 1e-1, log: true}
model.dim: {choices: [16, 32]}
training.epochs: 6
training.eval_every: 3
""")
result = kgtool.search("distmult", "nations", space="space.yaml", trials=4, output="runs/search", seed=0)
print("best trial", result.best["params"], "valid MRR", round(result.best["valid"]["mrr"], 4))
print((result.path / "trials.tsv").read_text())

winner = kgtool.fit(str(result.path / "best.yaml"), output="runs/search-winner")
print("retrained winner, test MRR", round(winner.metrics["test"]["mrr"], 4))
