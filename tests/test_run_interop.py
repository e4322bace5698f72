"""Run objects out to pykeen, PyG and pandas (kgtool/run.py's interop methods)."""

import pytest
import torch
from torch_geometric.data import Data, HeteroData

import kgtool
from kgtool.prediction import Query
from tests.conftest import random_dataset, small_config
from tests.data.test_convert import grouped_hetero_graph


class PykeenModel(torch.nn.Module):
    """A kgtool model as pykeen's evaluators see a model: sizes, device and ``predict``."""

    def __init__(self, model, factory):
        super().__init__()
        self.model, self.num_entities, self.num_relations = model, factory.num_entities, factory.num_relations
        self.device = torch.device("cpu")

    def predict(self, hrt_batch, target, **kwargs):
        h, r, t = hrt_batch.unbind(1)
        return self.model.score_tails(h, r) if target == "tail" else self.model.score_heads(r, t)


@pytest.fixture(scope="module")
def nations_run(tmp_path_factory):
    from pykeen.datasets import Nations

    nations = Nations()
    return kgtool.fit(small_config(), output=tmp_path_factory.mktemp("run") / "nations",
                      dataset=(nations.training, nations.validation, nations.testing))


def test_triples_factories_out_let_pykeens_evaluator_reproduce_the_metrics(nations_run):
    from pykeen.datasets import Nations
    from pykeen.evaluation import RankBasedEvaluator

    train, valid, test = nations_run.to_triples_factory()
    assert train.entity_to_id == Nations().training.entity_to_id
    theirs = RankBasedEvaluator(filtered=True).evaluate(
        PykeenModel(nations_run.model, train), test.mapped_triples, use_tqdm=False,
        additional_filter_triples=[train.mapped_triples, valid.mapped_triples])
    ours = nations_run.metrics["test"]
    assert ours["mrr"] == pytest.approx(theirs.get_metric("both.realistic.inverse_harmonic_mean_rank"), rel=1e-5)
    assert ours["mr"] == pytest.approx(theirs.get_metric("both.realistic.arithmetic_mean_rank"), rel=1e-5)
    for k in (1, 3, 10):
        assert ours[f"hits@{k}"] == pytest.approx(theirs.get_metric(f"both.realistic.hits_at_{k}"))


def test_predictions_as_data_frames(nations_run):
    frame = nations_run.predict_tails("usa", "embassy", top=5, as_frame=True)
    answers = nations_run.predict_tails("usa", "embassy", top=5)
    assert list(frame.columns) == ["query", "rank", "head", "relation", "tail", "head_id", "relation_id", "tail_id",
                                   "score", "known"]
    assert frame["tail"].tolist() == [a.tail for a in answers] and frame["rank"].tolist() == [1, 2, 3, 4, 5]
    assert frame["score"].tolist() == pytest.approx([a.score for a in answers])
    assert frame["known"].tolist() == [a.known for a in answers]
    dataset = nations_run.dataset
    assert frame["tail_id"].tolist() == [dataset.entities.index(a.tail) for a in answers]
    both = nations_run.predictions_frame([Query("usa", "embassy", None), (None, "embassy", "usa")], top=3)
    assert both["query"].tolist() == ["(usa, embassy, ?)"] * 3 + ["(?, embassy, usa)"] * 3
    assert both["relation_id"].unique().tolist() == [dataset.relations.index("embassy")]
    heads = nations_run.predict_heads("embassy", "usa", top=3, as_frame=True)
    assert heads["head"].tolist() == both["head"].tolist()[3:]


def test_compgcn_trains_on_hetero_data_and_to_pyg_gives_it_back(tmp_path):
    data = grouped_hetero_graph(masks=True)
    config = small_config(model={"name": "distmult", "dim": 16},
                          relational={"encoder": "compgcn", "width": 16, "layers": 1, "composition": "mult"},
                          training={"epochs": 20, "eval_every": 20, "lr": 0.01})
    run = kgtool.fit(config, output=tmp_path / "run", dataset=data)
    n = run.dataset.num_entities
    random_mrr = sum(1 / rank for rank in range(1, n + 1)) / n  # a uniformly random ranking's MRR (unfiltered)
    assert run.metrics["test"]["mrr"] > 2 * random_mrr
    back = run.to_pyg()
    assert isinstance(back, HeteroData)
    for node_type in data.node_types:
        assert back[node_type].num_nodes == data[node_type].num_nodes
        assert back[node_type].x.shape == (data[node_type].num_nodes, 16)
    for edge_type in data.edge_types:
        assert back[edge_type].num_edges == data[edge_type].num_edges
    entity_rows, _ = run.entity_embeddings()
    assert torch.equal(back["item"].x, entity_rows[20:])


def test_to_pyg_of_a_kge_run_on_triples_is_a_data(tmp_path):
    dataset = random_dataset()
    run = kgtool.fit(small_config(model={"name": "complex", "dim": 4}, training={"epochs": 1}),
                     output=tmp_path / "run", dataset=dataset)
    back = run.to_pyg()
    assert isinstance(back, Data) and back.x.shape == (30, 8)
    assert back.relation_x.shape == (4, 8)
    assert back.num_edges == sum(len(t) for t in dataset.splits.values())


def test_to_pyg_of_a_gnn_run_keeps_the_graph_with_learned_x(tmp_path):
    g = torch.Generator().manual_seed(0)
    data = Data(x=torch.randn(40, 6, generator=g), edge_index=torch.randint(40, (2, 160), generator=g),
                y=torch.arange(40) % 3, train_mask=torch.arange(40) < 24, val_mask=(torch.arange(40) >= 24) & (torch.arange(40) < 32),
                test_mask=torch.arange(40) >= 32)
    run = kgtool.fit(small_config(model={"name": "gcn"}, gnn={"hidden_dim": 8}, training={"epochs": 2}),
                     output=tmp_path / "run", dataset=data)
    back = run.to_pyg()
    assert back.x.shape == (40, 8) and torch.equal(back.edge_index, data.edge_index)
    assert data.x.shape == (40, 6)  # the input is left as it was
