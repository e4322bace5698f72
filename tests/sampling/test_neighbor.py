"""NeighborSampler against the graph it samples: edges exist, fanouts hold, ids are consistent."""

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import LinkLoader
from torch_geometric.sampler import NegativeSampling

from kgtool.sampling.neighbor import NeighborSampler, make_node_loader, parse_fanout, sample_offsets


def random_graph(num_nodes=300, num_edges=3000, seed=0) -> Data:
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(num_nodes, (2, num_edges), generator=g)
    # a hub with many in-edges, so Floyd's branch (degree > fanout) is exercised heavily
    hub = torch.stack([torch.arange(num_nodes), torch.zeros(num_nodes, dtype=torch.long)])
    edge_index = torch.cat([edge_index, hub], dim=1)
    return Data(x=torch.randn(num_nodes, 4, generator=g), edge_index=edge_index,
                y=torch.randint(3, (num_nodes,), generator=g))


def edge_keys(edge_index, n):
    return set((edge_index[0] * n + edge_index[1]).tolist())


@pytest.mark.parametrize("fanout", [[5, 3], [2, 2, 2], [-1]])
def test_batches_are_consistent_subgraphs(fanout):
    data = random_graph()
    seeds = torch.tensor([0, 17, 5, 299, 42])
    loader = make_node_loader(data, seeds, fanout, batch_size=5, generator=torch.Generator().manual_seed(1))
    batch = next(iter(loader))
    assert batch.batch_size == 5
    assert torch.equal(batch.n_id[:5], seeds)  # seeds first and in order
    assert len(set(batch.n_id.tolist())) == len(batch.n_id)
    assert torch.equal(batch.x, data.x[batch.n_id]) and torch.equal(batch.y, data.y[batch.n_id])
    # local edge_index maps through n_id onto the original edges named by e_id
    global_edges = batch.n_id[batch.edge_index]
    assert torch.equal(global_edges, data.edge_index[:, batch.e_id])
    assert edge_keys(global_edges, data.num_nodes) <= edge_keys(data.edge_index, data.num_nodes)
    assert len(set(batch.e_id.tolist())) == len(batch.e_id)  # without replacement
    # fanout per target node, hop by hop; nodes with fewer neighbours keep them all
    in_degree = torch.bincount(data.edge_index[1], minlength=data.num_nodes)
    start, offset = 0, 0
    for hop, k in enumerate(fanout):
        targets = torch.arange(offset, offset + batch.num_sampled_nodes[hop])
        edges = batch.edge_index[:, start:start + batch.num_sampled_edges[hop]]
        got = torch.bincount(edges[1], minlength=len(batch.n_id))[targets]
        expected = in_degree[batch.n_id[targets]] if k < 0 else in_degree[batch.n_id[targets]].clamp(max=k)
        assert torch.equal(got, expected)
        start += batch.num_sampled_edges[hop]
        offset += batch.num_sampled_nodes[hop]


def test_same_seed_same_batch_and_different_seed_differs():
    data = random_graph()
    seeds = torch.arange(20)

    def first(seed):
        sampler = NeighborSampler(data.edge_index, data.num_nodes, [4, 4], torch.Generator().manual_seed(seed))
        return sampler.sample(seeds)

    a, b, c = first(7), first(7), first(8)
    assert torch.equal(a.node, b.node) and torch.equal(a.edge, b.edge) and torch.equal(a.row, b.row)
    assert not torch.equal(a.edge, c.edge)


def test_floyd_offsets_are_distinct_in_range_and_uniform():
    degree = torch.tensor([3, 10, 1000, 0])
    owner, offset = sample_offsets(degree, 5, torch.Generator().manual_seed(0))
    assert torch.equal(torch.bincount(owner, minlength=4), torch.tensor([3, 5, 5, 0]))
    for node in range(3):
        picks = offset[owner == node]
        assert len(picks.unique()) == len(picks) and picks.min() >= 0 and picks.max() < degree[node]
    # each of 10 neighbours is picked with probability 5/10
    owner, offset = sample_offsets(torch.full((4000,), 10), 5, torch.Generator().manual_seed(1))
    frequency = torch.bincount(offset, minlength=10).float() / 4000
    assert torch.allclose(frequency, torch.full((10,), 0.5), atol=0.03)


def test_duplicate_seeds_keep_their_positions():
    data = random_graph()
    sampler = NeighborSampler(data.edge_index, data.num_nodes, [3], torch.Generator().manual_seed(0))
    out = sampler.sample(torch.tensor([4, 4, 9]))
    assert out.node[:3].tolist() == [4, 4, 9]
    assert set(out.col.tolist()) <= {0, 1, 2}


def test_link_batches_hold_the_requested_negatives():
    data = random_graph()
    positives = data.edge_index[:, :64]
    sampler = NeighborSampler(data.edge_index, data.num_nodes, [3, 2], torch.Generator().manual_seed(0))
    loader = LinkLoader(data, sampler, edge_label_index=positives, neg_sampling=NegativeSampling("binary", 2),
                        batch_size=16)
    batch = next(iter(loader))
    assert batch.edge_label_index.shape == (2, 16 * 3)
    assert batch.edge_label.tolist() == [1.0] * 16 + [0.0] * 32
    assert torch.equal(batch.n_id[batch.edge_label_index[:, :16]], positives[:, :16])
    assert batch.edge_label_index.max() < batch.num_nodes


def test_parse_fanout_rejects_bad_text():
    assert parse_fanout("15,10") == [15, 10]
    for text in ("15,x", "0,3", "-2"):
        with pytest.raises(ValueError):
            parse_fanout(text)
