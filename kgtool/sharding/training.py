"""ShardedTrainer: the shared training loop with a sharded entity table.

What differs from :class:`~kgtool.training.Trainer`: no DDP (the table pushes row gradients to
their owners, and :class:`ShardedOptimizer` averages them and all-reduces the replicated ones);
and checkpoints in two parts. Each rank writes its rows, their optimizer state and its rows of
the best model so far into a DCP folder ``sharded-<epoch>-<batch>-<tag>``; rank 0 then writes
``checkpoint.pt`` with everything else (relations, the optimizer's replicated state, generator,
epoch, log position) and the name of that folder, and removes older ones. A kill at any moment
leaves ``checkpoint.pt`` naming a complete folder. The folder reshards, so a run resumes on any
number of ranks. At the end, with ``distributed.consolidate``, rank 0 also gathers the table
into ``checkpoint.pt`` (in id order, as a plain run stores it) for ``predict``/``export``/``evaluate``
in one process.
"""

from __future__ import annotations

import shutil
import uuid

import torch

from kgtool import distributed
from kgtool.errors import CheckpointError
from kgtool.sharding.checkpoint import load_sharded, save_sharded
from kgtool.sharding.optim import ShardedOptimizer
from kgtool.training import Trainer

SHARD_KEY, CONSOLIDATED_KEY = "entity_embeddings.shard", "entity_embeddings.weight"
FOLDER_PREFIX = "sharded-"


class ShardedTrainer(Trainer):
    """A :class:`Trainer` for a :class:`~kgtool.sharding.task.ShardedKGETask` (see the module)."""

    def _step_module(self) -> torch.nn.Module:
        return distributed.TaskLoss(self.task)

    def _build_optimizer(self) -> ShardedOptimizer:
        model = self.task.model
        replicated = [p for p in model.parameters() if p is not model.table.shard]
        return ShardedOptimizer(model.table.shard, replicated, self.training.optimizer, self.training.lr)

    @property
    def table(self):
        return self.task.model.table

    def state(self) -> dict:
        """The trainer's state without this rank's rows (they go to the DCP folder)."""
        state = super().state()
        state["model"] = without_shard(state["model"])
        if self.best is not None and self.best["model"] is not None:
            state["best"] = {**self.best, "model": without_shard(self.best["model"])}
        return state

    def _sharded_parts(self) -> dict:
        parts = {"entities": self.table.shard.data, "optimizer": self.optimizer.row_state}
        if self.best is not None and self.best["model"] is not None:
            parts["best_entities"] = self.best["model"][SHARD_KEY]
        return parts

    def save(self) -> None:
        name = distributed.from_main(f"{FOLDER_PREFIX}{self.epoch:05d}-{self.batch:06d}-{uuid.uuid4().hex[:8]}")
        save_sharded(self.folder.path / name, self.table, self._sharded_parts())
        state = self.state()
        state["sharded"] = name
        if self.finished and self.config.distributed.consolidate:
            state["model"][CONSOLIDATED_KEY] = self.table.gathered(self.table.shard)
        if distributed.is_main():
            self.folder.save_checkpoint(state)
            for old in self.folder.path.glob(f"{FOLDER_PREFIX}*"):
                if old.name != name:
                    shutil.rmtree(old, ignore_errors=True)
        distributed.barrier()

    def restore(self, state: dict) -> None:
        """Load this rank's rows from the DCP folder ``state`` names (written by any number of
        ranks), then the rest as the Trainer does."""
        name = state.get("sharded")
        if name is None or not (self.folder.path / name).is_dir():
            raise CheckpointError(f"{self.folder.checkpoint_path} names no sharded state ({name!r}): it was not "
                                  f"written with distributed.shard_entities=true, or its folder was removed")
        parts = self._sharded_parts()
        best = state.get("best")
        if best is not None and best["model"] is not None:
            parts["best_entities"] = torch.empty_like(self.table.shard, device="cpu")
        load_sharded(self.folder.path / name, self.table, parts)
        state["model"] = {**without_shard(state["model"]), SHARD_KEY: self.table.shard.data}
        state["model"].pop(CONSOLIDATED_KEY, None)
        if "best_entities" in parts:
            best["model"] = {**best["model"], SHARD_KEY: parts["best_entities"]}
        super().restore(state)


def without_shard(model_state: dict) -> dict:
    return {key: value for key, value in model_state.items() if key != SHARD_KEY}
