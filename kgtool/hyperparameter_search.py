"""Hyperparameter search on Optuna: ``kgtool.search`` and the ``kgtool search`` command.

Each trial is an ordinary run folder ``DIR/trials/NNNN/`` trained by :func:`kgtool.fit` with the
trial's values. After every validation it reports the headline validation metric (MRR; accuracy
for GNN node tasks) to Optuna, whose pruner may stop it there; a pruned trial's folder is then
like an early-stopped run's. Selection uses validation only: the test split is ranked once, for
the best trial, at the end. A trial that fails (NaN loss, out of memory, a combination of values
the config refuses) is recorded as failed with its reason, and the study goes on.

The study lives in ``DIR/study.db`` (SQLite) or at any Optuna RDB URL, so the same command with a
larger ``trials`` continues it and machines can share it. Trial processes keep a heartbeat, so a
trial whose process was killed is marked failed about a minute later; nothing else is lost.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import importlib.util
import json
import logging
import multiprocessing
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from kgtool.config import assignments_as_dict, merge, resolve_config
from kgtool.options import check_seed
from kgtool.errors import ConfigError, KGToolError
from kgtool.optional import extra, import_optional
from kgtool.recipes import space_names, space_path
from kgtool.run import fit, load
from kgtool.run_folder import RunFolder
from kgtool.search_space import SearchSpace, load_space
from kgtool.training import StopTraining

log = logging.getLogger("kgtool")
PRUNERS = ("median", "hyperband", "none")
# Expected ways for a trial to fail; any other exception is a bug and stops the search.
# a trial's own failure (NaN loss, a refused combination, too little memory); any other error is a
# bug that would fail every trial alike, so it stops the search
FAILURES = (KGToolError, torch.OutOfMemoryError, MemoryError)
HEARTBEAT_SECONDS = 30
MACHINE_KEYS = ("data.data_dir", "training.device")  # settings that may differ between machines sharing a study


class TrialFailed(Exception):
    """A trial ended by one of FAILURES; the reason is also kept as the trial's user attribute."""


@dataclass
class SearchResult:
    """The search folder, the Optuna study, and best.json's content (None while no trial completed)."""

    path: Path
    study: object
    best: dict | None


@dataclass
class Plan:
    """What every worker process needs to run trials (picklable)."""

    output: Path
    storage: str
    study_name: str
    space: SearchSpace
    base: dict  # config values under the space's: model, dataset, settings
    trials: int  # trials in the study in all
    deadline: float | None  # time.time() after which no trial starts
    pruner: object  # a name of PRUNERS or an optuna pruner
    seed: int
    log_level: int = logging.INFO


def search(model: str, dataset: str, space: str | Path | SearchSpace | None = None, trials: int = 20,
           timeout: float | None = None, output: str | Path | None = None, storage: str | None = None,
           workers: int = 1, pruner="median", settings: list[str] = (), study_name: str | None = None,
           seed: int = 0) -> SearchResult:
    """Search the hyperparameters of ``model`` on ``dataset``; trials, study and results land in ``output``.

    :param space: a YAML search space file (see :mod:`kgtool.search_space`) or a shipped space's name
        (``kgtool configs``); default: the model's shipped space, ``configs/search/<model>.yaml``.
    :param trials: trials of the study in all, earlier runs' included (a rerun with more continues).
    :param timeout: seconds after which no new trial starts (running ones finish).
    :param output: the search folder (default ``runs/search-<dataset>-<model>``; the same folder resumes).
    :param storage: an Optuna RDB URL for machines sharing one study (default ``sqlite:///<output>/study.db``).
    :param workers: trial processes on this machine; each gets ``cores // workers`` torch threads.
    :param pruner: "median", "hyperband", "none" or an ``optuna.pruners`` object.
    :param settings: ``section.key=value`` overrides applied to every trial (the space may not search them).
    :param seed: seeds the sampler (give each machine sharing a study its own).
    """
    optuna = require_optuna()
    if trials < 1 or workers < 1 or (timeout is not None and timeout <= 0):
        raise ConfigError(f"search needs trials >= 1, workers >= 1 and a positive timeout; got trials={trials}, "
                          f"workers={workers}, timeout={timeout}")
    check_seed("seed", seed)
    if isinstance(pruner, str) and pruner not in PRUNERS:
        raise ConfigError(f"unknown pruner {pruner!r} (known: {', '.join(PRUNERS)})")
    if isinstance(space, SearchSpace):
        source = "the search space"
    else:
        source = str(space_path(space) if space else default_space(model))
        space = load_space(source)
    space, base = apply_settings(space, model, dataset, settings, source)
    name = Path(dataset).name or "dataset"
    output = Path(output if output is not None else Path("runs") / f"search-{name}-{model}")
    output.mkdir(parents=True, exist_ok=True)
    plan = Plan(output=output, storage=storage or f"sqlite:///{(output / 'study.db').resolve()}",
                study_name=study_name or f"{name}-{model}", space=space, base=base, trials=trials,
                deadline=None if timeout is None else time.time() + timeout, pruner=pruner, seed=seed,
                log_level=log.getEffectiveLevel())
    with quiet_optuna(optuna):
        study = create_study(plan, optuna)
        try:
            if workers == 1:
                run_trials(plan)
            else:
                run_workers(plan, workers)
        finally:
            write_trials_table(study, plan)
        return conclude(study, plan)


