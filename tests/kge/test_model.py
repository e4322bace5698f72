"""KGEModel with an entity encoder in place of its entity table."""

import pytest
import torch

import kgtool
from kgtool.config import Config
from kgtool.errors import ConfigError
from kgtool.kge.task import KGETask
from tests.conftest import random_dataset


@pytest.fixture
def dataset_and_text(tmp_path):
    """A random graph whose last 3 entities have no text."""
    dataset = random_dataset()
    path = tmp_path / "text.txt"
    path.write_text("".join(f"{e}\tword{i % 5} thing {i % 7}\n" for i, e in enumerate(dataset.entities[:-3])))
    return dataset, str(path)


def encoder_config(text: str, model: str = "rotate", **encoders) -> dict:
    return {"model": {"name": model, "dim": 8},
            "training": {"epochs": 2, "eval_every": 1, "batch_size": 64, "num_negatives": 4, "progress": False},
            "encoders": {"text": text, "text_encoder": "transformer", "dim": 8, **encoders}}


@pytest.mark.parametrize("scoring, loss", [("negatives", "nssa"), ("1vsall", "ce")])
def test_gradients_reach_the_text_encoder_and_the_placeholder(dataset_and_text, scoring, loss):
    dataset, text = dataset_and_text
    values = encoder_config(text)
    values["training"].update(scoring=scoring, loss=loss)
    config = Config.from_dict(values)
    task = KGETask(config, dataset)
    entities = task.model.entity_embeddings
    assert entities.inputs["text"][1].sum() == dataset.num_entities - 3
    task.loss(torch.arange(task.num_examples()), torch.Generator().manual_seed(0)).backward()
    encoder = entities.encoders["text"]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.stack.parameters())
    assert entities.placeholders["text"].grad.abs().sum() > 0  # entities without text were scored
    assert entities.structural.weight.grad.abs().sum() > 0


def test_all_entities_are_encoded_once_per_evaluation(dataset_and_text):
    dataset, text = dataset_and_text
    model = KGETask(Config.from_dict(encoder_config(text, model="distmult")), dataset).model
    calls = []
    model.entity_embeddings.encoders["text"].register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    model.eval()
    with torch.no_grad():
        first = model.score_tails(torch.tensor([0, 1]), torch.tensor([0, 1]))
        again = model.score_heads(torch.tensor([2]), torch.tensor([3]))
    # the first batch's heads, then all entities (27 have text); the second batch reuses them
    assert calls == [2, dataset.num_entities - 3] and first.shape == (2, dataset.num_entities) and again.shape == (1, dataset.num_entities)
    model.train()
    model.score_tails(torch.tensor([0]), torch.tensor([0])).sum().backward()  # training: encoded again, with gradients
    assert len(calls) == 4 and model.entity_embeddings.encoders["text"].embedding.weight.grad is not None


@pytest.mark.parametrize("encoder", [{"fusion": "gated"}, {"text_encoder": "bow", "char_ngrams": 3}])
def test_a_text_only_run_round_trips_through_load(dataset_and_text, tmp_path, encoder):
    dataset, text = dataset_and_text
    run = kgtool.fit(encoder_config(text, structural=False, **encoder), output=tmp_path / "run", dataset=dataset)
    assert run.model.entity_embeddings.structural is None
    loaded = kgtool.run.load(tmp_path / "run", dataset=dataset)
    loaded.model.eval()
    triples = dataset.test
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.score_hrt(triples), run.model.eval().score_hrt(triples))
    assert loaded.evaluate("test")["mrr"] == pytest.approx(run.metrics["test"]["mrr"])


def test_sparse_embeddings_and_encoders_do_not_mix(dataset_and_text):
    values = encoder_config(dataset_and_text[1])
    values["training"]["sparse"] = True
    with pytest.raises(ConfigError, match="training.sparse needs plain embedding tables"):
        Config.from_dict(values)


def test_residual_fusion_starts_from_the_plain_models_entity_rows(dataset_and_text):
    """The structural table is the entity table itself: the interaction initialises it, and the
    model scores exactly as a plain model with that table until the text projection has learnt."""
    dataset, text = dataset_and_text
    task = KGETask(Config.from_dict(encoder_config(text, fusion="residual")), dataset)
    model = task.model
    structural = model.entity_embeddings.structural.weight
    scale = model.interaction.init_scale
    assert structural.shape == (dataset.num_entities, model.interaction.entity_width)
    assert structural.abs().max() <= scale and structural.abs().max() > scale / 2
    torch.testing.assert_close(model.entities(torch.arange(5)), model.interaction.entities(structural[:5]))
    with pytest.raises(ConfigError, match="needs encoders.structural=true"):
        KGETask(Config.from_dict(encoder_config(text, fusion="residual", structural=False)), dataset)


def test_compile_without_a_compiler_runs_eagerly_with_one_log_line(monkeypatch, caplog):
    import shutil

    from kgtool.kge import model as model_module

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch, "compile", lambda *a, **k: pytest.fail("torch.compile called without a compiler"))
    config = Config.from_dict({"model": {"name": "rotate", "dim": 4}, "training": {"compile": True}})
    with caplog.at_level("WARNING", logger="kgtool"):
        built = model_module.KGEModel(config.model.build_interaction(), 5, 2, compile=True)
    assert built.score == built.interaction.score
    assert [r.message for r in caplog.records] == [
        "training.compile: no C++ compiler found (c++, g++, clang++); scoring runs eagerly"]
    assert built.score_hrt(torch.tensor([[0, 1, 2]])).shape == (1,)
