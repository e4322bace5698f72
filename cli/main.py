"""The ``kgtool`` command: parse arguments, call one library function, print the result.

Every :class:`~kgtool.errors.KGToolError` becomes one line on stderr and exit status 2;
Ctrl-C during training saves a checkpoint and exits with status 130.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap

from kgtool import __version__, distributed
from kgtool.cli import answers
from kgtool.cli.parsing import HelpFormatter, add_command, log_level, model_choice, verbosity_options
from kgtool.config import (DEFAULT_BATCH_SIZE, GNN_MODELS, IMAGE_ENCODER_NAMES, KGE_MODELS, RELATIONAL_ENCODERS,
                           TEXT_ENCODER_NAMES, Config, assignments_as_dict, read_yaml, resolve_config)
from kgtool.errors import KGToolError
from kgtool.hyperparameter_search import PRUNERS
from kgtool.recipes import recipe_path

EXAMPLES = """examples:
  kgtool fit --model rotate                       RotatE on UMLS (offline), then a run folder under runs/
  kgtool fit --config umls/complex --epochs 50    a shipped recipe (`kgtool configs`), one value changed
  kgtool predict RUN --head virus --relation causes
  kgtool search --model distmult --dataset nations --trials 20
"""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = log_level(args) if distributed.launched_as_main() else logging.WARNING  # under torchrun rank 0 reports
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    logging.getLogger("kgtool").setLevel(level)  # basicConfig sets the root's level only on a first call
    try:
        return args.command(args)
    except KGToolError as error:
        print(f"kgtool: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        detail = f": {interrupt}" if str(interrupt) else ""
        print(f"kgtool: interrupted{detail}", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kgtool", description="Knowledge-graph embeddings and GNNs.",
                                     epilog=EXAMPLES, formatter_class=HelpFormatter,
                                     parents=[verbosity_options(defaults=True)])
    parser.add_argument("--version", action="version", version=f"kgtool {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    fit = add_command(commands, "fit", "train a model, validate, test, and write a run folder", """\
  kgtool fit --model rotate --epochs 50 --dim 100
  kgtool fit --model TransE --dataset FB15k-237 --data-dir DIR --device cuda
  kgtool fit --config umls/complex --set training.lr=0.05
  kgtool fit --model gcn --dataset cora --data-dir DIR
  kgtool fit --output runs/x --resume""", description="Train a model, validate, test, and write a run folder. "
                     "Values come from the defaults < the model's defaults (GNNs: their paper's lr, epochs, ...) "
                     "< --config < the flags < --set; `kgtool fit --config NAME` starts from a shipped recipe.")
    fit.add_argument("--model", type=model_choice, choices=KGE_MODELS + GNN_MODELS,
                     help="model, in any case (TransE, GraphSAGE) (default: rotate)")
    fit.add_argument("--dataset", help="a name from `kgtool datasets` in any case (FB15k-237), or a folder with "
                                       "train/valid/test files (default: umls; GNNs: cora)")
    fit.add_argument("--data-dir", help="folder holding named datasets' files (default: $KGTOOL_DATA)")
    fit.add_argument("--config", help="YAML file of overrides of the defaults, or a shipped recipe's name "
                                      "(umls/complex; `kgtool configs` lists them)")
    fit.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                     help="override one config value, e.g. training.lr=0.01 (repeatable)")
    for flag, key, kind in SHORTCUTS:
        fit.add_argument(flag, type=kind, help=shortcut_help(key))
    fit.add_argument("--batch-size", type=int, help=f"shortcut for --set training.batch_size (default: "
                                                    f"{DEFAULT_BATCH_SIZE}; full-graph GNNs: every node)")
    fit.add_argument("--sampler", choices=("full", "neighbor", "saint"), help="GNN batches (shortcut for gnn.sampler)")
    fit.add_argument("--fanout", help="GNN neighbours per layer, e.g. 10,10 (shortcut for gnn.fanout; with --encoder "
                                      "for relational.fanout: sampled subgraphs per training step)")
    fit.add_argument("--encoder", choices=RELATIONAL_ENCODERS[1:],
                     help="KGE entities by message passing over the training triples (shortcut for relational.encoder)")
    fit.add_argument("--text", help="entity<TAB>text file of the entities/nodes (shortcut for encoders.text)")
    fit.add_argument("--text-encoder", choices=TEXT_ENCODER_NAMES, help="shortcut for encoders.text_encoder")
    fit.add_argument("--images", help="image folder or .npy array of the entities/nodes (shortcut for encoders.images)")
    fit.add_argument("--image-encoder", choices=IMAGE_ENCODER_NAMES, help="shortcut for encoders.image_encoder")
    fit.add_argument("--output", help="run folder (default: runs/<dataset>-<model>-<time>)")
    fit.add_argument("--resume", action="store_true", help="continue the run in --output from its checkpoint")
    fit.add_argument("--no-progress", action="store_true",
                     help="no progress bar (there is none unless stderr is a terminal: a log line per epoch instead)")
    fit.set_defaults(command=run_fit)

    evaluate = add_command(commands, "evaluate", "recompute a run's metrics from its checkpoint", """\
  kgtool evaluate RUN --split valid
  kgtool evaluate RUN --triples new_facts.tsv""")
    answers.add_run_arguments(evaluate)
    evaluate.add_argument("--split", choices=("valid", "test"), default="test", help="the split to rank")
    evaluate.add_argument("--triples", metavar="FILE", help="rank the triples of FILE instead of a split")
    evaluate.set_defaults(command=run_evaluate)

    answers.add_commands(commands)

    search = add_command(commands, "search", "hyperparameter search on Optuna: trials are run folders", """\
  kgtool search --model distmult --dataset nations --trials 20
  kgtool search --model complex --dataset umls --space complex --trials 50 --workers 2""")
    search.add_argument("--model", type=model_choice, choices=KGE_MODELS + GNN_MODELS, required=True)
    search.add_argument("--dataset", required=True, help="a name from `kgtool datasets` or a folder")
    search.add_argument("--space", help="YAML search space file or a shipped space's name (`kgtool configs`) "
                                        "(default: the model's, e.g. distmult)")
    search.add_argument("--trials", type=int, default=20, help="trials of the study in all, earlier ones included")
    search.add_argument("--timeout", type=float, help="seconds after which no new trial starts")
    search.add_argument("--output",
                        help="search folder (default: runs/search-<dataset>-<model>); the same folder resumes")
    search.add_argument("--storage",
                        help="Optuna RDB URL of a study shared by machines (default: sqlite in --output)")
    search.add_argument("--study", help="study name within --storage (default: <dataset>-<model>)")
    search.add_argument("--workers", type=int, default=1, help="trial processes on this machine")
    search.add_argument("--pruner", choices=PRUNERS, default="median", help="stops bad trials at a validation")
    search.add_argument("--seed", type=int, default=0,
                        help="sampler seed; give each machine of a shared study its own")
    search.add_argument("--data-dir", help="folder holding named datasets' files (default: $KGTOOL_DATA)")
    search.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="config value of every trial, e.g. training.device=cuda (repeatable)")
    search.set_defaults(command=run_search)

    datasets = add_command(commands, "datasets", "list the named datasets and their sizes", """\
  kgtool datasets --data-dir DIR""")
    datasets.add_argument("--data-dir", help="folder holding named datasets' files (default: $KGTOOL_DATA)")
    datasets.set_defaults(command=run_datasets)

    configs = add_command(commands, "configs", "list the shipped recipes (--config NAME) and search spaces "
                                               "(--space NAME)", """\
  kgtool configs
  kgtool fit --config umls/complex""")
    configs.set_defaults(command=run_configs)
    return parser


# fit's shortcuts for --set: (flag, config key, type)
SHORTCUTS = [("--epochs", "training.epochs", int), ("--lr", "training.lr", float), ("--dim", "model.dim", int),
             ("--seed", "training.seed", int), ("--device", "training.device", str)]


def shortcut_help(key: str) -> str:
    """``"shortcut for --set training.lr (default: 0.001)"``, the default read from the config."""
    section, _, leaf = key.partition(".")
    return f"shortcut for --set {key} (default: {getattr(getattr(Config(), section), leaf)})"


def flag_assignments(args: argparse.Namespace) -> list[str]:
    """The ``section.key=value`` settings of ``fit``'s shortcut flags that were given, then --set's."""
    flags = {"model.name": args.model, "data.dataset": args.dataset, "data.data_dir": args.data_dir,
             **{key: getattr(args, flag[2:]) for flag, key, _ in SHORTCUTS}, "training.batch_size": args.batch_size,
             "gnn.sampler": args.sampler, "relational.encoder": args.encoder,
             "relational.fanout" if args.encoder else "gnn.fanout": args.fanout,
             "encoders.text": args.text, "encoders.text_encoder": args.text_encoder,
             "encoders.images": args.images, "encoders.image_encoder": args.image_encoder,
             "training.progress": False if args.no_progress else None}
    return [f"{key}={value}" for key, value in flags.items() if value is not None] + args.assignments


def fit_config(args: argparse.Namespace) -> Config:
    """Defaults < the model's defaults < --config file < flags < --set."""
    path = recipe_path(args.config) if args.config else None
    values = read_yaml(path) if path else {}
    return resolve_config(values, flag_assignments(args), source=str(path or "config"))


