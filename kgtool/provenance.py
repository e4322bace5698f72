"""Where a run came from: ``provenance.json`` in its folder, one entry per start or resume.

Each entry holds the versions of kgtool, torch, PyG, pykeen and Python, the git commit of a
checkout kgtool runs from, the command line, the host, the device, and start and end times.
"""

from __future__ import annotations

import importlib.metadata
import platform
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch

from kgtool.run_folder import RunFolder

PACKAGES = {"torch": "torch", "torch_geometric": "torch-geometric", "pykeen": "pykeen"}


def start_entry(folder: RunFolder, device: torch.device, resumed: bool) -> None:
    """Append this process's entry to ``provenance.json``, its end time still open."""
    record = folder.load_json(folder.provenance_path) or {"runs": []}
    record["runs"].append({
        "kgtool": _kgtool_version(),
        **{key: _version(distribution) for key, distribution in PACKAGES.items()},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "command": shlex.join(sys.argv),
        "host": socket.gethostname(),
        "device": str(device),
        "resumed": resumed,
        "started": _now(),
        "ended": None,
    })
    folder.save_json(folder.provenance_path, record)


def end_entry(folder: RunFolder) -> None:
    """Close the last entry of ``provenance.json`` with the end time."""
    record = folder.load_json(folder.provenance_path)
    if record and record.get("runs"):
        record["runs"][-1]["ended"] = _now()
        folder.save_json(folder.provenance_path, record)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _kgtool_version() -> str | None:
    import kgtool

    return getattr(kgtool, "__version__", None) or _version("kgtool")


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    """The commit of the checkout kgtool's code is in, ``-dirty`` when it has changes; None for
    an installed wheel (or without git)."""
    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")
