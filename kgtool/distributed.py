"""Data-parallel training on ``torch.distributed``, as launched by ``torchrun``.

kgtool does not run its own engine: ``torchrun`` starts the processes and sets ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`process_group` joins them (gloo on CPU, NCCL on
GPU); the training loop wraps the loss in :class:`~torch.nn.parallel.DistributedDataParallel`,
which averages gradients (sparse embedding gradients included, on gloo). Each rank takes its
share of every batch, so the global batch is ``training.batch_size`` whatever the number of
processes. Only rank 0 writes files. Outside ``torchrun`` every helper here is the identity of a
one-process world.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from kgtool.errors import ConfigError


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """True in the process that writes logs, checkpoints and metrics."""
    return rank() == 0


def launched_as_main() -> bool:
    """True unless ``torchrun`` started this process as a rank other than 0; unlike
    :func:`is_main` it holds before the process group is joined and after it is left."""
    return os.environ.get("RANK", "0") == "0"


@contextmanager
def process_group(device: torch.device, timeout_minutes: float = 30):
    """Join the process group ``torchrun`` prepared (when ``WORLD_SIZE`` > 1), and leave it at
    the end if this call created it. Yields the device this rank computes on: ``cuda:LOCAL_RANK``
    for CUDA, else ``device``."""
    wanted = int(os.environ.get("WORLD_SIZE", "1")) > 1
    created = wanted and not dist.is_initialized()
    if device.type == "cuda" and wanted:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if created:
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=timedelta(minutes=timeout_minutes))
    try:
        yield device
    finally:
        if created:
            dist.destroy_process_group()


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def from_main(value):
    """Rank 0's ``value`` (any picklable object), on every rank."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard(items: Tensor) -> Tensor:
    """This rank's contiguous share of ``items`` ``(n, *)``; shares differ in size by at most one."""
    return items.tensor_split(world_size())[rank()] if is_distributed() else items


def gather(part: Tensor) -> Tensor:
    """Concatenate every rank's ``part`` ``(n_rank, *)`` in rank order, on every rank (CPU)."""
    if not is_distributed():
        return part
    parts = [None] * world_size()
    dist.all_gather_object(parts, part.cpu())
    return torch.cat(parts)


def sum_over_ranks(values: list[float]) -> list[float]:
    """Element-wise sum of ``values`` over all ranks (the same list on every rank)."""
    if not is_distributed():
        return values
    total = torch.tensor(values, dtype=torch.float64)
    return summed_over_ranks(total.cuda() if dist.get_backend() == "nccl" else total).tolist()


def summed_over_ranks(values: Tensor) -> Tensor:
    """``values`` summed element-wise over all ranks (a new tensor on ``values``' device)."""
    total = values.clone()
    if is_distributed():
        dist.all_reduce(total)
    return total


def batch_generator(generator: torch.Generator, seed: int, epoch: int, batch: int) -> torch.Generator:
    """The generator a rank samples one batch's negatives or subgraphs with.

    One process uses the run's ``generator`` itself. Ranks get their own stream, derived from
    ``(seed, epoch, batch, rank)`` rather than drawn from ``generator``, so the shared
    generator (which orders the examples) stays identical on every rank and checkpoints hold
    no per-rank state: a resumed distributed run draws what an uninterrupted one would.
    """
    if not is_distributed():
        return generator
    return torch.Generator().manual_seed(stream_seed(RANK_STREAM, seed, epoch, batch, rank()))


# what a derived random stream is for: the first key of stream_seed, so no two purposes share one
RANK_STREAM, TRAINER_STREAM, GLOBAL_STREAM, SHARD_STREAM, PRETRAIN_STREAM = 0, 1, 2, 3, 4


def stream_seed(stream: int, *keys: int) -> int:
    """A 64-bit seed of its own for each purpose ``stream`` and tuple of ``keys`` (numpy's
    ``SeedSequence``), so that streams seeded from related keys are independent."""
    return int(np.random.SeedSequence([stream, *keys]).generate_state(1, dtype=np.uint64)[0])


class TaskLoss(nn.Module):
    """``forward(example_ids, generator) = task.loss(...)``: the module DDP wraps, so that its
    gradient hooks see the task model's parameters."""

    def __init__(self, task):
        super().__init__()
        self.model = task.model
        self.task = task

    def forward(self, example_ids: Tensor, generator: torch.Generator) -> Tensor:
        return self.task.loss(example_ids, generator)


def data_parallel(task, device: torch.device, sparse: bool) -> nn.Module:
    """``TaskLoss(task)``, wrapped in DDP when running distributed."""
    module = TaskLoss(task)
    if not is_distributed():
        return module
    if sparse and dist.get_backend() == "nccl":
        raise ConfigError("training.sparse=true needs the gloo backend: NCCL cannot all-reduce sparse gradients; "
                          "set training.sparse=false for multi-GPU runs")
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)
