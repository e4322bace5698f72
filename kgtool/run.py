"""The public verbs: ``fit`` a model from a config, ``load`` a finished run, and the ``Run`` they return."""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from kgtool import distributed, provenance
from kgtool.config import DEFAULT_BATCH_SIZE, GNN_MODELS, Config, merge, resolve_config
from kgtool.data.convert import as_dataset, as_pyg, as_triples_factories
from kgtool.errors import CheckpointError, ConfigError, KGToolError
from kgtool.export import entity_embeddings, export_run, relation_embeddings
from kgtool.prediction import Answer, Predictor, Query, read_queries
from kgtool.run_dataset import absolute_data_paths, record_dataset, recorded_dataset
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

    def __repr__(self) -> str:
        """One short line: ``Run(model='rotate', dataset='umls', path='runs/x', test_mrr=0.89)``."""
        metric = self.task.headline_metric
        value = (self.metrics.get("test") or {}).get(metric)
        score = f", test_{metric}={value:.4g}" if value is not None else ""
        return (f"Run(model={self.config.model.name!r}, dataset={self.config.data.dataset!r}, "
                f"path={str(self.path)!r}{score})")

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
        from kgtool.kge.task import KGETask

        if not isinstance(self.task, KGETask):
            raise KGToolError(f"predictions, triple files and pattern metrics need a link-prediction run (a KGE "
                              f"model, or a GNN with gnn.task=link); this run classifies nodes with "
                              f"{self.config.model.name}")

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
        ``relation_x`` (:func:`~kgtool.data.convert.as_pyg`); a GNN run gives a copy of its graph
        with the node representations as ``x``."""
        rows, _ = self.entity_embeddings()
        graph = getattr(self.task, "graph", None)  # a GNN link run's
        if self.config.model.name in GNN_MODELS:
            data = (graph if graph is not None else self.dataset).clone()
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
    if config.distributed.shard_entities:
        from kgtool.sharding.task import ShardedKGETask

        return ShardedKGETask.from_config(config, dataset)
    from kgtool.kge.task import KGETask

    return KGETask.from_config(config, dataset)


def trainer_class(config: Config) -> type[Trainer]:
    """The training loop for ``config``: the shared one, or its sharded-table variant."""
    if config.distributed.shard_entities:
        from kgtool.sharding.training import ShardedTrainer

        return ShardedTrainer
    return Trainer


def as_config(config: Config | dict | str | Path | None) -> Config:
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return resolve_config(config)
    return Config.load(config)


def default_output(config: Config) -> Path:
    """``runs/<dataset>-<model>-<time>``, with ``-2``, ``-3``... when a run of the same second has it."""
    name = Path(config.data.dataset).name or "dataset"
    base = Path("runs") / f"{name}-{config.model.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidates = (base.with_name(f"{base.name}-{n}") if n > 1 else base for n in range(1, 1000))
    return next((path for path in candidates if not path.exists()), base)


# what a resume may change: how long and where it goes on, and where its data lies now (the
# recorded fingerprint must match), not what it trains
RESUMABLE = ("training.epochs", "training.patience", "training.progress", "training.device",
             "training.checkpoint_every", "evaluation.memory_budget_mb", "data.dataset", "data.data_dir")


def resumed_config(folder: RunFolder, changes: Config | dict | str | Path | None = None) -> Config:
    """The saved config of the run in ``folder``, with ``changes`` applied: a ``{section: {key:
    value}}`` dict of overrides, or a whole config. Changing anything but :data:`RESUMABLE` is a
    ConfigError naming the keys, as the checkpoint's model and optimizer could not follow."""
    if not folder.config_path.is_file():
        raise CheckpointError(f"cannot resume: {folder.path} holds no run (no config.yaml)")
    saved = folder.load_config()
    if changes is None:
        return saved
    if isinstance(changes, dict):
        changed = Config.from_dict(merge(saved.to_dict(), changes), source="resume")
    else:
        changed = as_config(changes)
    fixed = [f"{key} ({before!r} -> {after!r})" for key, (before, after) in config_changes(saved, changed).items()
             if key not in RESUMABLE]
    if fixed:
        raise ConfigError(f"cannot change {', '.join(fixed)} when resuming {folder.path}: the checkpoint was trained "
                          f"with the saved values. A resume may change {', '.join(RESUMABLE)}; start a new run "
                          f"(another --output) for the rest")
    return changed


