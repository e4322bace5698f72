"""Fused distance kernels: queries against an entity table without ``(b, n, dim)`` temporaries.

Scoring every entity with a distance model (TransE, RotatE) has no matrix-product form. Eagerly,
each elementwise step (difference, modulus, sum) writes and reads a ``(b, chunk, dim)``
temporary, and the scores are memory-bound: RotatE on FB15k-237 took 3–7 ns per (query, entity,
complex number). A kernel compiled by ``torch.compile`` (inductor; a C++ compiler on a CPU)
computes each score from one query row and one entity row in registers instead: 0.25 ns for
RotatE, 0.1 ns for TransE L1 (1 thread). Complex rows go to it planar (all real parts, then all
imaginary parts), so that its vector loads are contiguous: 3.6x faster than (real, imaginary)
pairs. The table is scored in tiles of rows that stay in the L2 cache (a whole FB15k-237 table
per query made it 2.2x slower).

Only evaluation takes these kernels (no gradients), on a CPU (their tiles are sized for its
cache; not measured on a GPU), and only for batches large enough to repay compiling them: the
first compiled call of a process takes about 5 s (3 s of it importing ``torch._dynamo`` and
inductor; inductor's on-disk cache spares the C++ compiler after the first process, which took
14 s), each further kernel about 0.3 s. A ``(b, n)`` score matrix of ``b·n·width`` at least
:data:`FUSED_MIN_ELEMENTS` takes them; smaller graphs (UMLS: 661 queries x 135 entities x 1,000)
keep the eager path and never compile.
"""

from __future__ import annotations

import functools
import logging
import shutil
from typing import Callable

import torch
from torch import Tensor

log = logging.getLogger("kgtool")

FUSED_MIN_ELEMENTS = 2**30  # b·n·width; eagerly 1.5–4 s of RotatE scoring, about the warm-up
TILE_BYTES = 2**19  # table rows per kernel call: half a MiB, within a core's L2 cache


def has_compiler() -> bool:
    """Whether ``torch.compile`` can build kernels here: a GPU, or a C++ compiler for inductor's
    CPU kernels (without one, compiling fails at the first call)."""
    return torch.cuda.is_available() or any(shutil.which(c) for c in ("c++", "g++", "clang++", "cl"))


@functools.cache
def can_fuse() -> bool:
    """:func:`has_compiler`, saying once per process (one log line) when there is none."""
    if has_compiler():
        return True
    log.warning("evaluation: no C++ compiler found (c++, g++, clang++); distance models score all entities eagerly")
    return False


def lp_distances(queries: Tensor, table: Tensor, p_norm: int) -> Tensor:
    """``||q - e||_p`` of queries ``(b, 1, d)`` and table rows ``(1, n, d)`` -> ``(b, n)``.

    Written out rather than ``vector_norm`` or ``pow``, which inductor compiled 10–25x slower
    (not vectorised).
    """
    differences = queries - table
    if p_norm == 1:
        return differences.abs().sum(dim=-1)
    if p_norm == 2:
        return (differences * differences).sum(dim=-1).sqrt()
    return differences.abs().pow(p_norm).sum(dim=-1).pow(1.0 / p_norm)


def planar_complex_distances(queries: Tensor, table: Tensor) -> Tensor:
    """``Σ_i |q_i - e_i|`` of planar complex queries ``(b, 1, 2, d)`` and rows ``(1, n, 2, d)``
    (real parts ``[..., 0, :]``, imaginary parts ``[..., 1, :]``) -> ``(b, n)``."""
    real = queries[..., 0, :] - table[..., 0, :]
    imaginary = queries[..., 1, :] - table[..., 1, :]
    return (real * real + imaginary * imaginary).sqrt().sum(dim=-1)


@functools.cache
def compiling_notice() -> None:
    """Say once per process that kernels compile: the first call takes seconds with no other sign
    (a progress bar's ETA jumps to minutes meanwhile)."""
    log.info("compiling scoring kernels, about 20 s once")


def compile_kernel(kernel: Callable) -> Callable:
    """``torch.compile(kernel, dynamic=True)``, after the process's one :func:`compiling_notice`."""
    compiling_notice()
    return torch.compile(kernel, dynamic=True)


@functools.cache
def compiled(kernel: Callable) -> Callable:
    return compile_kernel(kernel)


def tiled(kernel: Callable, queries: Tensor, table: Tensor, *args) -> Tensor:
    """``kernel(queries[:, None], rows[None], *args)`` over tiles of table rows -> ``(b, n)``,
    for queries ``(b, *item)`` and a table ``(n, *item)``."""
    rows = max(1, TILE_BYTES // (table[0].numel() * table.element_size()))
    scores = queries.new_empty((len(queries), len(table)))
    fused = compiled(kernel)
    for start in range(0, len(table), rows):
        scores[:, start:start + rows] = fused(queries[:, None], table[None, start:start + rows], *args)
    return scores


def lp_distance_matrix(queries: Tensor, table: Tensor, p_norm: int) -> Tensor:
    """``||q - e||_p`` for queries ``(b, d)`` and a table ``(n, d)`` -> ``(b, n)``, fused."""
    return tiled(lp_distances, queries.contiguous(), table.contiguous(), p_norm)


def complex_distance_matrix(queries: Tensor, table: Tensor) -> Tensor:
    """``Σ_i |q_i - e_i|`` for complex pairs: queries ``(b, d, 2)``, a table ``(n, d, 2)`` ->
    ``(b, n)``, fused; both are made planar first (a copy of each, small next to the scoring)."""
    def planar(x: Tensor) -> Tensor:
        return x.transpose(-1, -2).contiguous()

    return tiled(planar_complex_distances, planar(queries), planar(table))
