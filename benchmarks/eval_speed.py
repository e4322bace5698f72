"""Filtered evaluation speed: kgtool against pykeen's RankBasedEvaluator, and the matmul limit.

Both rank every test triple on both sides against all entities, filtered by train + valid +
test, with a freshly initialised model of the same kind and size (ranking cost does not depend
on training). For DistMult the two libraries get the same embeddings, so their MRRs must agree,
which checks that both computed the same thing. The matmul limit is one plain
``(2·n_test, dim) @ (dim, num_entities)`` product: the floor for a bilinear model's scoring.

    python benchmarks/eval_speed.py --dataset fb15k237 --data-dir ../shared/data
    python benchmarks/eval_speed.py --dataset fb15k237 --data-dir ../shared/data --max-test 2000   # all models in minutes
"""

from __future__ import annotations

import argparse
import time

import torch

from machine import machine_facts

CASES = {"distmult": 256, "complex": 256, "transe": 500, "rotate": 500}
PYKEEN_MODELS = {"distmult": "DistMult", "complex": "ComplEx", "transe": "TransE", "rotate": "RotatE"}


def timed(compute) -> tuple[float, object]:
    started = time.perf_counter()
    result = compute()
    return time.perf_counter() - started, result


def kgtool_model(name: str, dim: int, dataset):
    from kgtool.config import ModelConfig
    from kgtool.kge.model import KGEModel

    return KGEModel(ModelConfig(name=name, dim=dim), dataset.num_entities, dataset.num_relations).eval()


def pykeen_model(name: str, dim: int, dataset, kgtool_twin):
    """pykeen's model of the same kind; DistMult gets kgtool's embeddings."""
    import pykeen.models
    from pykeen.triples import TriplesFactory

    factory = TriplesFactory(mapped_triples=dataset.train, entity_to_id={e: i for i, e in enumerate(dataset.entities)},
                             relation_to_id={r: i for i, r in enumerate(dataset.relations)})
    kwargs = {"scoring_fct_norm": 1} if name == "transe" else {}
    model = getattr(pykeen.models, PYKEEN_MODELS[name])(triples_factory=factory, embedding_dim=dim, **kwargs)
    if name == "distmult":
        with torch.no_grad():
            model.entity_representations[0]._embeddings.weight.copy_(kgtool_twin.entity_embeddings.weight)
            model.relation_representations[0]._embeddings.weight.copy_(kgtool_twin.relation_embeddings.weight)
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fb15k237")
    parser.add_argument("--data-dir")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--memory-budget-mb", type=int, default=512)
    parser.add_argument("--max-test", type=int, help="rank this many test triples (a fixed random subset; the filter keeps all)")
    args = parser.parse_args()

    from pykeen.evaluation import RankBasedEvaluator

    from kgtool.data import load_kg
    from kgtool.evaluation.ranking import evaluate_link_prediction

    torch.manual_seed(0)
    dataset = load_kg(args.dataset, args.data_dir)
    known = dataset.all_triples()
    test = dataset.test
    if args.max_test:
        test = test[torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:args.max_test]]
    print(machine_facts())
    print(f"# {dataset.name}: {len(test):,} test triples x 2 sides x {dataset.num_entities:,} entities")
    print("| model | dim | kgtool s | pykeen s | speed-up | matmul limit s | kgtool / limit | MRR kgtool | MRR pykeen |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.cases:
        dim = CASES[name]
        model = kgtool_model(name, dim, dataset)
        ours, metrics = timed(lambda: evaluate_link_prediction(model, test, known, args.memory_budget_mb))
        theirs_model = pykeen_model(name, dim, dataset, model)
        evaluator = RankBasedEvaluator(filtered=True)
        theirs, results = timed(lambda: evaluator.evaluate(theirs_model, test, use_tqdm=False,
                                                           additional_filter_triples=[known]))
        a, b = torch.randn(2 * len(test), dim), torch.randn(dim, dataset.num_entities)
        limit, _ = timed(lambda: a @ b)
        print(f"| {name} | {dim} | {ours:.2f} | {theirs:.2f} | {theirs / ours:.1f}x | {limit:.2f} | {ours / limit:.1f}x | "
              f"{metrics['mrr']:.4f} | {results.get_metric('both.realistic.inverse_harmonic_mean_rank'):.4f} |", flush=True)


if __name__ == "__main__":
    main()
