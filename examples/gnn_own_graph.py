"""A GNN on your own graph: node classification from two CSV files, then link prediction.

    python examples/gnn_own_graph.py
"""

import random
from pathlib import Path

import kgtool

random.seed(0)
folder = Path("data/communities")
folder.mkdir(parents=True, exist_ok=True)
with open(folder / "nodes.csv", "w") as nodes, open(folder / "edges.csv", "w") as edges:
    nodes.write("id,label,f0,f1,f2\n")
    edges.write("source,target\n")
    for i in range(120):
        label = i % 3  # three communities; features hint at them, edges mostly stay inside
        features = [f"{(label == k) + random.gauss(0, 0.8):.3f}" for k in range(3)]
        nodes.write(f"n{i},{label},{','.join(features)}\n")
        for _ in range(4):
            same = random.random() < 0.8
            j = random.choice([k for k in range(120) if (k % 3 == label) == same and k != i])
            edges.write(f"n{i},n{j}\n")

node_run = kgtool.fit({"model": {"name": "gcn"}, "training": {"epochs": 50}}, dataset=str(folder),
                      output="runs/communities-gcn")
print("node classification, test accuracy", node_run.metrics["test"])

link_run = kgtool.fit({"model": {"name": "sage"}, "gnn": {"task": "link"}, "training": {"epochs": 30}},
                      dataset=str(folder), output="runs/communities-link")
print("link prediction, test MRR", round(link_run.metrics["test"]["mrr"], 4))
print(link_run.predict_tails("0", "edge", top=3))  # nodes are named by their index
