"""Training steps with per-row negatives: the fused candidate kernels against the plain path.

One process, random models and batches, ``--threads`` torch threads; each row times a full step
(positive and candidate scores, NSSA loss, backward, Adam) after two warm-up steps, which pay the
compiling. "plain" is ``fused_negatives=False``; "eager chunks" runs the same chunked kernels
uncompiled (the path without a C++ compiler). The losses of the rows must agree: the script prints
the largest difference from the plain path's.

    python benchmarks/fused_negatives.py --threads 1
"""

from __future__ import annotations

import argparse
import time
from unittest import mock

import torch

from machine import machine_facts

# case: entities, relations, batch, negatives, dim (complex numbers for RotatE)
CASES = {
    "UMLS RotatE": ("rotate", 135, 46, 512, 64, 200),
    "UMLS TransE": ("transe", 135, 46, 512, 64, 200),
    "FB15k-237 RotatE": ("rotate", 14_541, 237, 1024, 128, 250),
    "FB15k-237 TransE": ("transe", 14_541, 237, 1024, 128, 500),
}


def step_seconds(case: tuple, fused: bool, steps: int) -> tuple[float, list[float]]:
    """Mean seconds of a training step and the losses, tails and heads corrupted half and half."""
    from kgtool.config import ModelConfig
    from kgtool.kge import losses
    from kgtool.kge.model import KGEModel

    name, n, relations, batch, negatives, dim = case
    torch.manual_seed(0)
    model = KGEModel(ModelConfig(name=name, dim=dim, margin=9.0), n, relations, fused_negatives=fused)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    half = batch // 2

    def step() -> float:
        h, r, t = (torch.randint(k, (batch,), generator=generator) for k in (n, relations, n))
        candidates = torch.randint(n, (batch, negatives), generator=generator)
        negative = torch.cat([model.score_tail_candidates(h[:half], r[:half], candidates[:half]),
                              model.score_head_candidates(r[half:], t[half:], candidates[half:])])
        loss = losses.nssa_loss(model.score_hrt(torch.stack([h, r, t], dim=1)), negative, 1.0, None)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(2):
        step()
    started = time.perf_counter()
    values = [step() for _ in range(steps)]
    return (time.perf_counter() - started) / steps, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from kgtool.kge import candidates

    print(machine_facts())
    print(f"{'case':<18} {'plain ms':>9} {'fused ms':>9} {'speed-up':>8} {'eager chunks ms':>16} {'loss diff':>10}")
    for label, case in CASES.items():
        plain, plain_losses = step_seconds(case, False, args.steps)
        fused, fused_losses = step_seconds(case, True, args.steps)
        with mock.patch.object(candidates, "kernels", lambda: (candidates.distances, candidates.query_terms)):
            eager, _ = step_seconds(case, True, args.steps)
        difference = max(abs(a - b) for a, b in zip(plain_losses, fused_losses))
        print(f"{label:<18} {plain * 1e3:>9.0f} {fused * 1e3:>9.0f} {plain / fused:>7.1f}x {eager * 1e3:>16.0f} "
              f"{difference:>10.1e}")


if __name__ == "__main__":
    main()