def apply_settings(space: SearchSpace, model: str, dataset: str, settings: list[str], source: str):
    """The space without the fixed values that the model, dataset and settings override, and the
    config values under every trial's; each range end and choice checked against them."""
    given = assignments_as_dict(list(settings))
    set_keys = {f"{section}.{key}" for section, keys in given.items() for key in keys} | {"model.name", "data.dataset"}
    clash = sorted(set_keys & space.searched.keys())
    if clash:
        raise ConfigError(f"{clash[0]} is searched by {source} and also set by a setting; drop one of the two")
    space = dataclasses.replace(space, fixed={k: v for k, v in space.fixed.items() if k not in set_keys})
    base = merge({"model": {"name": model}, "data": {"dataset": dataset}}, given)
    space.check(base, source)
    return space, base


def default_space(model: str) -> Path:
    if model not in space_names():
        raise ConfigError(f"no default search space for model {model!r} (shipped: {', '.join(space_names())}); "
                          f"pass a space file (--space)")
    return space_path(model)


def require_optuna():
    return import_optional("optuna", "kgtool search", extra("search"))


@contextlib.contextmanager
def quiet_optuna(optuna):
    """kgtool logs one line per trial; Optuna's own lines (and tracebacks of expected failures) would repeat them."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)


# -- the study -------------------------------------------------------------------------------
def open_storage(url: str, optuna):
    import sqlalchemy.exc  # an Optuna dependency

    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}  # workers wait for SQLite's lock
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats
            return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_SECONDS, engine_kwargs=engine)
    except (ImportError, ValueError, sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError) as error:
        # a malformed URL, a missing database driver, a server that does not answer
        raise ConfigError(f"cannot open the study storage {url}: {str(error).splitlines()[0]}") from None


def create_study(plan: Plan, optuna):
    """The plan's study, created or reopened; a reopened one must have the same space and settings."""
    study = optuna.create_study(study_name=plan.study_name, storage=open_storage(plan.storage, optuna),
                                direction="maximize", load_if_exists=True)
    fixed = {f"{section}.{key}": value for section, keys in plan.base.items() for key, value in keys.items()}
    fixed = {key: value for key, value in {**fixed, **plan.space.fixed}.items() if key not in MACHINE_KEYS}
    made_with = {"searched ranges": plan.space.searched_as_dict(), "fixed values": fixed}
    if not study.user_attrs:
        if any((plan.output / "trials").glob("[0-9]*")):
            raise ConfigError(f"{plan.output / 'trials'} holds trials of another study; choose another output folder")
        for key, value in made_with.items():
            study.set_user_attr(key, value)
    for key, value in made_with.items():
        if json.loads(json.dumps(value)) != study.user_attrs.get(key):
            raise ConfigError(f"the study '{plan.study_name}' in {plan.storage} was made with other {key} "
                              f"(model, dataset, space or settings); choose another output folder (or study name)")
    return study


