"""What every benchmark table prints about the machine it ran on: facts, peak memory, and its
limits (matmul rate, memory bandwidth) that the fraction-of-bound columns divide by."""

from __future__ import annotations

import os
import platform
import resource
import time


def machine_facts() -> str:
    """One line: architecture, cores, load, torch version and threads, python."""
    import torch

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores (load average {load}), torch {torch.__version__} "
            f"with {torch.get_num_threads()} threads, python {platform.python_version()}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(compute) -> tuple[float, object]:
    started = time.perf_counter()
    result = compute()
    return time.perf_counter() - started, result


def best_of(compute, repeats: int = 3) -> float:
    return min(timed(compute)[0] for _ in range(repeats))


def matmul_rate() -> float:
    """The machine's float32 matmul rate in flop/s, as torch gets it (best of three)."""
    import torch

    a, b = torch.randn(2048, 1024), torch.randn(1024, 4096)
    return 2 * 2048 * 1024 * 4096 / best_of(lambda: a @ b)


def memory_bandwidth() -> float:
    """Bytes per second read and written by a copy of 512 MiB (best of three)."""
    import torch

    source = torch.randn(2**27)
    target = torch.empty_like(source)
    return 2 * source.numel() * 4 / best_of(lambda: target.copy_(source))
