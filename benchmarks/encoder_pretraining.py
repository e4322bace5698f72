"""Does pretraining a DDPM or VAE image encoder on its own objective help, through ``kgtool fit``?

The ablation of ``encoders.pretrain_epochs``: the digits graph of ``encoders_digits.py`` (the 1797
8×8 images of scikit-learn's ``load_digits`` as nodes, noisy class-homophilous edges, 10 training
labels per digit) written as a CSV graph folder and an image array, then ``kgtool fit --model gcn
--images digits.npy --image-encoder diffusion|vae`` with and without pretraining, the same
epochs of main training (the same budget of GCN steps), several seeds. Prints mean ± std test
accuracy and wall seconds.

    python benchmarks/encoder_pretraining.py --seeds 3 --epochs 60 --pretrain-epochs 20
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


def write_digits_graph(folder: Path, degree: int, homophily: float, per_class: int, seed: int) -> Path:
    """``nodes.csv`` (id, label, split: the seed's training nodes, half the rest valid, half test),
    ``edges.csv`` and ``digits.npy`` ``(1797, 8, 8)`` uint8 in node order; returns the image file."""
    digits = load_digits()
    labels = digits.target
    edges = homophilous_edges(labels, degree, homophily, seed=0)  # one graph for every seed
    train = set(train_split(labels, per_class, seed).nonzero().flatten().tolist())
    rest = [i for i in range(len(labels)) if i not in train]
    valid = set(np.random.default_rng(seed).permutation(rest)[: len(rest) // 2].tolist())
    split = ["train" if i in train else "valid" if i in valid else "test" for i in range(len(labels))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nodes.csv").write_text("id,label,split\n" + "".join(f"{i},{y},{s}\n" for i, (y, s) in
                                                                   enumerate(zip(labels, split))))
    (folder / "edges.csv").write_text("source,target\n" + "".join(f"{u},{v}\n" for u, v in edges.t().tolist()))
    images = folder / "digits.npy"
    np.save(images, (digits.images * 255 / 16).astype(np.uint8))
    return images


def fit_once(folder: Path, images: Path, encoder: str, pretrain_epochs: int, args, seed: int) -> tuple[float, float]:
    import kgtool

    config = {"model": {"name": "gcn"}, "data": {"dataset": str(folder)},
              "encoders": {"images": str(images), "image_encoder": encoder, "dim": 32, "structural": False,
                           "pretrain_epochs": pretrain_epochs},
              "training": {"epochs": args.epochs, "seed": seed, "progress": False, "patience": 0}}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as output:
        run = kgtool.fit(config, output=Path(output) / "run")
    return run.metrics["test"]["accuracy"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=60, help="main training epochs (full batch)")
    parser.add_argument("--pretrain-epochs", type=int, default=20)
    parser.add_argument("--encoders", nargs="+", default=["diffusion", "vae"])
    parser.add_argument("--degree", type=int, default=3)
    parser.add_argument("--homophily", type=float, default=0.5)
    parser.add_argument("--labels-per-class", type=int, default=10)
    add_threads(parser)
    args = parse(parser)
    print(machine_facts())
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(args.seeds):
            folder = Path(scratch) / f"digits-{seed}"
            images = write_digits_graph(folder, args.degree, args.homophily, args.labels_per_class, seed)
            for encoder in args.encoders:
                for pretrain in (0, args.pretrain_epochs):
                    rows.setdefault((encoder, pretrain), []).append(fit_once(folder, images, encoder, pretrain, args, seed))
    print(f"\n{args.seeds} seeds, {args.epochs} epochs of main training, GCN over the encoder's features\n")
    print("| encoder | pretraining epochs | test accuracy % | wall s per run |\n|---|---|---|---|")
    for (encoder, pretrain), results in rows.items():
        accuracy = [100 * a for a, _ in results]
        spread = statistics.stdev(accuracy) if len(accuracy) > 1 else 0.0
        print(f"| {encoder} | {pretrain} | {statistics.mean(accuracy):.2f} ± {spread:.2f} | "
              f"{statistics.mean(s for _, s in results):.0f} |")


if __name__ == "__main__":
    main()
