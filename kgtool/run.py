"""The public verbs: ``fit`` a model from a config, ``load`` a finished run, and the ``Run`` they return."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from kgtool import distributed
from kgtool.config import GNN_MODELS, Config, resolve_config
from kgtool.errors import CheckpointError, ConfigError, KGToolError
from kgtool.run_folder import RunFolder
from kgtool.training import Trainer, resolve_device

log = logging.getLogger("kgtool")


@dataclass
class Run:
    """A trained model with its task, config, run folder and metrics.

    ``run.model`` scores (``score_hrt``, ``score_tails``, ``score_heads`` for KGE models);
    ``run.dataset`` holds the splits and vocabularies.
    """

    config: Config
    task: object
    folder: RunFolder
    metrics: dict = field(default_factory=dict)

    @property
    def model(self) -> torch.nn.Module:
        return self.task.model

    @property
    def dataset(self):
        return self.task.dataset

    @property
    def path(self) -> Path:
        return self.folder.path

    def evaluate(self, split: str = "test") -> dict:
        """Metrics of ``split`` ("valid" or "test"), recomputed from the model."""
        return self.task.evaluate(split)

    def predict_tails(self, head: str, relation: str, top: int = 10) -> list[tuple[str, float]]:
        """The ``top`` entities e ranked by the score of ``(head, relation, e)``."""
        self._require_kge()
        d = self.dataset
        scores = self._no_grad(self.model.score_tails, d.entity_ids([head]), d.relation_ids([relation]))
        return self._top(scores, top)

    def predict_heads(self, relation: str, tail: str, top: int = 10) -> list[tuple[str, float]]:
        """The ``top`` entities e ranked by the score of ``(e, relation, tail)``."""
        self._require_kge()
        d = self.dataset
        scores = self._no_grad(self.model.score_heads, d.relation_ids([relation]), d.entity_ids([tail]))
        return self._top(scores, top)

    def _require_kge(self) -> None:
        if self.config.model.name in GNN_MODELS:
            raise KGToolError(f"predict ranks entities of KGE runs; this run's model is {self.config.model.name}, a GNN")

    def _no_grad(self, score, *ids: torch.Tensor) -> torch.Tensor:
        device = next(self.model.parameters()).device
        self.model.eval()
        with torch.no_grad():
            return score(*(i.to(device) for i in ids))[0].cpu()

    def _top(self, scores: torch.Tensor, top: int) -> list[tuple[str, float]]:
        values, ids = scores.topk(min(top, len(scores)))
        return [(self.dataset.entities[i], v) for i, v in zip(ids.tolist(), values.tolist())]


def build_task(config: Config, dataset=None):
    """The task object for ``config.model.name``: KGE link prediction or a GNN task."""
    if config.model.name in GNN_MODELS:
        from kgtool.gnn.task import GNNTask

        return GNNTask.from_config(config, dataset)
    from kgtool.kge.task import KGETask

    return KGETask.from_config(config, dataset)


def as_config(config: Config | dict | str | Path | None) -> Config:
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return resolve_config(config)
    return Config.load(config)


def default_output(config: Config) -> Path:
    name = Path(config.data.dataset).name or "dataset"
    return Path("runs") / f"{name}-{config.model.name}-{time.strftime('%Y%m%d-%H%M%S')}"


def fit(config: Config | dict | str | Path | None = None, output: str | Path | None = None,
        resume: bool = False, dataset=None, test: bool = True, on_validation=None) -> Run:
    """Train a model, validate, keep the best, and test it; everything lands in ``output``.

    :param config: a :class:`Config`, a ``{section: {key: value}}`` dict, or a YAML path.
    :param output: the run folder (default ``runs/<dataset>-<model>-<time>``).
    :param resume: continue the run in ``output`` from its checkpoint (its saved config wins).
    :param dataset: a ready :class:`~kgtool.data.KGDataset` (e.g. from pykeen or networkx)
        instead of ``config.data.dataset``.
    :param test: also rank the test split at the end (a search's trials select on validation only).
    :param on_validation: ``callback(epoch, value)`` told the headline validation metric after each
        validation; raising :class:`~kgtool.training.StopTraining` ends training there (see the Trainer).
    """
    config = as_config(config)
    with distributed.process_group(resolve_device(config.training.device)) as device:
        return _fit(config, output, resume, dataset, device, test, on_validation)


def _fit(config: Config, output, resume: bool, dataset, device: torch.device, test: bool = True,
         on_validation=None) -> Run:
    folder = RunFolder(distributed.from_main(output if output is not None else default_output(config)))
    if resume:
        if not folder.has_checkpoint():
            raise CheckpointError(f"cannot resume: no checkpoint in {folder.path}")
        config = folder.load_config()
    elif folder.has_checkpoint():
        raise ConfigError(f"{folder.path} already holds a run; pass resume=True (--resume) to continue it, "
                          f"or choose another output folder")
    distributed.barrier()  # no rank may find the folder that rank 0 is about to create
    torch.manual_seed(config.training.seed)
    task = build_task(config, dataset)
    main = distributed.is_main()
    if main:
        log.info(task.describe())
        folder.create()
        folder.save_config(config)
    trainer = Trainer(task, config, folder, device, on_validation)
    if resume:
        trainer.restore(folder.load_checkpoint(map_location=trainer.device))
    trainer.train()
    metrics = {"valid": task.evaluate("valid")}
    if test:
        metrics["test"] = task.evaluate("test")
    if trainer.best is not None:
        metrics["best_epoch"] = trainer.best["epoch"]
    if main:
        folder.save_metrics(metrics)
    return Run(config, task, folder, metrics)


def load(run_dir: str | Path, dataset=None) -> Run:
    """A finished (or checkpointed) run, ready to evaluate and predict.

    The dataset is loaded again as its config names it (or pass ``dataset``); its vocabularies
    must match those saved with the checkpoint.
    """
    folder = RunFolder(run_dir)
    config = folder.load_config()
    state = folder.load_checkpoint()
    torch.manual_seed(config.training.seed)
    task = build_task(config, dataset)
    extra = state.get("extra", {})
    if hasattr(task, "extra_state") and extra and task.extra_state() != extra:
        raise CheckpointError(f"{folder.path}: the dataset's vocabulary differs from the one saved with the checkpoint")
    try:
        task.model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as error:
        raise CheckpointError(f"{folder.checkpoint_path} does not fit its config: {str(error).splitlines()[0]}") from None
    task.model.to(resolve_device(config.training.device))
    return Run(config, task, folder, folder.load_metrics())
