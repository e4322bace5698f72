"""Relational encoders under the four KGE score functions: scoring paths, gradients, learning,
checkpoints, exact resume, config errors and the CLI flag."""

import json

import pytest
import torch

import kgtool
from kgtool.cli.main import main
from kgtool.config import Config, KGE_MODELS
from kgtool.errors import ConfigError
from kgtool.kge.task import KGETask
from kgtool.relational import RelationalEncoder
from tests.conftest import random_dataset, small_config
from tests.test_training import assert_resume_is_exact

ENCODERS = [{"encoder": "rgcn", "num_bases": 2}, {"encoder": "compgcn", "composition": "corr"}, {"encoder": "lte"}]


def relational_config(model: str, relational: dict, **training) -> Config:
    return Config.from_dict({"model": {"name": model, "dim": 8}, "relational": {"width": 8, **relational},
                             "training": {"num_negatives": 4, "progress": False, **training}})


@pytest.mark.parametrize("relational", ENCODERS, ids=lambda r: r["encoder"])
@pytest.mark.parametrize("model", KGE_MODELS)
def test_score_functions_take_the_encoders_rows_on_every_path(model, relational):
    dataset = random_dataset()
    task = KGETask(relational_config(model, relational), dataset)
    model_ = task.model.eval()
    assert isinstance(model_.entity_embeddings, RelationalEncoder)
    h, r, t = dataset.test.T
    with torch.no_grad():
        rows = model_.entity_embeddings.encode_all()
        expected = model_.score(model_.interaction.entities(rows[h]), model_.relations(r),
                                model_.interaction.entities(rows[t]))
        torch.testing.assert_close(model_.score_hrt(dataset.test), expected)
        torch.testing.assert_close(model_.score_tails(h, r).gather(1, t[:, None])[:, 0], expected, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(model_.score_heads(r, t).gather(1, h[:, None])[:, 0], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scoring, loss", [("negatives", "nssa"), ("1vsall", "ce")])
@pytest.mark.parametrize("relational", ENCODERS, ids=lambda r: r["encoder"])
def test_a_training_step_encodes_once_and_reaches_every_parameter(relational, scoring, loss):
    task = KGETask(relational_config("rotate", relational, scoring=scoring, loss=loss), random_dataset())
    encoder = task.model.entity_embeddings
    calls = []
    encoder.layers[0].register_forward_hook(lambda *args: calls.append(1))
    task.loss(torch.arange(64), torch.Generator().manual_seed(0)).backward()
    assert calls == [1]
    assert task.model.step_table is None  # nothing kept with gradients after the step
    for name, parameter in task.model.named_parameters():
        if name.endswith("weight_relation.weight") and name.startswith("entity_embeddings.layers.1"):
            continue  # the last CompGCN layer's relation output feeds no message
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_text_encoders_feed_the_gnn(tmp_path):
    dataset = random_dataset()
    text = tmp_path / "text.txt"
    text.write_text("".join(f"{e}\tword{i % 5} thing {i % 7}\n" for i, e in enumerate(dataset.entities)))
    config = Config.from_dict({"model": {"name": "distmult", "dim": 8}, "relational": {"encoder": "compgcn", "width": 8},
                               "encoders": {"text": str(text), "text_encoder": "bow", "dim": 8}})
    task = KGETask(config, dataset)
    task.loss(torch.arange(64), torch.Generator().manual_seed(0)).backward()
    inputs = task.model.entity_embeddings.inputs
    assert inputs.encoders["text"].embedding.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("model, relational, epochs", [
    ("distmult", {"encoder": "compgcn"}, 5),
    ("complex", {"encoder": "rgcn", "num_bases": 4, "layers": 1}, 10),
])
def test_learns_on_umls(tmp_path, model, relational, epochs):
    config = small_config(model={"name": model, "dim": 32}, relational={"width": 32, **relational},
                          training={"epochs": epochs, "lr": 0.01, "batch_size": 1024, "eval_every": epochs})
    run = kgtool.fit(config, output=tmp_path / "run")
    assert run.metrics["test"]["mrr"] > 0.3  # random ranking of 135 entities gives about 0.04


def test_checkpoint_round_trip_gives_the_same_metrics(tmp_path):
    config = small_config(model={"name": "transe"}, relational={"encoder": "rgcn", "width": 16, "num_blocks": 4})
    run = kgtool.fit(config, output=tmp_path / "run")
    loaded = kgtool.load(tmp_path / "run")
    assert loaded.evaluate("test") == run.metrics["test"]
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.eval().all_entities(), run.model.eval().all_entities())


def test_compgcn_with_dropout_resumes_to_identical_parameters(tmp_path):
    """Ctrl-C at loss call 8 (epoch 2 of 6 batches each), then resume: dropout must continue exactly."""
    config = small_config(model={"name": "rotate"}, relational={"encoder": "compgcn", "width": 16, "dropout": 0.3},
                          training={"epochs": 3, "batch_size": 1024, "checkpoint_every": 1})
    assert_resume_is_exact(config, tmp_path, KGETask, 8, "interrupted at epoch 2")


@pytest.mark.parametrize("values, message", [
    ({"relational": {"encoder": "gat"}}, "relational.encoder must be one of none, rgcn, compgcn, lte; got 'gat'"),
    ({"relational": {"encoder": "lte", "num_blocks": 4}}, "relational.encoder=lte has none"),
    ({"relational": {"encoder": "compgcn", "num_bases": 4}}, "relational.num_bases decomposes R-GCN weights"),
    ({"relational": {"encoder": "rgcn", "num_bases": 2, "num_blocks": 2}}, "two decompositions; choose one"),
    ({"relational": {"encoder": "rgcn", "num_blocks": 3}}, "num_blocks=3 must divide relational.width=64"),
    ({"relational": {"encoder": "compgcn", "composition": "conv"}}, "relational.composition must be one of"),
    ({"model": {"name": "gcn"}, "relational": {"encoder": "rgcn"}}, "model.name=gcn is a GNN"),
    ({"relational": {"encoder": "rgcn"}, "training": {"sparse": True}}, "relational encoders have dense gradients"),
    ({"relational": {"layers": 0}}, "relational.layers must be at least 1"),
])
def test_bad_relational_configs_are_one_line_errors(values, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")) as error:
        Config.from_dict(values)
    assert "\n" not in str(error.value)


def test_cli_encoder_flag_trains_and_evaluates(tmp_path, capsys):
    output = tmp_path / "run"
    assert main(["fit", "--model", "distmult", "--encoder", "compgcn", "--dataset", "umls", "--epochs", "1",
                 "--set", "model.dim=8", "--set", "relational.width=8", "--no-progress", "--output", str(output)]) == 0
    assert "encoder: compgcn" in (output / "config.yaml").read_text()
    saved = json.loads((output / "metrics.json").read_text())["test"]["mrr"]
    capsys.readouterr()
    assert main(["evaluate", str(output)]) == 0
    assert f"{saved:.4f}" in capsys.readouterr().out
    assert main(["fit", "--model", "gcn", "--encoder", "rgcn", "--output", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert "model.name=gcn is a GNN" in err and "\n" not in err


@pytest.mark.parametrize("relational", ENCODERS[:2], ids=lambda r: r["encoder"])
def test_inference_in_chunks_of_targets_equals_the_whole_graph(relational):
    """A budget of 40 edges splits the ~560 message edges into chunks; the rows stay the same."""
    encoder = KGETask(relational_config("complex", relational), random_dataset()).model.entity_embeddings.eval()
    with torch.no_grad():
        whole = encoder.encode_all()
        encoder.max_edges = 40
        chunks = encoder._chunks(len(whole))
        chunked = encoder.encode_all()
    assert len(chunks) > 10 and chunks[-1][0].stop == len(whole)
    assert sum(edges.stop - edges.start for _, edges in chunks) == len(encoder.edge_type)
    torch.testing.assert_close(chunked, whole)


def test_lte_is_the_stack_without_messages():
    encoder = KGETask(relational_config("distmult", {"encoder": "lte"}), random_dataset()).model.entity_embeddings.eval()
    first, last = encoder.layers
    with torch.no_grad():
        torch.testing.assert_close(encoder.encode_all(), last(torch.tanh(first(encoder.inputs.weight, None, None)), None, None))
