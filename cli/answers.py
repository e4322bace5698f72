"""The commands that turn runs and datasets into answers: parse, call the library, print."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from kgtool.cli.parsing import add_command
from kgtool.data.patterns import PATTERN_SPLITS
from kgtool.errors import KGToolError
from kgtool.export import EXPORT_FORMATS

FORMATS = ("table", "tsv", "json")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The run folder, and the options that re-point it at moved data."""
    parser.add_argument("run_dir", metavar="RUN", help="a run folder written by `kgtool fit`")
    parser.add_argument("--dataset", help="the run's dataset (a name or folder) where it lies now, if it moved; "
                                          "its fingerprint must match the run's")
    parser.add_argument("--data-dir", help="folder holding named datasets' files now, if it moved")


def load_run(args: argparse.Namespace):
    """The run of ``args.run_dir``, re-pointed by ``--dataset``/``--data-dir``."""
    import kgtool

    return kgtool.load(args.run_dir, dataset=args.dataset, data_dir=args.data_dir)


def add_commands(commands) -> None:
    """Register the answer commands on ``commands`` (argparse sub-parsers)."""
    predict = add_command(commands, "predict", "rank the answers of (h, r, ?), (?, r, t) or (h, ?, t), or score triples",
                          """\
  kgtool predict RUN --head virus --relation causes --top 5
  kgtool predict RUN --relation causes --tail disease_or_syndrome --filter
  kgtool predict RUN --queries queries.tsv --format tsv
  kgtool predict RUN --triples candidates.tsv""",
                          description="Give two of --head/--relation/--tail to ask the third, or --queries, or --triples.")
    add_run_arguments(predict)
    predict.add_argument("--head", help="known head")
    predict.add_argument("--relation", help="known relation")
    predict.add_argument("--tail", help="known tail")
    predict.add_argument("--queries", metavar="FILE", help="TSV of queries head<TAB>relation<TAB>tail, '?' asked")
    predict.add_argument("--triples", metavar="FILE", help="TSV of triples to score")
    predict.add_argument("--top", type=int, help="answers per query (default: 10)")
    predict.add_argument("--filter", action="store_true", help="drop known answers (in train/valid/test)")
    predict.add_argument("--format", choices=FORMATS, default="table", help="how the answers print")
    predict.set_defaults(command=run_predict)

    export = add_command(commands, "export", "write a run's embeddings with their labels", """\
  kgtool export RUN
  kgtool export RUN --format projector --output vectors/""")
    add_run_arguments(export)
    export.add_argument("--format", choices=EXPORT_FORMATS, default="tsv",
                        help="tsv or npy rows with entities.tsv/relations.tsv, or projector (vectors.tsv, metadata.tsv)")
    export.add_argument("--output", help="folder (default: RUN/export)")
    export.set_defaults(command=run_export)

    analyze = add_command(commands, "analyze", "relation patterns of a dataset: categories, symmetry, inverses, "
                                               "compositions; of a run: its test MRR per category", """\
  kgtool analyze umls
  kgtool analyze FB15k-237 --data-dir DIR --split train --json
  kgtool analyze RUN""")
    analyze.add_argument("dataset", help="a name from `kgtool datasets`, a folder with train/valid/test files, "
                                         "or a run folder (adds the run's test metrics per category and pattern)")
    analyze.add_argument("--data-dir", help="folder holding named datasets' files (default: $KGTOOL_DATA)")
    analyze.add_argument("--split", choices=PATTERN_SPLITS, default="all", help="triples to analyze")
    analyze.add_argument("--min-support", type=int, default=10, help="pairs a rule must hold for")
    analyze.add_argument("--min-confidence", type=float, default=0.5, help="share of its pairs a rule must hold for")
    analyze.add_argument("--json", action="store_true", help="print the report as JSON")
    analyze.set_defaults(command=run_analyze)

    split = add_command(commands, "split", "cut a file of triples into train/valid/test; every entity and "
                                           "relation of valid and test also in train", """\
  kgtool split triples.tsv --output my_kg
  kgtool split triples.tsv.gz --ratios 0.9,0.05,0.05 --seed 1 --output my_kg""")
    split.add_argument("file", help="head<TAB>relation<TAB>tail lines (.gz too)")
    split.add_argument("--ratios", default="0.8,0.1,0.1", help="train,valid,test shares")
    split.add_argument("--seed", type=int, default=0, help="seeds the shuffle")
    split.add_argument("--output", required=True, help="folder for train.txt, valid.txt, test.txt")
    split.set_defaults(command=run_split)

    inductive = add_command(
        commands, "inductive-split", "hold entities of a dataset out of training (new at test time), each with a "
                                     "few support triples known at inference (semi-inductive), or none (--support 0)",
        """\
  kgtool inductive-split umls --output umls-inductive
  kgtool fit --dataset umls-inductive --encoder compgcn""")
    inductive.add_argument("dataset", help="a name from `kgtool datasets` or a folder with train/valid/test files")
    inductive.add_argument("--data-dir", help="folder holding named datasets' files (default: $KGTOOL_DATA)")
    inductive.add_argument("--fraction", type=float, default=0.1, help="share of entities held out")
    inductive.add_argument("--support", type=int, default=3, help="support triples per held-out entity")
    inductive.add_argument("--seed", type=int, default=0, help="seeds the choice of entities")
    inductive.add_argument("--output", required=True,
                           help="folder for train/valid/test/support.txt and entities.txt; then `kgtool fit --dataset FOLDER`")
    inductive.set_defaults(command=run_inductive_split)

    plot = add_command(commands, "plot", "loss, validation metrics and per-relation MRR of runs, overlaid (PNG)",
                       """\
  kgtool plot RUN
  kgtool plot RUN1 RUN2 --ranks --output compare.png""")
    plot.add_argument("run_dirs", nargs="+", metavar="RUN")
    plot.add_argument("--output", help="PNG file (default: RUN/plot.png of the first run)")
    plot.add_argument("--ranks", action="store_true",
                      help="add test rank histograms (head, tail): loads each run and ranks its test split again")
    plot.set_defaults(command=run_plot)


