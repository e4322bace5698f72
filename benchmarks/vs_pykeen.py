"""kgtool against pykeen's pipeline and TorchKGE with the same hyperparameters, side by side in one run.

Each (case, library, seed) trains in its own process (so peak RSS is its own), alternating
kgtool, pykeen and TorchKGE, and prints: positive training triples per second, seconds of filtered test
evaluation (both sides, all entities), peak RSS, and test MRR / Hits@10 (realistic ranks) after
the same number of epochs. The matmul limit column times a plain ``a @ b`` of the shape that
scoring all entities for all test queries needs.

    python benchmarks/vs_pykeen.py --dataset umls --epochs 20 --seeds 2
    python benchmarks/vs_pykeen.py --dataset fb15k237 --data-dir DIR --epochs 1 --cases rotate,transe
    python benchmarks/vs_pykeen.py --variant fast=training.shared_negatives=true,training.compile=true
    python benchmarks/vs_pykeen.py --dataset fb15k237 --data-dir DIR --max-train 20000 --max-test 500
    python benchmarks/vs_pykeen.py --dataset fb15k237 --data-dir DIR --epochs 1 --max-test 500 --cases complex-kvsall

``--max-train`` / ``--max-test`` keep a fixed random subset of those splits (for both libraries; all
entities stay), so that a CPU measures throughput and evaluation at FB15k-237's size in minutes.

TorchKGE (``pip install torchkge``, in ``kgtool-ml[bench]``) has no RotatE, no NSSA loss and no 1vsAll
training: its rows use the closest setup it offers, printed under each case (``TORCHKGE``). Its
evaluator (filtered by train + valid + test) counts ties against the true entity (pessimistic
ranks); with float scores ties are rare, so its MRR compares with the realistic ones.

``--kgtool-set`` adds overrides to every kgtool row; ``--variant`` adds a kgtool row with its own
overrides (its fast paths), named in the table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time

from _harness import add_data_dir, machine_facts, matmul_rate, memory_bandwidth, parse, peak_rss_mb, timed

CASES = {
    # name: model, dim, scoring, loss, negatives, batch size, lr, margin (γ), temperature (α)
    "rotate": dict(model="rotate", dim=500, scoring="negatives", loss="nssa", negatives=128, batch=1024, lr=1e-3, margin=9.0, temperature=1.0),
    "transe": dict(model="transe", dim=500, scoring="negatives", loss="nssa", negatives=128, batch=1024, lr=1e-3, margin=9.0, temperature=1.0),
    "complex-1vsall": dict(model="complex", dim=256, scoring="1vsall", loss="ce", negatives=0, batch=512, lr=1e-3, margin=0.0, temperature=0.0),
    "complex-kvsall": dict(model="complex", dim=128, scoring="kvsall", loss="ce", negatives=0, batch=1024, lr=1e-3, margin=0.0, temperature=0.0),
    "distmult": dict(model="distmult", dim=256, scoring="negatives", loss="softplus", negatives=64, batch=1024, lr=1e-3, margin=0.0, temperature=0.0),
}
PYKEEN_MODELS = {"rotate": "RotatE", "transe": "TransE", "complex": "ComplEx", "distmult": "DistMult"}
TORCHKGE = {
    # case: TorchKGE's closest loss and negatives per positive, and what differs from the case
    "transe": dict(loss="margin", negatives=128, note="MarginLoss (γ=9) instead of NSSA"),
    "distmult": dict(loss="softplus", negatives=64, note="LogisticLoss: softplus summed, not averaged"),
    "complex-1vsall": dict(loss="softplus", negatives=64, note="no 1vsAll in TorchKGE: sampled negatives, LogisticLoss (softplus)"),
}
TORCHKGE_COMMON = ("uniform negatives (entity 0 never drawn), entities renormalised after each epoch, "
                   "TransE/DistMult score unit-norm entities")
TORCHKGE_MISSING = {"rotate": "RotatE is not in TorchKGE",
                    "complex-kvsall": "no KvsAll in TorchKGE; its sampled ComplEx is under complex-1vsall"}
EVAL_MEMORY_MB = 512  # TorchKGE's evaluation batch holds a (batch, entities, dim) candidate tensor of about this size


def benchmark_dataset(args):
    """The dataset both libraries train on, with ``--max-train`` / ``--max-test`` (valid and test)
    subsets drawn by a fixed seed."""
    import dataclasses

    import torch

    from kgtool.data import load_kg

    dataset = load_kg(args.dataset, args.data_dir)
    # kgtool.fit ranks the validation split at the end too: a full one would cost more than the test subset.
    limits = {"train": args.max_train, "valid": args.max_test, "test": args.max_test}
    generator = torch.Generator().manual_seed(0)
    splits = {name: triples[torch.randperm(len(triples), generator=generator)[:limits[name]]] if limits.get(name) else triples
              for name, triples in dataset.splits.items()}
    return dataclasses.replace(dataset, splits=splits)


def run_kgtool(case: dict, args) -> dict:
    import tempfile

    import kgtool
    import kgtool.config

    config = {
        "model": {"name": case["model"], "dim": case["dim"], "margin": case["margin"] or 9.0},
        "data": {"dataset": args.dataset, "data_dir": args.data_dir},
        "training": {"scoring": case["scoring"], "loss": case["loss"], "num_negatives": max(case["negatives"], 1),
                     "adversarial_temperature": case["temperature"] or 1.0, "batch_size": case["batch"],
                     "lr": case["lr"], "epochs": args.epochs, "eval_every": args.epochs + 1, "patience": 0,
                     "checkpoint_every": args.epochs, "reciprocal": case["scoring"] != "negatives",
                     "seed": args.seed, "device": args.device, "progress": False},
        "evaluation": {"per_relation": False},
    }
    config = kgtool.config.resolve_config(config, args.kgtool_set)
    with tempfile.TemporaryDirectory() as output:
        run = kgtool.fit(config, output=f"{output}/run", dataset=benchmark_dataset(args))
        with open(f"{output}/run/log.jsonl") as log:
            epoch_seconds = [json.loads(line)["seconds"] for line in log]
        started = time.perf_counter()
        metrics = run.evaluate("test")
        eval_seconds = time.perf_counter() - started
    return {"train_seconds": sum(epoch_seconds), "epoch_seconds": epoch_seconds, "eval_seconds": eval_seconds,
            "num_train": len(run.dataset.train), "mrr": metrics["mrr"], "hits@10": metrics["hits@10"]}


def run_pykeen(case: dict, args) -> dict:
    from pykeen.pipeline import pipeline
    from pykeen.triples import TriplesFactory

    dataset = benchmark_dataset(args)
    entity_to_id = {e: i for i, e in enumerate(dataset.entities)}
    relation_to_id = {r: i for i, r in enumerate(dataset.relations)}

    def factory(split, inverse=False):
        return TriplesFactory(mapped_triples=dataset.splits[split], entity_to_id=entity_to_id,
                              relation_to_id=relation_to_id, create_inverse_triples=inverse)

    negatives = case["scoring"] == "negatives"
    model_kwargs = {"embedding_dim": case["dim"]}
    if case["model"] == "transe":
        model_kwargs["scoring_fct_norm"] = 1
    kwargs = dict(
        training=factory("train", inverse=not negatives), validation=factory("valid"), testing=factory("test"),
        model=PYKEEN_MODELS[case["model"]], model_kwargs=model_kwargs,
        optimizer="Adam", optimizer_kwargs={"lr": case["lr"]},
        training_kwargs={"num_epochs": args.epochs, "batch_size": case["batch"], "use_tqdm": False},
        evaluator_kwargs={"filtered": True}, evaluation_kwargs={"use_tqdm": False},
        random_seed=args.seed, device="cuda" if args.device.startswith("cuda") else "cpu",
    )
    if negatives:
        kwargs.update(training_loop="sLCWA", negative_sampler="basic",
                      negative_sampler_kwargs={"num_negs_per_pos": case["negatives"]})
        if case["loss"] == "nssa":
            kwargs.update(loss="NSSA", loss_kwargs={"margin": case["margin"], "adversarial_temperature": case["temperature"]})
        else:
            kwargs.update(loss="Softplus")
    else:  # LCWA is pykeen's KvsAll; it has no 1vsAll loop, and LCWA with cross-entropy and inverse triples is the closest
        kwargs.update(training_loop="LCWA", loss="CrossEntropy")
    result = pipeline(**kwargs)
    metrics = result.metric_results
    return {"train_seconds": result.train_seconds, "eval_seconds": result.evaluate_seconds,
            "num_train": len(dataset.train),
            "mrr": metrics.get_metric("both.realistic.inverse_harmonic_mean_rank"),
            "hits@10": metrics.get_metric("both.realistic.hits_at_10")}


def torchkge_graph(dataset, triples, known=None):
    """TorchKGE's ``KnowledgeGraph`` of ``triples`` ``(n, 3)`` (head, relation, tail ids), with
    kgtool's entity and relation vocabulary (all entities); ``known`` (a ``KnowledgeGraph``)
    lends it the known heads and tails its evaluator filters by."""
    import numpy as np
    import pandas as pd
    from torchkge import KnowledgeGraph

    entities, relations = np.array(dataset.entities), np.array(dataset.relations)
    heads, rels, tails = triples.cpu().numpy().T
    frame = pd.DataFrame({"from": entities[heads], "rel": relations[rels], "to": entities[tails]})
    filters = {} if known is None else dict(dict_of_heads=known.dict_of_heads, dict_of_tails=known.dict_of_tails,
                                            dict_of_rels=known.dict_of_rels)
    return KnowledgeGraph(df=frame, ent2ix={e: i for i, e in enumerate(dataset.entities)},
                          rel2ix={r: i for i, r in enumerate(dataset.relations)}, **filters)


def torchkge_filtered_metrics(model, dataset, triples) -> dict:
    """TorchKGE's ``LinkPredictionEvaluator`` on ``triples`` ``(n, 3)``, filtered by all of
    ``dataset``'s splits: filtered MRR and Hits@10 of both sides (pessimistic ranks)."""
    from torchkge.evaluation import LinkPredictionEvaluator

    evaluator = LinkPredictionEvaluator(model, torchkge_graph(dataset, triples, torchkge_graph(dataset, dataset.all_triples())))
    batch = max(1, EVAL_MEMORY_MB * 2**20 // (4 * dataset.num_entities * model.emb_dim))
    evaluator.evaluate(b_size=batch, verbose=False)
    return {"mrr": evaluator.mrr()[1], "hits@10": evaluator.hit_at_k(10)[1]}


def run_torchkge(case: dict, args) -> dict:
    """TorchKGE's model, loss and uniform sampler in a plain Adam loop over shuffled batches
    (its ``Trainer`` draws one negative per positive), renormalising after each epoch as it does."""
    import torch
    from torchkge.models import ComplExModel, DistMultModel, TransEModel
    from torchkge.sampling import UniformNegativeSampler
    from torchkge.utils import LogisticLoss, MarginLoss

    setup = TORCHKGE[args.case]
    torch.manual_seed(args.seed)
    dataset = benchmark_dataset(args)
    train = torchkge_graph(dataset, dataset.train)
    sizes = (case["dim"], dataset.num_entities, dataset.num_relations)
    model = {"transe": lambda: TransEModel(*sizes, dissimilarity_type="L1"),
             "distmult": lambda: DistMultModel(*sizes), "complex": lambda: ComplExModel(*sizes)}[case["model"]]()
    model.to(args.device)
    criterion = MarginLoss(case["margin"]) if setup["loss"] == "margin" else LogisticLoss()
    sampler = UniformNegativeSampler(train, n_neg=setup["negatives"])
    optimizer = torch.optim.Adam(model.parameters(), lr=case["lr"])
    heads, tails, relations = (ids.to(args.device) for ids in (train.head_idx, train.tail_idx, train.relations))
    started = time.perf_counter()
    for _ in range(args.epochs):
        for batch in torch.randperm(train.n_facts, device=args.device).split(case["batch"]):
            h, t, r = heads[batch], tails[batch], relations[batch]
            optimizer.zero_grad()
            criterion(*model(h, t, r, *sampler.corrupt_batch(h, t, r))).backward()
            optimizer.step()
        model.normalize_parameters()
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    metrics = torchkge_filtered_metrics(model.eval(), dataset, dataset.test)
    return {"train_seconds": train_seconds, "eval_seconds": time.perf_counter() - started,
            "num_train": len(dataset.train), **metrics}


def training_bound_seconds(case: dict, num_train: int, limits: dict) -> float:
    """The least time an epoch of ``case`` could take on this machine (``limits``: see
    :func:`machine_limits`).

    Per-row negatives: every positive gathers its ``k`` negative rows and its head and tail rows,
    and writes a gradient row for each, at the measured memory bandwidth (the arithmetic per
    number is a few flops, far below the matmul rate; the dense optimizer step over the whole
    table is left out). 1vsAll and KvsAll: per query, scores against all entities and both
    gradients, three products of ``width x num_entities`` multiply-adds at the matmul rate
    (softmax left out); 1vsAll has a query per triple and per inverse triple, KvsAll one per
    distinct ``(anchor, relation)`` of them.
    """
    width = 2 * case["dim"] if case["model"] in ("complex", "rotate") else case["dim"]
    if case["scoring"] == "negatives":
        return 2 * 4 * width * (case["negatives"] + 2) * num_train / limits["bandwidth"]
    queries = limits["kvsall_queries"] if case["scoring"] == "kvsall" else 2 * num_train
    return 3 * 2 * queries * width * limits["num_entities"] / limits["rate"]


def matmul_limit_seconds(dataset) -> float:
    """Seconds of ``(2·n_test, 256) @ (256, num_entities)``: the floor for bilinear evaluation."""
    import torch

    a, b = torch.randn(2 * len(dataset.test), 256), torch.randn(256, dataset.num_entities)
    a @ b
    return timed(lambda: a @ b)[0]


def machine_limits(args) -> dict:
    """The machine's limits and the dataset's size, measured in a worker of their own: a process
    keeps its peak RSS across ``exec``, so buffers allocated here would raise every row's RSS."""
    import torch

    dataset = benchmark_dataset(args)
    train = dataset.train
    queries = torch.cat([train[:, :2], torch.stack([train[:, 2], train[:, 1] + dataset.num_relations], dim=1)])
    return {"matmul_limit_seconds": matmul_limit_seconds(dataset), "rate": matmul_rate(),
            "bandwidth": memory_bandwidth(), "num_entities": dataset.num_entities,
            "kvsall_queries": len(torch.unique(queries, dim=0))}


def worker(args) -> None:
    if args.library == "limits":
        print("RESULT " + json.dumps(machine_limits(args)))
        return
    case = CASES[args.case]
    result = {"kgtool": run_kgtool, "pykeen": run_pykeen, "torchkge": run_torchkge}[args.library](case, args)
    result["peak_rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(result))


def run_worker(args, library: str, case: str = "", seed: int = 0, overrides: list[str] = ()) -> dict | None:
    """One worker process's RESULT, or None (its error printed) when it failed."""
    command = [sys.executable, __file__, "--worker", library, "--case", case, "--seed", str(seed),
               "--dataset", args.dataset, "--epochs", str(args.epochs), "--device", args.device]
    for option in ("data_dir", "max_train", "max_test"):
        if getattr(args, option):
            command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    for assignment in overrides:
        command += ["--kgtool-set", assignment]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        print(f"{case} {library} seed {seed} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(lines[0][len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="umls")
    add_data_dir(parser)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-train", type=int, help="train on this many training triples (a fixed random subset)")
    parser.add_argument("--max-test", type=int, help="evaluate on this many test (and validation) triples (a fixed random subset)")
    parser.add_argument("--kgtool-set", action="append", default=[], metavar="KEY=VALUE",
                        help="kgtool override for every kgtool row, e.g. training.sparse=true (repeatable)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=KEY=VALUE[,KEY=VALUE]",
                        help="an extra kgtool row with these overrides, e.g. "
                             "fast=training.shared_negatives=true,training.compile=true (repeatable)")
    parser.add_argument("--worker", dest="library", choices=("kgtool", "pykeen", "torchkge", "limits"), help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parse(parser)
    if args.library:
        return worker(args)

    print(machine_facts())
    print(f"device {args.device}; dataset {args.dataset}, {args.epochs} epochs, {args.seeds} seed(s), at most "
          f"{args.max_train or 'all'} training and {args.max_test or 'all'} test triples")
    if args.kgtool_set:
        print(f"kgtool runs with: {' '.join(args.kgtool_set)}")
    libraries = {"kgtool": ("kgtool", args.kgtool_set)}  # row name: (library, kgtool overrides)
    for variant in args.variant:
        name, _, assignments = variant.partition("=")
        libraries[f"kgtool {name}"] = ("kgtool", args.kgtool_set + assignments.split(","))
        print(f"kgtool {name}: {' '.join(libraries[f'kgtool {name}'][1])}")
    libraries["pykeen"] = ("pykeen", [])
    if importlib.util.find_spec("torchkge"):
        libraries["torchkge"] = ("torchkge", [])
        print(f"torchkge in every case: {TORCHKGE_COMMON}")
    else:
        print("no torchkge rows: pip install torchkge (or pip install 'kgtool-ml[bench]')")
    limits = run_worker(args, "limits")
    rate, bandwidth = limits["rate"], limits["bandwidth"]
    print(f"matmul limit (2·n_test x 256 @ 256 x entities): {limits['matmul_limit_seconds']:.3f}s")
    print(f"measured: matmul {rate / 1e9:.1f} GFLOP/s, memory copy {bandwidth / 1e9:.1f} GB/s; 'of bound': the "
          f"least training time (training_bound_seconds) divided by the measured one")
    print("'later epochs': kgtool's triples/s after its first epoch, which pays the one-off compiling of fused kernels")
    header = (f"{'case':<15} {'library':<12} {'triples/s':>10} {'later epochs':>12} {'of bound':>8} {'eval s':>8} "
              f"{'RSS MB':>8} {'MRR':>14} {'Hits@10':>8}")
    print(header)
    print("-" * len(header))
    for name in args.cases.split(","):
        rows = {row: [] for row in libraries}
        for seed in range(args.seeds):
            for row, (library, overrides) in libraries.items():
                if library == "torchkge" and name not in TORCHKGE:
                    continue
                result = run_worker(args, library, name, seed, overrides)
                if result is not None:
                    rows[row].append(result)
        for row, results in rows.items():
            if row == "torchkge" and name not in TORCHKGE:
                print(f"{name:<15} {row:<12} {'n/a':>10} ({TORCHKGE_MISSING[name]})")
            if not results:
                continue
            mean = {k: sum(r[k] for r in results) / len(results) for k in results[0] if k != "epoch_seconds"}
            spread = max(r["mrr"] for r in results) - min(r["mrr"] for r in results)
            examples = mean["num_train"] * args.epochs
            bound = training_bound_seconds(CASES[name], mean["num_train"], limits) * args.epochs
            later = [seconds for r in results for seconds in r.get("epoch_seconds", [])[1:]]
            steady = f"{mean['num_train'] * len(later) / sum(later):,.0f}" if later else ""
            print(f"{name:<15} {row:<12} {examples / mean['train_seconds']:>10,.0f} {steady:>12} "
                  f"{bound / mean['train_seconds']:>8.1%} {mean['eval_seconds']:>8.2f} {mean['peak_rss_mb']:>8,.0f} "
                  f"{mean['mrr']:>7.3f} ±{spread / 2:.3f} {mean['hits@10']:>8.3f}")
        if rows.get("torchkge"):
            print(f"{'':<15} torchkge: {TORCHKGE[name]['negatives']} negatives, {TORCHKGE[name]['note']}")


if __name__ == "__main__":
    main()