def run_fit(args: argparse.Namespace) -> int:
    import kgtool

    if args.resume and not args.output:
        raise KGToolError("--resume needs --output, the run folder to continue")
    config = resume_changes(args) if args.resume else fit_config(args)
    run = kgtool.fit(config, output=args.output, resume=args.resume)
    if not distributed.launched_as_main():
        return 0  # under torchrun rank 0 reports
    print(format_metrics({split: run.metrics[split] for split in ("valid", "test")}))
    print(f"run folder: {run.path}")
    return 0


def resume_changes(args: argparse.Namespace) -> dict:
    """The changes that ``fit --resume`` asks of the saved config (flags and --set); the library
    refuses those a checkpoint cannot follow, naming them."""
    if args.config:
        raise KGToolError("--resume continues the run with its saved config; --config cannot change it "
                          "(use --epochs or --set for what a resume may change)")
    return assignments_as_dict(flag_assignments(args))


def run_search(args: argparse.Namespace) -> int:
    import kgtool

    settings = args.assignments + ([f"data.data_dir={args.data_dir}"] if args.data_dir else [])
    result = kgtool.search(args.model, args.dataset, space=args.space, trials=args.trials, timeout=args.timeout,
                           output=args.output, storage=args.storage, workers=args.workers, pruner=args.pruner,
                           settings=settings, study_name=args.study, seed=args.seed)
    print(f"trials: {result.path / 'trials.tsv'}")
    best = result.best
    if best is None:
        print("no trial has completed yet")
        return 0
    print(f"best trial {best['trial']}: " + ", ".join(f"{key}={value}" for key, value in best["params"].items()))
    if best["test"] is not None:
        print(format_metrics({"valid": best["valid"], "test": best["test"]}))
    print(f"best config: {best['config']} (kgtool fit --config {best['config']})")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    run = answers.load_run(args)
    if args.triples:
        metrics = run.evaluate_triples(args.triples)
        print(format_metrics({"file": metrics}))
        skipped = metrics["skipped"]
        print(f"ranked {metrics['num_triples']} triples of {args.triples}; skipped {skipped['count']} with entities "
              f"or relations the run does not know" + (f" (first: {skipped['first']})" if skipped["count"] else ""))
        return 0
    print(format_metrics({args.split: run.evaluate(args.split)}))
    return 0


