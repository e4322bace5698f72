"""The public verbs: ``fit`` a model from a config, ``load`` a finished run, and the ``Run`` they return."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from kgtool import distributed
from kgtool.config import GNN_MODELS, Config, resolve_config
from kgtool.data.convert import as_dataset, as_pyg, as_triples_factories
from kgtool.errors import CheckpointError, ConfigError, KGToolError
from kgtool.export import entity_embeddings, export_run, relation_embeddings
from kgtool.prediction import Answer, Predictor, Query, read_queries
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

    def predict_tails(self, head: str, relation: str, top: int = 10, filter_known: bool = False,
                      as_frame: bool = False):
        """The ``top`` answers ``(head, relation, e)``, best first (see :meth:`predict`); with
        ``as_frame`` a DataFrame (see :meth:`predictions_frame`)."""
        return self._predict_one(Query(head, relation, None), top, filter_known, as_frame)

    def predict_heads(self, relation: str, tail: str, top: int = 10, filter_known: bool = False,
                      as_frame: bool = False):
        """The ``top`` answers ``(e, relation, tail)``, best first (see :meth:`predict`); with
        ``as_frame`` a DataFrame (see :meth:`predictions_frame`)."""
        return self._predict_one(Query(None, relation, tail), top, filter_known, as_frame)

    def predict(self, queries: list[Query], top: int = 10, filter_known: bool = False) -> list[list[Answer]]:
        """The ``top`` answers of each query ``(h, r, ?)``, ``(?, r, t)`` or ``(h, ?, t)``, each
        flagged ``known`` when in train/valid/test; ``filter_known`` drops those."""
        return self.predictor().answer(queries, top, filter_known)

    def score_triples(self, triples: list[Query | tuple[str, str, str]]) -> list[Answer]:
        """Scores of labeled triples, each flagged ``known`` when in train/valid/test."""
        return self.predictor().score(triples)

    def entity_embeddings(self) -> tuple[torch.Tensor, list[str]]:
        """The entity (GNN: node) representations ``(n, width)`` in id order, and their labels;
        complex models give real parts, then imaginary parts (:mod:`kgtool.export`)."""
        return entity_embeddings(self)

    def relation_embeddings(self) -> tuple[torch.Tensor, list[str]] | None:
        """The relation rows the score function takes and their labels; None for GNN runs."""
        return relation_embeddings(self)

    def export(self, output: str | Path | None = None, style: str = "tsv") -> list[Path]:
        """Write embeddings and labels as ``tsv``, ``npy`` or ``projector`` files to ``output``
        (default ``<run>/export``); returns the files written."""
        return export_run(self, output, style)

    def ranks(self, split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
        """Filtered realistic ranks ``(n,)`` of ``split``'s triples: head side, tail side."""
        from kgtool.evaluation.ranking import link_prediction_ranks

        self._require_kge()
        head, tail = link_prediction_ranks(self.model, self.dataset.splits[split], self.dataset.all_triples(),
                                           self.config.evaluation.memory_budget_mb)
        return head.realistic, tail.realistic

    def evaluate_triples(self, path: str | Path) -> dict:
        """Filtered ranking metrics of the triples in ``path`` against this run's vocabulary;
        ``metrics["skipped"]`` counts those with unknown entities or relations."""
        return self.predictor().evaluate(read_queries(path, asked=False), self.config.evaluation.memory_budget_mb)

    def analyze(self, split: str = "test", min_support: int = 10, min_confidence: float = 0.5) -> dict:
        """The relation patterns of the dataset (:func:`~kgtool.data.patterns.dataset_patterns`,
        all splits) and, under the key ``split``, this run's metrics per category and pattern."""
        from kgtool.data.patterns import dataset_patterns
        from kgtool.evaluation.patterns import pattern_metrics

        self._require_kge()
        report = dataset_patterns(self.dataset, "all", min_support, min_confidence)
        report[split] = pattern_metrics(self.model, self.dataset, report, split, min_confidence,
                                        self.config.evaluation.memory_budget_mb)
        return report

    def predictor(self) -> Predictor:
        self._require_kge()
        return Predictor(self.model, self.dataset)

    def _require_kge(self) -> None:
        if self.config.model.name in GNN_MODELS:
            raise KGToolError(f"predictions, triple files and pattern metrics need a KGE run; this run's model is "
                              f"{self.config.model.name}, a GNN")

    def _predict_one(self, query: Query, top: int, filter_known: bool, as_frame: bool):
        return self.predictions_frame([query], top, filter_known) if as_frame else self.predict([query], top, filter_known)[0]

    def predictions_frame(self, queries: list[Query | tuple], top: int = 10, filter_known: bool = False):
        """:meth:`predict` as a pandas DataFrame, one row per answer: ``query``, ``rank``, ``head``,
        ``relation``, ``tail``, ``head_id``, ``relation_id``, ``tail_id``, ``score``, ``known``.
        Queries may be tuples with None in the asked position."""
        queries = [q if isinstance(q, Query) else Query(*q) for q in queries]
        predictor = self.predictor()
        return predictor.frame(queries, predictor.answer(queries, top, filter_known))

    def to_triples_factory(self) -> tuple:
        """pykeen ``TriplesFactory`` objects ``(train, valid, test)`` with this run's labels and ids,
        e.g. for pykeen's evaluators or pipeline."""
        self._require_kge()
        return as_triples_factories(self.dataset)

    def to_pyg(self):
        """The run's graph as PyG with the learned rows: a KGE run gives a ``HeteroData`` when its
        dataset came from one (else a ``Data``) with the entity rows as ``x`` and relation rows as
        ``relation_x`` (:func:`~kgtool.data.convert.as_pyg`); a GNN run gives a copy of its ``Data``
        with the node representations as ``x``."""
        rows, _ = self.entity_embeddings()
        if self.config.model.name in GNN_MODELS:
            data = self.dataset.clone()
            data.x = rows
            return data
        relations = self.relation_embeddings()
        return as_pyg(self.dataset, rows, relations[0] if relations is not None else None)


