"""Sharded entity table against replicated DDP: per-rank memory and steps/s on a synthetic KG.

    torchrun --nproc_per_node 2 benchmarks/sharded.py                 # 2M and 8M entities, dim 64
    torchrun --nproc_per_node 2 benchmarks/sharded.py --entities 200000 800000 --steps 10   # a quick look

Every configuration runs in the same two processes, one after the other, interleaved over
``--repeats`` rounds (speed: the median of the rounds). Peak RSS is the kernel's high-water mark
(``VmHWM``), reset before each configuration (``/proc/self/clear_refs``), so each peak is that
configuration's own. The last lines divide each mode's peak growth from the smallest to the
largest table by the growth of the table and its optimizer state (replicated DDP: about 1.00;
a sharded table on 2 ranks: about 0.5). Modes, all with Adagrad (one state
tensor as large as the table) and TransE, a global batch of ``--batch`` positives with
``--negatives`` uniform tail negatives each:

- ``ddp``: a replicated ``nn.Embedding(sparse=True)``, DDP (gloo all-reduces sparse gradients);
- ``sharded``: :class:`~kgtool.sharding.model.ShardedKGEModel`, negatives over all entities;
- ``sharded-local``: the same, negatives drawn from the rank's own rows (PBG).

``remote rows`` counts the rows a rank fetches from the other ranks per step.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import torch
import torch.distributed as dist
from _harness import machine_facts

from kgtool import distributed
from kgtool.kge.interactions import interaction
from kgtool.kge.losses import nssa_loss
from kgtool.kge.model import KGEModel
from kgtool.sharding.model import ShardedKGEModel
from kgtool.sharding.optim import ShardedOptimizer

MODES = ("ddp", "sharded", "sharded-local")
NUM_RELATIONS = 100


def peak_rss_mb() -> float:
    """Peak RSS since the last :func:`reset_peak_rss` (VmHWM), not the process's lifetime peak
    that the harness's ``peak_rss_mb`` reads: one process measures several table sizes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


class TailLoss(torch.nn.Module):
    """Self-adversarial loss of positives ``(b, 3)`` against tail negatives ``(b, k)``: the module DDP wraps."""

    def __init__(self, model: KGEModel):
        super().__init__()
        self.model = model

    def forward(self, positives, negatives):
        h, r, _ = positives.unbind(dim=1)
        return nssa_loss(self.model.score_hrt(positives), self.model.score_tail_candidates(h, r, negatives), 1.0)


def build(mode: str, num_entities: int, dim: int, lr: float):
    """The step function of ``mode`` and, for sharded modes, the table."""
    config = interaction(name="transe", dim=dim)
    if mode == "ddp":
        model = KGEModel(config, num_entities, NUM_RELATIONS, sparse=True)
        module = torch.nn.parallel.DistributedDataParallel(TailLoss(model))
        optimizer = torch.optim.Adagrad(model.parameters(), lr=lr)

        def step(positives, negatives):
            optimizer.zero_grad(set_to_none=True)
            module(positives, negatives).backward()
            optimizer.step()
        return step, None
    model = ShardedKGEModel(config, num_entities, NUM_RELATIONS)
    loss = TailLoss(model)
    optimizer = ShardedOptimizer(model.table.shard, [model.relation_embeddings.weight], "adagrad", lr)

    def step(positives, negatives):
        optimizer.zero_grad(set_to_none=True)
        with model.encoding_once(torch.cat([positives[:, 0::2].flatten(), negatives.flatten()])):
            value = loss(positives, negatives)
        value.backward()
        optimizer.step()
    return step, model.table


def batches(mode: str, table, num_entities: int, share: int, negatives: int, seed: int):
    """Endless (positives, negatives) of this rank's share; positives uniform over the synthetic KG."""
    generator = torch.Generator().manual_seed(seed + distributed.rank())
    pool = table.owned_ids if mode == "sharded-local" else None
    while True:
        heads, tails = torch.randint(num_entities, (2, share), generator=generator)
        relations = torch.randint(NUM_RELATIONS, (share,), generator=generator)
        drawn = torch.randint(num_entities if pool is None else len(pool), (share, negatives), generator=generator)
        yield torch.stack([heads, relations, tails], dim=1), drawn if pool is None else pool[drawn]


def measure(mode: str, num_entities: int, args) -> dict:
    gc.collect()
    reset_peak_rss()
    step, table = build(mode, num_entities, args.dim, args.lr)
    data = batches(mode, table, num_entities, args.batch // distributed.world_size(), args.negatives, seed=0)
    remote = []
    for i in range(args.warmup + args.steps):
        if i == args.warmup:
            dist.barrier()
            started = time.perf_counter()
        positives, negatives = next(data)
        if table is not None:
            ids = torch.unique(torch.cat([positives[:, 0::2].flatten(), negatives.flatten()]))
            remote.append(int((~table.owns(ids)).sum()))
        step(positives, negatives)
    dist.barrier()
    seconds = time.perf_counter() - started
    result = {"steps_per_second": args.steps / seconds, "peak_rss_mb": peak_rss_mb(),
              "remote_rows": statistics.mean(remote) if remote else None}
    del step, table, data
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, nargs="+", default=[2_000_000, 8_000_000])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1024, help="global batch of positives")
    parser.add_argument("--negatives", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    args = parser.parse_args()
    torch.manual_seed(0)
    with distributed.process_group(torch.device("cpu")):
        results = {}  # (mode, entities) -> list of each rank's results per round
        for _ in range(args.repeats):
            for entities in args.entities:
                for mode in args.modes:
                    gathered = [None] * distributed.world_size()
                    dist.all_gather_object(gathered, measure(mode, entities, args))
                    results.setdefault((mode, entities), []).append(gathered)
        if distributed.is_main():
            report(results, args)


def report(results: dict, args) -> None:
    print(machine_facts())
    print(f"# {distributed.world_size()} processes (gloo), TransE dim {args.dim}, Adagrad, global batch {args.batch} "
          f"x {args.negatives} negatives, {args.steps} timed steps, median of {args.repeats} interleaved rounds")
    print("| mode | entities | table + Adagrad state MiB | peak RSS per rank MiB (max) | steps/s | vs ddp "
          "| remote rows/step/rank |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    speed = {key: statistics.median(min(r["steps_per_second"] for r in rounds) for rounds in runs)
             for key, runs in results.items()}
    peak = {key: max(r["peak_rss_mb"] for rounds in runs for r in rounds) for key, runs in results.items()}
    for (mode, entities), runs in results.items():
        table_mb = 2 * entities * args.dim * 4 / 2**20
        remote = runs[-1][0]["remote_rows"]
        ratio = speed[(mode, entities)] / speed[("ddp", entities)] if ("ddp", entities) in speed else float("nan")
        print(f"| {mode} | {entities:,} | {table_mb:,.0f} | {peak[(mode, entities)]:,.0f} | "
              f"{speed[(mode, entities)]:.2f} | {ratio:.2f}x | {'' if remote is None else f'{remote:,.0f}'} |")
    small, large = min(args.entities), max(args.entities)
    growth = 2 * (large - small) * args.dim * 4 / 2**20  # the table and Adagrad's state
    for mode in args.modes:
        if (mode, small) in peak and small != large:
            print(f"{mode}: peak RSS grows {peak[(mode, large)] - peak[(mode, small)]:,.0f} MiB from {small:,} to "
                  f"{large:,} entities; table + state grow {growth:,.0f} MiB: ratio "
                  f"{(peak[(mode, large)] - peak[(mode, small)]) / growth:.2f}")


if __name__ == "__main__":
    main()
