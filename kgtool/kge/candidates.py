"""Per-row negatives in training without ``(b, k, dim)`` tensors in memory.

Scoring ``b`` positives against ``k`` sampled candidates each, eagerly, gathers a ``(b, k, dim)``
tensor of candidate rows, and every elementwise step of the score and of its backward writes and
reads another one: RotatE on FB15k-237 (1,024 x 128 x 250 complex numbers, 268 MB each) spent
1.1 s per step, one thread, most of it in ``mul``, ``div``, ``vector_norm`` and ``sub`` over such
tensors. Here the candidates are scored a chunk of rows at a time, the chunk's
tensors sized to stay in cache, by kernels that gather the rows themselves, compiled by
``torch.compile`` (a C++ compiler on a CPU). The backward pass recomputes each chunk instead of
keeping it, and adds the candidates' gradients into the table's with ``index_add_``: the same
step took 0.27 s. Without a compiler the same chunks run eagerly (one log line; 0.63 s).
``benchmarks/fused_negatives.py`` times these steps.

Each kernel gives a *distance* between a query row and a candidate row; the interaction turns
it into its score (``margin - distance``):

- ``l1`` / ``l2``: ``||q - e||`` (TransE, ``q = h + r``),
- ``complex``: ``Σ_i |q_i - e_i|`` of complex numbers (RotatE, ``q = h·r``). Its rows go to the
  kernels planar (all real parts, then all imaginary parts) so that vector loads are contiguous:
  5-7x faster kernels than on (real, imaginary) pairs, for a copy of the table per step.

Only training on a CPU takes this path (its chunks are sized for a CPU cache; not measured on a
GPU), and only where a step is large enough to repay compiling (:data:`FUSED_MIN_ELEMENTS`). On
small graphs TransE scores negatives against all entities instead, a distance matrix
(:mod:`kgtool.kge.scoring_path`); RotatE, which has no such form, takes these kernels
there too (a UMLS step 15x faster).

The bilinear models (DistMult, ComplEx) do not take it: an inner-product kernel made their
scoring up to 2x faster alone, but whole FB15k-237 epochs (dim 256, 64 negatives) were no faster
than the plain gather and batched product, and each process paid about 5 s of compiling.
"""

from __future__ import annotations

import functools
import logging

import torch
from torch import Tensor

from kgtool.kge.fused import compile_kernel, has_compiler

log = logging.getLogger("kgtool")

FUSED_MIN_ELEMENTS = 2**22  # b·k·width of a step; smaller (toy) steps do not repay about 5 s of compiling per process
CHUNK_BYTES = 2**22  # candidate rows per kernel call: 4 MiB (1 MiB was 20% slower: more calls; 4-16 MiB alike)


def differences(queries: Tensor, table: Tensor, ids: Tensor) -> Tensor:
    """``q - e`` of queries ``(c, *item)`` and their candidates ``table[ids]`` -> ``(c, k, *item)``."""
    return queries[:, None] - table[ids]


def distances(kind: str, queries: Tensor, table: Tensor, ids: Tensor) -> Tensor:
    """Distances of queries ``(c, *item)`` to their candidates ``ids`` ``(c, k)`` of a ``table``
    ``(n, *item)`` -> ``(c, k)``. Items: ``(w,)`` rows, or ``(2, d)`` planar complex."""
    diff = differences(queries, table, ids)
    if kind == "l1":
        return diff.abs().sum(dim=-1)
    if kind == "l2":
        return (diff * diff).sum(dim=-1).sqrt()
    real, imaginary = diff[:, :, 0], diff[:, :, 1]
    return (real * real + imaginary * imaginary).sqrt().sum(dim=-1)


def query_terms(kind: str, queries: Tensor, table: Tensor, ids: Tensor, grad: Tensor) -> Tensor:
    """Gradient of ``Σ grad·distances(...)``, ``grad`` ``(c, k)``, with respect to each query, one
    term per candidate -> ``(c, k, *item)``. Their sum over ``k`` is the queries' gradient; the
    candidate rows' gradients are minus the terms.

    A distance has gradient 0 where it is not differentiable (``q = e``), as the plain path's
    ``vector_norm`` and ``abs`` have. The kernel is elementwise on purpose: a sum over the ``k``
    candidates inside it compiled to loads across rows, 5x slower than summing its output.
    """
    diff = differences(queries, table, ids)
    if kind == "l1":
        return grad[..., None] * diff.sign()
    if kind == "l2":
        norm = (diff * diff).sum(dim=-1, keepdim=True).sqrt()
        return torch.where(norm > 0, grad[..., None] / norm, 0.0) * diff
    real, imaginary = diff[:, :, 0], diff[:, :, 1]
    modulus = (real * real + imaginary * imaginary).sqrt()
    scale = torch.where(modulus > 0, grad[..., None] / modulus, 0.0)
    return torch.stack([scale * real, scale * imaginary], dim=2)


@functools.cache
def kernels() -> tuple:
    """``(distances, query_terms)``: compiled once per process, or eager with one log line."""
    if has_compiler():
        return compile_kernel(distances), compile_kernel(query_terms)
    log.warning("training: no C++ compiler found (c++, g++, clang++); sampled negatives are scored eagerly in chunks")
    return distances, query_terms


def chunk_rows(ids: Tensor, table: Tensor) -> int:
    """Queries per kernel call: their ``(c, k, *item)`` candidate rows fill :data:`CHUNK_BYTES`."""
    return max(1, CHUNK_BYTES // (ids.shape[1] * table[0].numel() * table.element_size()))


class CandidateDistances(torch.autograd.Function):
    """:func:`distances` chunk by chunk; backward recomputes each chunk (nothing ``(b, k, …)`` kept)."""

    @staticmethod
    def forward(ctx, kind: str, queries: Tensor, table: Tensor, ids: Tensor) -> Tensor:
        forward_kernel, _ = kernels()
        out = queries.new_empty(ids.shape)
        step = chunk_rows(ids, table)
        for start in range(0, len(ids), step):
            out[start:start + step] = forward_kernel(kind, queries[start:start + step], table, ids[start:start + step])
        ctx.kind = kind
        ctx.save_for_backward(queries, table, ids)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        queries, table, ids = ctx.saved_tensors
        _, backward_kernel = kernels()
        grad = grad.contiguous()
        grad_queries, grad_table = torch.empty_like(queries), torch.zeros_like(table)
        step = chunk_rows(ids, table)
        for start in range(0, len(ids), step):
            chunk = slice(start, start + step)
            terms = backward_kernel(ctx.kind, queries[chunk], table, ids[chunk], grad[chunk])
            grad_queries[chunk] = terms.sum(dim=1)
            grad_table.index_add_(0, ids[chunk].flatten(), terms.flatten(0, 1), alpha=-1)
        return None, grad_queries, grad_table, None


def candidate_distances(kind: str, queries: Tensor, table: Tensor, ids: Tensor) -> Tensor:
    """Distances of queries ``(b, *item)`` to rows ``table[ids]``, ids
    ``(b, k)`` -> ``(b, k)``, differentiable in ``queries`` and ``table``.

    Items: ``(w,)`` real rows, or for ``kind="complex"`` ``(d, 2)`` (real, imaginary) pairs,
    made planar here (a copy of the table; its gradient is copied back by autograd).
    """
    if kind == "complex":
        queries, table = queries.transpose(-1, -2).contiguous(), table.transpose(-1, -2).contiguous()
    return CandidateDistances.apply(kind, queries.contiguous(), table, ids.contiguous())
