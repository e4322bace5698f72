"""The message graph holds the training triples (and their inverses) and nothing else."""

import dataclasses

import torch

from kgtool.config import Config
from kgtool.kge.task import KGETask
from kgtool.relational.message_graph import message_graph
from tests.conftest import random_dataset


def test_each_triple_gives_an_edge_and_its_inverse():
    edge_index, edge_type = message_graph(torch.tensor([[0, 1, 2], [3, 0, 0]]), num_relations=2)
    edges = sorted(zip(edge_index[0].tolist(), edge_index[1].tolist(), edge_type.tolist()))
    assert edges == [(0, 2, 1), (0, 3, 2), (2, 0, 3), (3, 0, 0)]


def relational_task(dataset, encoder="compgcn") -> KGETask:
    config = Config.from_dict({"model": {"name": "distmult", "dim": 8},
                               "relational": {"encoder": encoder, "width": 8}})
    torch.manual_seed(0)
    return KGETask(config, dataset)


def test_no_valid_or_test_triple_reaches_the_message_graph():
    dataset = random_dataset()
    encoder = relational_task(dataset, "rgcn").model.entity_embeddings
    R = dataset.num_relations
    edges = set(zip(encoder.edge_index[0].tolist(), encoder.edge_index[1].tolist(), encoder.edge_type.tolist()))
    h, r, t = dataset.train.T.tolist()
    assert edges == set(zip(h, t, r)) | set(zip(t, h, [k + R for k in r]))
    train = set(map(tuple, dataset.train.tolist()))
    held_out = [triple for split in ("valid", "test") for triple in dataset.splits[split].tolist()
                if tuple(triple) not in train]
    assert len(held_out) > 40
    for h, r, t in held_out:
        assert (h, t, r) not in edges and (t, h, r + R) not in edges


def test_representations_do_not_depend_on_valid_or_test_triples():
    """Same training triples, other valid/test triples: the same entity representations."""
    dataset = random_dataset()
    other = random_dataset(seed=1)
    altered = dataclasses.replace(dataset, splits={"train": dataset.train, "valid": other.valid, "test": other.test})
    grown = dataclasses.replace(dataset, splits={"train": torch.cat([dataset.train, dataset.valid]),
                                                 "valid": dataset.valid, "test": dataset.test})
    tables = []
    for data in (dataset, altered, grown):
        model = relational_task(data).model.eval()
        with torch.no_grad():
            tables.append(model.all_entities())
    torch.testing.assert_close(tables[0], tables[1], rtol=0, atol=0)
    assert not torch.allclose(tables[0], tables[2])  # the check can see a change of the message graph
