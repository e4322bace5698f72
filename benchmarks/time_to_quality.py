"""Time to quality: wall-clock seconds until a model's test MRR first reaches each target.

A user feels the time to a good model, not triples per second. Each run trains ``--config`` (a
kgtool run config; ``--set`` overrides) with the test split ranked after every
``training.eval_every`` epochs (monitoring only: early stopping is off, and the numbers reported
are the first crossings, not a selected best). It prints, per target MRR, the training seconds
summed over the epochs up to the crossing and the wall-clock seconds including the rankings in
between. ``--budget`` (wall-clock seconds) stops a run at its first ranking past it.

    OMP_NUM_THREADS=2 python benchmarks/time_to_quality.py --data-dir DIR \\
        --config configs/fb15k237/complex-1vsall-cpu.yaml --targets 0.25,0.30

``--library pykeen`` trains the same config with pykeen 1.11's training loop instead (see
:func:`pykeen_components` for what maps to what; its model is ranked by kgtool's filtered
evaluator through :class:`PykeenScorer`, since pykeen's own ranking of the 20,466 FB15k-237 test
triples takes about 25 minutes on this CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import torch

from _harness import add_data_dir, add_settings, add_threads, machine_facts, parse, peak_rss_mb

import kgtool
from kgtool.config import Config
from kgtool.data.registry import load_kg
from kgtool.errors import ConfigError
from kgtool.evaluation.ranking import evaluate_link_prediction
from kgtool.training import StopTraining


def crossings(log: list[dict], walls: list[tuple[int, float]], targets: list[float]) -> dict:
    """``{target: (epoch, training seconds, wall seconds)}`` of the first validation at or above it."""
    found = {}
    wall_at = dict(walls)
    for record in log:
        mrr = record.get("valid", {}).get("mrr")
        for target in targets:
            if mrr is not None and mrr >= target and target not in found:
                seconds = sum(r["seconds"] for r in log if r["epoch"] <= record["epoch"])
                found[target] = (record["epoch"], seconds, wall_at[record["epoch"]])
    return found


def run_kgtool(config: Config, dataset, budget: float) -> tuple[list[dict], list[tuple[int, float]]]:
    """kgtool's epochs: its log records (``epoch``, ``seconds``, ``valid``: the test metrics)
    and the wall-clock seconds at each ranking, with the test split monitored as validation."""
    # test and valid trade places, so that the test split is ranked at each validation while the
    # filter (train + valid + test, KGDataset.all_triples) stays the one `kgtool fit` ranks test with
    monitored = dataclasses.replace(dataset, splits={**dataset.splits, "valid": dataset.test, "test": dataset.valid})
    walls = []
    started = time.perf_counter()

    def on_validation(epoch: int, value: float) -> None:
        walls.append((epoch, time.perf_counter() - started))
        if walls[-1][1] >= budget:
            raise StopTraining(f"the budget of {budget:.0f} s is spent")

    with tempfile.TemporaryDirectory() as folder:
        kgtool.fit(config, output=Path(folder) / "run", dataset=monitored, test=False, on_validation=on_validation)
        return [json.loads(line) for line in (Path(folder) / "run" / "log.jsonl").read_text().splitlines()], walls


class PykeenScorer(torch.nn.Module):
    """A pykeen model behind kgtool's ranking interface (``score_tails``, ``score_heads``): its
    ``predict_t`` / ``predict_h``, which map relation ids as its training did and ask head
    queries of the inverse relations when it has them."""

    def __init__(self, model, num_entities: int):
        super().__init__()
        self.model, self.num_entities = model, num_entities

    def score_tails(self, heads: torch.Tensor, relations: torch.Tensor) -> torch.Tensor:
        return self.model.predict_t(torch.stack([heads, relations], dim=1))

    def score_heads(self, relations: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        return self.model.predict_h(torch.stack([relations, tails], dim=1))


PYKEEN_MODELS = {"complex": "ComplEx", "distmult": "DistMult", "transe": "TransE", "rotate": "RotatE"}
PYKEEN_LOSSES = {"ce": "CrossEntropyLoss", "bce": "BCEWithLogitsLoss", "softplus": "SoftplusLoss", "nssa": "NSSALoss"}


def pykeen_components(config: Config, dataset):
    """pykeen's training triples, model, optimizer and training loop for a kgtool ``config``.

    Maps: the model and its dimension; KvsAll to LCWA and sampled negatives to sLCWA (uniform,
    ``num_negatives`` per positive); reciprocal relations to inverse triples; the loss (NSSA with
    the margin and temperature); Adam or Adagrad with the learning rate; N3 to pykeen's
    ``PowerSumRegularizer(p=3)`` with the same weight (the mean over the batch's rows of
    ``Σ|x|³``, as kgtool's); TransE's ``p_norm``. Initialisation stays pykeen's. pykeen has no
    1vsAll loop, so a 1vsAll config is refused.
    """
    from pykeen.models import model_resolver
    from pykeen.training import LCWATrainingLoop, SLCWATrainingLoop
    from pykeen.triples import TriplesFactory

    model, training = config.model, config.training
    if training.scoring == "1vsall":
        raise ConfigError("pykeen has no 1vsAll training loop: use a kvsall (LCWA) or negatives (sLCWA) config")
    if training.loss not in PYKEEN_LOSSES or model.name not in PYKEEN_MODELS:
        raise ConfigError(f"no pykeen counterpart for model {model.name!r} with loss {training.loss!r}")
    factory = TriplesFactory(mapped_triples=dataset.train, entity_to_id={e: i for i, e in enumerate(dataset.entities)},
                             relation_to_id={r: i for i, r in enumerate(dataset.relations)},
                             create_inverse_triples=training.reciprocal)
    loss_kwargs = {"margin": model.margin, "adversarial_temperature": training.adversarial_temperature} \
        if training.loss == "nssa" else {}
    model_kwargs = {"embedding_dim": model.dim, "loss": PYKEEN_LOSSES[training.loss], "loss_kwargs": loss_kwargs,
                    "triples_factory": factory, "random_seed": training.seed}
    if model.name == "transe":
        model_kwargs["scoring_fct_norm"] = model.p_norm
    if training.regularizer == "n3":
        model_kwargs.update(regularizer="powersum",
                            regularizer_kwargs={"weight": training.regularizer_weight, "p": 3.0, "normalize": False})
    elif training.regularizer != "none":
        raise ConfigError(f"no pykeen counterpart for regularizer {training.regularizer!r}")
    pykeen_model = model_resolver.make(PYKEEN_MODELS[model.name], **model_kwargs)
    optimizer = {"adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad}[training.optimizer](
        pykeen_model.parameters(), lr=training.lr)
    if training.scoring == "kvsall":
        loop = LCWATrainingLoop(model=pykeen_model, triples_factory=factory, optimizer=optimizer)
    else:
        loop = SLCWATrainingLoop(model=pykeen_model, triples_factory=factory, optimizer=optimizer,
                                 negative_sampler="basic",
                                 negative_sampler_kwargs={"num_negs_per_pos": training.num_negatives})
    return factory, pykeen_model, loop


def run_pykeen(config: Config, dataset, budget: float) -> tuple[list[dict], list[tuple[int, float]]]:
    """pykeen's epochs, one ``train`` call each (``continue_training``), ranked by kgtool's
    filtered evaluator every ``eval_every`` epochs, in :func:`run_kgtool`'s format."""
    torch.manual_seed(config.training.seed)
    factory, model, loop = pykeen_components(config, dataset)
    log, walls = [], []
    started = time.perf_counter()
    for epoch in range(1, config.training.epochs + 1):
        epoch_started = time.perf_counter()
        loop.train(triples_factory=factory, num_epochs=epoch, batch_size=config.training.batch_size,
                   continue_training=epoch > 1, use_tqdm=False, use_tqdm_batch=False)
        record = {"epoch": epoch, "seconds": time.perf_counter() - epoch_started}
        spent = time.perf_counter() - started >= budget
        if epoch % config.training.eval_every == 0 or spent:
            scorer = PykeenScorer(model, dataset.num_entities)
            record["valid"] = evaluate_link_prediction(scorer, dataset.test, dataset.all_triples())
            walls.append((epoch, time.perf_counter() - started))
        log.append(record)
        if spent:
            break
    return log, walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    add_data_dir(parser)
    parser.add_argument("--targets", default="0.25,0.30")
    add_settings(parser)
    add_threads(parser, default=2)
    parser.add_argument("--library", choices=("kgtool", "pykeen"), default="kgtool")
    parser.add_argument("--budget", type=float, default=float("inf"), help="wall-clock seconds: stop at the first ranking past them")
    args = parse(parser)
    targets = [float(x) for x in args.targets.split(",")]
    config = Config.load(args.config).override(args.settings + ["training.progress=false", "training.patience=0"])
    dataset = load_kg(config.data.dataset, args.data_dir or config.data.data_dir)
    print(machine_facts())
    print(f"{args.library}, config: {args.config} {' '.join(args.settings)}; budget {args.budget} s wall-clock")
    log, walls = {"kgtool": run_kgtool, "pykeen": run_pykeen}[args.library](config, dataset, args.budget)
    print("| epoch | test MRR | Hits@1 | Hits@10 | training s (sum) | wall s |\n|---:|---:|---:|---:|---:|---:|")
    wall_at = dict(walls)
    for record in log:
        if "valid" in record:
            seconds = sum(r["seconds"] for r in log if r["epoch"] <= record["epoch"])
            metrics = record["valid"]
            print(f"| {record['epoch']} | {metrics['mrr']:.4f} | {metrics.get('hits@1', float('nan')):.4f} | "
                  f"{metrics.get('hits@10', float('nan')):.4f} | {seconds:.0f} | {wall_at[record['epoch']]:.0f} |")
    found = crossings(log, walls, targets)
    print("\n| target test MRR | epoch | training s | wall s |\n|---:|---:|---:|---:|")
    for target in targets:
        epoch, seconds, wall = found.get(target, ("not reached", float("nan"), float("nan")))
        print(f"| {target:g} | {epoch} | {seconds:.0f} | {wall:.0f} |")
    print(f"peak RSS {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