def load_worker_study(plan: Plan, worker: int, optuna):
    study = optuna.load_study(study_name=plan.study_name, storage=open_storage(plan.storage, optuna),
                              pruner=build_pruner(plan.pruner, optuna))
    # A seed of its own for each worker and each resumption, so that none repeats another's samples.
    seed = int(np.random.SeedSequence([plan.seed, worker, len(study.trials)]).generate_state(1)[0])
    study.sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    return study


def build_pruner(pruner, optuna):
    if not isinstance(pruner, str):
        return pruner
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner()
    return optuna.pruners.NopPruner()


def trials_used(study, optuna) -> int:
    """Trials that count toward ``trials``: completed, pruned, failed by their own values (a refused
    combination, a NaN loss: see run_trial) or running now. One that was interrupted or killed
    (running with no heartbeat: failed here first) never tried its values, so another takes its place."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False, states=(states.COMPLETE, states.PRUNED, states.FAIL, states.RUNNING))
    return sum(t.state != states.FAIL or t.user_attrs.get("tried", False) for t in trials)


# -- workers and trials ----------------------------------------------------------------------
def run_trials(plan: Plan, worker: int = 0) -> None:
    """Run trials until the study holds ``plan.trials`` that count (:func:`trials_used`) or the deadline has passed."""
    optuna = require_optuna()
    study = load_worker_study(plan, worker, optuna)
    while (plan.deadline is None or time.time() < plan.deadline) and trials_used(study, optuna) < plan.trials:
        study.optimize(functools.partial(run_trial, plan, optuna), n_trials=1, catch=(TrialFailed,))


def run_worker(plan: Plan, worker: int, threads: int) -> None:
    """A worker process: its share of the cores, kgtool's log level, Optuna quiet, then trials."""
    torch.set_num_threads(threads)
    logging.basicConfig(level=plan.log_level, format=f"[worker {worker}] %(message)s")
    optuna = require_optuna()
    with quiet_optuna(optuna):
        try:
            run_trials(plan, worker)
        except KeyboardInterrupt:  # Ctrl-C reached the whole process group; the parent reports it
            raise SystemExit(130) from None


def run_workers(plan: Plan, workers: int) -> None:
    """``workers`` processes on this machine share the cores; Ctrl-C reaches them all and each saves its trial."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked torch threads or SQLite handles
    processes = [context.Process(target=run_worker, args=(plan, k, max(1, cores // workers)), name=f"kgtool-search-{k}")
                 for k in range(workers)]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:
            process.join()
        raise
    failed = [p for p in processes if p.exitcode != 0]
    if failed:
        raise KGToolError(f"search worker {failed[0].name} exited with status {failed[0].exitcode} "
                          f"(its error is above)")


def run_trial(plan: Plan, optuna, trial) -> float:
    """Train one trial's run folder; its best validation metric is the objective."""
    folder = plan.output / "trials" / f"{trial.number:04d}"
    trial.set_user_attr("folder", str(folder.resolve()))
    trial.set_user_attr("host", socket.gethostname())
    validated, stopped = [], []

    def on_validation(epoch: int, value: float) -> None:
        validated.append(epoch)
        trial.report(value, epoch)
        if trial.should_prune():
            stopped.append(epoch)
            raise StopTraining(f"pruned by the search's {type(trial.study.pruner).__name__}")

    started = time.perf_counter()
    try:
        values = plan.space.config_values(plan.space.sample(trial))
        config = resolve_config(merge(plan.base, values), source=f"trial {trial.number}")
        config.training.progress = False
        run = fit(config, output=folder, test=False, on_validation=on_validation)
    except (*FAILURES, KeyboardInterrupt) as error:
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else 'interrupted'}"
        trial.set_user_attr("reason", reason)
        if isinstance(error, KeyboardInterrupt):
            raise
        trial.set_user_attr("tried", True)  # its values were tried and failed: it counts toward the trials
        log.warning(f"trial {trial.number} failed: {reason}")
        raise TrialFailed(reason) from None  # not chained: the traceback would hold the trial's tensors
    finally:
        trial.set_user_attr("epochs", validated[-1] if validated else 0)
    metric = run.task.headline_metric
    value = run.metrics["valid"][metric]
    trial.set_user_attr("metric", metric)
    trial.set_user_attr("valid", value)
    seconds = time.perf_counter() - started
    if stopped:
        log.info(f"trial {trial.number}: pruned after epoch {stopped[0]}, valid {metric} {value:.4f} ({seconds:.1f} s)")
        raise optuna.TrialPruned(f"after epoch {stopped[0]}")
    log.info(f"trial {trial.number}: valid {metric} {value:.4f} after {validated[-1]} epochs ({seconds:.1f} s)")
    return value


