"""The training loop's options (its part of the ``training`` section), the optimizers and
learning-rate schedules they name, and the checks of their values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

import torch

from kgtool.errors import ConfigError, quoted
from kgtool.options import at_least_one, check_seed, choice

DEFAULT_BATCH_SIZE = 512  # training.batch_size when none is given (full-graph GNNs: all examples)
DEVICES = re.compile(r"auto|cpu|mps|cuda(:\d+)?")  # training.device values; kgtool.training checks availability
OPTIMIZERS = {"adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad, "sgd": torch.optim.SGD}
SCHEDULERS = {
    "none": None,
    "step": lambda optimizer, t: torch.optim.lr_scheduler.StepLR(optimizer, step_size=t.lr_step_size, gamma=t.lr_gamma),
    "cosine": lambda optimizer, t: torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t.epochs),
}


@dataclass
class TrainingLoopOptions:
    """The ``training`` options every model has: steps, optimizer, schedule, checks, logging."""

    # positive triples (or (h, r) queries for 1vsall/kvsall, nodes or edges for GNNs) per step;
    # None: DEFAULT_BATCH_SIZE, or every training example at once for full-graph GNNs
    batch_size: Optional[int] = None
    epochs: int = 30  # passes over the training examples
    optimizer: str = "adam"  # adam | adagrad | sgd
    lr: float = 1e-3  # learning rate
    weight_decay: float = 0.0  # optimizer weight decay (GNNs); KGE models use `regularizer`
    lr_scheduler: str = "none"  # none | step | cosine
    lr_step_size: int = 100  # step scheduler: epochs between decays
    lr_gamma: float = 0.1  # step scheduler: decay factor
    eval_every: int = 10  # epochs between validation runs (early stopping, best model)
    patience: int = 5  # validations without improvement before stopping; 0 disables early stopping
    checkpoint_every: int = 10  # epochs between checkpoints (one is always written at the end)
    seed: int = 0  # seeds initialisation, shuffling and negative sampling
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    progress: bool = True  # show a progress bar when stderr is a terminal
    # where to log the config, per-epoch and final metrics, metrics.json and config.yaml, besides the run
    # folder: tensorboard (<run>/tensorboard) | mlflow | wandb | csv (<run>/metrics.csv); extras of those names
    trackers: list[str] = field(default_factory=list)
    tensorboard: bool = False  # the same as listing tensorboard in trackers
    mlflow_uri: Optional[str] = None  # MLflow tracking URI; None: sqlite:///<run folder's parent>/mlflow.db
    tracking_project: str = "kgtool"  # the MLflow experiment and W&B project runs are logged to

    @property
    def tracker_names(self) -> list[str]:
        """``trackers`` with the ``tensorboard`` alias resolved, each once."""
        return list(dict.fromkeys(self.trackers + (["tensorboard"] if self.tensorboard else [])))

    def check_loop_values(self) -> None:
        """Each of the loop's options on its own: choices and ranges."""
        from kgtool.tracking import TRACKERS  # not at the top: tracking reads run folders, which read configs

        choice("training.optimizer", self.optimizer, OPTIMIZERS)
        choice("training.lr_scheduler", self.lr_scheduler, SCHEDULERS)
        for tracker in self.trackers:
            choice("training.trackers", tracker, TRACKERS)
        if not DEVICES.fullmatch(self.device):
            raise ConfigError(f"training.device must be auto, cpu, cuda, cuda:N or mps; got {self.device!r}")
        at_least_one("training", batch_size=self.batch_size, epochs=self.epochs, eval_every=self.eval_every,
                     checkpoint_every=self.checkpoint_every, lr_step_size=self.lr_step_size)
        check_seed("training.seed", self.seed)
        for name in ("lr", "lr_gamma"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"training.{name} must be positive, got {quoted(getattr(self, name))}")
        for name in ("weight_decay", "patience"):
            if getattr(self, name) < 0:
                raise ConfigError(f"training.{name} must not be negative, got {quoted(getattr(self, name))}")
