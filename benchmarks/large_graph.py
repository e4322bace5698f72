"""KGE training and evaluation at ogbl-wikikg2 scale: a random 2.5M-entity, 16M-triple graph, CPU only.

The graph has ogbl-wikikg2's shape (2.5M entities, 535 relations, 16M training triples) with
uniformly random ids, stored as int32 (half of int64's 384 MB; kgtool's training and ranking
take int32 ids). Training uses sparse updates (``training.sparse=true``: sparse embedding
gradients, SparseAdam), so a step touches only the rows of its batch. It times ``--batches``
steps after ``--warmup`` untimed ones (``kgtool.training.Trainer.step``: loss with negative
sampling, backward, optimizer step) and scales the mean to the epoch's ``ceil(16M / batch)``
batches: the epoch time is an extrapolation and the table says so.

Evaluation, on a model that has seen only those batches (the numbers are for timing; on random
triples any MRR is chance):

- sampled (OGB protocol): each of ``--sampled-triples`` test triples is ranked against
  ``--sampled-negatives`` random heads and as many random tails, unfiltered, realistic ranks;
- full: filtered ranking of ``--full-triples`` test triples against all 2.5M entities on both
  sides with ``kgtool.evaluation.ranking.evaluate_link_prediction`` under a small memory budget,
  extrapolated to 1000 triples. Its filter is the known triples (train + valid + test) that share
  a query with the ranked triples, picked with one vectorised ``isin``: the ranks are exactly
  those with all 16M triples as the filter, without indexing 16M triples for a few hundred
  queries. ``--full-filter`` passes all known triples instead, as a plain call would: building
  its two ``AnswerIndex`` filters over 16M triples took 160 s and 4.7 GB more each on 2 cores.

    python benchmarks/large_graph.py
    python benchmarks/large_graph.py --model rotate --dim 50 --shared-negatives --batches 100
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from _harness import add_threads, machine_facts, parse, peak_rss_mb, random_kg, time_steps

from kgtool.config import resolve_config
from kgtool.evaluation.ranking import evaluate_link_prediction, rank_metrics, ranks_from_scores
from kgtool.kge.task import KGETask
from kgtool.training import Trainer


def sampled_ranking(model, triples: torch.Tensor, num_entities: int, num_negatives: int,
                    generator: torch.Generator, batch_size: int = 100) -> dict:
    """OGB-style evaluation: each triple ``(n, 3)`` is ranked against ``num_negatives`` uniformly
    random heads and as many tails (unfiltered); realistic ranks among ``num_negatives + 1``.
    Returns the metrics of both sides together."""
    parts = []
    model.eval()
    with torch.no_grad():
        for batch in triples.long().split(batch_size):
            h, r, t = batch.unbind(dim=1)
            positive = model.score_hrt(batch)[:, None]
            heads = torch.randint(num_entities, (len(batch), num_negatives), generator=generator)
            tails = torch.randint(num_entities, (len(batch), num_negatives), generator=generator)
            for negative in (model.score_head_candidates(r, t, heads), model.score_tail_candidates(h, r, tails)):
                scores = torch.cat([positive, negative], dim=1)  # the true triple in column 0
                parts.append(ranks_from_scores(scores, torch.zeros(len(batch), dtype=torch.long)).realistic)
    return rank_metrics(torch.cat(parts))


def relevant_known_triples(dataset, triples: torch.Tensor) -> torch.Tensor:
    """The known triples (all splits) that answer a tail query ``(h, r, ?)`` or a head query
    ``(?, r, t)`` of ``triples`` ``(n, 3)``: the only part of the filter that ranking them reads."""
    R = dataset.num_relations

    def keys(x: torch.Tensor, anchor: int) -> torch.Tensor:
        return x[:, anchor].long() * R + x[:, 1]

    tail_queries, head_queries = keys(triples, 0), keys(triples, 2)
    parts = [known[torch.isin(keys(known, 0), tail_queries) | torch.isin(keys(known, 2), head_queries)]
             for known in dataset.splits.values()]
    return torch.cat(parts).long()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=2_500_000)
    parser.add_argument("--relations", type=int, default=535)
    parser.add_argument("--triples", type=int, default=16_000_000, help="training triples")
    parser.add_argument("--test-triples", type=int, default=10_000, help="valid and test triples each")
    parser.add_argument("--model", default="transe", choices=("transe", "distmult", "complex", "rotate"))
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--negatives", type=int, default=64)
    parser.add_argument("--shared-negatives", action="store_true", help="one set of negatives per batch")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=300, help="timed training batches, scaled to the epoch")
    parser.add_argument("--warmup", type=int, default=5, help="untimed batches before timing")
    parser.add_argument("--sampled-triples", type=int, default=1000)
    parser.add_argument("--sampled-negatives", type=int, default=500)
    parser.add_argument("--full-triples", type=int, default=100, help="test triples ranked against all entities")
    parser.add_argument("--memory-budget-mb", type=int, default=256, help="evaluation.memory_budget_mb of full ranking")
    parser.add_argument("--full-filter", action="store_true", help="filter with all known triples (slow, see above)")
    parser.add_argument("--int64", action="store_true", help="store the triples as int64 instead of int32")
    add_threads(parser)
    args = parse(parser)
    torch.manual_seed(0)  # the embeddings' initialisation
    print(machine_facts(), flush=True)
    rows = []

    def row(name: str, value: str) -> None:
        rows.append((name, value))
        print(f"{name:44} {value:>22}", flush=True)

    began = started = time.perf_counter()
    dataset = random_kg(args.entities, args.relations, args.triples, args.test_triples,
                        dtype=torch.long if args.int64 else torch.int32)
    row("graph (entities / relations / train triples)", f"{args.entities:,} / {args.relations} / {args.triples:,}")
    row("triple ids", f"{dataset.train.dtype}, {dataset.train.nbytes / 2**20:,.0f} MB")
    row("graph build s", f"{time.perf_counter() - started:.1f}")
    config = resolve_config({
        "model": {"name": args.model, "dim": args.dim},
        "training": {"num_negatives": args.negatives, "shared_negatives": args.shared_negatives,
                     "batch_size": args.batch_size, "lr": 1e-3, "sparse": True, "device": "cpu", "progress": False},
    })
    started = time.perf_counter()
    task = KGETask(config, dataset)
    trainer = Trainer(task, config)
    generator = torch.Generator().manual_seed(0)
    epoch = torch.randperm(task.num_examples(), generator=generator).split(args.batch_size)
    parameters = sum(p.numel() * p.element_size() for p in task.model.parameters()) / 2**20
    row("model + optimizer setup s", f"{time.perf_counter() - started:.1f}")
    row("parameters MB (SparseAdam adds 2x lazily)", f"{parameters:,.0f}")
    row("peak RSS MB before training", f"{peak_rss_mb():,.0f}")

    timed = time_steps(trainer, epoch[:args.warmup + args.batches], args.warmup)
    per_batch = sum(timed["seconds"].values()) / args.batches
    row(f"training: {args.batches} timed batches s", f"{per_batch * args.batches:.1f}")
    row("  ms per batch (loss / backward / step)",
        " / ".join(f"{1000 * s / args.batches:.0f}" for s in timed["seconds"].values()))
    row("  triples per s", f"{args.batch_size / per_batch:,.0f}")
    row(f"  epoch s, scaled to {len(epoch):,} batches", f"{per_batch * len(epoch):,.0f}")
    row("  loss first -> last timed batch", f"{timed['losses'][0]:.3f} -> {timed['losses'][-1]:.3f}")
    row("peak RSS MB after training", f"{peak_rss_mb():,.0f}")

    started = time.perf_counter()
    sampled = sampled_ranking(task.model, dataset.test[:args.sampled_triples], args.entities,
                              args.sampled_negatives, generator)
    seconds = time.perf_counter() - started
    row(f"sampled eval: {args.sampled_triples} triples x 2 x {args.sampled_negatives} negatives s", f"{seconds:.2f}")
    row("  MRR / Hits@10 (chance level expected)", f"{sampled['mrr']:.4f} / {sampled['hits@10']:.4f}")

    triples = dataset.test[:args.full_triples].long()
    started = time.perf_counter()
    known = dataset.all_triples().long() if args.full_filter else relevant_known_triples(dataset, triples)
    filter_seconds = time.perf_counter() - started
    row(f"full eval: filter triples ({'all' if args.full_filter else 'sharing a query'})", f"{len(known):,}")
    row("  picking the filter s", f"{filter_seconds:.1f}")
    started = time.perf_counter()
    metrics = evaluate_link_prediction(task.model, triples, known, args.memory_budget_mb)
    seconds = time.perf_counter() - started
    batch = max(1, args.memory_budget_mb * 2**20 // (3 * 4 * args.entities))
    row(f"  {args.full_triples} triples x 2 sides x {args.entities:,} s", f"{seconds:.1f}")
    row(f"  per 1000 triples s (budget {args.memory_budget_mb} MB, batch {batch})",
        f"{(seconds + filter_seconds) * 1000 / args.full_triples:,.0f}")
    row("  MRR (filtered, realistic)", f"{metrics['mrr']:.5f}")
    row("peak RSS MB", f"{peak_rss_mb():,.0f}")
    print(f"# {args.model} dim {args.dim}, {args.negatives} {'shared ' if args.shared_negatives else ''}negatives per "
          f"positive, nssa loss, batch {args.batch_size}, SparseAdam lr 1e-3; epoch time extrapolated from "
          f"{args.batches} of {len(epoch):,} batches; total {time.perf_counter() - began:.0f}s; load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
