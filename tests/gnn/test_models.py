"""GNN stacks and heads: shapes, every layer on every kind of batch, reset, decoders broadcast."""

import pytest
import torch
from torch_geometric.data import Data

from kgtool.gnn import GNNStack
from kgtool.sampling import RandomWalkSampler, make_node_loader


def graph(n=80, m=600):
    g = torch.Generator().manual_seed(0)
    return Data(x=torch.randn(n, 6, generator=g), edge_index=torch.randint(n, (2, m), generator=g),
                y=torch.randint(3, (n,), generator=g))


def batches(data):
    loader = make_node_loader(data, torch.arange(10), [4, 4], batch_size=10, generator=torch.Generator().manual_seed(0))
    sub = RandomWalkSampler(data.edge_index, data.num_nodes, 2, torch.Generator().manual_seed(0)).sample(torch.arange(5))
    sub.x = data.x[sub.n_id]
    return {"full": data, "neighbor": next(iter(loader)), "saint": sub}


@pytest.mark.parametrize("kind", ["gcn", "gat", "sage"])
@pytest.mark.parametrize("options", [{}, {"norm": "batch", "jk": "cat", "num_layers": 3}, {"norm": "layer"}])
def test_every_layer_accepts_every_batch(kind, options):
    data = graph()
    model = GNNStack(kind, 6, 8, 3, heads=2, **options)
    for name, batch in batches(data).items():
        out = model(batch.x, batch.edge_index)
        assert out.shape == (batch.num_nodes, 3), name
        out.sum().backward()


def test_neighbor_batch_gives_the_full_graph_output_on_seeds_when_nothing_is_dropped():
    """With fanout -1 on all hops, the seeds' outputs equal full-graph outputs."""
    data = graph()
    model = GNNStack("sage", 6, 8, 3).eval()
    batch = next(iter(make_node_loader(data, torch.arange(10), [-1, -1], batch_size=10)))
    assert torch.allclose(model(batch.x, batch.edge_index)[:10], model(data.x, data.edge_index)[:10], atol=1e-5)


@pytest.mark.parametrize("kind", ["gcn", "gat", "sage"])
@pytest.mark.parametrize("training", [False, True])
def test_stack_is_the_papers_layers_written_out(kind, training):
    """Against the layers applied by hand: dropout on the input, then each hidden layer's conv,
    layer norm, ReLU (ELU for GAT) and dropout; in training the same seed draws the same masks."""
    data = graph()
    model = GNNStack(kind, 6, 4, 3, num_layers=3, heads=2, norm="layer", dropout=0.3).train(training)
    activation = torch.nn.functional.elu if kind == "gat" else torch.nn.functional.relu
    layer_norm = lambda x: torch.nn.functional.layer_norm(x, x.shape[1:])  # fresh norms: weight 1, bias 0
    drop = lambda x: torch.nn.functional.dropout(x, 0.3, training)
    torch.manual_seed(5)
    output = model(data.x, data.edge_index)
    torch.manual_seed(5)
    x = drop(data.x)
    for conv in model.convs[:-1]:
        x = drop(activation(layer_norm(conv(x, data.edge_index))))
    torch.testing.assert_close(output, model.convs[-1](x, data.edge_index))
    if kind == "gat":  # 2 hidden heads of 4 concatenated, 1 output head
        assert model.convs[1].in_channels == 8 and model.convs[-1].heads == 1


def test_reset_parameters_and_unknown_kinds():
    model = GNNStack("gcn", 6, 8, 3, num_layers=3)
    before = model.convs[0].lin.weight.clone()
    model.reset_parameters()
    assert not torch.equal(before, model.convs[0].lin.weight)
    with pytest.raises(ValueError, match="unknown GNN kind 'gin'"):
        GNNStack("gin", 6, 8, 3)
