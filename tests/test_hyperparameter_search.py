"""kgtool search: trials as run folders, resume, failing and pruned trials, best.yaml, errors."""

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

import kgtool
from kgtool import hyperparameter_search
from kgtool.cli.main import main
from kgtool.run_folder import RunFolder
from tests.conftest import REPO

needs_optuna = pytest.mark.skipif(importlib.util.find_spec("optuna") is None,
                                  reason="optuna (the [search] extra, also in [test]) is missing")

TINY = """\
model.dim: {type: int, low: 4, high: 16}
training.lr: {type: float, low: 1e-3, high: 1e-1, log: true}
training.num_negatives: 4
training.epochs: 2
training.eval_every: 1
"""


def read_table(path):
    with open(path / "trials.tsv") as table:
        return list(csv.DictReader(table, delimiter="\t"))


def search_argv(space, output, trials):
    return ["search", "--model", "distmult", "--dataset", "nations", "--space", str(space), "--trials", str(trials),
            "--output", str(output)]


@pytest.fixture(scope="module")
def three_trials(tmp_path_factory):
    """A 3-trial search on Nations through the command, and what it printed."""
    root = tmp_path_factory.mktemp("search")
    (root / "space.yaml").write_text(TINY)
    assert main(search_argv(root / "space.yaml", root / "out", 3)) == 0
    return root


@needs_optuna
def test_three_trials_end_to_end(three_trials):
    out = three_trials / "out"
    rows = read_table(out)
    assert [r["trial"] for r in rows] == ["0", "1", "2"] and {r["state"] for r in rows} == {"COMPLETE"}
    for row in rows:
        folder = RunFolder(out / "trials" / f"{int(row['trial']):04d}")
        config = folder.load_config()
        assert (config.model.dim, config.training.lr) == (int(row["model.dim"]), float(row["training.lr"]))
        metrics = folder.load_metrics()
        assert "test" not in metrics  # trials select on validation only
        assert metrics["valid"]["mrr"] == pytest.approx(float(row["valid_mrr"]))
        assert row["epochs"] == "2" and float(row["seconds"]) > 0
    best_row = max(rows, key=lambda r: float(r["valid_mrr"]))
    best = json.loads((out / "best.json").read_text())
    assert best["trial"] == int(best_row["trial"]) and best["params"]["model.dim"] == int(best_row["model.dim"])
    # the test metrics are those of the best trial's model, recomputed from its checkpoint
    assert best["test"]["mrr"] == pytest.approx(kgtool.load(best["folder"]).evaluate("test")["mrr"], abs=1e-6)
    assert best["valid"]["mrr"] == pytest.approx(float(best_row["valid_mrr"]))
    assert yaml.safe_load((out / "best.yaml").read_text())["model"] == {"name": "distmult", "dim": best["params"]["model.dim"]}
    for plot in ("optimization_history.png", "param_importances.png"):
        assert (out / plot).read_bytes()[:4] == b"\x89PNG"


@needs_optuna
def test_best_yaml_reproduces_the_best_trial_with_fit(three_trials, tmp_path, capsys):
    out = three_trials / "out"
    best = json.loads((out / "best.json").read_text())
    assert main(["fit", "--config", str(out / "best.yaml"), "--output", str(tmp_path / "again"), "--no-progress"]) == 0
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["valid"]["mrr"] == pytest.approx(best["valid"]["mrr"], abs=1e-6)
    assert again["test"]["mrr"] == pytest.approx(best["test"]["mrr"], abs=1e-6)


@needs_optuna
def test_rerun_with_more_trials_keeps_the_three_and_adds_two(three_trials, capsys):
    """Runs after the two tests above, which read the 3-trial state."""
    out = three_trials / "out"
    before = read_table(out)
    stamps = {p: p.stat().st_mtime_ns for p in (out / "trials").glob("*/checkpoint.pt")}
    assert main(search_argv(three_trials / "space.yaml", out, 5)) == 0
    after = read_table(out)
    assert after[:3] == before and [r["trial"] for r in after] == ["0", "1", "2", "3", "4"]
    assert {r["state"] for r in after} == {"COMPLETE"}
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # the first three were not trained again
    assert sorted(p.name for p in (out / "trials").iterdir()) == ["0000", "0001", "0002", "0003", "0004"]
    assert main(search_argv(three_trials / "space.yaml", out, 5)) == 0  # nothing left to do
    assert len(read_table(out)) == 5


