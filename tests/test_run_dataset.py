"""Run folders that work from anywhere and never on the wrong data: absolute locations,
fingerprints, re-pointing moved files, datasets given in memory stored in the run folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import kgtool
from kgtool.data.fingerprint import dataset_fingerprint
from kgtool.data.registry import load_kg
from kgtool.errors import CheckpointError
from tests.conftest import random_dataset, small_config


def copy_of_nations(folder: Path) -> Path:
    """Nations' files as a dataset folder of our own."""
    dataset = load_kg("nations")
    folder.mkdir(parents=True)
    for split, triples in dataset.splits.items():
        lines = [f"{dataset.entities[h]}\t{dataset.relations[r]}\t{dataset.entities[t]}\n" for h, r, t in triples.tolist()]
        (folder / f"{split}.txt").write_text("".join(lines))
    return folder


def fit_on_relative_folder(tmp_path, monkeypatch) -> Path:
    copy_of_nations(tmp_path / "work" / "data" / "nations")
    monkeypatch.chdir(tmp_path / "work")
    kgtool.fit(small_config(data={"dataset": "data/nations"}, training={"epochs": 1}), output="run")
    return tmp_path / "work" / "run"


def test_a_run_on_a_relative_folder_evaluates_from_anywhere_and_never_on_other_files(tmp_path, monkeypatch):
    run = fit_on_relative_folder(tmp_path, monkeypatch)
    recorded = kgtool.load(run).metrics["test"]["mrr"]
    elsewhere = tmp_path / "elsewhere"
    nations = copy_of_nations(elsewhere / "data" / "nations")
    lines = (nations / "test.txt").read_text().splitlines(keepends=True)
    (nations / "test.txt").write_text("".join(lines[:50]))  # the same vocabulary, another test file
    monkeypatch.chdir(elsewhere)
    assert kgtool.load(run).evaluate("test")["mrr"] == pytest.approx(recorded)  # the run's own files
    with pytest.raises(CheckpointError, match=r"trained on other data: .*data/nations.* has fingerprint sha256:"):
        kgtool.load(run, dataset="data/nations")


def test_moved_files_are_found_again_with_dataset_and_their_fingerprint_decides(tmp_path, monkeypatch, capsys):
    from kgtool.cli.main import main

    run = fit_on_relative_folder(tmp_path, monkeypatch)
    shutil.move(tmp_path / "work" / "data", tmp_path / "moved")
    assert main(["evaluate", str(run)]) == 2  # the recorded folder is gone
    assert "nations" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--dataset", str(tmp_path / "moved" / "nations")]) == 0
    assert main(["predict", str(run), "--dataset", str(tmp_path / "moved" / "nations"), "--head", "usa",
                 "--relation", "exports3", "--top", "2", "--filter"]) == 0
    capsys.readouterr()
    (tmp_path / "moved" / "nations" / "train.txt").write_text(
        (tmp_path / "moved" / "nations" / "train.txt").read_text().replace("usa", "brazil", 1))
    assert main(["export", str(run), "--dataset", str(tmp_path / "moved" / "nations")]) == 2
    assert "trained on other data" in capsys.readouterr().err


def test_a_dataset_given_in_memory_is_stored_in_the_run_folder_which_can_move(tmp_path):
    dataset = random_dataset()
    run = kgtool.fit(small_config(training={"epochs": 1}), output=tmp_path / "run", dataset=dataset)
    assert (tmp_path / "run" / "dataset" / "train.txt").is_file()
    assert Path(run.config.data.dataset) == (tmp_path / "run" / "dataset").resolve()
    shutil.move(tmp_path / "run", tmp_path / "moved")
    loaded = kgtool.load(tmp_path / "moved")
    assert dataset_fingerprint(loaded.dataset) == dataset_fingerprint(dataset)
    assert loaded.dataset.name == "random"
    assert loaded.evaluate("test")["mrr"] == pytest.approx(run.metrics["test"]["mrr"])


def test_a_graph_given_in_memory_is_stored_and_loads_again(tmp_path):
    from torch_geometric.data import Data

    g = torch.Generator().manual_seed(0)
    n = 40
    masks = torch.arange(n) % 5
    graph = Data(x=torch.randn(n, 6, generator=g), edge_index=torch.randint(n, (2, 160), generator=g),
                 y=torch.randint(3, (n,), generator=g), train_mask=masks < 3, val_mask=masks == 3, test_mask=masks == 4)
    run = kgtool.fit({"model": {"name": "gcn"}, "training": {"epochs": 3, "progress": False}},
                     output=tmp_path / "run", dataset=graph)
    loaded = kgtool.load(tmp_path / "run")
    assert dataset_fingerprint(loaded.dataset) == dataset_fingerprint(graph)
    assert loaded.evaluate("test")["accuracy"] == pytest.approx(run.metrics["test"]["accuracy"])