def run_predict(args: argparse.Namespace) -> int:
    from kgtool.prediction import Query, read_queries

    given = [label is not None for label in (args.head, args.relation, args.tail)]
    if sum(given) and (args.queries or args.triples) or (args.queries and args.triples):
        raise KGToolError("predict takes one of: two of --head/--relation/--tail, --queries FILE, --triples FILE")
    if not (args.queries or args.triples) and sum(given) != 2:
        raise KGToolError("predict needs two of --head/--relation/--tail (the third is asked), "
                          "or --queries FILE, or --triples FILE")
    if args.triples and (args.filter or args.top is not None):
        raise KGToolError("--triples scores the given triples: --top and --filter apply to queries only")
    run = load_run(args)
    if args.triples:
        print(format_scored(run.score_triples(read_queries(args.triples, asked=False)), args.format))
        return 0
    queries = read_queries(args.queries) if args.queries else [Query(args.head, args.relation, args.tail)]
    answers = run.predict(queries, args.top if args.top is not None else 10, filter_known=args.filter)
    print(format_answers(queries, answers, args.format, run.dataset.entity_text))
    return 0


def run_export(args: argparse.Namespace) -> int:
    for path in load_run(args).export(args.output, args.format):
        print(path)
    return 0


def run_analyze(args: argparse.Namespace) -> int:
    from kgtool.data.patterns import dataset_patterns
    from kgtool.data.registry import load_kg
    from kgtool.run_folder import RunFolder

    if RunFolder(args.dataset).config_path.is_file():
        import kgtool

        if args.data_dir or args.split != "all":
            raise KGToolError("analyze RUN reads the run's own dataset and ranks its test split: "
                              "--data-dir and --split apply to a dataset name")
        report = kgtool.load(args.dataset).analyze("test", args.min_support, args.min_confidence)
    else:
        report = dataset_patterns(load_kg(args.dataset, args.data_dir), args.split, args.min_support,
                                  args.min_confidence)
    print(as_json(report) if args.json else format_patterns(report))
    return 0


def as_json(value) -> str:
    """``value`` as strict JSON: a NaN or infinity, which JSON has no literal for, is an error, not ``NaN``."""
    try:
        return json.dumps(value, indent=2, allow_nan=False)
    except ValueError:
        raise KGToolError("the output holds a NaN or infinite number, which JSON cannot hold") from None


