"""The run folder: resolved config, checkpoint, metrics and epoch log of one training run.

``config.yaml`` (fully resolved) · ``checkpoint.pt`` · ``metrics.json`` · ``log.jsonl``.
Files are replaced atomically (write a temporary file, then rename), so a crash or Ctrl-C never
leaves a half-written checkpoint; checkpoints load with ``weights_only=True``.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch

from kgtool.config import Config
from kgtool.errors import CheckpointError


class RunFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def log_path(self) -> Path:
        return self.path / "log.jsonl"

    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    def create(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def save_checkpoint(self, state: dict) -> None:
        self._atomic_write(self.checkpoint_path, lambda f: torch.save(state, f))

    def load_checkpoint(self, map_location: str | torch.device = "cpu") -> dict:
        if not self.has_checkpoint():
            raise CheckpointError(f"no checkpoint at {self.checkpoint_path}")
        try:
            return torch.load(self.checkpoint_path, map_location=map_location, weights_only=True)
        except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError) as error:
            raise CheckpointError(f"cannot read checkpoint {self.checkpoint_path}: corrupt, truncated or not "
                                  f"written by kgtool ({type(error).__name__})") from None

    def save_config(self, config: Config) -> None:
        self._atomic_write(self.config_path, lambda f: f.write(config.to_yaml().encode()))

    def load_config(self) -> Config:
        if not self.config_path.is_file():
            raise CheckpointError(f"{self.path} is not a run folder: no config.yaml")
        return Config.load(self.config_path)

    def save_metrics(self, metrics: dict) -> None:
        self._atomic_write(self.metrics_path, lambda f: f.write(json.dumps(metrics, indent=2).encode()))

    def load_metrics(self) -> dict:
        return json.loads(self.metrics_path.read_text()) if self.metrics_path.is_file() else {}

    def append_log(self, record: dict) -> None:
        with open(self.log_path, "a") as log:
            log.write(json.dumps(record) + "\n")

    def truncate_log(self, epochs: int) -> None:
        """Keep the log's records of the first ``epochs`` epochs: those a checkpoint holds. A run
        killed after logging later epochs runs them again from that checkpoint on resume."""
        if not self.log_path.is_file():
            return
        lines = self.log_path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if _logged_epoch(line) <= epochs]
        if len(kept) != len(lines):
            self._atomic_write(self.log_path, lambda f: f.write("".join(kept).encode()))

    def _atomic_write(self, target: Path, write) -> None:
        self.create()
        handle, temporary = tempfile.mkstemp(dir=self.path, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _logged_epoch(line: str) -> float:
    """The epoch of a log line; a line a kill tore (or an empty one) counts as after every epoch."""
    try:
        return json.loads(line)["epoch"]
    except (ValueError, KeyError, TypeError):
        return float("inf")
