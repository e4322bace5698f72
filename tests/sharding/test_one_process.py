"""kgtool.sharding in one process (one shard = the whole table): fast checks of each piece and of a
sharded run through fit, resume and load. The 2- and 3-process checks are in test_two_ranks.py."""

from __future__ import annotations

import pytest
import torch

import kgtool
from kgtool.kge.interactions import interaction
from kgtool.errors import ConfigError
from kgtool.evaluation.ranking import link_prediction_ranks
from kgtool.kge.model import KGEModel
from kgtool.kge.negatives import CorruptionSampler
from kgtool.run_folder import RunFolder
from kgtool.sharding.checkpoint import load_sharded, save_sharded
from kgtool.sharding.ranking import sharded_link_prediction_ranks
from kgtool.sharding.table import ShardedEntityTable
from tests.conftest import random_dataset, small_config
from tests.sharding.reference import train_and_compare, trained


@pytest.mark.parametrize("name,kind", [("transe", "sgd"), ("complex", "adagrad"), ("rotate", "adam"),
                                       ("distmult", "adam")])
def test_row_wise_optimizers_equal_torch_optimizers_on_touched_rows(name, kind):
    """Every row its own torch optimizer, stepped only when touched: per-row Adam step counts."""
    train_and_compare(name, kind, num_entities=301)


def test_adam_counts_steps_per_row():
    model, optimizer, _, _ = trained("distmult", "adam", num_entities=301, steps=4)
    steps = optimizer.row_state["step"]
    assert steps.max() > 1 and (steps == 0).any() and len(steps.unique()) > 2
    relation_steps = optimizer.state[model.relation_embeddings.weight]["step"]
    assert torch.equal(relation_steps, torch.full_like(relation_steps, 4))  # replicated rows: every step


def test_table_layout_is_a_permutation_and_starts_the_same_on_any_world():
    table = ShardedEntityTable(100, 3, seed=7)
    assert torch.equal(torch.sort(table.position).values, torch.arange(100))
    assert not torch.equal(table.position, torch.arange(100))  # ids are spread, not kept in order
    again = ShardedEntityTable(100, 3, seed=7)
    assert torch.equal(table.shard, again.shard)
    ids = torch.tensor([[5, 9], [9, 0]])
    assert torch.equal(table(ids), table.all_rows()[ids])


def test_consolidated_table_loads_in_id_order():
    table = ShardedEntityTable(20, 2, seed=1)
    other = ShardedEntityTable(20, 2, seed=2)  # another permutation
    other.load_state_dict({"weight": table.all_rows().detach()})
    assert torch.equal(other.all_rows(), table.all_rows())


def test_sharded_ranks_equal_plain_ranks(tiny_dataset):
    config = interaction(name="complex", dim=8)
    model, _, _, _ = trained("complex", "sgd", num_entities=tiny_dataset.num_entities, num_relations=4)
    plain = KGEModel(config, tiny_dataset.num_entities, 4)
    plain.load_state_dict({"entity_embeddings.weight": model.table.all_rows().detach(),
                           "relation_embeddings.weight": model.relation_embeddings.weight.detach()})
    known, test = tiny_dataset.all_triples(), tiny_dataset.splits["test"]
    for got, want in zip(sharded_link_prediction_ranks(model, test, known, batch_size=7),
                         link_prediction_ranks(plain, test, known)):
        assert torch.equal(got.optimistic, want.optimistic) and torch.equal(got.pessimistic, want.pessimistic)


def test_checkpoint_round_trip(tmp_path):
    model, optimizer, _, _ = trained("transe", "adam", num_entities=50, steps=2)
    save_sharded(tmp_path / "dcp", model.table, {"entities": model.table.shard.data, "optimizer": optimizer.row_state})
    fresh, fresh_optimizer, _, _ = trained("transe", "adam", num_entities=50, steps=0)
    load_sharded(tmp_path / "dcp", fresh.table, {"entities": fresh.table.shard.data,
                                                 "optimizer": fresh_optimizer.row_state})
    assert torch.equal(fresh.table.shard, model.table.shard)
    for key, value in optimizer.row_state.items():
        assert torch.equal(fresh_optimizer.row_state[key], value)


def test_local_negatives_come_from_the_pool_and_are_filtered():
    train = torch.tensor([[0, 0, e] for e in range(0, 10, 2)])  # even tails are known answers of (0, 0)
    pool = torch.tensor([1, 2, 3, 4])
    sampler = CorruptionSampler(10, 50, torch.zeros(1), known=train, pool=pool)
    _, entities = sampler.sample(train, torch.Generator().manual_seed(0))
    assert set(entities.unique().tolist()) == {1, 3}  # in the pool, and not a known tail


SHARDED = {"distributed": {"shard_entities": True}}


@pytest.mark.parametrize("change,message", [
    ({"training": {"scoring": "1vsall", "loss": "ce"}}, "training.scoring=negatives"),
    ({"model": {"name": "gcn"}}, "a KGE model"),
    ({"training": {"weight_decay": 0.1}}, "weight_decay"),
    ({"distributed": {"shard_entities": False, "negatives": "local"}}, "shard_entities=true"),
])
def test_sharding_refuses_what_it_cannot_do(change, message):
    values = {"distributed": {**SHARDED["distributed"], **change.pop("distributed", {})}, **change}
    with pytest.raises(ConfigError, match=message):
        small_config(**values)


def test_sharded_run_resumes_and_loads_in_one_process(tmp_path):
    dataset = random_dataset(num_entities=40, num_triples=400)
    config = small_config(**SHARDED, training={"epochs": 2, "checkpoint_every": 1, "optimizer": "adam", "lr": 0.01})
    run = kgtool.fit(config, tmp_path / "run", dataset=dataset)
    assert len(list((tmp_path / "run").glob("sharded-*"))) == 1  # older checkpoints' folders removed
    loaded = kgtool.load(tmp_path / "run")
    assert loaded.evaluate("test")["mrr"] == pytest.approx(run.metrics["test"]["mrr"], abs=1e-6)
    resumed = kgtool.fit({"training": {"epochs": 3}}, tmp_path / "run", resume=True)
    assert RunFolder(tmp_path / "run").load_checkpoint()["epoch"] == 3
    assert torch.equal(kgtool.load(tmp_path / "run").model.table.all_rows(), resumed.model.table.all_rows())
