"""Checkpoints of sharded tables with ``torch.distributed.checkpoint`` (DCP).

Each rank writes its own rows, and the optimizer state of those rows, into one DCP folder; a
shard is described to DCP as a ``Shard(0)`` DTensor of the whole permuted table, so the folder
holds the table's global layout and loads into any number of ranks: DCP reads, for each rank,
the saved pieces that overlap its rows (2 ranks -> 1 or 3 ranks). The permutation does not
depend on the world size, so resharding is cutting the same permuted table anew. In one process
the table is saved and loaded as a plain tensor, which DCP treats as the one piece of the table.
"""

from __future__ import annotations

import warnings

import torch.distributed.checkpoint as dcp
from torch import Tensor

from kgtool import distributed
from kgtool.sharding.table import ShardedEntityTable


def as_global(table: ShardedEntityTable, local: Tensor) -> Tensor:
    """``local`` ``(local_rows, *)``, rows of this rank's block, as a tensor DCP can place in the
    whole table ``(n, *)``: a ``Shard(0)`` DTensor under ``torchrun``, else ``local`` itself."""
    if not distributed.is_distributed():
        return local
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor, Shard

    mesh = init_device_mesh(local.device.type, (table.world,))
    shape = (table.num_entities, *local.shape[1:])
    stride = local.new_empty(shape, device="meta").stride()
    return DTensor.from_local(local, mesh, [Shard(0)], run_check=False, shape=shape, stride=stride)


def sharded_state(table: ShardedEntityTable, parts: dict[str, Tensor | dict[str, Tensor]]) -> dict:
    """``parts`` (tensors of this rank's rows, or dicts of them) wrapped by :func:`as_global`;
    loading into the result fills ``parts`` in place."""
    return {name: sharded_state(table, part) if isinstance(part, dict) else as_global(table, part)
            for name, part in parts.items()}


def save_sharded(path, table: ShardedEntityTable, parts: dict) -> None:
    """Write ``parts`` (see :func:`sharded_state`) of every rank into the DCP folder ``path``; a collective."""
    dcp.save(sharded_state(table, parts), checkpoint_id=str(path), no_dist=not distributed.is_distributed())


def load_sharded(path, table: ShardedEntityTable, parts: dict) -> None:
    """Fill ``parts``, this rank's rows, from the DCP folder ``path``, whatever world size wrote it."""
    with warnings.catch_warnings():  # DCP warns that one process without a process group loads alone: as meant
        warnings.filterwarnings("ignore", "torch.distributed is disabled", UserWarning)
        dcp.load(sharded_state(table, parts), checkpoint_id=str(path), no_dist=not distributed.is_distributed())
