"""benchmarks/_harness.py: the common arguments, and the phase timing of ``Trainer.step``."""

import argparse

import pytest
import torch
from _harness import add_data_dir, parse, time_steps

from kgtool.config import resolve_config
from kgtool.kge.task import KGETask
from kgtool.training import Trainer
from tests.conftest import random_dataset


def small_trainer() -> Trainer:
    config = resolve_config({"model": {"name": "transe", "dim": 8},
                             "training": {"num_negatives": 4, "batch_size": 32, "device": "cpu", "progress": False}})
    torch.manual_seed(0)
    return Trainer(KGETask(config, random_dataset()), config)


def test_time_steps_times_each_phase_of_trainer_steps():
    batches = torch.arange(96).split(32)
    trainer, twin = small_trainer(), small_trainer()
    timed = time_steps(trainer, batches, warmup=1)
    assert timed["losses"] == [twin.step(ids) for ids in batches][1:]  # the trainer's own steps, first untimed
    assert set(timed["seconds"]) == {"loss", "backward", "step"} and min(timed["seconds"].values()) > 0
    # the hooks are gone: stepping on times nothing and changes nothing
    assert not trainer.step_loss._forward_pre_hooks and not trainer.step_loss._forward_hooks
    assert not trainer.optimizer._optimizer_step_pre_hooks and not trainer.optimizer._optimizer_step_post_hooks
    assert trainer.step(batches[0]) == twin.step(batches[0])


def test_data_dir_defaults_to_kgtool_data(monkeypatch, capsys):
    monkeypatch.setenv("KGTOOL_DATA", "/data/kg")
    parser = argparse.ArgumentParser()
    add_data_dir(parser, required=True)
    assert parse(parser, []).data_dir == "/data/kg"
    assert parse(parser, ["--data-dir", "elsewhere"]).data_dir == "elsewhere"
    monkeypatch.delenv("KGTOOL_DATA")
    parser = argparse.ArgumentParser()
    add_data_dir(parser, required=True)
    with pytest.raises(SystemExit) as exit:
        parse(parser, [])
    assert exit.value.code == 2 and "--data-dir" in capsys.readouterr().err
    parser = argparse.ArgumentParser()
    add_data_dir(parser)
    assert parse(parser, []).data_dir is None  # kgtool then downloads, as without the benchmark
