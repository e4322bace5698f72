"""Trackers: where a run's numbers go besides its run folder (``training.trackers``).

=============== ======================================== =============================================
name            where                                    extra
=============== ======================================== =============================================
``tensorboard`` ``<run>/tensorboard``                    ``kgtool-ml[tensorboard]``
``mlflow``      ``training.mlflow_uri``, default         ``kgtool-ml[mlflow]``
                ``sqlite:///<run's parent>/mlflow.db``
                (artifacts in ``<run's parent>/mlartifacts``)
``wandb``       project ``training.tracking_project``,   ``kgtool-ml[wandb]`` (``WANDB_MODE=offline`` logs
                files under ``<run's parent>/wandb``     to files only)
``csv``         ``<run>/metrics.csv``: ``epoch,key,value`` nothing
=============== ======================================== =============================================

Every tracker hears the same numbers, those of ``log.jsonl`` and ``metrics.json``:

- the resolved config as parameters (``section.key``; W&B: its nested config; TensorBoard: the
  YAML as text; CSV: none, config.yaml lies beside it);
- after each epoch, at step ``epoch``: ``train/loss``, ``train/lr``, ``train/seconds``,
  ``train/examples_per_second`` and, after a validation, ``valid/<metric>``;
- at the end, at the last epoch's step: ``final/<split>/<metric>`` for every number of
  metrics.json (but its per-relation ones) and ``final/best_epoch``; then metrics.json and
  config.yaml as files (MLflow artifacts, W&B run files).

MLflow names cannot hold ``@``, so there ``hits@10`` is ``hits_at_10``.

MLflow and W&B run ids are kept in ``<run>/tracking.json``, so a resumed run goes on logging to
the same runs; its epochs after the checkpoint are logged again (TensorBoard and CSV drop the
first logging of those epochs, as log.jsonl does).
"""

from __future__ import annotations

import csv
import time
import uuid
from pathlib import Path

from kgtool.config import Config
from kgtool.optional import extra, import_optional
from kgtool.run_folder import RunFolder

EXTRAS = {"tensorboard": "torch.utils.tensorboard", "mlflow": "mlflow", "wandb": "wandb", "csv": None}
EPOCH_NUMBERS = ("loss", "lr", "seconds", "examples_per_second")  # the numbers of a log.jsonl record


def require(name: str):
    """The module tracker ``name`` needs, or a one-line ConfigError naming its extra."""
    return import_optional(EXTRAS[name], f"training.trackers: {name}", extra(name)) if EXTRAS[name] else None


def epoch_scalars(record: dict) -> dict[str, float]:
    """The numbers of a log.jsonl record, named as trackers log them."""
    scalars = {f"train/{name}": float(record[name]) for name in EPOCH_NUMBERS}
    scalars.update({f"valid/{name}": float(value) for name, value in record.get("valid", {}).items()})
    return scalars


