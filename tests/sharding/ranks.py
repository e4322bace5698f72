"""Run a function on several gloo processes, as torchrun would, for the sharding tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def run_on_ranks(world: int, function, *args, backend: str = "gloo") -> None:
    """Call ``function(*args)`` in ``world`` fresh processes joined in a ``backend`` group (NCCL:
    rank r on GPU r); an exception in any of them fails the caller with its traceback."""
    with tempfile.TemporaryDirectory() as folder:
        mp.spawn(_joined, (world, str(Path(folder) / "store"), backend, function, args), nprocs=world)


def _joined(rank: int, world: int, store: str, backend: str, function, args) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    if backend == "nccl":
        torch.cuda.set_device(rank)
    dist.init_process_group(backend, init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        function(*args)
    finally:
        dist.destroy_process_group()
