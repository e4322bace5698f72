"""Datasets in and out: names, pykeen factories, networkx and PyG graphs (kgtool.data.convert)."""

import networkx as nx
import pytest
import torch
from torch_geometric.data import Data, HeteroData

import kgtool
from kgtool.data.convert import as_dataset, as_pyg, as_triples_factories
from kgtool.errors import DataError
from tests.conftest import random_dataset, small_config

KGE = small_config()
GNN = small_config(model={"name": "gcn"})


def grouped_hetero_graph(masks: bool = False, seed: int = 0) -> HeteroData:
    """Users (20) and items (30) in 4 groups: users follow users, like items and items resemble
    items of their own group, so a model can learn who links to whom."""
    g = torch.Generator().manual_seed(seed)
    data = HeteroData()
    data["user"].num_nodes, data["item"].num_nodes = 20, 30
    data["user"].x = torch.randn(20, 5, generator=g)
    for edge_type, (n_src, n_dst, count) in {("user", "follows", "user"): (20, 20, 120),
                                             ("user", "likes", "item"): (20, 30, 200),
                                             ("item", "resembles", "item"): (30, 30, 160)}.items():
        src = torch.randint(n_src, (count,), generator=g)
        dst = (torch.randint(n_dst // 4, (count,), generator=g) * 4 + src % 4) % n_dst
        data[edge_type].edge_index = torch.stack([src, dst])
        if masks:
            split = torch.arange(count) % 10
            data[edge_type].train_mask, data[edge_type].val_mask, data[edge_type].test_mask = split < 8, split == 8, split == 9
    return data


def test_names_and_folders_load_as_the_config_would(tmp_path):
    assert as_dataset("nations", KGE).num_entities == 14
    folder = tmp_path / "kg"
    folder.mkdir()
    for split in ("train", "valid", "test"):
        (folder / f"{split}.txt").write_text("a\tr\tb\nb\tr\tc\n")
    assert as_dataset(folder, KGE).entities == ["a", "b", "c"]
    assert as_dataset(None, KGE) is None


def test_fit_takes_a_registered_name_and_saves_it_in_the_config(tmp_path):
    run = kgtool.fit(small_config(training={"epochs": 1}), output=tmp_path / "run", dataset="nations")
    assert run.dataset.num_entities == 14
    assert kgtool.load(tmp_path / "run").config.data.dataset == "nations"


def test_triples_factories_keep_pykeen_ids_and_labels():
    from pykeen.datasets import Nations

    nations = Nations()
    dataset = as_dataset((nations.training, nations.validation, nations.testing), KGE)
    assert dataset.entities == sorted(nations.training.entity_to_id, key=nations.training.entity_to_id.get)
    assert torch.equal(dataset.train, nations.training.mapped_triples)
    train, valid, test = as_triples_factories(dataset)
    assert train.entity_to_id == nations.training.entity_to_id
    assert train.relation_to_id == nations.training.relation_to_id
    assert torch.equal(test.mapped_triples, nations.testing.mapped_triples)


def test_one_triples_factory_is_split_80_10_10():
    from pykeen.datasets import Nations

    dataset = as_dataset(Nations().training, KGE)
    sizes = [len(dataset.splits[s]) for s in ("train", "valid", "test")]
    assert sum(sizes) == 1592 and sizes[0] > 1200 and min(sizes) > 100


def test_networkx_multigraph_trains_a_kge_model(tmp_path):
    graph = nx.MultiDiGraph()
    for i in range(40):
        graph.add_edge(f"n{i}", f"n{(i + 1) % 40}", key="next")
        graph.add_edge(f"n{i}", f"n{(i + 3) % 40}", key="skip")
    run = kgtool.fit(small_config(training={"epochs": 1}), output=tmp_path / "run", dataset=graph)
    assert run.dataset.relations == ["next", "skip"] and run.dataset.num_entities == 40
    assert 0 < run.metrics["test"]["mrr"] <= 1


def test_hetero_data_nodes_become_typed_entities_and_edge_types_relations():
    dataset = as_dataset(grouped_hetero_graph(masks=True), KGE)
    assert dataset.num_entities == 50 and dataset.entities[20] == "item:0"
    assert dataset.entity_types[:20] == ["user"] * 20 and dataset.entity_types[20:] == ["item"] * 30
    assert dataset.relations == ["user__follows__user", "user__likes__item", "item__resembles__item"]
    assert [len(dataset.splits[s]) for s in ("train", "valid", "test")] == [384, 48, 48]
    likes = dataset.train[dataset.train[:, 1] == 1]
    assert (likes[:, 0] < 20).all() and (likes[:, 2] >= 20).all()  # users like items


def test_hetero_splits_from_three_graphs_or_at_random():
    whole = grouped_hetero_graph()
    assert sum(len(t) for t in as_dataset(whole, KGE).splits.values()) == 480
    dataset = as_dataset((whole, grouped_hetero_graph(seed=1), grouped_hetero_graph(seed=2)), KGE)
    assert [len(dataset.splits[s]) for s in ("train", "valid", "test")] == [480, 480, 480]


def test_homogeneous_data_with_edge_types_for_kge_and_as_is_for_gnn():
    data = Data(edge_index=torch.tensor([[0, 1, 2, 3] * 5, [1, 2, 3, 0] * 5]), edge_type=torch.arange(20) % 2,
                num_nodes=4)
    dataset = as_dataset(data, KGE)
    assert dataset.relations == ["0", "1"] and dataset.entities == ["0", "1", "2", "3"]
    assert sum(len(t) for t in dataset.splits.values()) == 20
    assert as_dataset(data, GNN) is data


def test_anything_else_is_one_line_naming_what_is_accepted():
    with pytest.raises(DataError, match=r"expected a registered name .* PyG Data or HeteroData.*; got a dict$"):
        as_dataset({"train": []}, KGE)
    with pytest.raises(DataError, match="GNN model gcn: .*got a HeteroData"):
        as_dataset(grouped_hetero_graph(), GNN)
    with pytest.raises(DataError, match="some edge types have train_mask"):
        data = grouped_hetero_graph(masks=True)
        del data["user", "likes", "item"].train_mask
        as_dataset(data, KGE)


def test_as_pyg_gives_back_the_hetero_graph_with_rows_as_x():
    data = grouped_hetero_graph(masks=True)
    dataset = as_dataset(data, KGE)
    rows = torch.arange(50.0)[:, None]
    back = as_pyg(dataset, rows, torch.ones(3, 2))
    assert back.node_types == data.node_types and set(back.edge_types) == set(data.edge_types)
    assert torch.equal(back["item"].x[:, 0], torch.arange(20.0, 50.0))
    for edge_type in data.edge_types:
        original = {tuple(e) for e in data[edge_type].edge_index[:, data[edge_type].train_mask].t().tolist()}
        assert {tuple(e) for e in back[edge_type].edge_index[:, back[edge_type].train_mask].t().tolist()} == original
        assert back[edge_type].num_edges == data[edge_type].num_edges
        assert back[edge_type].relation_x.shape == (1, 2)


def test_as_pyg_of_an_untyped_dataset_is_a_data():
    dataset = random_dataset()
    back = as_pyg(dataset, torch.zeros(dataset.num_entities, 3))
    assert isinstance(back, Data) and back.num_nodes == 30
    assert back.num_edges == sum(len(t) for t in dataset.splits.values())
    assert torch.equal(back.edge_index[:, back.val_mask].t(), dataset.valid[:, [0, 2]])


def test_hetero_node_features_feed_the_encoders_and_travel_with_the_run(tmp_path):
    """Each node type's x lands in its own columns; encoders.features maps them into the entity
    rows; the run folder keeps them, so the loaded run scores as the finished one."""
    import shutil

    from kgtool.encoders import FeatureEncoder

    graph = grouped_hetero_graph(masks=True)
    graph["item"].x = torch.randn(30, 3, generator=torch.Generator().manual_seed(1))
    dataset = as_dataset(graph, KGE)
    values, present = dataset.entity_features
    assert values.shape == (50, 8) and present.all()
    users = [i for i, t in enumerate(dataset.entity_types) if t == "user"]
    items = [i for i, t in enumerate(dataset.entity_types) if t == "item"]
    assert torch.equal(values[users, :5], graph["user"].x) and not values[users, 5:].any()
    assert torch.equal(values[items, 5:], graph["item"].x) and not values[items, :5].any()
    config = small_config(model={"name": "distmult", "dim": 8}, training={"epochs": 2},
                          encoders={"features": True, "dim": 8})
    run = kgtool.fit(config, output=tmp_path / "run", dataset=graph)
    assert any(isinstance(m, FeatureEncoder) for m in run.model.modules())
    shutil.move(tmp_path / "run", tmp_path / "moved")
    loaded = kgtool.load(tmp_path / "moved")
    assert loaded.evaluate("test")["mrr"] == pytest.approx(run.metrics["test"]["mrr"])
    with pytest.raises(kgtool.ConfigError, match="has no entity features"):
        kgtool.fit(config, output=tmp_path / "nations")
