"""GNN link prediction as a KGE model: a GNN representation under a KGE interaction, trained with
the KGE side's filtered negatives and ranked by its filtered evaluator."""

import pytest
import torch

import kgtool
from kgtool.config import Config
from kgtool.gnn import GNNTask, GraphRepresentation
from kgtool.gnn.link import GNNLinkTask
from kgtool.kge.objectives import NegativeSampling
from kgtool.training import Trainer
from tests.gnn.test_task import community_graph


def brute_force_mrr(scores: torch.Tensor, edges: torch.Tensor, known: set) -> float:
    """Filtered realistic MRR of ``edges`` ``(2, m)`` against all nodes, both ends, from a full
    ``(n, n)`` score matrix, one edge and one candidate at a time."""
    reciprocal_ranks = []
    for u, v in edges.t().tolist():
        for anchor, answer, is_tail in ((u, v, True), (v, u, False)):
            row = scores[anchor] if is_tail else scores[:, anchor]
            true = row[answer].item()
            others = [row[c].item() for c in range(len(row))
                      if c != answer and ((anchor, c) if is_tail else (c, anchor)) not in known]
            better, ties = sum(x > true for x in others), sum(x == true for x in others)
            reciprocal_ranks.append(1 / (better + 1 + ties / 2))
    return sum(reciprocal_ranks) / len(reciprocal_ranks)


def link_config(**gnn) -> Config:
    return Config.from_dict({"model": {"name": "gcn"}, "gnn": {"task": "link", "hidden_dim": 8, **gnn},
                             "training": {"batch_size": 256, "lr": 0.01, "progress": False}})


@pytest.mark.parametrize("decoder,sampler", [("dot", "full"), ("complex", "neighbor")])
def test_link_ranking_matches_brute_force_over_the_gnn_rows(decoder, sampler):
    config = link_config(decoder=decoder, sampler=sampler, fanout="5,5")
    torch.manual_seed(0)
    task = GNNTask.from_config(config, community_graph())
    assert isinstance(task, GNNLinkTask) and task.undirected and task.headline_metric == "mrr"
    assert isinstance(task.model.entity_embeddings, GraphRepresentation)
    trainer = Trainer(task, config)
    for start in range(0, task.num_examples(), 256):
        trainer.step(torch.arange(start, min(start + 256, task.num_examples())))
    metrics = task.evaluate("valid")
    task.model.eval()
    with torch.no_grad():
        scores = task.model.score_tails(torch.arange(120), torch.zeros(120, dtype=torch.long))  # (n, n)
    known = {(h, t) for h, _, t in task.dataset.all_triples().tolist()}
    valid = task.dataset.valid
    assert metrics["mrr"] == pytest.approx(brute_force_mrr(scores, valid[:, [0, 2]].t(), known), abs=1e-6)


def test_undirected_graphs_keep_both_directions_in_every_split_and_train_on_filtered_negatives():
    config = link_config()
    torch.manual_seed(0)
    graph = community_graph()
    graph.edge_index = torch.unique(graph.edge_index, dim=1)  # no edge twice: then no edge in two splits
    task = GNNTask.from_config(config, graph)
    for split in ("train", "valid", "test"):
        pairs = {(h, t) for h, _, t in task.dataset.splits[split].tolist()}
        assert pairs == {(t, h) for h, t in pairs}
    train = {(h, t) for h, _, t in task.dataset.train.tolist()}
    assert not train & {(h, t) for h, _, t in task.dataset.test.tolist()}
    objective = task.objective
    assert isinstance(objective, NegativeSampling) and objective.sampler.known_tails is not None
    assert objective.training.loss == "bce" and objective.sampler.num_negatives == config.gnn.link_negatives
    messages = {tuple(e) for e in task.model.entity_embeddings.edge_index.t().tolist()}
    assert messages == train  # messages pass over the training edges only


def test_directed_graphs_keep_every_edge_in_its_direction():
    """996 one-way edges: all of them are positives of some split, none reversed; split ratios
    are options."""
    g = torch.Generator().manual_seed(0)
    pairs = torch.unique(torch.randint(120, (2, 2400), generator=g), dim=1)
    pairs = pairs[:, pairs[0] < pairs[1]][:, :996]  # no edge has its reverse
    data = community_graph()
    data.edge_index = pairs
    config = Config.from_dict({"model": {"name": "gcn"}, "gnn": {"task": "link", "val_ratio": 0.1, "test_ratio": 0.2}})
    task = GNNTask.from_config(config, data)
    assert not task.undirected
    positives = {name: task.dataset.splits[name][:, [0, 2]] for name in ("train", "valid", "test")}
    assert sum(len(p) for p in positives.values()) == 996
    assert (len(positives["valid"]), len(positives["test"])) == (int(0.1 * 996), int(0.2 * 996))
    assert {tuple(e) for p in positives.values() for e in p.tolist()} == {tuple(e) for e in pairs.t().tolist()}
    messages = task.model.entity_embeddings.edge_index
    assert (messages[0] < messages[1]).all()  # messages keep direction


def test_a_gnn_link_run_predicts_exports_and_analyzes_like_a_kge_run(tmp_path, capsys):
    from kgtool.cli.main import main

    folder = tmp_path / "graph"
    folder.mkdir()
    (folder / "nodes.csv").write_text("id,label,f0\n" + "".join(f"n{i},{i % 2},{i / 10}\n" for i in range(20)))
    (folder / "edges.csv").write_text("source,target\n" + "".join(f"n{i},n{(i + k) % 20}\n" for i in range(20)
                                                                  for k in (1, 5)))
    run_dir = tmp_path / "run"
    assert main(["fit", "--model", "sage", "--dataset", str(folder), "--set", "gnn.task=link", "--set",
                 "gnn.hidden_dim=4", "--epochs", "2", "--no-progress", "--output", str(run_dir)]) == 0
    assert main(["predict", str(run_dir), "--head", "3", "--relation", "edge", "--top", "3", "--filter"]) == 0
    assert main(["export", str(run_dir), "--output", str(tmp_path / "out")]) == 0
    assert main(["analyze", str(run_dir), "--json"]) == 0
    capsys.readouterr()
    run = kgtool.load(run_dir)
    rows, labels = run.entity_embeddings()
    with torch.no_grad():
        expected = run.model.entity_embeddings.encode_all()
    assert rows.shape == (20, 4) and labels == [str(i) for i in range(20)]
    torch.testing.assert_close(rows, expected)
