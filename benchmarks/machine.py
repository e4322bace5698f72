"""What every benchmark table prints about the machine it ran on, and peak memory."""

from __future__ import annotations

import os
import platform
import resource


def machine_facts() -> str:
    """One line: architecture, cores, load, torch version and threads, python."""
    import torch

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores (load average {load}), torch {torch.__version__} "
            f"with {torch.get_num_threads()} threads, python {platform.python_version()}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