def build_task(config: Config, dataset=None):
    """The task object for ``config.model.name``: KGE link prediction or a GNN task."""
    dataset = as_dataset(dataset, config)
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
        resume: bool = False, dataset=None, test: bool = True, on_validation=None, on_epoch_end=None,
        on_fit_end=None) -> Run:
    """Train a model, validate, keep the best, and test it; everything lands in ``output``.

    :param config: a :class:`Config`, a ``{section: {key: value}}`` dict, or a YAML path.
    :param output: the run folder (default ``runs/<dataset>-<model>-<time>``).
    :param resume: continue the run in ``output`` from its checkpoint (its saved config wins).
    :param dataset: instead of ``config.data.dataset``: a registered name or folder (then saved as
        the config's), a :class:`~kgtool.data.KGDataset`, a pykeen ``TriplesFactory`` or a
        ``(train, valid, test)`` tuple of them, a networkx graph, a PyG ``Data`` or ``HeteroData``
        (see :mod:`kgtool.data.convert`).
    :param test: also rank the test split at the end (a search's trials select on validation only).
    :param on_validation: ``callback(epoch, value)`` told the headline validation metric after each
        validation; raising :class:`~kgtool.training.StopTraining` ends training there (see the Trainer).
    :param on_epoch_end: ``callback(record)`` told each epoch's log.jsonl record: ``epoch``, ``loss``,
        ``seconds``, ``examples_per_second``, ``lr`` and, after a validation, ``valid`` (its metrics).
    :param on_fit_end: ``callback(run)`` told the finished :class:`Run`, after metrics.json is written.
    """
    config = as_config(config)
    if isinstance(dataset, (str, Path)):  # saved as the run's dataset, so that load() finds it again
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, dataset=str(dataset)))
        dataset = None
    with distributed.process_group(resolve_device(config.training.device)) as device:
        return _fit(config, output, resume, dataset, device, test, on_validation, on_epoch_end, on_fit_end)


def _fit(config: Config, output, resume: bool, dataset, device: torch.device, test: bool = True,
         on_validation=None, on_epoch_end=None, on_fit_end=None) -> Run:
    folder = RunFolder(distributed.from_main(output if output is not None else default_output(config)))
    if resume:
        if not folder.config_path.is_file():
            raise CheckpointError(f"cannot resume: {folder.path} holds no run (no config.yaml)")
        config = folder.load_config()
        if not folder.has_checkpoint():  # killed before its first checkpoint: start it again
            log.info(f"{folder.path} has no checkpoint yet: starting the run from its saved config")
            resume = False
            if distributed.is_main():
                folder.truncate_log(0)
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
    trainer = Trainer(task, config, folder, device, on_validation, on_epoch_end)
    if resume:
        trainer.restore(folder.load_checkpoint())  # on the CPU: restore moves what the device needs
    trainer.train()
    best = trainer.best
    valid = best.get("metrics") if best is not None else None  # the best validation ranked it already
    metrics = {"valid": valid if valid is not None else task.evaluate("valid")}
    if test:
        metrics["test"] = task.evaluate("test")
    if best is not None:
        metrics["best_epoch"] = best["epoch"]
    if main:
        folder.save_metrics(metrics)
        trainer.tracking.log_final(trainer.epoch, metrics)
    run = Run(config, task, folder, metrics)
    if on_fit_end is not None:
        on_fit_end(run)
    return run


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
