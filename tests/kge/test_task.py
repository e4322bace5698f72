"""KGETask's fast paths compute what the plain paths compute."""

from dataclasses import replace

import pytest
import torch

from kgtool.kge.task import KGETask
from kgtool.training import build_optimizer
from tests.conftest import random_dataset, small_config


def train_steps(config, steps=6):
    torch.manual_seed(0)
    task = KGETask(config, random_dataset(num_entities=40, num_relations=3, num_triples=400))
    optimizer = build_optimizer(task.model, config)
    generator = torch.Generator().manual_seed(0)
    for step in range(steps):
        ids = torch.arange(step * 32, (step + 1) * 32)
        loss = task.loss(ids, generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return task.model.state_dict()


@pytest.mark.parametrize("optimizer", ["adagrad", "sgd"])
@pytest.mark.parametrize("model", ["rotate", "complex"])
def test_sparse_gradients_give_the_dense_result(optimizer, model):
    """Row-wise sparse updates touch only the rows a batch uses; for Adagrad and SGD the untouched
    rows of the dense update do not move either, so both paths must agree."""
    # unfiltered: with these negatives one gradient element is about 1e-9, where Adagrad's first
    # step (g / sqrt(g²)) turns summation-order noise into a 1e-4 difference
    base = {"model": {"name": model}, "training": {"optimizer": optimizer, "lr": 0.1, "regularizer": "n3",
                                                   "regularizer_weight": 0.01, "filter_negatives": False}}
    dense = train_steps(small_config(**base))
    base["training"]["sparse"] = True
    sparse = train_steps(small_config(**base))
    for key in dense:
        assert torch.allclose(dense[key], sparse[key], atol=1e-5), key  # summation order differs


def test_sparse_adam_moves_only_the_rows_in_the_batch():
    config = small_config(training={"sparse": True, "optimizer": "adam", "lr": 0.1})
    torch.manual_seed(0)
    task = KGETask(config, random_dataset(num_entities=40, num_relations=3, num_triples=400))
    before = task.model.entity_embeddings.weight.detach().clone()
    optimizer = build_optimizer(task.model, config)
    assert isinstance(optimizer, torch.optim.SparseAdam)
    task.loss(torch.arange(4), torch.Generator().manual_seed(0)).backward()
    optimizer.step()
    moved = (task.model.entity_embeddings.weight.detach() != before).any(dim=1)
    assert 0 < int(moved.sum()) < 40


@pytest.mark.parametrize("model", ["transe", "distmult"])
def test_shared_negatives_score_like_per_row_copies(model):
    config = small_config(model={"name": model}, training={"shared_negatives": True, "num_negatives": 5})
    torch.manual_seed(0)
    task = KGETask(config, random_dataset(num_entities=40, num_relations=3, num_triples=400))
    ids = torch.arange(16)
    shared_loss = task.loss(ids, torch.Generator().manual_seed(1))
    sampler = task.objective.sampler
    corrupt_head, entities = sampler.sample(task.objective.examples[ids], torch.Generator().manual_seed(1))
    assert entities.shape == (1, 5)
    sampler.shared = False
    sampler.sample = lambda positives, generator: (corrupt_head, entities.expand(len(positives), 5))
    assert torch.allclose(task.loss(ids, torch.Generator()), shared_loss, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["rotate"])
def test_compiled_scores_and_gradients_match_eager(model):
    """torch.compile fuses the formula; it must compute the same loss and gradients."""
    results = []
    for compile in (False, True):
        config = small_config(model={"name": model}, training={"compile": compile, "shared_negatives": True})
        torch.manual_seed(0)
        task = KGETask(config, random_dataset(num_entities=40, num_relations=3, num_triples=400))
        loss = task.loss(torch.arange(64), torch.Generator().manual_seed(0))
        loss.backward()
        results.append((loss.detach(), task.model.entity_embeddings.weight.grad.clone()))
    assert torch.allclose(results[0][0], results[1][0], atol=1e-5)
    assert torch.allclose(results[0][1], results[1][1], atol=1e-5)


@pytest.mark.parametrize("scoring, loss", [("kvsall", "ce"), ("kvsall", "bce"), ("1vsall", "ce")])
def test_all_entity_loss_takes_each_querys_training_answers(scoring, loss):
    """The task's KvsAll/1vsAll loss equals torch's loss on dense labels built independently:
    for KvsAll every training answer of the query (and of the inverse query), for 1vsAll the
    example's own answer."""
    config = small_config(model={"name": "distmult"},
                          training={"scoring": scoring, "loss": loss, "reciprocal": True, "label_smoothing": 0.1})
    task = KGETask(config, random_dataset(num_entities=40, num_relations=3, num_triples=400))
    ids = torch.arange(0, 64)
    batch = task.objective.examples[ids]
    scores = task.objective.score_queries(task.model, batch[:, 0], batch[:, 1])
    labels = torch.zeros_like(scores)
    if scoring == "kvsall":
        train, R = task.dataset.train, task.dataset.num_relations
        known = torch.cat([train, torch.stack([train[:, 2], train[:, 1] + R, train[:, 0]], dim=1)])
        for row, (anchor, relation) in enumerate(batch[:, :2].tolist()):
            labels[row, known[(known[:, 0] == anchor) & (known[:, 1] == relation), 2]] = 1.0
    else:
        labels[torch.arange(len(batch)), batch[:, 2]] = 1.0
    if loss == "ce":
        expected = torch.nn.functional.cross_entropy(scores, labels / labels.sum(1, keepdim=True), label_smoothing=0.1)
    else:
        expected = torch.nn.functional.binary_cross_entropy_with_logits(scores, 0.9 * labels + 0.1 / labels.shape[1])
    assert labels.sum(1).max() > 1 or scoring == "1vsall"  # some query has several answers
    assert task.loss(ids, torch.Generator()).item() == pytest.approx(expected.item(), rel=1e-5)


def test_a_loaded_model_builds_no_objective_sampler_or_filter_index(tmp_path, monkeypatch):
    """Loading for evaluation and prediction needs the model only: no negative sampler, no
    filter index of the training triples."""
    import kgtool
    from kgtool.kge import objectives

    kgtool.fit(small_config(training={"epochs": 1}), output=tmp_path / "run")

    def refuse(*args, **kwargs):
        raise AssertionError("a training objective was built for inference")

    for name in ("NegativeSampling", "OneVsAll", "KvsAll"):
        monkeypatch.setattr(objectives, name, refuse)
    monkeypatch.setattr(objectives, "OBJECTIVES", {k: refuse for k in objectives.OBJECTIVES})
    run = kgtool.load(tmp_path / "run")
    run.evaluate("test")
    run.predict_tails(run.dataset.entities[0], run.dataset.relations[0], top=3)
    assert "objective" not in vars(run.task)


def test_drop_duplicates_trains_and_evaluates_on_each_triple_once():
    dataset = random_dataset(num_entities=20, num_relations=2, num_triples=100)
    repeated = replace(dataset, splits={**dataset.splits, "train": torch.cat([dataset.train, dataset.train[:5]]),
                                        "test": torch.cat([dataset.test, dataset.train[:3]])})
    assert KGETask.from_config(small_config(), repeated).dataset.duplicate_triples()["test"] == 3
    task = KGETask.from_config(small_config(data={"drop_duplicates": True}), repeated)
    assert task.dataset.duplicate_triples() == {"train": 0, "valid": 0, "test": 0}
    assert torch.equal(task.dataset.test, dataset.test)
