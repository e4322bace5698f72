"""kgtool.fit and kgtool.load: resolved configs, resume changes, inference-ready models, no half-made folders."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

import kgtool
from kgtool.data.registry import load_kg
from kgtool.errors import ConfigError, KGToolError
from kgtool.run_folder import RunFolder
from tests.conftest import small_config


def brute_force_mrr(model, dataset, split: str = "test") -> float:
    """Filtered realistic MRR of ``split`` through the public scoring calls, one query at a time."""
    known = {tuple(t) for t in dataset.all_triples().tolist()}
    reciprocal_ranks = []
    for h, r, t in dataset.splits[split].tolist():
        for scores, answer, is_known in (
                (model.score_tails(torch.tensor([h]), torch.tensor([r]))[0], t, lambda e: (h, r, e) in known),
                (model.score_heads(torch.tensor([r]), torch.tensor([t]))[0], h, lambda e: (e, r, t) in known)):
            scores = scores.detach()
            others = torch.tensor([e != answer and not is_known(e) for e in range(len(scores))])
            true = scores[answer]
            optimistic = 1 + int((scores[others] > true).sum())
            pessimistic = 1 + int((scores[others] >= true).sum())
            reciprocal_ranks.append(2 / (optimistic + pessimistic))
    return sum(reciprocal_ranks) / len(reciprocal_ranks)


def text_file(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("".join(f"{e}\tword{i % 5} thing {i % 7}\n" for i, e in enumerate(load_kg("nations").entities)))
    return str(path)


REPRESENTATIONS = {
    "table": {},
    "rgcn": {"relational": {"encoder": "rgcn", "layers": 1, "width": 8, "dropout": 0.5}},
    "compgcn": {"relational": {"encoder": "compgcn", "layers": 1, "width": 8, "dropout": 0.5}},
    "text": {"encoders": {"text_encoder": "transformer", "dim": 8}},
}


@pytest.mark.parametrize("representation", REPRESENTATIONS)
def test_finished_and_loaded_runs_score_deterministically_as_their_metrics_say(tmp_path, representation):
    sections = {k: dict(v) for k, v in REPRESENTATIONS[representation].items()}
    if representation == "text":
        sections["encoders"]["text"] = text_file(tmp_path)
    config = small_config(model={"name": "distmult", "dim": 8}, data={"dataset": "nations"},
                          training={"epochs": 1}, **sections)
    run = kgtool.fit(config, output=tmp_path / "run")
    loaded = kgtool.load(tmp_path / "run")
    for model in (run.model, loaded.model):
        assert not model.training
        heads, relations = run.dataset.test[:4, 0], run.dataset.test[:4, 1]
        assert torch.equal(model.score_tails(heads, relations), model.score_tails(heads, relations))
    recorded = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]["mrr"]
    assert brute_force_mrr(loaded.model, loaded.dataset) == pytest.approx(recorded, abs=1e-4)
    assert brute_force_mrr(run.model, run.dataset) == pytest.approx(recorded, abs=1e-4)


def test_saved_config_holds_the_values_chosen_at_run_time(tmp_path):
    kgtool.fit(small_config(model={"name": "transe", "init_scale": None}, data={"dataset": "nations"},
                            training={"batch_size": None, "filter_negatives": None, "device": "auto", "epochs": 1}),
               output=tmp_path / "run")
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["training"]["device"] == "cpu"
    assert saved["training"]["batch_size"] == 512
    assert saved["training"]["filter_negatives"] is True
    assert saved["model"]["init_scale"] == pytest.approx((9.0 + 2) / 16)


def test_resume_trains_on_for_more_epochs_and_refuses_what_cannot_change(tmp_path):
    config = small_config(data={"dataset": "nations"}, training={"epochs": 2, "eval_every": 1})
    kgtool.fit(config, output=tmp_path / "run")
    with pytest.raises(ConfigError, match=r"cannot change model.dim \(16 -> 32\), training.lr .*when resuming"):
        kgtool.fit({"model": {"dim": 32}, "training": {"lr": 0.1}}, output=tmp_path / "run", resume=True)
    resumed = kgtool.fit({"training": {"epochs": 4}}, output=tmp_path / "run", resume=True)
    log = [json.loads(line)["epoch"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert log == [1, 2, 3, 4]
    assert resumed.config.training.epochs == 4
    assert RunFolder(tmp_path / "run").load_config().training.epochs == 4
    assert RunFolder(tmp_path / "run").load_checkpoint()["epoch"] == 4


def test_cli_resume_with_more_epochs_trains_on_and_refuses_other_flags(tmp_path, capsys):
    from kgtool.cli.main import main

    base = ["fit", "--model", "transe", "--dataset", "nations", "--no-progress", "--set", "model.dim=8",
            "--output", str(tmp_path / "run")]
    assert main(base + ["--epochs", "1"]) == 0
    assert main(["fit", "--resume", "--output", str(tmp_path / "run"), "--set", "model.dim=50"]) == 2
    assert "cannot change model.dim (8 -> 50)" in capsys.readouterr().err
    assert main(["fit", "--resume", "--output", str(tmp_path / "run"), "--epochs", "3"]) == 0
    assert RunFolder(tmp_path / "run").load_checkpoint()["epoch"] == 3


def test_a_run_that_fails_before_its_first_epoch_leaves_no_folder(tmp_path, monkeypatch):
    from kgtool.kge.task import KGETask

    def broken(self, ids, generator):
        raise KGToolError("broken on purpose")

    monkeypatch.setattr(KGETask, "loss", broken)
    with pytest.raises(KGToolError, match="broken on purpose"):
        kgtool.fit(small_config(data={"dataset": "nations"}), output=tmp_path / "new")
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my notes")
    with pytest.raises(KGToolError, match="broken on purpose"):
        kgtool.fit(small_config(data={"dataset": "nations"}), output=tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "my notes"


def test_resume_runs_on_the_saved_device_or_refuses_in_one_line(tmp_path, monkeypatch):
    kgtool.fit(small_config(data={"dataset": "nations"}, training={"epochs": 1}), output=tmp_path / "run")
    folder = RunFolder(tmp_path / "run")
    saved = folder.config_path.read_text()
    assert "device: cpu" in saved
    folder.config_path.write_text(saved.replace("device: cpu", "device: cuda"))  # as written on a GPU machine
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"training.device=cuda is not available here"):
        kgtool.fit({"training": {"epochs": 2}}, output=tmp_path / "run", resume=True)
    resumed = kgtool.fit({"training": {"epochs": 2, "device": "cpu"}}, output=tmp_path / "run", resume=True)
    assert resumed.config.training.device == "cpu" and folder.load_checkpoint()["epoch"] == 2


def test_default_run_folders_of_the_same_second_do_not_collide(tmp_path, monkeypatch):
    from kgtool.run import default_output

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("time.strftime", lambda pattern: "20261206-120000")
    config = small_config(data={"dataset": "nations"})
    first = default_output(config)
    first.mkdir(parents=True)
    assert first.name == "nations-rotate-20261206-120000"
    assert default_output(config).name == "nations-rotate-20261206-120000-2"