def test_fingerprints_ignore_file_form_and_line_order_and_see_one_changed_triple(tmp_path):
    plain = copy_of_nations(tmp_path / "plain")
    crlf = copy_of_nations(tmp_path / "crlf")
    for split in ("train", "valid", "test"):
        (crlf / f"{split}.txt").write_bytes((plain / f"{split}.txt").read_bytes().replace(b"\n", b"\r\n"))
    from kgtool.data.readers import load_folder

    assert dataset_fingerprint(load_folder(plain)) == dataset_fingerprint(load_folder(crlf))
    shuffled = copy_of_nations(tmp_path / "shuffled")
    lines = (shuffled / "train.txt").read_text().splitlines(keepends=True)
    (shuffled / "train.txt").write_text("".join(reversed(lines)))
    assert dataset_fingerprint(load_folder(shuffled)) == dataset_fingerprint(load_folder(plain))
    assert dataset_fingerprint(load_folder(plain)) == dataset_fingerprint(load_kg("nations"))
    lines = (plain / "valid.txt").read_text().splitlines(keepends=True)
    (plain / "valid.txt").write_text("".join(lines[1:]))
    assert dataset_fingerprint(load_folder(plain)) != dataset_fingerprint(load_kg("nations"))


@pytest.mark.parametrize("in_memory", [False, True])
def test_a_run_that_dropped_duplicates_loads_on_its_own_files(tmp_path, in_memory):
    """The run records the fingerprint of the data it trained on, duplicates dropped; loading
    drops them the same way before comparing."""
    folder = copy_of_nations(tmp_path / "nations")
    with open(folder / "test.txt", "a") as test:
        test.write((folder / "train.txt").read_text().splitlines(keepends=True)[0])  # a train triple again
    config = small_config(data={"dataset": str(folder), "drop_duplicates": True}, training={"epochs": 1})
    given = load_kg(str(folder)) if in_memory else None
    run = kgtool.fit(config, output=tmp_path / "run", dataset=given)
    assert len(run.dataset.test) == len(load_kg("nations").test)
    loaded = kgtool.load(tmp_path / "run")
    assert loaded.evaluate("test")["mrr"] == pytest.approx(run.metrics["test"]["mrr"])


def test_a_registered_name_in_another_spelling_is_not_taken_for_a_folder_of_that_name(tmp_path, monkeypatch):
    from kgtool.run_dataset import absolute_data_paths

    monkeypatch.chdir(tmp_path)
    (tmp_path / "FB15k-237").mkdir()  # the loader reads the registered fb15k237, so the saved config must name it
    assert absolute_data_paths(small_config(data={"dataset": "FB15k-237"})).data.dataset == "FB15k-237"


def test_a_run_given_in_memory_and_killed_before_its_first_checkpoint_keeps_its_stored_data(tmp_path, monkeypatch):
    """Its resume starts the run again from the saved config: the record of the stored copy stays,
    so the finished run still loads from its own folder."""
    from kgtool.kge.task import KGETask
    from kgtool.run_folder import RunFolder

    calls, original = {"n": 0}, KGETask.loss

    def killed_in_epoch_one(self, ids, generator):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")  # as a kill: no checkpoint is written
        return original(self, ids, generator)

    monkeypatch.setattr(KGETask, "loss", killed_in_epoch_one)
    config = small_config(training={"epochs": 1, "batch_size": 64})
    (tmp_path / "run").mkdir()  # there before, so kept with what the killed run wrote, as after a kill -9
    with pytest.raises(KeyboardInterrupt):
        kgtool.fit(config, output=tmp_path / "run", dataset=random_dataset())
    monkeypatch.setattr(KGETask, "loss", original)
    assert not RunFolder(tmp_path / "run").has_checkpoint()
    kgtool.fit(None, output=tmp_path / "run", resume=True)
    assert RunFolder(tmp_path / "run").load_json(tmp_path / "run" / "dataset.json")["stored"] == "dataset"
    shutil.move(tmp_path / "run", tmp_path / "moved")
    assert kgtool.load(tmp_path / "moved").dataset.name == "random"
