"""RandomWalkSampler: induced subgraphs of the input graph, reproducible, with unbiased weights."""

import torch

from kgtool.sampling.saint import RandomWalkSampler


def ring_with_chords(n=60):
    nodes = torch.arange(n)
    edges = torch.cat([torch.stack([nodes, (nodes + 1) % n]), torch.stack([nodes, (nodes + 7) % n])], dim=1)
    return torch.cat([edges, edges.flip(0)], dim=1)


def test_subgraph_is_induced_and_reproducible():
    edge_index = ring_with_chords()
    sampler = RandomWalkSampler(edge_index, 60, walk_length=3, generator=torch.Generator().manual_seed(0))
    sub = sampler.sample(torch.tensor([0, 30]))
    assert {0, 30} <= set(sub.n_id.tolist())
    assert torch.equal(sub.n_id[sub.edge_index], edge_index[:, sub.e_id])
    inside = torch.isin(edge_index, sub.n_id).all(dim=0)  # every edge among the nodes is kept
    assert sorted(sub.e_id.tolist()) == inside.nonzero().flatten().tolist()
    again = RandomWalkSampler(edge_index, 60, walk_length=3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again.sample(torch.tensor([0, 30])).n_id, sub.n_id)


def test_normalised_loss_estimates_the_full_sum():
    """E[sum_{v in subgraph} value_v * node_norm_v] = sum_v value_v over nodes walks can reach."""
    edge_index = ring_with_chords()
    sampler = RandomWalkSampler(edge_index, 60, walk_length=2, generator=torch.Generator().manual_seed(0))
    roots = torch.arange(0, 60, 3)
    sampler.estimate_norms(roots, 4, num_subgraphs=600)
    values = torch.rand(60, generator=torch.Generator().manual_seed(1))
    estimates = torch.tensor([(values[s.n_id] * s.node_norm).sum() for s in
                              (sampler.sample(roots[torch.randperm(20, generator=sampler.generator)[:4]])
                               for _ in range(600))])
    assert abs(estimates.mean() - values.sum()) / values.sum() < 0.05


def test_sampled_gcn_aggregation_estimates_the_full_graph_aggregation():
    """GraphSAINT's aggregator: for each node, the mean of its sampled GCN aggregation over the
    subgraphs holding it matches the full graph's (norms from one set of subgraphs, the mean
    over fresh ones). GCNConv renormalising each subgraph (its default) misses by far more."""
    from torch_geometric.nn import GCNConv

    from kgtool.sampling.saint import gcn_coefficients, unbiased_gcn_edges

    import networkx as nx

    graph = nx.barabasi_albert_graph(60, 2, seed=0)  # hubs and leaves: degrees from 2 to 20
    edge_index, n = torch.tensor(list(graph.edges())).t(), 60
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    sampler = RandomWalkSampler(edge_index, n, walk_length=2, generator=torch.Generator().manual_seed(0))
    roots = torch.arange(0, n, 2)
    sampler.estimate_norms(roots, 6, num_subgraphs=8000)
    x = torch.rand(n, 3, generator=torch.Generator().manual_seed(1)) + 1
    fixed, renormalising = GCNConv(3, 3, normalize=False, bias=False), GCNConv(3, 3, bias=False)
    renormalising.lin.weight.data = fixed.lin.weight.data = torch.eye(3)
    coefficients = gcn_coefficients(edge_index, n)
    full = renormalising(x, edge_index)  # GCNConv's own normalisation of the whole graph
    loops = torch.arange(n)
    assert torch.allclose(fixed(x, torch.cat([edge_index, torch.stack([loops, loops])], dim=1),
                                torch.cat(coefficients)), full, atol=1e-6)
    totals, plain_totals, counts = torch.zeros(n, 3), torch.zeros(n, 3), torch.zeros(n)
    with torch.no_grad():
        for _ in range(8000):
            sub = sampler.sample(roots[torch.randperm(len(roots), generator=sampler.generator)[:6]])
            totals[sub.n_id] += fixed(x[sub.n_id], *unbiased_gcn_edges(sub, *coefficients))
            plain_totals[sub.n_id] += renormalising(x[sub.n_id], sub.edge_index, sub.edge_norm)
            counts[sub.n_id] += 1
    seen = counts > 500
    error = lambda totals: ((totals[seen] / counts[seen, None] - full[seen]).abs() / full[seen]).mean()
    assert seen.sum() > 50 and error(totals) < 0.015  # measured: 0.009 (sampling noise)
    assert error(plain_totals) > 2 * error(totals)  # measured: 0.034