def config_changes(before: Config, after: Config) -> dict[str, tuple]:
    """``{"section.key": (before, after)}`` for every option that differs."""
    old, new = before.flat(), after.flat()
    return {key: (old[key], value) for key, value in new.items() if old[key] != value}


def resolved_config(config: Config, task) -> Config:
    """``config`` with the choices made at run time written in: the device, the batch size, and
    what ``None`` left to the model (``init_scale``), the training (``filter_negatives``) or the
    data (``gnn.undirected``), so the saved config reproduces the run by itself."""
    t, model = config.training, config.model
    full_batch = getattr(task, "full_batch", False)
    training = replace(t, device=resolve_device(t.device).type if t.device == "auto" else t.device,
                       batch_size=t.batch_size or (task.num_examples() if full_batch else DEFAULT_BATCH_SIZE))
    gnn = config.gnn
    if model.name in GNN_MODELS:
        training = replace(training, filter_negatives=t.filter_negatives or False)
        if hasattr(task, "undirected"):
            gnn = replace(gnn, undirected=task.undirected)
    else:
        training = replace(training, filter_negatives=t.filters_negatives)
        model = replace(model, init_scale=task.model.interaction.init_scale)
    return replace(config, training=training, model=model, gnn=gnn)


def fit(config: Config | dict | str | Path | None = None, output: str | Path | None = None,
        resume: bool = False, dataset=None, test: bool = True, on_validation=None, on_epoch_end=None,
        on_fit_end=None) -> Run:
    """Train a model, validate, keep the best, and test it; everything lands in ``output``.

    :param config: a :class:`Config`, a ``{section: {key: value}}`` dict, or a YAML path. With
        ``resume``: changes to the saved config (a dict of overrides, or a whole config), of the
        keys in :data:`RESUMABLE` only, e.g. ``{"training": {"epochs": 50}}`` to train on.
    :param output: the run folder (default ``runs/<dataset>-<model>-<time>``). One process at a
        time writes it; a folder that holds a run, finished or not, is only continued by ``resume``.
    :param resume: continue the run in ``output`` from its checkpoint (its saved config wins).
    :param dataset: instead of ``config.data.dataset``: a registered name or folder (then saved as
        the config's), a :class:`~kgtool.data.KGDataset`, a pykeen ``TriplesFactory`` or a
        ``(train, valid, test)`` tuple of them, a networkx graph, a PyG ``Data`` or ``HeteroData``
        (see :mod:`kgtool.data.convert`). Data given in memory is written into the run folder.
    :param test: also rank the test split at the end (a search's trials select on validation only).
    :param on_validation: ``callback(epoch, value)`` told the headline validation metric after each
        validation; raising :class:`~kgtool.training.StopTraining` ends training there (see the Trainer).
    :param on_epoch_end: ``callback(record)`` told each epoch's log.jsonl record: ``epoch``, ``loss``,
        ``seconds``, ``examples_per_second``, ``lr`` and, after a validation, ``valid`` (its metrics).
    :param on_fit_end: ``callback(run)`` told the finished :class:`Run`, after metrics.json is written.
    """
    if resume:
        if output is None:
            raise ConfigError("resume needs the run folder to continue (output=..., --output)")
        config = resumed_config(RunFolder(output), config)
    else:
        config = as_config(config)
        if isinstance(dataset, (str, Path)):  # saved as the run's dataset, so that load() finds it again
            config = replace(config, data=replace(config.data, dataset=str(dataset)))
            dataset = None
        config = absolute_data_paths(config)
    with distributed.process_group(resolve_device(config.training.device)) as device:
        return _fit(config, output, resume, dataset, device, test, on_validation, on_epoch_end, on_fit_end)


def _fit(config: Config, output, resume: bool, dataset, device: torch.device, test: bool = True,
         on_validation=None, on_epoch_end=None, on_fit_end=None) -> Run:
    folder = RunFolder(distributed.from_main(output if output is not None else default_output(config)))
    main = distributed.is_main()
    existed = folder.path.exists()
    with folder.writer_lock() if main else nullcontext():
        try:
            return _fit_in(folder, config, resume, dataset, device, test, on_validation, on_epoch_end, on_fit_end)
        except BaseException:
            if main and not existed and not folder.has_checkpoint() and not folder.log_path.is_file():
                folder.remove()  # failed before its first epoch: leave no half-made folder behind
            raise


