"""Inductive link prediction on WN18RR: can a model rank entities it never saw in training?

10% of the entities (seed 0) are held out with all their triples (``kgtool.data.inductive``):
valid and test are the triples with exactly one held-out end. The split is written once to
``--split-dir`` and read back from there. Test queries are ranked against all 40,943 entities
(filtered), held-out ones included. Rows:

- ``text``: entities are their WordNet lemma + definition, as words and their character 4-grams
  (so "chieftain" and "chieftainship" share tokens) through a bag-of-words encoder, with no
  per-entity embedding (``encoders.structural=false``), so unseen entities are represented too;
- ``structure``: the same model with a learned embedding table: held-out rows never train;
- ``random``: the expected MRR of a uniformly random ranking, ``H_N / N``.

``--transductive`` adds the original WN18RR split: text + structure against structure only, at
the same budget (epochs, dim, negatives).

    OMP_NUM_THREADS=1 python benchmarks/wn18rr_inductive.py --data-dir DIR
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from _harness import add_data_dir, add_threads, machine_facts, parse, timed

import kgtool
from kgtool.data.inductive import saved_inductive_split
from kgtool.data.registry import load_kg


def model_config(args: argparse.Namespace, text: str | None, structural: bool) -> dict:
    """One budget for every row: only the entity representation differs."""
    config = {
        "model": {"name": args.model, "dim": args.dim},
        "training": {"epochs": args.epochs, "batch_size": 512, "num_negatives": args.negatives,
                     "shared_negatives": True, "loss": "nssa", "lr": args.lr, "eval_every": args.eval_every,
                     "progress": False, "seed": args.seed},
        "evaluation": {"per_relation": False},
    }
    if text is not None:
        config["encoders"] = {"text": text, "text_encoder": args.text_encoder, "dim": args.encoder_dim, "layers": 1,
                              "max_tokens": args.max_tokens, "char_ngrams": args.char_ngrams,
                              "structural": structural, "fusion": args.fusion if structural else "concat"}
    return config


def fit(name: str, config: dict, dataset, output: Path) -> dict:
    seconds, run = timed(lambda: kgtool.fit(config, output=output / name, dataset=dataset))
    test = run.metrics["test"]
    return {"row": name, "mrr": test["mrr"], "hits@1": test["hits@1"], "hits@10": test["hits@10"],
            "minutes": seconds / 60}


def random_mrr(num_entities: int) -> float:
    """Expected reciprocal rank of the answer among ``num_entities`` uniformly shuffled candidates."""
    return sum(1.0 / k for k in range(1, num_entities + 1)) / num_entities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir(parser, required=True, holding="WN18RR/ (train, valid, test, text/)")
    parser.add_argument("--split-dir", default="runs/wn18rr-inductive-split")
    parser.add_argument("--model", default="complex")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--text-encoder", default="bow", help="bow | transformer | lstm | gru")
    parser.add_argument("--encoder-dim", type=int, default=128)
    parser.add_argument("--char-ngrams", type=int, default=4, help="0: words only")
    parser.add_argument("--max-tokens", type=int, default=64, help="words and n-grams kept of each text")
    parser.add_argument("--fusion", default="residual", help="text + structure: residual | concat | gated")
    parser.add_argument("--negatives", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--eval-every", type=int, default=2, help="epochs between validations (best model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", default="text,structure", help="comma-separated inductive rows to train, or ''")
    parser.add_argument("--transductive", action="store_true", help="also compare on the original split")
    add_threads(parser, default=None)
    args = parse(parser)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(machine_facts())

    original = load_kg("wn18rr", args.data_dir)
    text = str(Path(args.data_dir) / "WN18RR" / "text" / "entity2text.txt.gz")
    inductive = saved_inductive_split(original, args.split_dir)
    print(inductive.describe())
    rows = {"text": (text, False), "structure": (None, True)}
    results = []
    with tempfile.TemporaryDirectory() as output:
        for name in filter(None, args.rows.split(",")):
            results.append({"split": "inductive", **fit(name, model_config(args, *rows[name]), inductive, Path(output))})
        results.append({"split": "inductive", "row": "random", "mrr": random_mrr(original.num_entities),
                        "hits@1": 1 / original.num_entities, "hits@10": 10 / original.num_entities, "minutes": 0.0})
        if args.transductive:
            for name, config in [("text+structure", model_config(args, text, True)),
                                 ("structure", model_config(args, None, True))]:
                results.append({"split": "transductive", **fit(f"t-{name}", config, original, Path(output)),
                                "row": name})
    print(f"\n{args.model}, dim {args.dim}, {args.epochs} epochs, {args.negatives} shared negatives, lr {args.lr}; "
          f"text: {args.text_encoder} dim {args.encoder_dim}, {args.max_tokens} tokens, char n-grams {args.char_ngrams}")
    print(f"{'split':<13} {'row':<15} {'MRR':>7} {'H@1':>7} {'H@10':>7} {'minutes':>8}")
    for r in results:
        print(f"{r['split']:<13} {r['row']:<15} {r['mrr']:>7.4f} {r['hits@1']:>7.4f} {r['hits@10']:>7.4f} "
              f"{r['minutes']:>8.1f}")


if __name__ == "__main__":
    main()
