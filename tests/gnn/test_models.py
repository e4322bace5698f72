"""GNN stacks and heads: shapes, every layer on every kind of batch, reset, decoders broadcast."""

import pytest
import torch
from torch_geometric.data import Data

from kgtool.gnn import DotProductDecoder, GNNStack, MLPDecoder, RelationDecoder
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
@pytest.mark.parametrize("options", [{}, {"norm": "batch", "residual": True, "num_layers": 3}, {"norm": "layer"}])
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


def test_reset_parameters_and_residual_need_matching_widths():
    model = GNNStack("gcn", 6, 8, 3, num_layers=3, residual=True)
    before = model.convs[0].lin.weight.clone()
    model.reset_parameters()
    assert not torch.equal(before, model.convs[0].lin.weight)
    with pytest.raises(ValueError):
        GNNStack("gin", 6, 8, 3)


def test_gat_hidden_width_is_heads_times_hidden():
    model = GNNStack("gat", 6, 8, 3, heads=4)
    assert model.convs[1].in_channels == 32 and model.convs[1].heads == 1


def test_decoders_broadcast_pairs_and_all_vs_all():
    z = torch.randn(5, 4)
    dot = DotProductDecoder()
    assert torch.allclose(dot(z[:, None], z[None]), z @ z.t())
    mlp = MLPDecoder(4, 8)
    assert mlp(z[:2, None], z[None]).shape == (2, 5)
    assert torch.allclose(mlp(z[:2, None], z[None])[1, 3], mlp(z[1], z[3]))
    distmult = RelationDecoder(lambda h, r, t: (h * r * t).sum(-1), (4,))
    assert torch.allclose(distmult(z[0], z[1]), (z[0] * distmult.relation * z[1]).sum())
