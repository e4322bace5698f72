"""Image encoders on a graph of handwritten digits: does the graph help the CNN, and do
unsupervised DDPM / VAE features help a GCN more than raw pixels?

Nodes are the 1797 8×8 images of scikit-learn's ``load_digits``, labels their digits. Edges
follow a noisy class-homophilous rule (one fixed graph, ``--graph-seed``): each node links to
``--degree`` others, each of the same digit with probability ``--homophily`` and uniformly
random otherwise. Each seed draws ``--labels-per-class`` training nodes per digit; the rest
are the test set. Every model trains full-batch with Adam for a fixed number of epochs (no
validation set, so there is no model selection to tune). Prints mean ± std test accuracy.

    python benchmarks/encoders_digits.py    # 8 to 15 minutes on one CPU thread, by the machine's load
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch_geometric.nn import GCNConv

from _harness import add_threads, homophilous_edges, machine_facts, parse, train_split

from kgtool.encoders import CNNEncoder, DiffusionEncoder, MultimodalEmbedding, VAEEncoder


class GCN(nn.Module):
    """Two GCNConv layers: (n, in_dim) features → (n, num_classes) logits."""

    def __init__(self, in_dim: int, hidden_dim: int, num_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.conv1 = GCNConv(in_dim, hidden_dim)
        self.conv2 = GCNConv(hidden_dim, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.dropout(self.conv1(self.dropout(x), edge_index).relu()), edge_index)


class FeatureGCN(nn.Module):
    """A GCN over fixed features (pixels, pretrained features, one-hot) or over a module's output."""

    def __init__(self, features: torch.Tensor | nn.Module, in_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.features = features
        self.gcn = GCN(in_dim, hidden_dim, 10)

    def forward(self, edge_index: torch.Tensor) -> torch.Tensor:
        x = self.features if isinstance(self.features, torch.Tensor) else self.features(torch.arange(NUM_NODES))
        return self.gcn(x, edge_index)


def digit_cnn() -> CNNEncoder:
    """The CNN of both CNN models: (n, 1, 8, 8) images → (n, 64). Its 4×4 feature map is kept
    whole (``pool_size=4``): global average pooling would discard where the strokes are."""
    return CNNEncoder(in_channels=1, channels=[8, 16], out_dim=64, pool_size=4)


class CNNClassifier(nn.Module):
    """The CNN alone: each image classified on its own, edges ignored."""

    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.images = images
        self.cnn = digit_cnn()
        self.head = nn.Linear(64, 10)

    def forward(self, edge_index: torch.Tensor) -> torch.Tensor:
        return self.head(self.cnn(self.images).relu())


def fit_and_test(model: nn.Module, edge_index, y, train, epochs: int, lr: float) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=5e-4)
    for _ in range(epochs):
        model.train()
        loss = nn.functional.cross_entropy(model(edge_index)[train], y[train])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        predictions = model(edge_index).argmax(dim=1)
    return (predictions[~train] == y[~train]).float().mean().item()


def standardized(features: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance per column, so every feature set meets the GCN on equal terms."""
    return (features - features.mean(0)) / features.std(0).clamp(min=1e-6)


def pretrained_features(encoder, images: torch.Tensor, epochs: int, seed: int) -> torch.Tensor:
    encoder.pretrain(images, epochs=epochs, batch_size=64, lr=2e-3, seed=seed)
    with torch.no_grad():
        return standardized(encoder.freeze()(images))


def run_seed(seed: int, images, y, edge_index, args) -> dict[str, float]:
    train = train_split(y.numpy(), args.labels_per_class, seed)
    fit = lambda model, lr=0.01: fit_and_test(model, edge_index, y, train, args.epochs, lr)  # noqa: E731
    results = {}
    torch.manual_seed(seed)
    results["CNN alone"] = fit(CNNClassifier(images), lr=CNN_LR)
    torch.manual_seed(seed)
    results["GCN, one-hot features"] = fit(FeatureGCN(torch.eye(NUM_NODES), NUM_NODES, args.hidden))
    torch.manual_seed(seed)
    # No structural embedding (struct_dim=0): the CNN is the only feature path. A learnt
    # vector per node is one-hot features again, which the graph alone cannot train (see the
    # one-hot GCN) and which let the joint model memorise its 100 training nodes.
    fused = MultimodalEmbedding(
        NUM_NODES,
        struct_dim=0,
        encoders={"image": digit_cnn()},
        inputs={"image": (images, torch.ones(NUM_NODES, dtype=torch.bool))},
        out_dim=64,
    )
    results["CNN + GCN, joint"] = fit(FeatureGCN(fused, 64, args.hidden), lr=CNN_LR)
    torch.manual_seed(seed)
    results["GCN, raw pixels"] = fit(FeatureGCN(standardized(images.flatten(1)), 64, args.hidden))
    torch.manual_seed(seed)
    # A 2×2 grid per UNet block: global pooling (pool_size=1) loses the layout, as in the CNN.
    diffusion = DiffusionEncoder(image_size=8, channels=args.ddpm_channels, pool_size=2, feature_step=args.ddpm_step)
    ddpm = pretrained_features(diffusion, images, args.ddpm_epochs, seed)
    results["GCN, DDPM features"] = fit(FeatureGCN(ddpm, ddpm.shape[1], args.hidden))
    torch.manual_seed(seed)
    vae = pretrained_features(VAEEncoder(image_size=8, channels=32, latent_dim=32), images, args.vae_epochs, seed)
    results["GCN, VAE features"] = fit(FeatureGCN(vae, vae.shape[1], args.hidden))
    return results


NUM_NODES = 1797
# Both CNN models train end to end at this rate: at 3e-3 the joint model's test accuracy swings
# by ±0.03 from epoch to epoch once it fits its training nodes.
CNN_LR = 1e-3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--degree", type=int, default=3, help="partners each node picks")
    parser.add_argument("--homophily", type=float, default=0.5, help="chance a partner shares the digit")
    parser.add_argument("--graph-seed", type=int, default=0)
    parser.add_argument("--labels-per-class", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=200, help="supervised epochs of every model")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--ddpm-channels", type=int, default=16)
    parser.add_argument("--ddpm-epochs", type=int, default=10)
    parser.add_argument("--ddpm-step", type=int, default=50, help="noise step (of 1000) whose activations are the features")
    parser.add_argument("--vae-epochs", type=int, default=30)
    add_threads(parser, default=None)
    args = parse(parser)
    print(machine_facts())

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (1797, 1, 8, 8) in [0, 1]
    y = torch.tensor(digits.target)
    edge_index = homophilous_edges(digits.target, args.degree, args.homophily, args.graph_seed)
    same = (y[edge_index[0]] == y[edge_index[1]]).float().mean().item()
    print(f"{NUM_NODES} nodes, {edge_index.shape[1] // 2} edges, edge homophily {same:.2f}, "
          f"{10 * args.labels_per_class} training labels, {args.seeds} seeds")

    start = time.time()
    runs = []
    for seed in range(args.seeds):
        runs.append(run_seed(seed, images, y, edge_index, args))
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in runs[-1].items()), flush=True)
    print(f"\n| model | test accuracy (mean ± std over {args.seeds} seeds) |\n|---|---|")
    for name in runs[0]:
        scores = np.array([run[name] for run in runs])
        print(f"| {name} | {scores.mean():.3f} ± {scores.std():.3f} |")
    print(f"\n{time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
