"""Image encoders on a graph of handwritten digits, through ``kgtool fit``: does the graph help
the CNN, and do DDPM / VAE encoders help a GCN, with and without pretraining on their own
objectives (``encoders.pretrain_epochs``)?

Nodes are the 1797 8×8 images of scikit-learn's ``load_digits``, labels their digits. Edges
follow a noisy class-homophilous rule (one fixed graph): each node links to ``--degree`` others,
each of the same digit with probability ``--homophily`` and uniformly random otherwise. Each seed
draws ``--labels-per-class`` training nodes per digit; half the rest are validation (the best
epoch is kept, as ``kgtool fit`` does), half test. Every row is one ``kgtool.fit`` of
``--model gcn`` on a CSV graph folder (``nodes.csv``, ``edges.csv``) with the images as an
``.npy`` array, the same epochs of main training:

- CNN alone: the image encoder ``cnn`` on the graph with its edges removed (each node sees itself);
- GCN over raw pixels: the 64 pixels as node features, no encoder;
- CNN + GCN: the CNN's features under the GCN, trained jointly;
- DDPM / VAE: the ``diffusion`` / ``vae`` encoder under the GCN, with 0 or ``--pretrain-epochs``
  epochs of pretraining on its denoising / ELBO objective first.

Prints mean ± std test accuracy and wall seconds per run.

    python benchmarks/encoders_digits.py --seeds 3 --epochs 60 --pretrain-epochs 20
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from _harness import add_threads, homophilous_edges, machine_facts, parse, train_split


def write_digits_graph(folder: Path, args, seed: int, edges: bool = True, pixels: bool = False) -> Path:
    """``nodes.csv`` (id, label, split: the seed's training nodes, half the rest valid, half test;
    with ``pixels`` the 64 pixels in [0, 1] as features), ``edges.csv`` (none without ``edges``)
    and ``digits.npy`` ``(1797, 8, 8)`` uint8 in node order; returns the image file."""
    digits = load_digits()
    labels = digits.target
    train = set(train_split(labels, args.labels_per_class, seed).nonzero().flatten().tolist())
    rest = [i for i in range(len(labels)) if i not in train]
    valid = set(np.random.default_rng(seed).permutation(rest)[: len(rest) // 2].tolist())
    split = ["train" if i in train else "valid" if i in valid else "test" for i in range(len(labels))]
    folder.mkdir(parents=True, exist_ok=True)
    header = "id,label,split" + ("".join(f",p{j}" for j in range(64)) if pixels else "")
    features = ["".join(f",{v / 16:g}" for v in row) if pixels else "" for row in digits.data]
    rows = [f"{i},{y},{s}{features[i]}" for i, (y, s) in enumerate(zip(labels, split))]
    (folder / "nodes.csv").write_text("\n".join([header, *rows]) + "\n")
    pairs = homophilous_edges(labels, args.degree, args.homophily, seed=0).t().tolist() if edges else []
    (folder / "edges.csv").write_text("source,target\n" + "".join(f"{u},{v}\n" for u, v in pairs))
    images = folder / "digits.npy"
    np.save(images, (digits.images * 255 / 16).astype(np.uint8))
    return images


# row -> (edges, pixel features, image encoder, whether it pretrains for --pretrain-epochs)
ROWS = {
    "CNN alone (edges removed)": (False, False, "cnn", False),
    "GCN, raw pixels": (True, True, None, False),
    "CNN + GCN, jointly": (True, False, "cnn", False),
    "DDPM + GCN, not pretrained": (True, False, "diffusion", False),
    "DDPM + GCN, pretrained": (True, False, "diffusion", True),
    "VAE + GCN, not pretrained": (True, False, "vae", False),
    "VAE + GCN, pretrained": (True, False, "vae", True),
}


def fit_row(row: str, scratch: Path, args, seed: int) -> tuple[float, float]:
    """Test accuracy and wall seconds of one ``kgtool.fit`` of ``row`` for ``seed``."""
    import kgtool

    edges, pixels, encoder, pretrain = ROWS[row]
    folder = scratch / f"{seed}-{edges}-{pixels}"
    images = folder / "digits.npy"
    if not images.exists():  # rows of a seed share their graph folder: written once
        write_digits_graph(folder, args, seed, edges, pixels)
    config = {"model": {"name": "gcn"}, "data": {"dataset": str(folder)},
              "training": {"epochs": args.epochs, "seed": seed, "progress": False, "patience": 0}}
    if encoder is not None:
        config["encoders"] = {"images": str(images), "image_encoder": encoder, "dim": args.dim, "structural": False,
                              "pretrain_epochs": args.pretrain_epochs if pretrain else 0}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as output:
        run = kgtool.fit(config, output=Path(output) / "run")
    return run.metrics["test"]["accuracy"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=60, help="main training epochs (full batch)")
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--dim", type=int, default=32, help="encoders.dim: the width of the encoder's features")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--degree", type=int, default=3, help="partners each node picks")
    parser.add_argument("--homophily", type=float, default=0.5, help="chance a partner shares the digit")
    parser.add_argument("--labels-per-class", type=int, default=10)
    add_threads(parser)
    args = parse(parser)
    print(machine_facts())
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(args.seeds):
            for row in args.rows:
                results.setdefault(row, []).append(fit_row(row, Path(scratch), args, seed))
                print(f"seed {seed}, {row}: {results[row][-1][0]:.4f}", flush=True)
    print(f"\n{args.seeds} seeds, {args.epochs} epochs of main training; pretrained: {args.pretrain_epochs} epochs\n")
    print("| model | test accuracy % | wall s per run |\n|---|---:|---:|")
    for row, runs in results.items():
        accuracy = [100 * a for a, _ in runs]
        spread = statistics.stdev(accuracy) if len(accuracy) > 1 else 0.0
        print(f"| {row} | {statistics.mean(accuracy):.2f} ± {spread:.2f} | {statistics.mean(s for _, s in runs):.0f} |")


if __name__ == "__main__":
    main()
