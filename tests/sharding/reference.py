"""A one-process reference for sharded training: a plain KGEModel, each entity row its own
parameter of a torch optimizer (so untouched rows skip the step, as the row-wise semantics say)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from kgtool import distributed
from kgtool.kge.interactions import Interaction, interaction
from kgtool.kge.losses import nssa_loss
from kgtool.kge.model import KGEModel
from kgtool.sharding.model import ShardedKGEModel
from kgtool.sharding.optim import ShardedOptimizer

TORCH_OPTIMIZERS = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "adam": torch.optim.Adam}


def batch_loss(model: KGEModel, positives: Tensor, negatives: Tensor, corrupt_head: Tensor) -> Tensor:
    """Self-adversarial loss of ``positives`` ``(b, 3)`` against ``negatives`` ``(b, k)`` put in
    the head (``corrupt_head``) or the tail place."""
    h, r, t = positives.unbind(dim=1)
    heads = model.score_head_candidates(r, t, negatives)
    tails = model.score_tail_candidates(h, r, negatives)
    return nssa_loss(model.score_hrt(positives), torch.where(corrupt_head[:, None], heads, tails), 1.0)


def random_batches(num_entities: int, num_relations: int, steps: int, size: int = 48, k: int = 12, seed: int = 1):
    """The same ``steps`` batches on every rank: positives, negatives, corrupt_head."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        positives = torch.stack([torch.randint(num_entities, (size,), generator=g),
                                 torch.randint(num_relations, (size,), generator=g),
                                 torch.randint(num_entities, (size,), generator=g)], dim=1)
        yield positives, torch.randint(num_entities, (size, k), generator=g), torch.rand(size, generator=g) < 0.5


class Reference:
    """The one-process model and torch optimizer that the sharded run must match."""

    def __init__(self, config: Interaction, table: Tensor, relations: Tensor, kind: str, lr: float):
        self.model = KGEModel(config, len(table), len(relations)).to(table.dtype)
        self.model.relation_embeddings.weight.data.copy_(relations)
        self.rows = [nn.Parameter(row.clone()) for row in table]
        self.optimizer = TORCH_OPTIMIZERS[kind](self.rows + [self.model.relation_embeddings.weight], lr=lr)

    def step(self, positives: Tensor, negatives: Tensor, corrupt_head: Tensor) -> None:
        weight = self.model.entity_embeddings.weight
        weight.data.copy_(torch.stack([row.detach() for row in self.rows]))
        weight.grad = None
        self.optimizer.zero_grad(set_to_none=True)
        batch_loss(self.model, positives, negatives, corrupt_head).backward()
        touched = torch.unique(torch.cat([positives[:, 0], positives[:, 2], negatives.flatten()]))
        for i in touched.tolist():
            self.rows[i].grad = weight.grad[i].clone()
        self.optimizer.step()

    def table(self) -> Tensor:
        return torch.stack([row.detach() for row in self.rows])


def sharded_step(model: ShardedKGEModel, optimizer: ShardedOptimizer, positives: Tensor, negatives: Tensor,
                 corrupt_head: Tensor) -> None:
    """One step on this rank's share of the batch, the loss weighted as the Trainer weights it."""
    share = distributed.shard(torch.arange(len(positives)))
    ids = torch.cat([positives[share][:, 0::2].flatten(), negatives[share].flatten()])
    optimizer.zero_grad(set_to_none=True)
    with model.encoding_once(ids):
        loss = batch_loss(model, positives[share], negatives[share], corrupt_head[share])
    (loss * len(share) * distributed.world_size() / len(positives)).backward()
    optimizer.step()


def trained(name: str, kind: str, num_entities: int = 5001, num_relations: int = 5, steps: int = 3, lr: float = 0.05,
            device: str = "cpu", reference: bool = False, dtype: torch.dtype = torch.float32):
    """A sharded model and its optimizer after ``steps`` steps; with ``reference``, also the
    initial table and the :class:`Reference` trained alike (on rank 0; None elsewhere)."""
    config = interaction(name=name, dim=8)
    torch.manual_seed(0)  # the relation table, as a run seeds it
    model = ShardedKGEModel(config, num_entities, num_relations, seed=3).to(device, dtype)
    optimizer = ShardedOptimizer(model.table.shard, [model.relation_embeddings.weight], kind, lr)
    initial = model.table.gathered(model.table.shard)
    one_process = None
    if reference and distributed.is_main():
        one_process = Reference(config, initial.cpu(), model.relation_embeddings.weight.detach().cpu(), kind, lr)
    for batch in random_batches(num_entities, num_relations, steps):
        sharded_step(model, optimizer, *(x.to(device) for x in batch))
        if one_process is not None:
            one_process.step(*batch)
    return model, optimizer, initial, one_process


def train_and_compare(name: str, kind: str, num_entities: int = 5001, device: str = "cpu",
                      dtype: torch.dtype = torch.float32) -> None:
    """Train sharded on this process's world and, on rank 0, the reference; the tables must agree to 1e-5.

    Adam divides by the root of the second moment, so where a row's gradient is far below its
    eps (1e-8; here down to 1e-10, where many terms cancel) the float32 rounding of different
    summation orders shows: 1.3e-5 for one of 40,008 DistMult entries after 3 steps at lr 0.05.
    Adam is therefore compared in float64, which checks the same logic without that noise."""
    model, _, initial, reference = trained(name, kind, num_entities, device=device, reference=True, dtype=dtype)
    table = model.table.gathered(model.table.shard)
    if reference is not None:
        table, initial = table.cpu(), initial.cpu()
        moved = (table - initial).abs().sum(dim=1) > 0
        assert 0 < moved.sum() < num_entities, "the steps move some rows and leave the rest"
        torch.testing.assert_close(table, reference.table(), atol=1e-5, rtol=0, msg=f"{name} {kind}: entity table")
        torch.testing.assert_close(model.relation_embeddings.weight.detach().cpu(), reference.model.relation_embeddings.weight,
                                   atol=1e-5, rtol=0, msg=f"{name} {kind}: relation table")
