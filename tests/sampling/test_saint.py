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
    # a node on every subgraph would weigh 1; rarely visited nodes weigh more
    assert sampler.node_norm.min() >= 1
