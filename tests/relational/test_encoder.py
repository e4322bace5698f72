"""Relational encoders under the four KGE score functions: scoring paths, gradients, learning,
checkpoints, exact resume, config errors and the CLI flag."""

import json
import re

import pytest
import torch

import kgtool
from kgtool.cli.main import main
from kgtool.config import KGE_MODELS, Config
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
    assert task.model.entity_rows.step_table is None  # nothing kept with gradients after the step
    for name, parameter in task.model.named_parameters():  # DDP needs a gradient for each
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
    ({"relational": {"encoder": "rgcn", "fanout": "10,5,5"}}, "relational.fanout=10,5,5 has 3 hops but relational.layers=2"),
    ({"relational": {"encoder": "rgcn", "fanout": "10,x"}}, "relational.fanout '10,x' must be comma-separated integers"),
    ({"relational": {"encoder": "lte", "fanout": "5,5"}}, "relational.encoder=lte passes no messages"),
    ({"relational": {"encoder": "compgcn", "entity_dropout": 1.0}}, "relational.entity_dropout must be in [0, 1), got 1.0"),
    ({"relational": {"encoder": "compgcn", "entity_dropout": 0.2}, "encoders": {"text": "t.txt", "text_encoder": "bow"}},
     "relational.entity_dropout zeroes rows of the entity table"),
    ({"relational": {"encoder": "compgcn", "fanout": "5,5"}, "training": {"scoring": "1vsall", "loss": "ce"}},
     "training.scoring=1vsall scores all of them"),
    ({"relational": {"encoder": "compgcn", "input_init": "xavier"}}, "relational.input_init must be one of normal, "
                                                                      "xavier_normal; got 'xavier'"),
    ({"relational": {"encoder": "compgcn", "input_init": "xavier_normal"},
      "encoders": {"text": "t.txt", "text_encoder": "bow"}}, "relational.input_init=xavier_normal starts the entity table"),
])
def test_bad_relational_configs_are_one_line_errors(values, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as error:
        Config.from_dict(values)
    assert "\n" not in str(error.value)


def test_cli_encoder_flag_trains_and_evaluates(tmp_path, capsys):
    output = tmp_path / "run"
    assert main(["fit", "--model", "distmult", "--encoder", "compgcn", "--fanout", "5,3", "--dataset", "umls",
                 "--epochs", "1", "--set", "model.dim=8", "--set", "relational.width=8", "--no-progress",
                 "--output", str(output)]) == 0
    saved_config = (output / "config.yaml").read_text()
    assert "encoder: compgcn" in saved_config and "fanout: 5,3" in saved_config
    saved = json.loads((output / "metrics.json").read_text())["test"]["mrr"]
    capsys.readouterr()
    assert main(["evaluate", str(output)]) == 0
    assert f"{saved:.4f}" in capsys.readouterr().out
    assert main(["fit", "--model", "gcn", "--encoder", "rgcn", "--output", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert "model.name=gcn is a GNN" in err and "\n" not in err


@pytest.mark.parametrize("relational", ENCODERS, ids=lambda r: r["encoder"])
@pytest.mark.parametrize("input_init, expected_std", [("normal", 1.0), ("xavier_normal", (2 / (1000 + 8)) ** 0.5)])
def test_the_input_table_starts_at_the_chosen_scale(relational, input_init, expected_std):
    """N(0, 1) or Xavier-normal (std sqrt(2 / (entities + width))): the (1000, 8) table's standard
    deviation within 5% of the start's, its mean within 5% of it from 0 (8,000 draws)."""
    config = relational_config("distmult", {**relational, "input_init": input_init})
    table = KGETask(config, random_dataset(num_entities=1000)).model.entity_embeddings.inputs.weight
    assert table.shape == (1000, 8)
    assert abs(table.std().item() - expected_std) < 0.05 * expected_std
    assert abs(table.mean().item()) < 0.05 * expected_std


@pytest.mark.parametrize("relational", ENCODERS[:2], ids=lambda r: r["encoder"])
def test_inference_in_chunks_of_targets_equals_the_whole_graph(relational):
    """A budget of 40 edges splits the ~560 message edges into chunks; the rows stay the same."""
    encoder = KGETask(relational_config("complex", relational), random_dataset()).model.entity_embeddings.eval()
    with torch.no_grad():
        whole = encoder.encode_all()
        encoder.max_edges = 40
        chunks = encoder._chunks(encoder.edge_index[1], len(whole))
        chunked = encoder.encode_all()
    assert len(chunks) > 10 and chunks[-1][0].stop == len(whole)
    assert sum(edges.stop - edges.start for _, edges in chunks) == len(encoder.edge_type)
    torch.testing.assert_close(chunked, whole)


def test_lte_is_the_stack_without_messages():
    encoder = KGETask(relational_config("distmult", {"encoder": "lte"}), random_dataset()).model.entity_embeddings.eval()
    first, last = encoder.layers
    with torch.no_grad():
        torch.testing.assert_close(encoder.encode_all(), last(torch.tanh(first(encoder.inputs.weight, None, None)), None, None))


def sampled_config(relational: dict, fanout: str, dropout: float = 0.0, **training) -> Config:
    return relational_config("complex", {**relational, "fanout": fanout, "dropout": dropout}, batch_size=32, **training)


@pytest.mark.parametrize("relational", ENCODERS[:2], ids=lambda r: r["encoder"])
def test_sampled_subgraphs_with_all_neighbours_equal_the_full_graph(relational):
    """Fanout -1 at every hop: each step's rows, loss and gradients equal the full-graph step's."""
    dataset = random_dataset()
    full, sampled = (KGETask(config, dataset) for config in
                     (relational_config("complex", {**relational, "dropout": 0.0}), sampled_config(relational, "-1,-1")))
    sampled.model.load_state_dict(full.model.state_dict())
    seeds = torch.tensor([0, 3, 4, 17, 29])
    with torch.no_grad():
        torch.testing.assert_close(sampled.model.entity_embeddings.encode_subgraph(seeds), full.model.entity_embeddings.encode_all()[seeds])
    ids = torch.arange(32)
    losses = [task.loss(ids, torch.Generator().manual_seed(0)) for task in (full, sampled)]
    torch.testing.assert_close(losses[0], losses[1])
    for loss in losses:
        loss.backward()
    for (name, a), b in zip(full.model.named_parameters(), sampled.model.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_a_sampled_step_encodes_the_batchs_entities_from_a_smaller_subgraph():
    task = KGETask(sampled_config(ENCODERS[1], "2,2"), random_dataset(num_entities=200, num_triples=2000))
    sizes = []
    task.model.entity_embeddings.layers[0].register_forward_hook(lambda module, args, out: sizes.append(len(args[0])))
    task.loss(torch.arange(4), torch.Generator().manual_seed(0)).backward()
    # 4 positives with 4 negatives each touch at most 24 entities; two hops of 2 reach at most 24 * 7
    assert sizes and sizes[0] <= 24 * 7 < 200


def test_sampled_training_learns_and_resumes_exactly(tmp_path):
    config = small_config(model={"name": "distmult", "dim": 32},
                          relational={"encoder": "compgcn", "width": 32, "fanout": "5,5", "dropout": 0.1},
                          training={"epochs": 3, "lr": 0.01, "batch_size": 1024, "checkpoint_every": 1})
    reference = assert_resume_is_exact(config, tmp_path, KGETask, 8, "interrupted at epoch 2")
    assert reference.metrics["test"]["mrr"] > 0.3  # random ranking of 135 entities gives about 0.04


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path, shared_data):
    """Under torchrun each rank encodes the whole graph for its share of the batch; DDP averages
    the gradients, which needs every encoder parameter to get one (dropout off: ranks draw
    their own masks)."""
    from tests import test_distributed

    args = test_distributed.KGE_1VSALL + ["--encoder", "compgcn", "--set", "relational.width=16",
                                          "--set", "relational.dropout=0"]
    test_distributed.test_two_processes_match_one_process(tmp_path, shared_data, args)
