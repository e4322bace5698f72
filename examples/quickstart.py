"""Train RotatE on Nations (offline), read its metrics, ask it for answers, load it again.

    python examples/quickstart.py
"""

import kgtool

run = kgtool.fit({"model": {"name": "rotate", "dim": 32},
                  "data": {"dataset": "nations"},
                  "training": {"epochs": 10, "eval_every": 5, "num_negatives": 16}},
                 output="runs/quickstart")
print("test MRR", round(run.metrics["test"]["mrr"], 4), "Hits@10", round(run.metrics["test"]["hits@10"], 4))
for answer in run.predict_tails("usa", "embassy", top=3):
    print(answer)

again = kgtool.load("runs/quickstart")
assert again.metrics == run.metrics