def final_scalars(metrics: dict, prefix: str = "final") -> dict[str, float]:
    """The numbers of metrics.json flattened to ``final/valid/mrr`` etc.; per-relation ones stay in the file."""
    scalars = {}
    for name, value in metrics.items():
        if isinstance(value, dict) and name != "per_relation":
            scalars.update(final_scalars(value, f"{prefix}/{name}"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            scalars[f"{prefix}/{name}"] = float(value)
    return scalars


def flat_params(config: Config) -> dict[str, str]:
    """The resolved config as tracker parameters: ``{"section.key": "value"}``."""
    return {key: str(value) for key, value in config.flat().items()}


class Tracker:
    """One destination of a run's numbers; opened at the first epoch this process logs."""

    def __init__(self, config: Config, folder: RunFolder, first_epoch: int):
        self.config, self.folder = config, folder

    def log_epoch(self, epoch: int, scalars: dict[str, float]) -> None:
        raise NotImplementedError

    def log_final(self, epoch: int, scalars: dict[str, float], files: list[Path]) -> None:
        raise NotImplementedError

    def close(self, failed: bool = False) -> None:
        pass

    def remembered_id(self, name: str, new_id) -> str:
        """The id of this run's ``name`` run from ``<run>/tracking.json``, else ``new_id()`` written there."""
        path = self.folder.tracking_path
        ids = self.folder.load_json(path) or {}
        if name not in ids:
            ids[name] = new_id()
            self.folder.save_json(path, ids)
        return ids[name]


class TensorBoardTracker(Tracker):
    """Scalars in ``<run>/tensorboard``; the writer drops events from ``first_epoch`` on, which a
    killed run had logged before its checkpoint (as the log is cut back)."""

    def __init__(self, config: Config, folder: RunFolder, first_epoch: int):
        super().__init__(config, folder, first_epoch)
        tensorboard = require("tensorboard")
        self.writer = tensorboard.SummaryWriter(str(folder.path / "tensorboard"), purge_step=first_epoch)
        self.writer.add_text("config", f"```\n{config.to_yaml()}```", first_epoch)

    def log_epoch(self, epoch: int, scalars: dict[str, float]) -> None:
        for name, value in scalars.items():
            self.writer.add_scalar(name, value, epoch)
        self.writer.flush()

    def log_final(self, epoch: int, scalars: dict[str, float], files: list[Path]) -> None:
        self.log_epoch(epoch, scalars)

    def close(self, failed: bool = False) -> None:
        self.writer.close()


class CSVTracker(Tracker):
    """``<run>/metrics.csv``, one ``epoch,key,value`` row per number; rows from ``first_epoch`` on
    that a killed run had written are dropped."""

    def __init__(self, config: Config, folder: RunFolder, first_epoch: int):
        super().__init__(config, folder, first_epoch)
        self.path = folder.path / "metrics.csv"
        kept = []
        if self.path.is_file():
            with open(self.path, newline="") as f:
                kept = [row for row in csv.reader(f) if row and row[0] != "epoch" and int(row[0]) < first_epoch]
        with open(self.path, "w", newline="") as f:
            csv.writer(f).writerows([["epoch", "key", "value"], *kept])

    def log_epoch(self, epoch: int, scalars: dict[str, float]) -> None:
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerows([epoch, name, repr(value)] for name, value in scalars.items())

    def log_final(self, epoch: int, scalars: dict[str, float], files: list[Path]) -> None:
        self.log_epoch(epoch, scalars)


def mlflow_name(name: str) -> str:
    """MLflow metric names cannot hold ``@``: ``valid/hits@10`` is logged as ``valid/hits_at_10``."""
    return name.replace("@", "_at_")


class MLflowTracker(Tracker):
    """A run of experiment ``training.tracking_project`` at ``training.mlflow_uri`` (default: a
    SQLite file beside the run folder), named after the run folder; written through
    ``MlflowClient``, so no process-wide active run is touched."""

    def __init__(self, config: Config, folder: RunFolder, first_epoch: int):
        super().__init__(config, folder, first_epoch)
        require("mlflow")
        from mlflow.tracking import MlflowClient

        parent = folder.path.resolve().parent
        self.client = MlflowClient(config.training.mlflow_uri or f"sqlite:///{parent / 'mlflow.db'}")
        artifacts = None if config.training.mlflow_uri else (parent / "mlartifacts").as_uri()
        self.run_id = self.remembered_id("mlflow", lambda: self._new_run(config, folder, artifacts))

    def _new_run(self, config: Config, folder: RunFolder, artifacts: str | None) -> str:
        from mlflow.entities import Param

        name = config.training.tracking_project
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            experiment_id = experiment.experiment_id
        else:
            try:
                experiment_id = self.client.create_experiment(name, artifact_location=artifacts)
            except Exception:  # another process (a search worker) created it first
                experiment_id = self.client.get_experiment_by_name(name).experiment_id
        run_id = self.client.create_run(experiment_id, run_name=folder.path.name).info.run_id
        self.client.log_batch(run_id, params=[Param(k, v) for k, v in flat_params(config).items()])
        return run_id

    def log_epoch(self, epoch: int, scalars: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(mlflow_name(k), v, now, epoch) for k, v in scalars.items()])

    def log_final(self, epoch: int, scalars: dict[str, float], files: list[Path]) -> None:
        self.log_epoch(epoch, scalars)
        for path in files:
            self.client.log_artifact(self.run_id, str(path))

    def close(self, failed: bool = False) -> None:
        self.client.set_terminated(self.run_id, "FAILED" if failed else "FINISHED")


class WandbTracker(Tracker):
    """A W&B run of project ``training.tracking_project``, named after the run folder, its local
    files under ``<run's parent>/wandb`` (``WANDB_MODE=offline`` keeps it there)."""

    def __init__(self, config: Config, folder: RunFolder, first_epoch: int):
        super().__init__(config, folder, first_epoch)
        wandb = require("wandb")
        run_id = self.remembered_id("wandb", lambda: uuid.uuid4().hex[:8])
        self.run = wandb.init(project=config.training.tracking_project, name=folder.path.name, id=run_id,
                              resume="allow", dir=str(folder.path.resolve().parent), config=config.to_dict(),
                              reinit="create_new")

    def log_epoch(self, epoch: int, scalars: dict[str, float]) -> None:
        self.run.log(scalars, step=epoch)

    def log_final(self, epoch: int, scalars: dict[str, float], files: list[Path]) -> None:
        self.run.summary.update(scalars)
        for path in files:
            self.run.save(str(path), base_path=str(path.parent), policy="now")

    def close(self, failed: bool = False) -> None:
        self.run.finish(exit_code=1 if failed else 0)


TRACKERS = {"tensorboard": TensorBoardTracker, "mlflow": MLflowTracker, "wandb": WandbTracker, "csv": CSVTracker}


class Tracking:
    """The trackers ``config.training`` names, fed by the training loop and ``fit``. Their
    packages are imported at once, so a missing extra fails before training, not after an epoch."""

    def __init__(self, config: Config, folder: RunFolder):
        self.config, self.folder = config, folder
        self.names = config.training.tracker_names
        for name in self.names:
            require(name)
        self.trackers: list[Tracker] | None = None  # opened at the first epoch this process logs

    def _open(self, first_epoch: int) -> list[Tracker]:
        if self.trackers is None:
            self.trackers = [TRACKERS[name](self.config, self.folder, first_epoch) for name in self.names]
        return self.trackers

    def log_epoch(self, record: dict) -> None:
        """A log.jsonl record."""
        for tracker in self._open(record["epoch"]):
            tracker.log_epoch(record["epoch"], epoch_scalars(record))

    def log_final(self, epoch: int, metrics: dict) -> None:
        """metrics.json's numbers at step ``epoch``, then metrics.json and config.yaml; closes."""
        for tracker in self._open(epoch + 1):
            tracker.log_final(epoch, final_scalars(metrics), [self.folder.metrics_path, self.folder.config_path])
        self.close()

    def close(self, failed: bool = False) -> None:
        for tracker in self.trackers or []:
            tracker.close(failed)
        self.trackers = None
