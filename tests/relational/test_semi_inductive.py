"""Semi-inductive setting: support triples reach the message graph at inference only, new
entities are represented from their neighbours, and evaluation reports seen and unseen queries."""

import dataclasses
import json

import pytest
import torch

import kgtool
from kgtool.cli.main import main
from kgtool.data.inductive import semi_inductive_split
from kgtool.evaluation.ranking import evaluate_link_prediction
from kgtool.kge.task import KGETask
from tests.conftest import random_dataset
from tests.relational.test_encoder import ENCODERS, relational_config


def split_dataset():
    return semi_inductive_split(random_dataset(num_entities=60, num_triples=900), fraction=0.2, support=2, seed=1)


def edge_set(index: torch.Tensor, types: torch.Tensor) -> set:
    return set(zip(index[0].tolist(), index[1].tolist(), types.tolist()))


@pytest.mark.parametrize("relational", ENCODERS[:2], ids=lambda r: r["encoder"])
def test_support_edges_join_the_message_graph_at_inference_only(relational):
    dataset = split_dataset()
    config = relational_config("distmult", {**relational, "dropout": 0.0})
    with_support = KGETask(config, dataset).model
    without = KGETask(config, dataclasses.replace(dataset, splits={s: dataset.splits[s] for s in ("train", "valid", "test")})).model
    without.load_state_dict(with_support.state_dict())
    encoder, R = with_support.entity_embeddings, dataset.num_relations
    h, r, t = dataset.support.T.tolist()
    support_edges = set(zip(h, t, r)) | set(zip(t, h, [k + R for k in r]))
    training_edges = edge_set(encoder.edge_index, encoder.edge_type)
    assert support_edges and not support_edges & training_edges
    assert edge_set(encoder.inference_edge_index, encoder.inference_edge_type) == training_edges | support_edges
    with torch.no_grad():
        torch.testing.assert_close(with_support.train().entity_embeddings.encode_all(),
                                   without.train().entity_embeddings.encode_all(), rtol=0, atol=0)
        inferred = with_support.eval().entity_embeddings.encode_all()
        blind = without.eval().entity_embeddings.encode_all()
    placed = torch.tensor(sorted({e for e in h + t if bool(encoder.untrained[e])}))  # new entities with support
    assert len(placed) and (inferred[placed] - blind[placed]).abs().amax(dim=1).min() > 0  # each moved by its support


@pytest.mark.parametrize("relational", ENCODERS[:2], ids=lambda r: r["encoder"])
def test_a_new_entity_is_its_neighbours_message_from_a_zero_row(relational):
    """At inference the encoder with support equals one whose training triples include the
    support, its table rows of new entities set to zero by hand."""
    dataset = split_dataset()
    config = relational_config("complex", {**relational, "dropout": 0.0})
    encoder = KGETask(config, dataset).model.entity_embeddings.eval()
    grown = dataclasses.replace(dataset, splits={"train": torch.cat([dataset.train, dataset.support]),
                                                 "valid": dataset.valid, "test": dataset.test})
    reference = KGETask(config, grown).model.entity_embeddings.eval()
    reference.load_state_dict(encoder.state_dict())
    assert reference.untrained is None or not reference.untrained[dataset.support[:, [0, 2]].flatten()].any()
    with torch.no_grad():
        reference.inputs.weight[encoder.untrained] = 0
        torch.testing.assert_close(encoder.encode_all(), reference.encode_all())
        assert encoder.inputs.weight[encoder.untrained].abs().sum() > 0  # the table itself is untouched


def test_training_never_sees_the_support_triples(tmp_path):
    """The same run with and without support triples trains the same parameters (validation,
    which uses the support, changes nothing), while the validation metrics differ."""
    dataset = split_dataset()
    config = relational_config("distmult", {"encoder": "compgcn"}, epochs=2, eval_every=1, batch_size=64)
    plain = dataclasses.replace(dataset, splits={s: dataset.splits[s] for s in ("train", "valid", "test")})
    runs = [kgtool.fit(config, output=tmp_path / name, dataset=data) for name, data in
            (("support", dataset), ("plain", plain))]
    for (name, a), b in zip(runs[0].model.named_parameters(), runs[1].model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert runs[0].metrics["valid"]["unseen_entities"]["mrr"] != runs[1].metrics["valid"]["unseen_entities"]["mrr"]


def test_metrics_report_seen_and_unseen_queries_apart():
    dataset = split_dataset()
    task = KGETask(relational_config("distmult", {"encoder": "compgcn"}), dataset)
    metrics = task.evaluate("test")
    seen = task.trained_entities[dataset.test[:, 0]] & task.trained_entities[dataset.test[:, 2]]
    assert 0 < seen.sum() < len(seen)
    assert metrics["seen_entities"]["num_triples"] + metrics["unseen_entities"]["num_triples"] == len(seen)
    for name, mask in (("seen_entities", seen), ("unseen_entities", ~seen)):
        alone = evaluate_link_prediction(task.model, dataset.test[mask], dataset.all_triples())
        assert metrics[name]["mrr"] == pytest.approx(alone["mrr"])
        assert metrics[name]["head"]["hits@10"] == pytest.approx(alone["head"]["hits@10"])
    assert "unseen_entities" not in KGETask(relational_config("distmult", {"encoder": "compgcn"}),
                                            random_dataset()).evaluate("test")


def test_entity_dropout_zeroes_whole_input_rows_in_training_only():
    dataset = random_dataset(num_entities=400, num_triples=3000)
    config = relational_config("distmult", {"encoder": "compgcn", "entity_dropout": 0.25})
    encoder = KGETask(config, dataset).model.entity_embeddings
    with torch.no_grad():
        rows = encoder.train().input_rows()
        zero = (rows == 0).all(dim=1)
        assert 0.15 < zero.float().mean() < 0.35
        torch.testing.assert_close(rows[~zero], encoder.inputs.weight[~zero], rtol=0, atol=0)
        assert not (encoder.eval().input_rows() == 0).all(dim=1).any()
        ids = torch.arange(0, 400, 3)
        sampled = encoder.train().input_rows(ids)
        assert (sampled == 0).all(dim=1).any() and not (sampled == 0).all(dim=1).all()


def test_cli_splits_a_dataset_and_a_relational_run_reports_its_new_entities(tmp_path, capsys):
    split = tmp_path / "split"
    assert main(["inductive-split", "umls", "--support", "2", "--fraction", "0.2", "--output", str(split)]) == 0
    assert "support triples" in capsys.readouterr().out
    output = tmp_path / "run"
    assert main(["fit", "--model", "distmult", "--encoder", "compgcn", "--dataset", str(split), "--epochs", "2",
                 "--set", "model.dim=16", "--set", "relational.width=16", "--no-progress", "--output", str(output)]) == 0
    test = json.loads((output / "metrics.json").read_text())["test"]
    assert test["unseen_entities"]["num_triples"] > 100 and test["seen_entities"]["num_triples"] > 100
    capsys.readouterr()
    assert main(["evaluate", str(output)]) == 0  # the run folder names the split folder, support included
    assert f"{test['mrr']:.4f}" in capsys.readouterr().out
    assert main(["inductive-split", "umls", "--support", "3", "--fraction", "0.2", "--output", str(split)]) == 2
    assert "choose another folder" in capsys.readouterr().err