@needs_optuna
def test_failing_trials_are_recorded_and_the_study_goes_on(tmp_path):
    """lr 1e30 makes the loss NaN; sparse gradients with weight decay is a combination the config refuses.
    The first three trials are enqueued (one of each outcome), the other three sampled."""
    space = tmp_path / "space.yaml"
    space.write_text("model.dim: 8\ntraining.lr: {choices: [0.01, 1.0e+30]}\ntraining.sparse: {choices: [true, false]}\n"
                     "training.weight_decay: {choices: [0.0, 0.01]}\ntraining.num_negatives: 4\n"
                     "training.epochs: 1\ntraining.eval_every: 1\n")
    (tmp_path / "out").mkdir()
    import optuna

    study = optuna.create_study(study_name="nations-distmult", storage=f"sqlite:///{tmp_path / 'out' / 'study.db'}")
    for lr, sparse, decay in [(1e30, False, 0.0), (0.01, True, 0.01), (0.01, False, 0.01)]:
        study.enqueue_trial({"training.lr": lr, "training.sparse": sparse, "training.weight_decay": decay})
    result = kgtool.search("distmult", "nations", space=space, trials=6, output=tmp_path / "out")
    rows = read_table(tmp_path / "out")
    assert len(rows) == 6 and len(result.study.trials) == 6
    assert [r["state"] for r in rows[:3]] == ["FAIL", "FAIL", "COMPLETE"]
    for row in rows:
        if row["training.sparse"] == "True" and float(row["training.weight_decay"]) > 0:
            assert row["state"] == "FAIL" and row["reason"].startswith("ConfigError: ")
            assert "training.sparse does not work with training.weight_decay" in row["reason"]
        elif float(row["training.lr"]) > 1:
            assert row["state"] == "FAIL" and row["reason"].startswith("TrainingError: loss became")
        else:
            assert row["state"] == "COMPLETE" and row["reason"] == "" and float(row["valid_mrr"]) > 0
    assert result.best["trial"] in {int(r["trial"]) for r in rows if r["state"] == "COMPLETE"}


@needs_optuna
def test_a_killed_trial_does_not_use_up_one_of_the_trials(tmp_path):
    """A killed trial ends failed without a reason (its heartbeat stopped: the slow test below); the search
    still ends with --trials trials that ran, while trials failed by their values count (above)."""
    import optuna

    (tmp_path / "space.yaml").write_text(TINY)
    (tmp_path / "out").mkdir()
    study = optuna.create_study(study_name="nations-distmult", storage=f"sqlite:///{tmp_path / 'out' / 'study.db'}",
                                direction="maximize")
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    kgtool.search("distmult", "nations", space=tmp_path / "space.yaml", trials=2, output=tmp_path / "out")
    assert [r["state"] for r in read_table(tmp_path / "out")] == ["FAIL", "COMPLETE", "COMPLETE"]


@needs_optuna
def test_pruned_trials_leave_consistent_run_folders(tmp_path):
    """A pruner that stops every trial at its first validation: each folder is a finished run of one epoch."""
    space = tmp_path / "space.yaml"
    space.write_text(TINY.replace("training.epochs: 2", "training.epochs: 4"))
    import optuna

    result = kgtool.search("distmult", "nations", space=space, trials=2, output=tmp_path / "out",
                           pruner=optuna.pruners.ThresholdPruner(lower=1.5))
    assert result.best is None and not (tmp_path / "out" / "best.json").exists()
    for row in read_table(tmp_path / "out"):
        assert (row["state"], row["epochs"]) == ("PRUNED", "1")
        folder = RunFolder(tmp_path / "out" / "trials" / f"{int(row['trial']):04d}")
        state = folder.load_checkpoint()
        assert state["finished"] and state["epoch"] == 1
        log = [json.loads(line) for line in folder.log_path.read_text().splitlines()]
        assert len(log) == 1 and log[0]["stopped"] == "pruned by the search's ThresholdPruner"
        saved = folder.load_metrics()
        assert "test" not in saved and saved["valid"]["mrr"] == pytest.approx(float(row["valid_mrr"]))
        assert kgtool.load(folder.path).evaluate("valid")["mrr"] == pytest.approx(saved["valid"]["mrr"], abs=1e-6)


