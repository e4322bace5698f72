"""ShardedEntityTable: an entity table whose rows are spread over the ranks of ``torch.distributed``.

Layout. Entity ids are permuted once by a seeded permutation (``position[id]`` is the id's row
in the permuted table), so that frequent entities, which datasets often number first, spread
over the ranks. The permuted table is cut as DTensor's ``Shard(0)`` cuts a dimension: rank ``r``
holds rows ``[r·block, (r+1)·block)`` with ``block = ceil(n / world)``, the last ranks fewer
(uneven shards). The permutation does not depend on the number of ranks, so a checkpoint of the
permuted table reshards to any world size by cutting it again (:mod:`kgtool.sharding.checkpoint`).

A step asks for the rows of its distinct ids once (:meth:`ShardedEntityTable.rows`): each rank
sends every owner the local row numbers it wants and gets the rows back, two
``all_to_all_single`` exchanges. Autograd connects the result to the reverse exchange: the
backward sends each row's gradient to its owner, which receives it as a sparse gradient of its
shard (rows asked for by several ranks are summed when the optimizer coalesces it). Every rank
must therefore call :meth:`~ShardedEntityTable.rows` and run the backward the same number of
times, as the training step does. The same code runs on gloo (CPU) and NCCL (GPU): the payloads
live on the shard's device.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import Tensor, nn

from kgtool import distributed
from kgtool.errors import CheckpointError, KGToolError

INIT_BLOCK_ROWS = 2**16  # rows initialised from one seed: the initial table is the same on any number of ranks


class ShardedEntityTable(nn.Module):
    """This rank's block of an ``(num_entities, width)`` table; the representation interface of
    issue 23: :meth:`rows` of some ids and :meth:`all_rows` (one process only).

    :param seed: seeds the id permutation and the initial rows.
    :param init: fills a block of rows in place from torch's global generator (the
        interaction's ``reset_parameters``); each block of :data:`INIT_BLOCK_ROWS` permuted rows
        is drawn under its own seed, so the table starts the same whatever the world size.
    """

    def __init__(self, num_entities: int, width: int, seed: int = 0, init=nn.init.normal_):
        super().__init__()
        self.num_entities, self.width, self.seed = num_entities, width, seed
        self.world, self.rank = distributed.world_size(), distributed.rank()
        self.block = math.ceil(num_entities / self.world)
        self.start = min(num_entities, self.rank * self.block)
        end = min(num_entities, self.start + self.block)
        generator = torch.Generator().manual_seed(distributed.stream_seed(distributed.SHARD_STREAM, seed))
        position = torch.randperm(num_entities, generator=generator)
        self.register_buffer("position", position, persistent=False)  # (n,): id -> row of the permuted table
        owned = torch.empty_like(position)
        owned[position] = torch.arange(num_entities)
        self.register_buffer("owned_ids", owned[self.start:end].clone(), persistent=False)  # (local,): ids of my rows
        self.shard = nn.Parameter(torch.empty(end - self.start, width))
        self.reset_parameters(init)

    def reset_parameters(self, init) -> None:
        """Initialise this rank's rows block by block of the permuted table (see ``init``)."""
        first, last = self.start // INIT_BLOCK_ROWS, math.ceil((self.start + len(self.shard)) / INIT_BLOCK_ROWS)
        for block in range(first, last):
            rows = torch.empty(INIT_BLOCK_ROWS, self.width)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(distributed.stream_seed(distributed.SHARD_STREAM, self.seed, block))
                init(rows)
            begin = block * INIT_BLOCK_ROWS
            lo, hi = max(begin, self.start), min(begin + INIT_BLOCK_ROWS, self.start + len(self.shard))
            self.shard.data[lo - self.start:hi - self.start] = rows[lo - begin:hi - begin]

    def owner(self, ids: Tensor) -> Tensor:
        """The rank holding each id's row, ``(m,)`` -> ``(m,)``."""
        return torch.div(self.position[ids], self.block, rounding_mode="floor")

    def local_row(self, ids: Tensor) -> Tensor:
        """Each id's row within its owner's shard, ``(m,)`` -> ``(m,)``."""
        return self.position[ids] % self.block

    def owns(self, ids: Tensor) -> Tensor:
        """``(m,)`` bool: this rank holds the id's row."""
        return self.owner(ids) == self.rank

    def rows(self, ids: Tensor) -> Tensor:
        """Rows of distinct ``ids`` ``(m,)`` -> ``(m, width)``, fetched from their owners; a
        collective (every rank calls it). Their gradient flows back to the owners' shards."""
        return FetchRows.apply(self.shard, self, ids)

    def forward(self, ids: Tensor) -> Tensor:
        """Rows of ids of any shape and with repeats, ``(*s,)`` -> ``(*s, width)``; a collective."""
        distinct, inverse = torch.unique(ids, return_inverse=True)
        return self.rows(distinct)[inverse]

    def all_rows(self) -> Tensor:
        """The whole table in id order ``(n, width)``: one process only, where the one shard is
        the table (prediction and export of a consolidated run)."""
        if self.world > 1:
            raise KGToolError(f"a table sharded over {self.world} ranks has no process holding all its rows; "
                              f"rank with kgtool.sharding.ranking, or load the finished run in one process")
        return self.shard[self.position]

    encode_all = all_rows  # the name KGEModel asks an entity representation for (until issue 23)

    def gathered(self, local: Tensor) -> Tensor | None:
        """The whole table's ``(n, *)`` in id order on rank 0 (None on the others) of a per-row
        tensor ``local`` ``(local_rows, *)`` (the shard, or its optimizer state); a collective.
        Rank 0 then holds the table once more: for the end of training and for tests."""
        local = local.detach()
        if self.world == 1:
            return local[self.position].clone()
        padded = local.new_zeros((self.block, *local.shape[1:]))
        padded[:len(local)] = local
        parts = [torch.empty_like(padded) for _ in range(self.world)] if self.rank == 0 else None
        dist.gather(padded, parts, dst=0)
        if self.rank != 0:
            return None
        return torch.cat(parts)[:self.num_entities][self.position.to(padded.device)]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Also load a consolidated table (``weight`` in id order, as rank 0 writes at the end)."""
        if prefix + "weight" in state_dict:
            weight = state_dict.pop(prefix + "weight")
            if weight.shape != (self.num_entities, self.width):
                raise CheckpointError(f"the saved entity table has shape {tuple(weight.shape)}, this run's "
                                      f"{(self.num_entities, self.width)}")
            state_dict[prefix + "shard"] = weight[self.owned_ids.to(weight.device)]
        elif prefix + "shard" not in state_dict:
            raise CheckpointError("the checkpoint holds no consolidated entity table (the run has not finished, or "
                                  "distributed.consolidate was false): resume or evaluate it under torchrun")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def exchange(payload: Tensor, send_counts: list[int], receive_counts: list[int]) -> Tensor:
    """``all_to_all_single``: send ``payload`` ``(sum(send_counts), *)``, cut by ``send_counts``,
    to the ranks in order; returns what they sent, ``(sum(receive_counts), *)``."""
    if len(send_counts) == 1:
        return payload
    received = payload.new_empty((sum(receive_counts), *payload.shape[1:]))
    dist.all_to_all_single(received, payload.contiguous(), receive_counts, send_counts)
    return received


class FetchRows(torch.autograd.Function):
    """``FetchRows.apply(shard, table, ids)``: rows of distinct ``ids`` from their owners; the
    backward pushes their gradients back as a sparse gradient of each owner's ``shard``."""

    @staticmethod
    def forward(ctx, shard: Tensor, table: ShardedEntityTable, ids: Tensor) -> Tensor:
        owners = table.owner(ids)
        order = torch.argsort(owners, stable=True)  # requests grouped by owner, as all_to_all cuts them
        send_counts = torch.bincount(owners, minlength=table.world)
        receive_counts = exchange(send_counts, [1] * table.world, [1] * table.world)
        send_counts, receive_counts = send_counts.tolist(), receive_counts.tolist()
        asked = exchange(table.local_row(ids[order]), send_counts, receive_counts)  # my rows others want
        received = exchange(shard[asked], receive_counts, send_counts)
        rows = torch.empty_like(received)
        rows[order] = received
        ctx.save_for_backward(order, asked)
        ctx.counts, ctx.shape = (send_counts, receive_counts), shard.shape
        return rows

    @staticmethod
    def backward(ctx, grad: Tensor):
        order, asked = ctx.saved_tensors
        send_counts, receive_counts = ctx.counts
        pushed = exchange(grad[order], send_counts, receive_counts)  # gradients of my rows, (len(asked), width)
        return torch.sparse_coo_tensor(asked[None], pushed, ctx.shape, check_invariants=False), None, None
