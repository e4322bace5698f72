"""The training loop: exact resume after Ctrl-C or a kill, NaN losses, best-model keeping."""

import json
import os
import signal
import subprocess
import sys
import time

from contextlib import contextmanager

import pytest
import torch

import kgtool
from kgtool.errors import CheckpointError, ConfigError, TrainingError
from kgtool.run_folder import RunFolder
from kgtool.config import Config
from tests.conftest import REPO, small_config


def parameters(run_dir):
    return RunFolder(run_dir).load_checkpoint()["model"]


def assert_same_parameters(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("scoring, loss", [("negatives", "nssa"), ("1vsall", "ce"), ("kvsall", "bce")])
def test_each_scoring_mode_learns(tmp_path, scoring, loss):
    config = small_config(training={"scoring": scoring, "loss": loss, "epochs": 3, "lr": 0.05, "reciprocal": scoring != "negatives"})
    run = kgtool.fit(config, output=tmp_path / "run")
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["loss"] < log[0]["loss"]
    assert run.metrics["test"]["mrr"] > 0.1  # random ranking of 135 entities gives about 0.04


@contextmanager
def interrupted_at_call(task_class, call: int):
    """Within the block, the ``call``-th loss of ``task_class`` raises SIGINT first (Ctrl-C)."""
    calls, original_loss = {"n": 0}, task_class.loss

    def interrupting_loss(self, ids, generator):
        calls["n"] += 1
        if calls["n"] == call:
            os.kill(os.getpid(), signal.SIGINT)
        return original_loss(self, ids, generator)

    task_class.loss = interrupting_loss
    try:
        yield
    finally:
        task_class.loss = original_loss


def assert_resume_is_exact(config, tmp_path, task_class, call: int, interrupted_at: str):
    """Ctrl-C at loss call ``call``, then resume: the parameters, metrics and log of an
    uninterrupted run."""
    reference = kgtool.fit(config, output=tmp_path / "reference")
    with interrupted_at_call(task_class, call), pytest.raises(KeyboardInterrupt, match=interrupted_at):
        kgtool.fit(config, output=tmp_path / "interrupted")
    resumed = kgtool.fit(None, output=tmp_path / "interrupted", resume=True)
    assert_same_parameters(parameters(tmp_path / "reference"), parameters(tmp_path / "interrupted"))
    assert resumed.metrics["test"] == reference.metrics["test"]
    assert epochs_logged(tmp_path / "interrupted") == epochs_logged(tmp_path / "reference")
    return reference


def epochs_logged(run_dir) -> list[int]:
    return [json.loads(line)["epoch"] for line in (run_dir / "log.jsonl").read_text().splitlines()]


def test_interrupted_run_resumes_to_identical_parameters(tmp_path):
    """Ctrl-C in the middle of an epoch (call 30: epoch 2 of 21 batches each), then --resume."""
    from kgtool.kge.task import KGETask

    config = small_config(training={"epochs": 4, "checkpoint_every": 1, "lr_scheduler": "step", "lr_step_size": 1,
                                    "lr_gamma": 0.9, "subsampling": True})
    assert_resume_is_exact(config, tmp_path, KGETask, 30, "interrupted at epoch 2")


def test_gcn_with_dropout_resumes_to_identical_parameters(tmp_path, shared_data):
    """Dropout draws from torch's global generator, which a resumed run must continue exactly:
    Cora, GCN with dropout 0.5, full graph in batches of 64 training nodes (3 an epoch)."""
    from kgtool.gnn.task import NodeClassificationTask

    config = Config.from_dict({"model": {"name": "gcn"}, "data": {"dataset": "cora", "data_dir": str(shared_data)},
                               "gnn": {"hidden_dim": 8, "dropout": 0.5},
                               "training": {"epochs": 3, "batch_size": 64, "lr": 0.01, "eval_every": 1,
                                            "checkpoint_every": 1, "progress": False}})
    assert_resume_is_exact(config, tmp_path, NodeClassificationTask, 5, "interrupted at epoch 2")


def test_text_encoder_run_resumes_to_identical_parameters(tmp_path):
    """Bitwise on one thread (tests/conftest.py): with several, some encoder backward kernels add
    in an order that varies from run to run (differences of 1e-7)."""
    from kgtool.kge.task import KGETask

    from kgtool.data.registry import load_kg

    text = tmp_path / "text.txt"
    text.write_text("".join(f"{e}\tword{i % 5} thing {i % 7}\n" for i, e in enumerate(load_kg("umls").entities)))
    config = small_config(model={"name": "distmult", "dim": 8}, data={"dataset": "umls"},
                          training={"epochs": 2, "checkpoint_every": 1, "batch_size": 1024},
                          encoders={"text": str(text), "text_encoder": "transformer", "dim": 8})
    assert_resume_is_exact(config, tmp_path, KGETask, 8, "interrupted at epoch 2")


def test_resume_before_the_first_checkpoint_starts_from_the_saved_config(tmp_path):
    """A run killed before its first checkpoint left config.yaml (and maybe log lines): --resume
    runs it from the start with that config, not the caller's."""
    config = small_config(training={"epochs": 2})
    reference = kgtool.fit(config, output=tmp_path / "reference")
    folder = RunFolder(tmp_path / "killed")
    folder.create()
    folder.save_config(config)
    folder.append_log({"epoch": 1, "loss": 9.9})
    resumed = kgtool.fit(None, output=tmp_path / "killed", resume=True)
    assert_same_parameters(parameters(tmp_path / "reference"), parameters(tmp_path / "killed"))
    assert resumed.metrics["test"] == reference.metrics["test"]
    assert epochs_logged(tmp_path / "killed") == [1, 2]


def test_best_model_is_kept_on_the_cpu_and_validation_is_ranked_once_at_the_end(tmp_path, monkeypatch):
    from kgtool.kge.task import KGETask

    splits, original = [], KGETask.evaluate
    monkeypatch.setattr(KGETask, "evaluate", lambda self, split: splits.append(split) or original(self, split))
    run = kgtool.fit(small_config(training={"epochs": 3, "eval_every": 1}), output=tmp_path / "run")
    assert splits == ["valid", "valid", "valid", "test"]  # one validation per epoch, then the test split
    assert run.metrics["valid"]["mrr"] == max(json.loads(line)["valid"]["mrr"]
                                              for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines())
    assert "per_relation" in run.metrics["valid"]
    state = RunFolder(tmp_path / "run").load_checkpoint()
    assert state["finished"] and state["best"]["model"] is None  # the final checkpoint holds one copy


def test_killed_process_resumes_from_last_checkpoint(tmp_path):
    """SIGKILL a CLI run after a checkpoint, resume: same parameters as an uninterrupted run."""
    args = ["--model", "transe", "--epochs", "6", "--no-progress", "--set", "training.checkpoint_every=1",
            "--set", "model.dim=16", "--set", "training.eval_every=3"]
    command = [sys.executable, "-m", "kgtool", "fit"]
    subprocess.run(command + args + ["--output", str(tmp_path / "reference")], check=True, cwd=REPO,
                   capture_output=True)
    process = subprocess.Popen(command + args + ["--output", str(tmp_path / "killed")], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "killed" / "log.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.is_file() and len(log.read_text().splitlines()) >= 2):
        time.sleep(0.05)
    process.kill()
    process.wait()
    assert RunFolder(tmp_path / "killed").load_checkpoint()["finished"] is False
    done = subprocess.run(command + ["--resume", "--output", str(tmp_path / "killed"), "--no-progress"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert_same_parameters(parameters(tmp_path / "reference"), parameters(tmp_path / "killed"))
    assert epochs_logged(tmp_path / "killed") == epochs_logged(tmp_path / "reference") == [1, 2, 3, 4, 5, 6]


def test_nan_loss_stops_with_clear_error_and_keeps_checkpoint(tmp_path, monkeypatch):
    """The 26th batch (epoch 2, batch 5 of 21) returns NaN: the run stops, epoch 1's checkpoint stays."""
    from kgtool.kge.task import KGETask

    original, calls = KGETask.loss, []

    def nan_from_batch_26(self, ids, generator):
        calls.append(1)
        loss = original(self, ids, generator)
        return loss * float("nan") if len(calls) >= 26 else loss

    monkeypatch.setattr(KGETask, "loss", nan_from_batch_26)
    config = small_config(training={"epochs": 3, "checkpoint_every": 1, "eval_every": 10})
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 2, batch 5.*checkpoint.*is kept"):
        kgtool.fit(config, output=tmp_path / "bad")
    state = RunFolder(tmp_path / "bad").load_checkpoint()
    assert state["epoch"] == 1 and all(torch.isfinite(v).all() for v in state["model"].values())


def test_an_update_beyond_float32_stops_with_clear_error_and_keeps_checkpoint(tmp_path):
    """The step scheduler multiplies the lr by 1e300 after epoch 1: Adam's first update of epoch 2 overflows."""
    config = small_config(training={"epochs": 3, "checkpoint_every": 1, "eval_every": 10, "lr_scheduler": "step",
                                    "lr_step_size": 1, "lr_gamma": 1e300})
    with pytest.raises(TrainingError, match=r"update overflowed float32 at epoch 2, batch 1; .*checkpoint.*is kept"):
        kgtool.fit(config, output=tmp_path / "bad")
    state = RunFolder(tmp_path / "bad").load_checkpoint()
    assert state["epoch"] == 1 and all(torch.isfinite(v).all() for v in state["model"].values())


def test_parameters_made_infinite_without_an_error_stop_before_the_checkpoint(tmp_path, monkeypatch):
    """CUDA's foreach optimizers overflow to inf silently; with one batch an epoch no later loss would tell."""
    from kgtool import training

    def silently_overflowing_adagrad(model, config):
        return torch.optim.Adagrad(model.parameters(), lr=config.training.lr, foreach=True)

    monkeypatch.setattr(training, "build_optimizer", silently_overflowing_adagrad)
    config = small_config(training={"epochs": 3, "checkpoint_every": 1, "eval_every": 10, "batch_size": 10**6,
                                    "lr_scheduler": "step", "lr_step_size": 1, "lr_gamma": 1e300})
    with pytest.raises(TrainingError, match=r"parameters became non-finite at epoch 2, batch 1; .*checkpoint.*is kept"):
        kgtool.fit(config, output=tmp_path / "bad")
    state = RunFolder(tmp_path / "bad").load_checkpoint()
    assert state["epoch"] == 1 and all(torch.isfinite(v).all() for v in state["model"].values())


def test_best_validated_model_is_kept_and_early_stopping(tmp_path):
    config = small_config(training={"epochs": 30, "eval_every": 1, "patience": 2, "lr": 0.5})  # lr too high: valid MRR stalls
    run = kgtool.fit(config, output=tmp_path / "run")
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    valid = [record["valid"]["mrr"] for record in log]
    best_epoch = max(range(len(valid)), key=valid.__getitem__) + 1
    assert len(log) < 30 and len(log) == best_epoch + 2  # stopped after 2 validations without improvement
    assert run.metrics["best_epoch"] == best_epoch
    assert run.metrics["valid"]["mrr"] == pytest.approx(max(valid))


def test_output_folder_with_a_run_is_not_overwritten(tmp_path):
    config = small_config(training={"epochs": 1})
    kgtool.fit(config, output=tmp_path / "run")
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    with pytest.raises(ConfigError, match="already holds a run"):
        kgtool.fit(config, output=tmp_path / "run")
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == before
    with pytest.raises(CheckpointError, match="empty holds no run"):
        kgtool.fit(config, output=tmp_path / "empty", resume=True)


def test_load_round_trip_and_corrupt_checkpoint(tmp_path):
    run = kgtool.fit(small_config(), output=tmp_path / "run")
    loaded = kgtool.load(tmp_path / "run")
    triples = run.dataset.test[:5]
    assert torch.allclose(loaded.model.score_hrt(triples), run.model.score_hrt(triples))
    assert loaded.evaluate("test")["mrr"] == pytest.approx(run.metrics["test"]["mrr"])
    (tmp_path / "run" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint .*checkpoint.pt"):
        kgtool.load(tmp_path / "run")


def test_on_validation_hears_each_validation_and_can_stop_training(tmp_path):
    """The callback gets the logged valid MRR of each validation; StopTraining ends the run like early
    stopping (best model kept, checkpoint finished); test=False skips the test split."""
    from kgtool.training import StopTraining

    heard = []

    def on_validation(epoch, value):
        heard.append((epoch, value))
        if epoch == 2:
            raise StopTraining("enough")

    config = small_config(training={"epochs": 5, "eval_every": 1, "patience": 0})
    run = kgtool.fit(config, output=tmp_path / "run", test=False, on_validation=on_validation)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert heard == [(r["epoch"], r["valid"]["mrr"]) for r in log] and len(log) == 2
    assert log[-1]["stopped"] == "enough" and "stopped" not in log[0]
    assert "test" not in run.metrics and run.metrics["valid"]["mrr"] == pytest.approx(max(v for _, v in heard), abs=1e-6)
    state = RunFolder(tmp_path / "run").load_checkpoint()
    assert state["finished"] and state["epoch"] == 2


def test_tensorboard_scalars_follow_the_log_also_after_a_resume(tmp_path):
    """Loss and validation MRR per epoch as TensorBoard scalars, equal to log.jsonl's; a resume
    drops the events of epochs it runs again, so each epoch has one value."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from kgtool.kge.task import KGETask

    config = small_config(training={"epochs": 3, "checkpoint_every": 1, "tensorboard": True})
    with interrupted_at_call(KGETask, 30), pytest.raises(KeyboardInterrupt):
        kgtool.fit(config, output=tmp_path / "run")
    kgtool.fit(None, output=tmp_path / "run", resume=True)
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    for tag, values in (("train/loss", [r["loss"] for r in log]), ("valid/mrr", [r["valid"]["mrr"] for r in log])):
        scalars = events.Scalars(tag)
        assert [s.step for s in scalars] == [1, 2, 3]
        assert [s.value for s in scalars] == pytest.approx(values)


def test_tensorboard_without_its_extra_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # imports of it now fail
    with pytest.raises(ConfigError, match=r"training.trackers: tensorboard needs .*pip install .kgtool-ml\[tensorboard\]."):
        kgtool.fit(small_config(training={"epochs": 1, "tensorboard": True}), output=tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_public_step_updates_the_model_once_and_refuses_a_non_finite_loss(monkeypatch):
    """Trainer.step is what benchmarks time: one loss, backward and optimizer step."""
    from kgtool.kge.task import KGETask
    from kgtool.training import Trainer
    from tests.conftest import random_dataset

    config = small_config()
    task = KGETask(config, random_dataset())
    trainer = Trainer(task, config)
    before = task.model.entity_embeddings.weight.detach().clone()
    loss = trainer.step(torch.arange(32))
    assert loss > 0 and not torch.equal(before, task.model.entity_embeddings.weight)
    monkeypatch.setattr(KGETask, "loss", lambda self, ids, generator: torch.tensor(float("inf"), requires_grad=True))
    after = task.model.entity_embeddings.weight.detach().clone()
    with pytest.raises(TrainingError, match="loss became inf"):
        trainer.step(torch.arange(32))
    assert torch.equal(after, task.model.entity_embeddings.weight)


@pytest.mark.parametrize("device", ["cuda", "cuda:3", "mps"])
def test_a_device_this_machine_lacks_is_a_config_error_before_any_folder(tmp_path, monkeypatch, device):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a machine with a GPU
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    config = small_config(training={"device": device})
    with pytest.raises(ConfigError, match=rf"training.device={device} is not available here \(available: cpu\)"):
        kgtool.fit(config, output=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("terminal", [True, False])
def test_a_progress_bar_only_on_a_terminal_else_a_line_per_epoch(terminal, tmp_path, capsys, caplog, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)  # capsys's stderr, as a pipe or a log file is
    with caplog.at_level("INFO", logger="kgtool"):
        kgtool.fit(small_config(training={"epochs": 2, "progress": True}), output=tmp_path / "run")
    assert ("batch/s" in capsys.readouterr().err) == terminal
    assert [r.getMessage().split(":")[0] for r in caplog.records if r.getMessage().startswith("epoch ")] == \
        ["epoch 1", "epoch 2"]


def test_run_repr_is_one_short_line(tmp_path):
    run = kgtool.fit(small_config(training={"epochs": 1}), output=tmp_path / "run")
    assert repr(run) == (f"Run(model='rotate', dataset='umls', path='{tmp_path / 'run'}', "
                         f"test_mrr={run.metrics['test']['mrr']:.4g})")