@needs_optuna
@pytest.mark.parametrize("text, extra, message", [
    ("training.lrr: 1\n", [], "space.yaml: unknown key 'training.lrr'"),
    ("training.lr: {type: float, low: 0.1, high: 1e-3}\n", [], "space.yaml: training.lr: low must be below high"),
    ("training.lr: {type: float, low: 1e-4, high: 1e-1}\n", ["--set", "training.lr=0.1"],
     "training.lr is searched by"),
])
def test_bad_space_file_is_a_one_line_error(tmp_path, capsys, text, extra, message):
    (tmp_path / "space.yaml").write_text(text)
    assert main(search_argv(tmp_path / "space.yaml", tmp_path / "out", 1) + extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kgtool: error: ") and message in err and "\n" not in err


@needs_optuna
def test_a_study_of_another_space_or_settings_is_not_mixed_into(three_trials, capsys):
    """Runs after the resume test: the study holds 5 trials."""
    (three_trials / "other.yaml").write_text(TINY.replace("high: 16", "high: 32"))
    assert main(search_argv(three_trials / "other.yaml", three_trials / "out", 6)) == 2
    assert "was made with other searched ranges" in capsys.readouterr().err
    argv = search_argv(three_trials / "space.yaml", three_trials / "out", 5)
    assert main(argv + ["--set", "training.epochs=3"]) == 2
    assert "was made with other fixed values" in capsys.readouterr().err
    assert main(argv + ["--set", "training.device=cpu"]) == 0  # a machine's own device or data folder may differ
    assert len(read_table(three_trials / "out")) == 5


def test_without_optuna_the_error_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    (tmp_path / "space.yaml").write_text(TINY)
    assert main(search_argv(tmp_path / "space.yaml", tmp_path / "out", 1)) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'kgtool-ml[search]'" in err and "\n" not in err


@needs_optuna
def test_no_trial_starts_after_the_timeout(tmp_path):
    (tmp_path / "space.yaml").write_text(TINY)
    result = kgtool.search("distmult", "nations", space=tmp_path / "space.yaml", trials=10, timeout=1e-9,
                           output=tmp_path / "out")
    assert result.best is None and result.study.trials == [] and read_table(tmp_path / "out") == []


@needs_optuna
@pytest.mark.slow
def test_two_workers_share_the_study(tmp_path):
    (tmp_path / "space.yaml").write_text(TINY)
    result = kgtool.search("distmult", "nations", space=tmp_path / "space.yaml", trials=4, output=tmp_path / "out",
                           workers=2)
    rows = read_table(tmp_path / "out")
    # a worker may start one more trial in the instant the other one starts the last
    assert [r["trial"] for r in rows] == [str(n) for n in range(len(rows))] and len(rows) in (4, 5)
    assert {r["state"] for r in rows} == {"COMPLETE"}
    assert len({(r["model.dim"], r["training.lr"]) for r in rows}) == len(rows)  # the workers' samplers differ
    assert len(list((tmp_path / "out" / "trials").iterdir())) == len(rows)
    assert result.best["test"] is not None


@needs_optuna
@pytest.mark.slow
def test_a_killed_trial_is_failed_once_its_heartbeat_stops(tmp_path, monkeypatch):
    (tmp_path / "space.yaml").write_text(TINY.replace("training.epochs: 2", "training.epochs: 100000"))
    argv = search_argv(tmp_path / "space.yaml", tmp_path / "out", 1)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "kgtool", *argv], env=env, stderr=subprocess.DEVNULL)
    log = tmp_path / "out" / "trials" / "0000" / "log.jsonl"
    while not log.is_file():
        assert process.poll() is None
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    monkeypatch.setattr(hyperparameter_search, "HEARTBEAT_SECONDS", 1)  # stale after > 2 s without a heartbeat
    import optuna

    prune_at_first_validation = optuna.pruners.ThresholdPruner(lower=1.5)
    monkeypatch.setattr(hyperparameter_search, "build_pruner", lambda pruner, optuna: prune_at_first_validation)
    # SQLite's clock (CURRENT_TIMESTAMP, which Optuna reads for heartbeats) has whole seconds: a real gap of 2.5 s
    # may read as 2, which is not past the 2-second grace. 3.5 s always reads as 3 or more.
    time.sleep(3.5)
    assert main(argv) == 0  # the dead trial is marked failed and does not count: one more trial runs
    killed, replacement = read_table(tmp_path / "out")
    assert killed["state"] == "FAIL" and "heartbeat stopped" in killed["reason"]
    assert (replacement["state"], replacement["epochs"]) == ("PRUNED", "1")
