"""The pure-torch neighbour sampler on the typed message graph, through PyG's loader contract."""

import torch
from torch_geometric.data import Data

from kgtool.relational.message_graph import message_graph
from kgtool.sampling.neighbor import make_node_loader
from tests.conftest import random_dataset


def test_loader_batches_carry_the_types_of_their_edges():
    dataset = random_dataset()
    edge_index, edge_type = message_graph(dataset.train, dataset.num_relations)
    graph = Data(edge_index=edge_index, edge_type=edge_type, num_nodes=dataset.num_entities)
    typed = set(zip(edge_index[0].tolist(), edge_index[1].tolist(), edge_type.tolist()))
    seeds = torch.tensor([0, 5, 9])
    loader = make_node_loader(graph, seeds, [-1, 3], batch_size=3, generator=torch.Generator().manual_seed(0))
    batch = next(iter(loader))
    assert torch.equal(batch.n_id[:3], seeds) and torch.equal(batch.edge_type, edge_type[batch.e_id])
    sampled = list(zip(batch.n_id[batch.edge_index[0]].tolist(), batch.n_id[batch.edge_index[1]].tolist(),
                       batch.edge_type.tolist()))
    assert set(sampled) <= typed and len(sampled) == len(set(batch.e_id.tolist()))
    for seed in seeds.tolist():  # fanout -1 at the first hop: every typed edge into a seed
        assert {e for e in sampled if e[1] == seed} == {e for e in typed if e[1] == seed}
