"""Filtered evaluation speed: kgtool against pykeen's RankBasedEvaluator, and the machine's limit.

Both rank every test triple on both sides against all entities, filtered by train + valid +
test, with a freshly initialised model of the same kind and size (ranking cost does not depend
on training). For DistMult the two libraries get the same embeddings, so their MRRs must agree,
which checks that both computed the same thing.

kgtool is timed twice in a row: the first run includes compiling the fused distance kernels of
TransE and RotatE (``kgtool.kge.fused``; inductor's on-disk cache makes later processes
faster), the second is the steady state. "plain" is kgtool with the fused kernels off (the eager,
chunked path), timed in the same process between the two.

The bound of a case is the larger of its compute time at the machine's measured matmul rate
(``FLOPS_PER_ELEMENT`` flops per (query, entity, dimension)) and the time to stream its table
and score matrix at the measured memory bandwidth (a copy of 512 MiB); "of bound" is that bound
divided by kgtool's steady time: 100% would be matmul speed for every flop.

    python benchmarks/eval_speed.py --dataset fb15k237 --data-dir DIR --max-test 500
    python benchmarks/eval_speed.py --dataset fb15k237 --data-dir DIR --max-test 2000 --cases distmult complex
    python benchmarks/eval_speed.py --kernel-limits   # what bounds the fused kernels, in ns per element
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager

import torch

from _harness import add_data_dir, add_threads, best_of, machine_facts, matmul_rate, memory_bandwidth, parse, timed

CASES = {"distmult": 256, "complex": 256, "transe": 500, "rotate": 500}
# Flops per (query, entity, dim) of scoring: a multiply-add per real number; ComplEx's dim
# complex numbers are 2·dim reals; TransE L1: subtract, absolute value, add; RotatE per complex
# number: two subtractions, two squares, an addition, a square root, the sum's addition.
FLOPS_PER_ELEMENT = {"distmult": 2, "complex": 4, "transe": 3, "rotate": 7}
PYKEEN_MODELS = {"distmult": "DistMult", "complex": "ComplEx", "transe": "TransE", "rotate": "RotatE"}


def bound_seconds(name: str, dim: int, num_queries: int, num_entities: int, rate: float, bandwidth: float) -> float:
    """The least time scoring could take: flops at the matmul rate or the table read and the
    score matrix written once at the memory bandwidth, whichever is longer."""
    flops = FLOPS_PER_ELEMENT[name] * num_queries * num_entities * dim
    width = 2 * dim if name in ("complex", "rotate") else dim
    traffic = 4 * num_entities * (width + num_queries)
    return max(flops / rate, traffic / bandwidth)


@contextmanager
def fused_kernels_off():
    from kgtool.kge import fused

    threshold = fused.FUSED_MIN_ELEMENTS
    fused.FUSED_MIN_ELEMENTS = float("inf")
    try:
        yield
    finally:
        fused.FUSED_MIN_ELEMENTS = threshold


def kernel_limits() -> None:
    """Nanoseconds per (query, entity, dim) of the fused kernels on a (512, 1024, 500) block,
    and of RotatE's kernel without its square root: how much of it the square roots take."""
    from kgtool.kge import fused

    def without_square_root(queries, table):
        real = queries[..., 0, :] - table[..., 0, :]
        imaginary = queries[..., 1, :] - table[..., 1, :]
        return (real * real + imaginary * imaginary).sum(dim=-1)

    queries, table = torch.randn(512, 2, 500), torch.randn(1024, 2, 500)
    kernels = {"RotatE": (fused.planar_complex_distances, queries, table),
               "RotatE without the square root": (without_square_root, queries, table),
               "TransE L1": (fused.lp_distances, queries[:, 0], table[:, 0], 1)}
    with torch.no_grad():
        for label, (kernel, *args) in kernels.items():
            fused.tiled(kernel, *args)  # compiles
            print(f"# fused kernel, {label}: {best_of(lambda: fused.tiled(kernel, *args)) / (512 * 1024 * 500) * 1e9:.3f} ns")


def kgtool_model(name: str, dim: int, dataset):
    from kgtool.kge.interactions import interaction
    from kgtool.kge.model import KGEModel

    return KGEModel(interaction(name=name, dim=dim), dataset.num_entities, dataset.num_relations).eval()


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
    add_data_dir(parser)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--memory-budget-mb", type=int, default=512)
    parser.add_argument("--max-test", type=int, help="rank this many test triples (a fixed random subset; the filter keeps all)")
    parser.add_argument("--kernel-limits", action="store_true", help="time the fused kernels alone, then stop")
    add_threads(parser, default=None)
    args = parse(parser)
    if args.kernel_limits:
        print(machine_facts())
        kernel_limits()
        return

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
    rate, bandwidth = matmul_rate(), memory_bandwidth()
    print(f"# measured: matmul {rate / 1e9:.1f} GFLOP/s, memory copy {bandwidth / 1e9:.1f} GB/s")
    print(f"# {dataset.name}: {len(test):,} test triples x 2 sides x {dataset.num_entities:,} entities")
    print("| model | dim | kgtool s (first, with compiling) | kgtool s | plain s | pykeen s | vs pykeen | bound s | of bound "
          "| MRR kgtool | MRR plain | MRR pykeen |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.cases:
        dim = CASES[name]
        model = kgtool_model(name, dim, dataset)
        evaluate = lambda: evaluate_link_prediction(model, test, known, args.memory_budget_mb)
        first, _ = timed(evaluate)
        with fused_kernels_off():
            plain, plain_metrics = timed(evaluate)
        ours, metrics = timed(evaluate)
        theirs_model = pykeen_model(name, dim, dataset, model)
        evaluator = RankBasedEvaluator(filtered=True)
        theirs, results = timed(lambda: evaluator.evaluate(theirs_model, test, use_tqdm=False,
                                                           additional_filter_triples=[known]))
        bound = bound_seconds(name, dim, 2 * len(test), dataset.num_entities, rate, bandwidth)
        print(f"| {name} | {dim} | {first:.2f} | {ours:.2f} | {plain:.2f} | {theirs:.2f} | {theirs / ours:.1f}x | "
              f"{bound:.2f} | {bound / ours:.0%} | {metrics['mrr']:.4f} | {plain_metrics['mrr']:.4f} | "
              f"{results.get_metric('both.realistic.inverse_harmonic_mean_rank'):.4f} |", flush=True)


if __name__ == "__main__":
    main()
