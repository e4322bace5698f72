"""Row-wise SGD, Adagrad and Adam for a sharded entity table and the replicated tables beside it.

Semantics: every row of a table is a parameter of its own, which steps when a batch *touches*
it (its id was among the rows the step fetched, :meth:`ShardedEntityTable.rows`) and otherwise
stays as it is, state included. So a row's update is that of ``torch.optim.SGD``, ``Adagrad`` or
``Adam`` (default betas and eps) applied to that row alone, skipped in steps whose gradient for
it is None. For **Adam** this means **per-row step counts**: a row's bias correction uses the
number of steps that touched it, not the number of steps taken. ``torch.optim.SparseAdam`` instead
keeps one count for the whole table, so a row first touched at step 1,000 starts with its
moments nearly uncorrected; with per-row counts its first update is a full-size ``lr``-step, as
the first step of Adam on a fresh parameter. The replicated tables (relations) are touched every
step, so row-wise and dense Adam are the same there.

Each rank's loss is scaled as for DDP (the trainer's share weighting), so the optimizer averages
gradients over ranks: the pushed row gradients arrive summed at their owner and are divided by
the world size; the replicated parameters' gradients are all-reduced and divided likewise.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor

from kgtool import distributed

BETAS, ADAM_EPS, ADAGRAD_EPS = (0.9, 0.999), 1e-8, 1e-10  # torch's defaults


def sgd_rows(weight: Tensor, state: dict, rows: Tensor, grad: Tensor, lr: float) -> None:
    """``w[rows] -= lr · g`` for distinct ``rows`` ``(m,)`` and their gradients ``grad`` ``(m, width)``."""
    weight.index_add_(0, rows, grad, alpha=-lr)


def adagrad_rows(weight: Tensor, state: dict, rows: Tensor, grad: Tensor, lr: float) -> None:
    """``s += g²; w -= lr · g / (√s + eps)`` on ``rows`` (torch's Adagrad, no lr decay)."""
    total = state["sum"][rows].addcmul_(grad, grad)
    state["sum"][rows] = total
    weight[rows] -= lr * grad / total.sqrt_().add_(ADAGRAD_EPS)


def adam_rows(weight: Tensor, state: dict, rows: Tensor, grad: Tensor, lr: float) -> None:
    """torch's Adam on ``rows``, each with its own step count (``state["step"]`` ``(n,)``)."""
    beta1, beta2 = BETAS
    step = state["step"][rows] + 1
    state["step"][rows] = step
    exp_avg = state["exp_avg"][rows].lerp_(grad, 1 - beta1)
    exp_avg_sq = state["exp_avg_sq"][rows].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    state["exp_avg"][rows], state["exp_avg_sq"][rows] = exp_avg, exp_avg_sq
    step = step.double()
    step_size = (lr / (1 - beta1 ** step)).to(grad.dtype)[:, None]
    correction2 = (1 - beta2 ** step).sqrt().to(grad.dtype)[:, None]
    weight[rows] -= step_size * exp_avg / (exp_avg_sq.sqrt() / correction2).add_(ADAM_EPS)


def new_row_state(kind: str, weight: Tensor) -> dict[str, Tensor]:
    """Zero state of ``weight`` ``(n, width)``: Adagrad's sums; Adam's moments and per-row steps."""
    if kind == "adagrad":
        return {"sum": torch.zeros_like(weight)}
    if kind == "adam":
        return {"step": weight.new_zeros(len(weight)), "exp_avg": torch.zeros_like(weight),
                "exp_avg_sq": torch.zeros_like(weight)}
    return {}


ROW_UPDATES = {"sgd": sgd_rows, "adagrad": adagrad_rows, "adam": adam_rows}


class ShardedOptimizer(torch.optim.Optimizer):
    """Steps a sharded table's touched rows and the replicated parameters, as the module says.

    ``param_groups`` are ``[{shard}, {replicated...}]``, both at ``lr``, so that learning-rate
    schedulers work as usual. The shard's state (``row_state``, as large as the shard) is kept
    out of :meth:`state_dict`, which holds the small replicated part for ``checkpoint.pt``;
    :mod:`kgtool.sharding.checkpoint` saves ``row_state`` with the shards.

    :param shard: the local rows ``(local, width)`` whose gradient arrives sparse
    :param replicated: parameters held whole by every rank (relation tables); they start as rank 0's
    """

    def __init__(self, shard: torch.nn.Parameter, replicated: list[torch.nn.Parameter], kind: str, lr: float):
        super().__init__([{"params": [shard]}, {"params": replicated}], {"lr": lr})
        self.kind = kind
        self.update = ROW_UPDATES[kind]
        self.row_state = new_row_state(kind, shard.detach())
        for parameter in replicated:
            if distributed.is_distributed():  # start from rank 0's values, as DDP does
                dist.broadcast(parameter.data, src=0)
            self.state[parameter] = new_row_state(kind, as_rows(parameter.detach()))

    @torch.no_grad()
    def step(self, closure=None):
        shard_group, replicated_group = self.param_groups
        shard = shard_group["params"][0]
        if shard.grad is not None:
            gradient = shard.grad.coalesce()
            rows, values = gradient.indices()[0], gradient.values() / distributed.world_size()
            self.update(shard, self.row_state, rows, values, shard_group["lr"])
        replicated = replicated_group["params"]
        for parameter, gradient in zip(replicated, averaged_gradients(replicated)):
            weight = as_rows(parameter)
            rows = torch.arange(len(weight), device=weight.device)
            self.update(weight, self.state[parameter], rows, as_rows(gradient), replicated_group["lr"])


def as_rows(tensor: Tensor) -> Tensor:
    """``tensor`` as a table of rows ``(n, rest)`` (a view)."""
    return tensor.view(len(tensor), -1) if tensor.dim() else tensor.view(1, 1)


def averaged_gradients(parameters: list[torch.nn.Parameter]) -> list[Tensor]:
    """Each parameter's gradient averaged over the ranks (zeros where a rank has none), with one
    all-reduce of their concatenation."""
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
    if not distributed.is_distributed() or not grads:
        return grads
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= distributed.world_size()
    return [part.view_as(g) for part, g in zip(flat.split([g.numel() for g in grads]), grads)]
