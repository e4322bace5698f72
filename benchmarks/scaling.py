"""Time per epoch and peak RSS against the number of entities, sparse updates beside dense Adam.

Every case is a uniformly random KG with the same number of training triples (default 200k,
16 relations) and a growing number of entities (default 10k, 100k, 1M, 3M). Each (entities,
optimizer) case trains in a fresh process, so its peak RSS (``ru_maxrss``) is its own:

- ``sparse``: ``training.sparse=true`` — sparse embedding gradients and SparseAdam, which touch
  only the rows a batch uses (at most ``batch · (negatives + 2)``), so a step's cost grows with
  the entities only until nearly every row a batch draws is distinct, then stays flat;
- ``dense``: plain ``nn.Embedding`` gradients and Adam, the baseline, whose every step writes
  a full ``(entities, dim)`` gradient and updates every row's moments.

A case runs ``--warmup`` untimed batches, then times ``--batches`` batches of the epoch's
shuffled order (``kgtool.training.Trainer.step``: loss, backward, optimizer step) and
scales the mean to the epoch's ``ceil(triples / batch)`` batches; ``--batches 0`` times the
whole epoch instead. The table says which. Alongside it prints where a step's time goes
(loss with sampling, backward, optimizer step) and writes ``scaling.md`` and ``scaling.png``
(with matplotlib; otherwise it says so) into ``--output``.

    python benchmarks/scaling.py
    python benchmarks/scaling.py --entities 10000,1000000 --model rotate --dim 64 --output /tmp/scaling
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _harness import add_threads, machine_facts, parse, peak_rss_mb, random_kg, time_steps

OPTIMIZERS = ("sparse", "dense")


def worker(args) -> None:
    import torch

    from kgtool.config import resolve_config
    from kgtool.kge.task import KGETask
    from kgtool.training import Trainer

    torch.manual_seed(0)  # the embeddings' initialisation
    started = time.perf_counter()
    dataset = random_kg(args.case_entities, args.relations, args.triples, 0)
    config = resolve_config({
        "model": {"name": args.model, "dim": args.dim},
        "training": {"num_negatives": args.negatives, "batch_size": args.batch_size, "lr": 1e-3,
                     "sparse": args.case_optimizer == "sparse", "shared_negatives": args.shared_negatives,
                     "device": "cpu", "progress": False},
    })
    task = KGETask(config, dataset)
    trainer = Trainer(task, config)
    setup_seconds = time.perf_counter() - started
    setup_rss = peak_rss_mb()

    generator = torch.Generator().manual_seed(0)
    epoch = torch.randperm(task.num_examples(), generator=generator).split(args.batch_size)
    measured = len(epoch) if args.batches == 0 else min(args.batches, len(epoch) - args.warmup)
    timed = time_steps(trainer, epoch[:args.warmup + measured], args.warmup)
    per_batch = {k: v / measured for k, v in timed["seconds"].items()}
    print("RESULT " + json.dumps({
        "entities": args.case_entities, "optimizer": type(trainer.optimizer).__name__, "side": args.case_optimizer,
        "epoch_batches": len(epoch), "measured_batches": measured, "per_batch": per_batch,
        "epoch_seconds": sum(per_batch.values()) * len(epoch), "setup_seconds": setup_seconds,
        "setup_rss_mb": setup_rss, "peak_rss_mb": peak_rss_mb(),
        "loss": [timed["losses"][0], timed["losses"][-1]],
        "state_mb": sum(p.numel() * p.element_size() for p in task.model.parameters()) / 2**20,
    }))


def write_plot(results: list[dict], path: Path, title: str) -> str:
    """Seconds per epoch and peak RSS against entities (log-log), one line per optimizer side."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot: matplotlib is not installed (pip install 'kgtool-ml[bench]'); no PNG written"
    figure, (time_axis, rss_axis) = plt.subplots(1, 2, figsize=(11, 4.5))
    for side, style in zip(OPTIMIZERS, ("o-", "s--")):
        rows = sorted((r for r in results if r["side"] == side), key=lambda r: r["entities"])
        if not rows:
            continue
        label = f"{side} ({rows[0]['optimizer']})"
        entities = [r["entities"] for r in rows]
        time_axis.plot(entities, [r["epoch_seconds"] for r in rows], style, label=label)
        rss_axis.plot(entities, [r["peak_rss_mb"] / 1024 for r in rows], style, label=label)
    for axis, ylabel in ((time_axis, "seconds per epoch"), (rss_axis, "peak RSS (GB)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("entities")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(textwrap.fill(title, 150), fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return f"plot: {path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", default="10000,100000,1000000,3000000", help="comma-separated entity counts")
    parser.add_argument("--triples", type=int, default=200_000, help="training triples, the same for every case")
    parser.add_argument("--relations", type=int, default=16)
    parser.add_argument("--model", default="transe", choices=("transe", "distmult", "complex", "rotate"))
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--negatives", type=int, default=64)
    parser.add_argument("--shared-negatives", action="store_true", help="one set of negatives per batch")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=50,
                        help="timed batches per sparse case, scaled to the epoch; 0 times the whole epoch")
    parser.add_argument("--dense-batches", type=int, default=10,
                        help="timed batches per dense case (seconds each at millions of entities); 0: whole epoch")
    parser.add_argument("--warmup", type=int, default=2, help="untimed batches before timing")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS), help="sparse, dense or both")
    add_threads(parser)  # in this process and in each case's
    parser.add_argument("--output", default=str(Path(__file__).parent / "results"),
                        help="folder for scaling.md and scaling.png")
    parser.add_argument("--case-entities", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--case-optimizer", choices=OPTIMIZERS, help=argparse.SUPPRESS)
    args = parse(parser)
    if args.case_optimizer:
        return worker(args)

    began = time.perf_counter()
    lines = [machine_facts()]
    epoch_batches = math.ceil(args.triples / args.batch_size)
    scope = ", ".join(f"{side}: " + ("whole epoch timed" if n == 0 else f"{n} of the epoch's {epoch_batches} batches "
                                     f"timed after {args.warmup} warm-up, scaled to the epoch")
                      for side, n in (("sparse", args.batches), ("dense", args.dense_batches)))
    lines.append(f"{args.model} dim {args.dim}, {args.negatives} {'shared ' if args.shared_negatives else ''}negatives "
                 f"per positive, nssa loss, batch {args.batch_size}, lr 1e-3; random KG of {args.triples:,} train "
                 f"triples, {args.relations} relations; {scope}; one process per case with {args.threads} torch "
                 f"thread(s)")
    for line in lines:
        print(line, flush=True)
    header = (f"| {'entities':>9} | {'optimizer':<10} | {'s/epoch':>8} | {'ms/batch':>8} | {'loss ms':>7} | "
              f"{'backward ms':>11} | {'step ms':>7} | {'timed':>5} | {'setup s':>7} | {'RSS setup MB':>12} | "
              f"{'peak RSS MB':>11} |")
    rule = "|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|"
    table = [header, rule]
    print(header + "\n" + rule, flush=True)
    results = []
    for entities in (int(x) for x in args.entities.split(",")):
        for side in args.optimizers.split(","):
            command = [sys.executable, __file__, "--case-entities", str(entities), "--case-optimizer", side]
            command += ["--batches", str(args.dense_batches if side == "dense" else args.batches)]
            for name in ("triples", "relations", "model", "dim", "negatives", "batch_size", "warmup", "threads"):
                command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
            if args.shared_negatives:
                command.append("--shared-negatives")
            done = subprocess.run(command, capture_output=True, text=True)
            found = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if done.returncode != 0 or not found:
                print(f"{entities} {side} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            r = json.loads(found[0][len("RESULT "):])
            results.append(r)
            b = r["per_batch"]
            row = (f"| {entities:>9,} | {r['optimizer']:<10} | {r['epoch_seconds']:>8.1f} | "
                   f"{1000 * sum(b.values()):>8.1f} | {1000 * b['loss']:>7.1f} | {1000 * b['backward']:>11.1f} | "
                   f"{1000 * b['step']:>7.1f} | {r['measured_batches']:>5} | {r['setup_seconds']:>7.1f} | "
                   f"{r['setup_rss_mb']:>12,.0f} | {r['peak_rss_mb']:>11,.0f} |")
            table.append(row)
            print(row, flush=True)
    lines.append(f"embedding tables: {args.dim} {'complex' if args.model in ('complex', 'rotate') else 'real'} "
                 f"numbers per entity; setup = graph, model and optimizer (the first optimizer imports torch._dynamo, "
                 f"seconds); RSS setup = peak RSS before the first batch")
    lines.append(f"machine load after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
                 f"total {time.perf_counter() - began:.0f}s")
    print("\n".join(lines[2:]))
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "scaling.md").write_text("\n".join(lines[:2]) + "\n\n" + "\n".join(table) + "\n\n"
                                       + "\n".join(lines[2:]) + "\n")
    print(f"table: {output / 'scaling.md'}")
    print(write_plot(results, output / "scaling.png", lines[1]))


if __name__ == "__main__":
    main()