def _fit_in(folder: RunFolder, config: Config, resume: bool, dataset, device: torch.device, test: bool,
            on_validation, on_epoch_end, on_fit_end) -> Run:
    """:func:`fit` in a run folder this process has locked."""
    given_in_memory = dataset is not None
    if resume:
        dataset, config = recorded_dataset(folder, config, dataset)
        given_in_memory = False  # recorded when the run started
        if not folder.has_checkpoint():  # killed before its first checkpoint: start it again
            log.info(f"{folder.path} has no checkpoint yet: starting the run from its saved config")
            resume = False
            if distributed.is_main():
                folder.truncate_log(0)
    else:
        refuse_reuse(folder)
    distributed.barrier()  # no rank may find the folder that rank 0 is about to create
    torch.manual_seed(config.training.seed)
    task = build_task(config, dataset)
    if given_in_memory:  # the run's own copy, which its config names from now on
        config = replace(config, data=replace(config.data, dataset=str(folder.stored_dataset_path.resolve()),
                                              data_dir=None))
    config = resolved_config(config, task)
    main = distributed.is_main()
    if main:
        log.info(task.describe())
        folder.save_config(config)
        if not folder.dataset_record_path.is_file():  # recorded once, when the run first started
            record_dataset(folder, config, getattr(task, "graph", task.dataset), given_in_memory)  # as loaded
        provenance.start_entry(folder, device, resume)
    trainer = trainer_class(config)(task, config, folder, device, on_validation, on_epoch_end)
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
        provenance.end_entry(folder)
        trainer.tracking.log_final(trainer.epoch, metrics)
    task.model.eval()  # ready for inference: dropout off, scores deterministic
    run = Run(config, task, folder, metrics)
    if on_fit_end is not None:
        on_fit_end(run)
    return run


def refuse_reuse(folder: RunFolder) -> None:
    """A ConfigError when ``folder`` holds a run, finished or not, or a config.yaml a new run would overwrite."""
    found = folder.run_files()
    if not found:
        return
    if found == ["config.yaml"]:
        raise ConfigError(f"{folder.path} already has a config.yaml (a run killed at its start, or your own file, "
                          f"which a new run would overwrite); pass --resume to start that run, or choose another "
                          f"output folder")
    state = "finished" if folder.metrics_path.is_file() else "unfinished"
    raise ConfigError(f"{folder.path} already holds a run ({state}: {', '.join(found)}); pass resume=True "
                      f"(--resume) to continue it, or choose another output folder")


def load(run_dir: str | Path, dataset=None, data_dir: str | Path | None = None) -> Run:
    """A finished (or checkpointed) run, ready to evaluate and predict: its model in eval mode.

    The dataset is loaded again as the run recorded it: its own copy for data given in memory,
    else the files its config names. ``dataset`` (a name or folder) and ``data_dir`` re-point a
    run at moved files, or ``dataset`` hands over a KGDataset or PyG Data. Whatever is loaded must
    have the fingerprint the run recorded (runs written before fingerprints: the vocabularies
    saved with the checkpoint).
    """
    folder = RunFolder(run_dir)
    config = folder.load_config()
    state = folder.load_checkpoint()
    given = None if isinstance(dataset, (str, Path)) else dataset
    name = str(dataset) if isinstance(dataset, (str, Path)) else None
    dataset, config = recorded_dataset(folder, config, given, name, str(data_dir) if data_dir else None)
    torch.manual_seed(config.training.seed)
    task = build_task(config, dataset)
    extra = state.get("extra", {})
    if hasattr(task, "extra_state") and extra and task.extra_state() != extra:
        raise CheckpointError(f"{folder.path}: the dataset's vocabulary differs from the one saved with the checkpoint")
    try:
        task.model.load_state_dict(getattr(task, "upgrade_state_dict", lambda model: model)(state["model"]))
    except (KeyError, RuntimeError) as error:
        raise CheckpointError(f"{folder.checkpoint_path} does not fit its config: {str(error).splitlines()[0]}") from None
    task.model.to(resolve_device(config.training.device))
    task.model.eval()  # ready for inference: dropout off, scores deterministic
    return Run(config, task, folder, folder.load_metrics())