# -- results ---------------------------------------------------------------------------------
def write_trials_table(study, plan: Plan) -> None:
    """DIR/trials.tsv: a row per trial with its state, valid metric, epochs, seconds, values and failure reason."""
    trials = study.get_trials(deepcopy=False)
    metric = next((t.user_attrs["metric"] for t in trials if "metric" in t.user_attrs), "metric")
    keys = list(plan.space.searched)
    unreported = "its process ended without a word (killed?); failed when its heartbeat stopped"
    with open(plan.output / "trials.tsv", "w", newline="") as table:
        writer = csv.writer(table, delimiter="\t", lineterminator="\n")
        writer.writerow(["trial", "state", f"valid_{metric}", "epochs", "seconds", *keys, "reason"])
        for t in trials:
            seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete else ""
            valid = t.user_attrs.get("valid", "")
            writer.writerow([t.number, t.state.name, valid, t.user_attrs.get("epochs", ""),
                             seconds and round(seconds, 1), *(t.params.get(k, "") for k in keys),
                             t.user_attrs.get("reason", unreported if t.state.name == "FAIL" else "")])


def conclude(study, plan: Plan) -> SearchResult:
    """The best completed trial: DIR/best.yaml (its config overrides), its test metrics, DIR/best.json, plots."""
    save_plots(study, plan.output)
    states = require_optuna().trial.TrialState
    if not study.get_trials(deepcopy=False, states=(states.COMPLETE,)):
        log.warning(f"no trial of the study '{plan.study_name}' has completed; no best trial yet")
        return SearchResult(plan.output, study, None)
    trial = study.best_trial
    metric = trial.user_attrs["metric"]
    overrides = merge(plan.base, plan.space.config_values(trial.params))
    header = f"# best trial {trial.number} of study '{plan.study_name}': valid {metric} {trial.value:.4f}\n"
    (plan.output / "best.yaml").write_text(header + yaml.safe_dump(overrides, sort_keys=False))
    folder = RunFolder(trial.user_attrs["folder"])
    best = {"trial": trial.number, "metric": metric, "params": trial.params, "folder": str(folder.path),
            "config": str(plan.output / "best.yaml"), "valid": None, "test": None}
    if folder.has_checkpoint():
        run = load(folder.path)
        best["valid"] = run.metrics["valid"]
        best["test"] = run.evaluate("test")
    else:
        log.warning(f"the best trial, {trial.number}, ran on {trial.user_attrs['host']} in {folder.path}; "
                    f"run the same command there for its test metrics")
    (plan.output / "best.json").write_text(json.dumps(best, indent=2))
    return SearchResult(plan.output, study, best)


def save_plots(study, output: Path) -> None:
    """Optimisation history and parameter importances as PNGs, when matplotlib is installed."""
    if importlib.util.find_spec("matplotlib") is None:
        return
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    complete = [t for t in study.get_trials(deepcopy=False) if t.value is not None]
    charts = {"optimization_history.png": plots.plot_optimization_history}
    if len(complete) >= 2:
        charts["param_importances.png"] = plots.plot_param_importances
    for name, chart in charts.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the matplotlib charts are "experimental"
            try:
                axes = chart(study)
            except (ImportError, ValueError, RuntimeError) as error:
                # importances of values that never varied; an Optuna whose importances need scikit-learn
                log.info(f"no {name}: {error}")
                continue
        axes.figure.savefig(output / name, dpi=120, bbox_inches="tight")
        plt.close(axes.figure)
