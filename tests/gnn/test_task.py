"""GNNTask through the training contract, on a small graph whose classes are learnable."""

import pytest
import torch
from torch_geometric.data import Data

from kgtool.config import Config
from kgtool.errors import ConfigError
from kgtool.gnn import GNNTask
from kgtool.gnn.task import node_accuracy


def community_graph(n=120, classes=3, seed=0):
    """Nodes link mostly within their class; features are noisy class indicators."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    src = torch.randint(n, (1500,), generator=g)
    dst = torch.randint(n, (1500,), generator=g)
    keep = (y[src] == y[dst]) | (torch.rand(1500, generator=g) < 0.1)
    edge_index = torch.stack([src[keep], dst[keep]])
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    x = torch.nn.functional.one_hot(y, classes).float() + torch.randn(n, classes, generator=g)
    split = torch.arange(n) % 5
    return Data(x=x, edge_index=edge_index, y=y, train_mask=split < 3, val_mask=split == 3, test_mask=split == 4)


def train(task, config, epochs=40):
    optimizer = torch.optim.Adam(task.model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        task.model.train()
        order = torch.randperm(task.num_examples(), generator=generator)
        for start in range(0, len(order), config.training.batch_size):
            loss = task.loss(order[start:start + config.training.batch_size], generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


@pytest.mark.parametrize("model,sampler", [("gcn", "full"), ("sage", "neighbor"), ("gat", "neighbor"), ("gcn", "saint")])
def test_node_task_learns_and_restores_train_mode(model, sampler):
    config = Config.from_dict({"model": {"name": model}, "gnn": {"sampler": sampler, "hidden_dim": 8, "heads": 2,
                                                                 "fanout": "5,5", "saint_subgraphs": 10},
                               "training": {"batch_size": 24}})
    torch.manual_seed(0)
    task = GNNTask.from_config(config, community_graph())
    assert task.num_examples() == 72 and task.headline_metric == "accuracy"
    train(task, config)
    task.model.train()
    assert task.evaluate("test")["accuracy"] > 0.8
    assert task.model.training
    assert "120 nodes" in task.describe() and "3 classes" in task.describe()


def test_sampled_loss_is_reproducible_with_the_generator():
    config = Config.from_dict({"model": {"name": "sage"}, "gnn": {"sampler": "neighbor", "fanout": "2,2", "dropout": 0.0}})
    torch.manual_seed(0)
    task = GNNTask.from_config(config, community_graph())
    losses = [task.loss(torch.arange(10), torch.Generator().manual_seed(3)).item() for _ in range(2)]
    assert losses[0] == losses[1]


def test_bad_gnn_options_are_config_errors():
    with pytest.raises(ConfigError, match="gnn.sampler"):
        Config.from_dict({"model": {"name": "gcn"}, "gnn": {"sampler": "cluster"}})
    with pytest.raises(ConfigError, match="gnn.sampler=saint supports gnn.task=node only"):
        Config.from_dict({"model": {"name": "gcn"}, "gnn": {"sampler": "saint", "task": "link"}})
    with pytest.raises(ConfigError, match="gnn.fanout 'a,b' must be comma-separated integers"):
        Config.from_dict({"model": {"name": "gcn"}, "gnn": {"sampler": "neighbor", "fanout": "a,b"}})


def test_ogb_evaluator_agrees_with_plain_accuracy():
    predicted, labels = torch.tensor([0, 1, 2, 2, 1]), torch.tensor([0, 1, 1, 2, 0])
    assert node_accuracy(predicted, labels, "ogbn-arxiv") == pytest.approx(0.6)
    assert node_accuracy(predicted, labels) == pytest.approx(0.6)


@pytest.mark.parametrize("sampler", ["full", "neighbor"])
def test_gradients_reach_the_image_encoder_of_the_sampled_nodes_only(tmp_path, sampler):
    import numpy as np

    graph = community_graph()
    np.save(tmp_path / "images.npy", np.random.default_rng(0).random((graph.num_nodes, 1, 8, 8), dtype=np.float32))
    config = Config.from_dict({"model": {"name": "gcn"}, "gnn": {"sampler": sampler, "fanout": "2,2"},
                               "encoders": {"images": str(tmp_path / "images.npy"), "image_encoder": "cnn", "dim": 4}})
    task = GNNTask.from_config(config, graph)
    cnn = task.model.node_encoder.encoders["image"]
    encoded = []
    cnn.register_forward_hook(lambda module, args, out: encoded.append(len(args[0])))
    task.loss(torch.arange(4), torch.Generator().manual_seed(0)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in cnn.parameters())
    assert sum(encoded) == graph.num_nodes if sampler == "full" else 4 <= sum(encoded) < graph.num_nodes
    assert task.model.node_encoder.structural.weight.grad is not None
