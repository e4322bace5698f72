"""RelationalGraphConv (PyG's RGCNConv, faster) and CompGCNConv against per-edge loops on a tiny
typed graph, and against PyG's own RGCNConv forward."""

import pytest
import torch
from torch_geometric.nn import RGCNConv

from kgtool.relational.compgcn_conv import CompGCNConv
from kgtool.relational.composition import COMPOSITIONS
from kgtool.relational.message_graph import message_graph
from kgtool.relational.rgcn_conv import RelationalGraphConv

R = 2  # relations; the message graph has 2R edge types
TRIPLES = torch.tensor([[0, 0, 1], [0, 0, 2], [1, 1, 2], [3, 1, 0], [2, 0, 3], [4, 1, 3], [1, 0, 3]])
NUM_NODES = 5


def graph():
    return message_graph(TRIPLES, R)


def edges():
    """The message graph as a list of (source, target, type)."""
    edge_index, edge_type = graph()
    return [(int(u), int(v), int(k)) for (u, v), k in zip(edge_index.T, edge_type)]


def mean(vectors, width):
    return torch.stack(vectors).mean(dim=0) if vectors else torch.zeros(width, dtype=torch.float64)


def rgcn_relation_weights(conv: RGCNConv) -> torch.Tensor:
    """``(2R, in, out)`` full relation matrices from RGCNConv's bases or blocks."""
    if conv.num_bases is not None:
        return torch.einsum("rb,bio->rio", conv.comp, conv.weight)
    if conv.num_blocks is not None:
        return torch.stack([torch.block_diag(*blocks) for blocks in conv.weight])
    return conv.weight


@pytest.mark.parametrize("decomposition", [{}, {"num_bases": 2}, {"num_blocks": 2}])
def test_rgcn_layer_matches_per_edge_loop(decomposition):
    torch.manual_seed(0)
    conv = RelationalGraphConv(4, 6, 2 * R, **decomposition).double()
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(NUM_NODES, 4, dtype=torch.float64)
    out = conv(x, *graph())
    torch.testing.assert_close(out, RGCNConv.forward(conv, x, *graph()))
    weights = rgcn_relation_weights(conv)
    for v in range(NUM_NODES):
        expected = x[v] @ conv.root + conv.bias
        for k in range(2 * R):
            sources = [u for u, target, kind in edges() if target == v and kind == k]
            expected = expected + mean([x[u] @ weights[k] for u in sources], 6)
        torch.testing.assert_close(out[v], expected)


@pytest.mark.parametrize("composition", ["sub", "mult", "corr"])
def test_compgcn_layer_matches_per_edge_loop(composition):
    torch.manual_seed(0)
    conv = CompGCNConv(4, 6, R, composition).double()
    torch.nn.init.normal_(conv.bias)
    x = torch.randn(NUM_NODES, 4, dtype=torch.float64)
    relations = torch.randn(2 * R, 4, dtype=torch.float64)
    out, relations_out = conv(x, relations, *graph())
    phi = COMPOSITIONS[composition]
    W_O, W_I, W_S = conv.weight_original.weight.T, conv.weight_inverse.weight.T, conv.weight_self.weight.T
    for v in range(NUM_NODES):
        original = [phi(x[u], relations[k]) @ W_O for u, target, k in edges() if target == v and k < R]
        inverse = [phi(x[u], relations[k]) @ W_I for u, target, k in edges() if target == v and k >= R]
        loop = phi(x[v], conv.loop_relation[0]) @ W_S
        expected = (mean(original, 6) + mean(inverse, 6) + loop) / 3 + conv.bias
        torch.testing.assert_close(out[v], expected)
    for k in range(2 * R):
        torch.testing.assert_close(relations_out[k], relations[k] @ conv.weight_relation.weight.T)


def test_compgcn_original_and_inverse_edges_have_their_own_weights():
    """Swapping W_O and W_I changes the output: the two directions are not pooled."""
    torch.manual_seed(0)
    conv = CompGCNConv(4, 4, R, "mult")
    x, relations = torch.randn(NUM_NODES, 4), torch.randn(2 * R, 4)
    before, _ = conv(x, relations, *graph())
    with torch.no_grad():
        a, b = conv.weight_original.weight.clone(), conv.weight_inverse.weight.clone()
        conv.weight_original.weight.copy_(b)
        conv.weight_inverse.weight.copy_(a)
    after, _ = conv(x, relations, *graph())
    assert not torch.allclose(before, after)


@pytest.mark.parametrize("decomposition", [{}, {"num_bases": 3}, {"num_blocks": 2}])
def test_rgcn_layer_gradients_equal_pygs_on_a_larger_graph(decomposition):
    g = torch.Generator().manual_seed(0)
    triples = torch.stack([torch.randint(40, (300,), generator=g), torch.randint(5, (300,), generator=g),
                           torch.randint(40, (300,), generator=g)], dim=1)
    edge_index, edge_type = message_graph(triples, 5)
    conv = RelationalGraphConv(8, 6, 10, **decomposition).double()
    x = torch.randn(45, 8, dtype=torch.float64, generator=g)  # nodes 40..44 have no edges
    ours = torch.autograd.grad(conv(x, edge_index, edge_type).square().sum(), list(conv.parameters()))
    pygs = torch.autograd.grad(RGCNConv.forward(conv, x, edge_index, edge_type).square().sum(), list(conv.parameters()))
    for a, b in zip(ours, pygs):
        torch.testing.assert_close(a, b)


def test_a_last_compgcn_layer_has_no_relation_weight_and_passes_relations_on():
    conv = CompGCNConv(4, 6, R, update_relations=False)
    relations = torch.randn(2 * R, 4)
    out, same = conv(torch.randn(NUM_NODES, 4), relations, *graph())
    assert conv.weight_relation is None and same is relations and out.shape == (NUM_NODES, 6)
