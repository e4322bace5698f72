"""The run folder: resolved config, checkpoint, metrics and epoch log of one training run.

``config.yaml`` (fully resolved) · ``checkpoint.pt`` · ``metrics.json`` · ``log.jsonl`` ·
``dataset.json`` (where the data lay and its fingerprint) · ``provenance.json`` (versions,
command, device, times) · ``dataset/`` (a dataset given in memory) · ``.lock``.

What a run folder guarantees:

- **One writer.** A run holds an OS lock (``fcntl.flock`` on ``.lock``) for its whole life; a
  second process is refused with the holder's PID, and the OS drops the lock of a dead process.
- **Atomic files.** Files are replaced atomically (write a temporary file, then rename), so a
  crash or Ctrl-C never leaves a half-written checkpoint; a killed writer's temporary files are
  removed by the next run that takes the lock. Checkpoints load with ``weights_only=True``.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

from kgtool.config import Config
from kgtool.errors import CheckpointError, ConfigError, KGToolError

# written atomically through temporary files named ".<name>.<random>" (see _atomic_write)
ATOMIC_FILES = ("config.yaml", "checkpoint.pt", "metrics.json", "log.jsonl", "dataset.json", "provenance.json",
                "tracking.json")
# any of these marks a folder as a run's (finished or not): a new fit there would mix two runs
RUN_FILES = ("config.yaml", "checkpoint.pt", "log.jsonl", "metrics.json", "provenance.json")


class RunFolderBusy(KGToolError):
    """Another process is writing the run folder."""


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

    @property
    def lock_path(self) -> Path:
        return self.path / ".lock"

    @property
    def dataset_record_path(self) -> Path:
        return self.path / "dataset.json"

    @property
    def provenance_path(self) -> Path:
        return self.path / "provenance.json"

    @property
    def tracking_path(self) -> Path:
        """The MLflow and W&B run ids of this run (:mod:`kgtool.tracking`), so a resume logs to the same runs."""
        return self.path / "tracking.json"

    @property
    def stored_dataset_path(self) -> Path:
        """Where a dataset given in memory is written, so the run loads without its caller."""
        return self.path / "dataset"

    def has_checkpoint(self) -> bool:
        return self.checkpoint_path.is_file()

    def run_files(self) -> list[str]:
        """The files of a run (finished or not) that this folder holds."""
        return [name for name in RUN_FILES if (self.path / name).is_file()]

    def create(self) -> None:
        make_folder(self.path, "run folder")

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the folder's lock for the block: one writing process per run folder.

        The lock is ``flock`` on ``.lock``, which the OS releases when the process ends however it
        ends, so a killed run never blocks the next one. The holder writes its PID into the file
        for the error a second process gets. Temporary files left by a killed writer are removed.
        """
        self.create()
        handle = open(self.lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise RunFolderBusy(f"run folder {self.path} is in use by another kgtool process (PID {holder}); "
                                f"wait for it to end or choose another output folder") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            self.remove_temporaries()
            yield
        finally:
            handle.close()  # releases the lock

    def remove_temporaries(self) -> list[Path]:
        """Delete the temporary files of atomic writes that a killed process left; call it only
        while holding the lock (another writer's temporaries are live)."""
        leftovers = [p for name in ATOMIC_FILES for p in self.path.glob(f".{name}.*")]
        for path in leftovers:
            path.unlink(missing_ok=True)
        return leftovers

    def remove(self) -> None:
        """Delete the folder and everything in it (a run that failed before it wrote anything worth keeping)."""
        shutil.rmtree(self.path, ignore_errors=True)

    def save_checkpoint(self, state: dict) -> None:
        self._atomic_write(self.checkpoint_path, lambda f: torch.save(state, f))

    def load_checkpoint(self, map_location: str | torch.device = "cpu") -> dict:
        if not self.has_checkpoint():
            raise CheckpointError(f"no checkpoint at {self.checkpoint_path}")
        try:
            state = torch.load(self.checkpoint_path, map_location=map_location, weights_only=True)
        except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError) as error:
            raise CheckpointError(f"cannot read checkpoint {self.checkpoint_path}: corrupt, truncated or not "
                                  f"written by kgtool ({type(error).__name__})") from None
        if not isinstance(state, dict) or not isinstance(state.get("model"), dict):  # e.g. a tensor torch.save wrote
            held = "a dict without model weights" if isinstance(state, dict) else f"a {type(state).__name__}"
            raise CheckpointError(f"{self.checkpoint_path} holds {held}, not a kgtool checkpoint")
        return state

    def save_config(self, config: Config) -> None:
        self._atomic_write(self.config_path, lambda f: f.write(config.to_yaml().encode()))

    def save_json(self, path: Path, record: dict) -> None:
        self._atomic_write(path, lambda f: f.write((json.dumps(record, indent=2) + "\n").encode()))

    def load_json(self, path: Path) -> dict | None:
        """The record in ``path``, or None when the folder has none (runs written before it existed)."""
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise CheckpointError(f"cannot read {path}: {error}") from None

    def load_config(self) -> Config:
        if not self.config_path.is_file():
            raise CheckpointError(f"{self.path} is not a run folder: no config.yaml")
        return Config.load(self.config_path)

    def save_metrics(self, metrics: dict) -> None:
        self.save_json(self.metrics_path, metrics)

    def load_metrics(self) -> dict:
        return json.loads(self.metrics_path.read_text()) if self.metrics_path.is_file() else {}

    def append_log(self, record: dict) -> None:
        with open(self.log_path, "a") as log:
            log.write(json.dumps(record) + "\n")

    def truncate_log(self, epochs: int, pretrain_epochs: int = 0) -> None:
        """Keep the log's records of the first ``epochs`` epochs (and ``pretrain_epochs`` epochs of
        encoder pre-training): those a checkpoint holds. A run killed after logging later epochs
        runs them again from that checkpoint on resume."""
        if not self.log_path.is_file():
            return
        lines = self.log_path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if _kept_record(line, epochs, pretrain_epochs)]
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


def make_folder(path: Path, what: str) -> None:
    """``mkdir -p path``; a file in the way, or a place where no folder can be made (``/proc/x``, no
    permission), is a ConfigError naming ``what`` and ``path``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"the {what} {path} is a file, not a folder; choose another") from None
    except OSError as error:
        raise ConfigError(f"cannot create the {what} {path}: {error.strerror}") from None


def _kept_record(line: str, epochs: int, pretrain_epochs: int) -> bool:
    """Whether a log line records one of the first ``epochs`` epochs (a pre-training line: of the
    first ``pretrain_epochs``); a line a kill tore (or an empty one) is dropped."""
    try:
        record = json.loads(line)
        return record["epoch"] <= (pretrain_epochs if record.get("phase") == "pretrain" else epochs)
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
