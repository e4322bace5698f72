"""Sharded tables on 2 (and 3) gloo processes against one-process references; NCCL with 2 GPUs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import kgtool
from kgtool import distributed
from kgtool.kge.interactions import interaction
from kgtool.data.answers import AnswerIndex
from kgtool.evaluation.mode import evaluation_mode
from kgtool.evaluation.ranking import Ranks, filtered_ranks
from kgtool.kge.model import KGEModel
from kgtool.run_folder import RunFolder
from kgtool.sharding.checkpoint import load_sharded, save_sharded
from kgtool.sharding.model import ShardedKGEModel
from kgtool.sharding.optim import ShardedOptimizer
from kgtool.sharding.ranking import sharded_link_prediction_ranks
from tests.conftest import REPO, random_dataset
from tests.sharding.ranks import run_on_ranks
from tests.sharding.reference import train_and_compare, trained

pytestmark = pytest.mark.slow
MODELS, OPTIMIZERS = ("transe", "distmult", "complex", "rotate"), ("sgd", "adagrad", "adam")


def train_every_model(device: str = "cpu") -> None:
    for name in MODELS:
        for kind in OPTIMIZERS:
            train_and_compare(name, kind, device=device, dtype=torch.float64 if kind == "adam" else torch.float32)


def test_training_on_two_ranks_equals_one_process():
    """5,001 entities on 2 ranks (2,501 and 2,500 rows), 3 steps each: within 1e-5 of torch's
    optimizers (Adam in float64: see :func:`train_and_compare`)."""
    run_on_ranks(2, train_every_model)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="NCCL needs a GPU per rank; this machine has fewer than 2")
def test_training_on_two_gpus_with_nccl_equals_one_process():
    run_on_ranks(2, train_every_model, "cuda", backend="nccl")


def compare_ranks() -> None:
    """Sharded filtered ranks of every model equal the one-process ranks of the gathered table."""
    dataset = random_dataset(num_entities=301, num_relations=4, num_triples=2000)
    known = dataset.all_triples()
    for name in MODELS:
        for reciprocal in (False, True):
            config = interaction(name=name, dim=8)
            torch.manual_seed(0)  # the same relation table on every rank, as a run seeds it
            model = ShardedKGEModel(config, dataset.num_entities, dataset.num_relations, reciprocal, seed=5)
            head, tail = sharded_link_prediction_ranks(model, dataset.splits["test"], known, batch_size=50)
            table = model.table.gathered(model.table.shard)
            if distributed.is_main():
                plain = KGEModel(config, dataset.num_entities, dataset.num_relations, reciprocal)
                plain.load_state_dict({"entity_embeddings.weight": table,
                                       "relation_embeddings.weight": model.relation_embeddings.weight.detach()})
                for got, want in zip((head, tail), one_process_ranks(plain, dataset.splits["test"], known)):
                    assert torch.equal(got.optimistic, want.optimistic) and torch.equal(got.pessimistic, want.pessimistic)


def one_process_ranks(model: KGEModel, triples, known) -> tuple[Ranks, Ranks]:
    """Head and tail ranks as :func:`link_prediction_ranks` computes them in one process (which
    would split the triples over the ranks here)."""
    h, r, t = triples.unbind(dim=1)
    num_relations = model.num_relations
    with evaluation_mode(model):
        tail = filtered_ranks(model.score_tails, h, r, t, AnswerIndex.tails(known, num_relations), 64)
        head = filtered_ranks(lambda tails, relations: model.score_heads(relations, tails), t, r, h,
                              AnswerIndex.heads(known, num_relations), 64)
    return head, tail


def test_sharded_ranks_equal_one_process_ranks():
    run_on_ranks(2, compare_ranks)


def state_parts(model, optimizer) -> dict:
    return {"entities": model.table.shard.data, "optimizer": optimizer.row_state}


def save_trained(folder: Path) -> None:
    model, optimizer, _, _ = trained("complex", "adam", steps=4)
    save_sharded(folder / "dcp", model.table, state_parts(model, optimizer))
    gathered = {"entities": model.table.gathered(model.table.shard),
                **{key: model.table.gathered(value) for key, value in optimizer.row_state.items()}}
    if distributed.is_main():
        torch.save(gathered, folder / "expected.pt")


def load_and_compare(folder: Path) -> None:
    model = ShardedKGEModel(interaction(name="complex", dim=8), 5001, 5, seed=3)
    optimizer = ShardedOptimizer(model.table.shard, [model.relation_embeddings.weight], "adam", 0.05)
    load_sharded(folder / "dcp", model.table, state_parts(model, optimizer))
    gathered = {"entities": model.table.gathered(model.table.shard),
                **{key: model.table.gathered(value) for key, value in optimizer.row_state.items()}}
    if distributed.is_main():
        expected = torch.load(folder / "expected.pt")
        assert expected["step"].max() > 1 and (expected["step"] == 0).any()  # rows touched 0, 1, several times
        for key, value in expected.items():
            assert torch.equal(gathered[key], value), key


def test_saved_on_two_ranks_loads_on_one_and_three(tmp_path):
    run_on_ranks(2, save_trained, tmp_path)
    load_and_compare(tmp_path)
    run_on_ranks(3, load_and_compare, tmp_path)


def torchrun(processes: int, args: list[str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes),
               "-m", "kgtool", *args, "--no-progress"]
    result = subprocess.run(command, check=False, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_sharded_fit_on_two_processes_resumes_on_one_and_three_and_loads_in_one(tmp_path):
    run = tmp_path / "two"
    torchrun(2, ["fit", "--model", "rotate", "--dataset", "umls", "--epochs", "2", "--output", str(run),
                 "--set", "model.dim=16", "--set", "training.lr=0.01", "--set", "distributed.shard_entities=true",
                 "--set", "distributed.negatives=local", "--set", "training.checkpoint_every=1"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert kgtool.load(run).evaluate("test")["mrr"] == pytest.approx(metrics["test"]["mrr"], abs=1e-6)
    table = kgtool.load(run).model.table.all_rows()
    shutil.copytree(run, tmp_path / "one")
    torchrun(3, ["fit", "--resume", "--output", str(run), "--epochs", "3"])
    kgtool.fit({"training": {"epochs": 3, "progress": False}}, tmp_path / "one", resume=True)
    for folder in (run, tmp_path / "one"):
        assert RunFolder(folder).load_checkpoint()["epoch"] == 3
        assert not torch.equal(kgtool.load(folder).model.table.all_rows(), table)  # trained on from the saved table
