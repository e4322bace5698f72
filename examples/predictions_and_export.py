"""From a trained run to answers: new links, scored triples, embeddings on disk, a DataFrame.

    python examples/predictions_and_export.py
"""

import numpy as np

import kgtool
from kgtool import Query

run = kgtool.fit({"model": {"name": "distmult", "dim": 32}, "data": {"dataset": "nations"},
                  "training": {"epochs": 10, "eval_every": 5}}, output="runs/answers")

# new links only: answers that are not already in train, valid or test
for answers in run.predict([Query("usa", "embassy", None), Query(None, "embassy", "uk")], top=3, filter_known=True):
    for answer in answers:
        print(answer.head, answer.relation, answer.tail, round(answer.score, 3))
print(run.score_triples([("usa", "embassy", "uk"), ("uk", "embassy", "usa")]))

files = run.export("runs/answers/embeddings", "npy")  # entity/relation rows as float32 .npy, labels as .tsv
print([path.name for path in files])
rows, labels = run.entity_embeddings()
saved = np.load(next(path for path in files if path.name == "entity_embeddings.npy"))
assert np.allclose(saved, rows.numpy()) and len(labels) == len(saved)

try:
    print(run.predict_tails("usa", "embassy", top=3, as_frame=True))  # needs pandas
except ImportError:
    pass