def format_patterns(report: dict) -> str:
    """Relations (category, symmetry, antisymmetry, best inverse), then composition rules."""
    number = lambda x: "-" if x is None else f"{x:.2f}"
    lines = [f"{'category':<8} {'sym':>5} {'anti':>5}  relation  [inverse (confidence)]"]
    for name, r in report["relations"].items():
        inverse = f"  [{r['inverses'][0]['relation']} ({r['inverses'][0]['confidence']:.2f})]" if r["inverses"] else ""
        lines.append(f"{r['category']:<8} {number(r['symmetry']):>5} {number(r['antisymmetry']):>5}  {name}{inverse}")
    lines += ["", f"{'support':>8} {'conf':>5}  composition rule"]
    lines += [f"{c['support']:>8} {c['confidence']:>5.2f}  {c['body'][0]} ∘ {c['body'][1]} ⇒ {c['head']}"
              for c in report["compositions"]]
    if "test" in report:
        lines += ["", f"{'test':<14} {'triples':>7} {'mrr':>7} {'h-mrr':>7} {'t-mrr':>7} {'hits@10':>7}"]
        lines += [f"{group:<14} {m['num_triples']:>7} {m['mrr']:>7.4f} {m['head']['mrr']:>7.4f} "
                  f"{m['tail']['mrr']:>7.4f} {m['hits@10']:>7.4f}"
                  for block in report["test"].values() for group, m in block.items()]
    return "\n".join(lines)


def run_split(args: argparse.Namespace) -> int:
    from kgtool.data.splitting import parse_ratios, split_file

    print(split_file(args.file, args.output, parse_ratios(args.ratios), args.seed).describe())
    return 0


def run_inductive_split(args: argparse.Namespace) -> int:
    from kgtool.data.inductive import saved_inductive_split
    from kgtool.data.registry import load_kg

    dataset = load_kg(args.dataset, args.data_dir)
    print(saved_inductive_split(dataset, args.output, args.fraction, args.seed, args.support).describe())
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from kgtool.plotting import plot_runs

    print(plot_runs(args.run_dirs, args.output, args.ranks))
    return 0


def format_answers(queries, answers, style: str, entity_text: dict[str, str]) -> str:
    """Each query's ranked answers as a table, TSV rows or JSON."""
    if style == "json":
        return as_json([{"query": {"head": q.head, "relation": q.relation, "tail": q.tail},
                         "answers": [asdict(a) for a in ranked]} for q, ranked in zip(queries, answers)])
    if style == "tsv":
        lines = ["query\trank\thead\trelation\ttail\tscore\tknown"]
        lines += [f"{q}\t{rank}\t{a.head}\t{a.relation}\t{a.tail}\t{a.score:.6g}\t{int(a.known)}"
                  for q, ranked in zip(queries, answers) for rank, a in enumerate(ranked, start=1)]
        return "\n".join(lines)
    blocks = []
    for query, ranked in zip(queries, answers):
        lines = [str(query), f"{'rank':>4}  {'score':>10}  {'known':<5}  answer"]
        for rank, a in enumerate(ranked, start=1):
            label = (a.head, a.relation, a.tail)[query.asked]
            text = f"  {entity_text[label]}" if label in entity_text else ""
            lines.append(f"{rank:>4}  {a.score:>10.4f}  {'known' if a.known else 'new':<5}  {label}{text}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def format_scored(scored, style: str) -> str:
    """Scored triples as a table, TSV rows or JSON."""
    if style == "json":
        return as_json([asdict(a) for a in scored])
    if style == "tsv":
        return "\n".join(["head\trelation\ttail\tscore\tknown"] +
                         [f"{a.head}\t{a.relation}\t{a.tail}\t{a.score:.6g}\t{int(a.known)}" for a in scored])
    return "\n".join([f"{'score':>10}  {'known':<5}  triple"] +
                     [f"{a.score:>10.4f}  {'known' if a.known else 'new':<5}  ({a.head}, {a.relation}, {a.tail})"
                      for a in scored])