def run_datasets(args: argparse.Namespace) -> int:
    from kgtool.data.graphs import OGB_NODE, PLANETOID
    from kgtool.data.registry import KG_DATASETS, data_dir_or_env

    folder = data_dir_or_env(args.data_dir)
    print(f"{'name':<12} {'entities':>9} {'relations':>9} {'train':>10} {'valid':>7} {'test':>7}  source")
    for name, s in KG_DATASETS.items():
        if s.offline:
            source = "shipped with pykeen (offline)"
        elif folder is not None and (folder / s.folder).is_dir():
            source = f"{folder / s.folder}"
        elif s.ogb:
            source = "ogb download into --data-dir (else the cache); OGB's sampled negatives too"
        else:
            source = "pykeen download (or --data-dir)"
        print(f"{name:<12} {s.entities:>9,} {s.relations:>9,} {s.triples[0]:>10,} {s.triples[1]:>7,} {s.triples[2]:>7,}  {source}")
    print(f"node graphs (--model gcn|gat|sage): {', '.join([*PLANETOID, *OGB_NODE])}, or a folder of "
          f"nodes.csv and edges.csv; Planetoid sets read <data-dir>/<Name>/raw, else download")
    return 0


def run_configs(args: argparse.Namespace) -> int:
    from kgtool.recipes import configs_folder, describe, recipe_names, space_names, space_path

    short = lambda path: textwrap.shorten(describe(path), width=80, placeholder=" ...")
    print("recipes (kgtool fit --config NAME):")
    print("\n".join(f"  {name:<34} {short(recipe_path(name))}" for name in recipe_names()))
    print("search spaces (kgtool search --space NAME):")
    print("\n".join(f"  {name:<34} {short(space_path(name))}" for name in space_names()))
    print(f"files: {configs_folder()}")
    return 0


def format_metrics(blocks: dict[str, dict]) -> str:
    """A table with a row per split and a column per top-level number (realistic ranks)."""
    columns = [k for k, v in next(iter(blocks.values())).items() if isinstance(v, float)]
    lines = [f"{'split':<6}" + "".join(f"{c:>10}" for c in columns)]
    for split, metrics in blocks.items():
        lines.append(f"{split:<6}" + "".join(f"{metrics[c]:>10.4f}" for c in columns))
    return "\n".join(lines)
