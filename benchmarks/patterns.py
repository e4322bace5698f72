"""Which KGE model learns which relation pattern: test MRR per planted pattern on a synthetic KG.

Writes (seeded, in code) a graph of 494 entities with known patterns; a held-out triple's evidence
stays in train:

- symmetry: ``similar_to`` among persons, both directions; a test triple's reverse is in train;
- inversion: ``parent_of`` / ``child_of``, each pair in both; a test triple's inverse is in train;
- composition: ``born_in ∘ located_in ⇒ nationality`` (person → city → country), true on every
  body path; a test ``nationality`` triple has its path in train;
- antisymmetry (hierarchy): ``part_of``, the transitive closure of a four-level tree of units;
  the parent links stay in train, a held-out triple links a unit to a farther ancestor (so a
  symmetric model, scoring ``(u, part_of, d)`` as the training triple ``(d, part_of, u)``,
  ranks u's descendants among the answers);
- 1-N: ``has_member`` from a group to the persons born in its two cities.

Checks that :func:`kgtool.data.patterns.dataset_patterns` (what ``kgtool analyze`` prints) finds
the planted patterns, then trains TransE, DistMult, ComplEx and RotatE with one budget (the
RotatE recipe: self-adversarial negatives, Adam) and prints test MRR (filtered, both sides) per
planted pattern, and the same for UMLS with its tuned configs when ``--umls`` is given:

    OMP_NUM_THREADS=1 python benchmarks/patterns.py [--epochs 400] [--umls]
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time

import torch

from _harness import REPO, add_threads, machine_facts, parse

import kgtool
from kgtool.data.kg import KGDataset
from kgtool.data.patterns import dataset_patterns
from kgtool.evaluation.ranking import group_metrics, link_prediction_ranks

MODELS = ("transe", "distmult", "complex", "rotate")
PERSONS, CITIES, COUNTRIES, GROUPS = 300, 40, 10, 20
UNITS = (4, 12, 36, 72)  # the tree of part_of, per level
PAIRS = 300  # similar_to pairs and parent_of pairs
TEST_SHARE = 0.3
GROUPS_OF_RELATIONS = {"symmetry": ["similar_to"], "inversion": ["parent_of", "child_of"],
                       "composition": ["nationality"], "antisymmetry": ["part_of"], "1-N": ["has_member"]}


def random_pairs(rng: random.Random, names: list[str], count: int) -> list[tuple[str, str]]:
    """``count`` distinct pairs ``(a, b)``, ``a`` before ``b`` in ``names``."""
    pairs = set()
    while len(pairs) < count:
        a, b = sorted(rng.sample(range(len(names)), 2))
        pairs.add((names[a], names[b]))
    return sorted(pairs)


def synthetic_kg(seed: int = 0) -> KGDataset:
    """The planted graph; each held-out triple's evidence (reverse, inverse, body path) stays in train."""
    rng = random.Random(seed)
    persons = [f"person{i}" for i in range(PERSONS)]
    cities = [f"city{i}" for i in range(CITIES)]
    countries = [f"country{i}" for i in range(COUNTRIES)]
    groups = [f"group{i}" for i in range(GROUPS)]
    levels = [[f"unit{level}_{i}" for i in range(n)] for level, n in enumerate(UNITS)]
    train, held_out = [], []

    def add(pair_triples: list[tuple]) -> None:
        """Triples of one fact: the first may go to valid/test, the rest stay in train."""
        if rng.random() < TEST_SHARE:
            held_out.append(pair_triples[0])
            train.extend(pair_triples[1:])
        else:
            train.extend(pair_triples)

    for a, b in random_pairs(rng, persons, PAIRS):
        add(rng.sample([(a, "similar_to", b), (b, "similar_to", a)], 2))
    for a, b in random_pairs(rng, persons, PAIRS):
        add(rng.sample([(a, "parent_of", b), (b, "child_of", a)], 2))
    country_of = {city: rng.choice(countries) for city in cities}
    train.extend((city, "located_in", country) for city, country in country_of.items())
    for person in persons:
        city = rng.choice(cities)
        train.append((person, "born_in", city))
        add([(person, "nationality", country_of[city])])
        add([(groups[cities.index(city) // 2], "has_member", person)])
    parent = {unit: rng.choice(upper) for upper, lower in itertools.pairwise(levels) for unit in lower}
    for unit, above in parent.items():
        train.append((unit, "part_of", above))
        while above in parent:  # transitive: each farther ancestor follows from the chain in train
            above = parent[above]
            add([(unit, "part_of", above)])
    rng.shuffle(held_out)
    valid, test = held_out[: len(held_out) // 3], held_out[len(held_out) // 3:]
    entities = persons + cities + countries + groups + [u for level in levels for u in level]
    relations = sorted({r for _, r, _ in train})
    e_id, r_id = {e: i for i, e in enumerate(entities)}, {r: i for i, r in enumerate(relations)}
    ids = lambda triples: torch.tensor([[e_id[h], r_id[r], e_id[t]] for h, r, t in triples], dtype=torch.long)
    return KGDataset("patterns", entities, relations, {"train": ids(train), "valid": ids(valid), "test": ids(test)})


def check_planted(dataset: KGDataset) -> None:
    """Prints what the pattern analysis finds for the planted relations; stops when one is missed."""
    report = dataset_patterns(dataset)
    rows = report["relations"]
    for name, row in rows.items():
        inverses = ", ".join(f"{i['relation']} {i['confidence']:.2f}" for i in row["inverses"]) or "-"
        print(f"  {name:12s} {row['category']:4s} symmetry {row['symmetry']:.2f} inverses: {inverses}")
    rules = [f"{' ∘ '.join(r['body'])} ⇒ {r['head']} (support {r['support']}, confidence {r['confidence']:.2f})"
             for r in report["compositions"]]
    print("  rules: " + "; ".join(rules))
    found = {
        "symmetry": rows["similar_to"]["symmetry"] == 1.0,
        "inversion": any(i["relation"] == "child_of" and i["confidence"] == 1.0 for i in rows["parent_of"]["inverses"]),
        "composition": any(r["body"] == ["born_in", "located_in"] and r["head"] == "nationality" and r["confidence"] == 1.0
                           for r in report["compositions"]),
        "antisymmetry": rows["part_of"]["antisymmetry"] == 1.0,
        "N-1": rows["nationality"]["category"] == "N-1",
        "1-N": rows["has_member"]["category"] == "1-N",
    }
    print("  planted patterns found: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in found.items()))
    if not all(found.values()):
        raise SystemExit("the analysis missed a planted pattern")


def pattern_mrr(run, groups: dict[str, list[str]]) -> dict[str, float]:
    """Test MRR (filtered, both sides) per named group of relations, and ``all``."""
    dataset = run.dataset
    test = dataset.splits["test"]
    head, tail = link_prediction_ranks(run.model, test, dataset.all_triples())
    index = {name: i for i, name in enumerate(dataset.relations)}
    named = {g: [index[r] for r in members] for g, members in groups.items()}
    named["all"] = list(range(dataset.num_relations))
    return {g: m["mrr"] for g, m in group_metrics(head, tail, test[:, 1].cpu(), named).items()}


def synthetic_config(model: str, epochs: int) -> dict:
    return {"model": {"name": model, "dim": 32, "margin": 6.0},
            "training": {"epochs": epochs, "batch_size": 256, "lr": 0.01, "num_negatives": 64, "eval_every": epochs,
                         "patience": 0, "progress": False},
            "evaluation": {"per_relation": False}}


def umls_groups(dataset: KGDataset) -> dict[str, list[str]]:
    """UMLS relations by measured pattern (default thresholds), as ``kgtool analyze RUN`` groups them."""
    report = dataset_patterns(dataset)
    rows = report["relations"]
    return {"symmetry": [n for n, r in rows.items() if (r["symmetry"] or 0) >= 0.5],
            "inversion": [n for n, r in rows.items() if r["inverses"]],
            "composition": sorted({r["head"] for r in report["compositions"]}),
            "antisymmetry": [n for n, r in rows.items() if (r["antisymmetry"] or 0) >= 0.5]}


def table(title: str, results: dict[str, dict[str, float]], seconds: dict[str, float]) -> None:
    columns = list(next(iter(results.values())))
    print(f"\n{title}\n| model | " + " | ".join(columns) + " | seconds |\n|---|" + "---|" * (len(columns) + 1))
    for model, row in results.items():
        print(f"| {model} | " + " | ".join(f"{row[c]:.3f}" for c in columns) + f" | {seconds[model]:.0f} |")


def train_all(configs: dict[str, object], dataset, groups: dict[str, list[str]]) -> tuple[dict, dict]:
    results, seconds = {}, {}
    for model, config in configs.items():
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run = kgtool.fit(config, output=tmp, dataset=dataset, test=False)
            seconds[model] = time.perf_counter() - start
            results[model] = pattern_mrr(run, groups)
        print(f"  {model}: {seconds[model]:.0f} s", flush=True)
    return results, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--umls", action="store_true", help="also UMLS with configs/umls/MODEL.yaml")
    add_threads(parser, default=None)
    args = parse(parser)
    print(machine_facts())
    dataset = synthetic_kg()
    print(f"synthetic: {dataset.num_entities} entities, {dataset.num_relations} relations, "
          f"{len(dataset.train)}/{len(dataset.valid)}/{len(dataset.test)} train/valid/test triples")
    check_planted(dataset)
    models = args.models.split(",")
    results = train_all({m: synthetic_config(m, args.epochs) for m in models}, dataset, GROUPS_OF_RELATIONS)
    table(f"synthetic, test MRR per planted pattern (dim 32, {args.epochs} epochs, 64 negatives, nssa, Adam 0.01)",
          *results)
    if args.umls:
        from kgtool.config import Config

        configs = {m: Config.load(REPO / f"configs/umls/{m}.yaml").override(["training.progress=false"]) for m in models}
        umls = kgtool.run.build_task(next(iter(configs.values()))).dataset
        results = train_all(configs, umls, umls_groups(umls))
        table("UMLS, test MRR per measured pattern (configs/umls/MODEL.yaml)", *results)


if __name__ == "__main__":
    main()
