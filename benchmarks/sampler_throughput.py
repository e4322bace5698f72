"""Neighbour-sampler throughput: kgtool's vectorised sampler vs a per-node Python reference.

A synthetic graph (default 1M nodes, 10M random edges), fanout 15,10, batches of 1024 seeds.
Prints sampled edges/s and batches/s of each, with the machine's facts.

    python benchmarks/sampler_throughput.py [--small] [--batches 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch

from _harness import add_threads, machine_facts, parse

from kgtool.sampling.neighbor import IncomingCSR, NeighborSampler, parse_fanout


def reference_sample(csr: IncomingCSR, seeds: list[int], fanout: list[int], rng) -> int:
    """The straightforward sampler: a Python loop over nodes; returns the number of edges."""
    local = {node: i for i, node in enumerate(seeds)}
    frontier, edges = list(seeds), 0
    ptr, sources = csr.ptr.tolist() if isinstance(csr.ptr, torch.Tensor) else csr.ptr, csr.sources
    for k in fanout:
        new = []
        for node in frontier:
            start, end = ptr[node], ptr[node + 1]
            picks = range(start, end) if end - start <= k else rng.sample(range(start, end), k)
            for position in picks:
                source = sources[position]
                if source not in local:
                    local[source] = len(local)
                    new.append(source)
                edges += 1
        frontier = new
    return edges


def measure(sample, num_batches: int) -> tuple[float, float]:
    """(edges/s, batches/s) over ``num_batches`` calls of ``sample(i) -> edges``."""
    started, edges = time.perf_counter(), 0
    for i in range(num_batches):
        edges += sample(i)
    seconds = time.perf_counter() - started
    return edges / seconds, num_batches / seconds


def main() -> None:
    import random

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--fanout", default="15,10")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=20)
    add_threads(parser, default=None)
    parser.add_argument("--small", action="store_true", help="100k nodes, 1M edges, 5 batches")
    args = parse(parser)
    if args.small:
        args.nodes, args.edges, args.batches = 100_000, 1_000_000, 5
    fanout = parse_fanout(args.fanout)
    generator = torch.Generator().manual_seed(0)
    edge_index = torch.randint(args.nodes, (2, args.edges), generator=generator)
    started = time.perf_counter()
    sampler = NeighborSampler(edge_index, args.nodes, fanout, generator)
    build = time.perf_counter() - started
    seeds = [torch.randint(args.nodes, (args.batch_size,), generator=generator) for _ in range(args.batches)]
    ours = measure(lambda i: len(sampler.sample(seeds[i]).edge), args.batches)
    # the reference gets plain Python lists, its best case
    csr = IncomingCSR.__new__(IncomingCSR)
    csr.ptr, csr.sources = sampler.csr.ptr.tolist(), sampler.csr.sources.tolist()
    rng = random.Random(0)
    reference_batches = max(1, args.batches // 4)
    reference = measure(lambda i: reference_sample(csr, seeds[i].tolist(), fanout, rng), reference_batches)
    print(f"# {machine_facts()}")
    print(f"# graph: {args.nodes:,} nodes, {args.edges:,} edges; fanout {args.fanout}; batch {args.batch_size}; "
          f"CSR built in {build:.2f}s")
    print(f"{'sampler':24} {'edges/s':>14} {'batches/s':>10}")
    print(f"{'kgtool NeighborSampler':24} {ours[0]:14,.0f} {ours[1]:10.2f}")
    print(f"{'per-node Python':24} {reference[0]:14,.0f} {reference[1]:10.2f}")
    print(f"speed-up: {ours[0] / reference[0]:.1f}x")


if __name__ == "__main__":
    main()
