"""Trackers log the numbers of log.jsonl and metrics.json (kgtool/tracking.py); the callbacks of fit."""

import csv
import json
import struct
import sys

import pytest

import kgtool
from kgtool.errors import ConfigError
from kgtool.tracking import epoch_scalars, final_scalars, mlflow_name
from tests.conftest import small_config


def tracked_config(*trackers, **training):
    return small_config(training={"epochs": 3, "eval_every": 2, "trackers": list(trackers), **training})


def logged_numbers(run_folder) -> dict[str, dict[int, float]]:
    """``{name: {epoch: value}}`` of log.jsonl, named as trackers name them."""
    numbers = {}
    for line in (run_folder / "log.jsonl").read_text().splitlines():
        record = json.loads(line)
        for name, value in epoch_scalars(record).items():
            numbers.setdefault(name, {})[record["epoch"]] = value
    return numbers


def final_numbers(run) -> dict[str, float]:
    return final_scalars(json.loads(run.folder.metrics_path.read_text()))


def test_csv_rows_equal_the_log_and_the_metrics(tmp_path):
    run = kgtool.fit(tracked_config("csv"), output=tmp_path / "run")
    with open(tmp_path / "run" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    tracked = {}
    for row in rows:
        tracked.setdefault(row["key"], {})[int(row["epoch"])] = float(row["value"])
    final = {name: values.pop(3) for name, values in tracked.items() if name.startswith("final/")}
    assert {name: values for name, values in tracked.items() if values} == logged_numbers(tmp_path / "run")
    assert final == final_numbers(run) and final["final/test/mrr"] == run.metrics["test"]["mrr"]
    assert set(logged_numbers(tmp_path / "run")["valid/mrr"]) == {2, 3}


def test_callbacks_hear_each_epoch_and_the_finished_run(tmp_path):
    records, runs = [], []
    run = kgtool.fit(tracked_config(), output=tmp_path / "run", on_epoch_end=records.append, on_fit_end=runs.append)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert records == log and runs == [run]


@pytest.mark.parametrize("tracker", ["mlflow", "wandb", "tensorboard"])
def test_a_missing_extra_is_a_one_line_error_before_training(tmp_path, monkeypatch, tracker):
    module = {"tensorboard": "torch.utils.tensorboard"}.get(tracker, tracker)
    monkeypatch.setitem(sys.modules, module, None)  # imports of it now fail
    with pytest.raises(ConfigError, match=rf"^training.trackers: {tracker} needs .*pip install 'kgtool-ml\[{tracker}\]'$"):
        kgtool.fit(tracked_config(tracker), output=tmp_path / "run")
    assert not (tmp_path / "run" / "log.jsonl").exists()


def test_unknown_tracker_names_the_known_ones():
    with pytest.raises(ConfigError, match="training.trackers must be one of tensorboard, mlflow, wandb, csv; got 'neptune'"):
        small_config(training={"trackers": ["neptune"]})


def test_mlflow_store_holds_the_log_the_metrics_and_the_files(tmp_path):
    pytest.importorskip("mlflow", reason="the [mlflow] extra is not installed (pip install 'kgtool-ml[mlflow]')")
    from mlflow.tracking import MlflowClient

    run = kgtool.fit(tracked_config("mlflow"), output=tmp_path / "runs" / "a")
    client = MlflowClient(f"sqlite:///{tmp_path / 'runs' / 'mlflow.db'}")
    run_id = json.loads((tmp_path / "runs" / "a" / "tracking.json").read_text())["mlflow"]
    tracked = client.get_run(run_id)
    assert tracked.info.run_name == "a" and tracked.info.status == "FINISHED"
    assert tracked.data.params["training.epochs"] == "3" and tracked.data.params["model.dim"] == "16"
    for name, values in logged_numbers(tmp_path / "runs" / "a").items():
        history = client.get_metric_history(run_id, mlflow_name(name))
        assert {m.step: m.value for m in history} == values
    final = {mlflow_name(k): v for k, v in final_numbers(run).items()}
    assert {k: v for k, v in tracked.data.metrics.items() if k.startswith("final/")} == final
    assert sorted(a.path for a in client.list_artifacts(run_id)) == ["config.yaml", "metrics.json"]


def wandb_records(run_dir):
    """The history and summary records of a W&B offline run file (its leveldb-style log of
    protobuf records: a 7-byte header, then 32 KiB blocks of chunks, each with a 7-byte header)."""
    from wandb.proto import wandb_internal_pb2

    raw = next(run_dir.glob("run-*.wandb")).read_bytes()
    block, position, chunks, records = 32768, 7, [], []
    while position + 7 <= len(raw):
        if block - position % block < 7:  # a block's tail too short for a header is padding
            position += block - position % block
            continue
        _, length, kind = struct.unpack("<IHB", raw[position:position + 7])
        if length == 0 and kind == 0:
            break
        chunks.append(raw[position + 7:position + 7 + length])
        position += 7 + length
        if kind in (1, 4):  # a full record, or the last chunk of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(chunks))
            records.append(record)
            chunks = []
    return records


def item_name(item) -> str:
    return item.key or "/".join(item.nested_key)


def test_wandb_offline_run_holds_the_log_and_the_metrics(tmp_path, monkeypatch):
    pytest.importorskip("wandb", reason="the [wandb] extra is not installed (pip install 'kgtool-ml[wandb]')")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = kgtool.fit(tracked_config("wandb"), output=tmp_path / "runs" / "a")
    run_id = json.loads((tmp_path / "runs" / "a" / "tracking.json").read_text())["wandb"]
    (run_dir,) = (tmp_path / "runs" / "wandb").glob(f"offline-run-*-{run_id}")
    tracked, summary = {}, {}
    for record in wandb_records(run_dir):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            items = {item_name(item): json.loads(item.value_json) for item in record.history.item}
            for name, value in items.items():
                if not name.startswith("_"):
                    tracked.setdefault(name, {})[items["_step"]] = value
        elif kind == "summary":
            summary.update({item_name(item): json.loads(item.value_json) for item in record.summary.update})
    assert tracked == logged_numbers(tmp_path / "runs" / "a")
    assert {k: v for k, v in summary.items() if k.startswith("final/")} == final_numbers(run)
    assert {"metrics.json", "config.yaml"} <= {p.name for p in (run_dir / "files").iterdir()}


def test_search_logs_each_trial_to_the_trackers(tmp_path):
    pytest.importorskip("optuna")
    space = tmp_path / "space.yaml"
    space.write_text("model.dim: 8\ntraining.lr: {type: float, low: 0.001, high: 0.01, log: true}\n")
    result = kgtool.search("distmult", "nations", space=space, trials=2, output=tmp_path / "search", pruner="none",
                           settings=["training.epochs=2", "training.eval_every=1", "training.trackers=[csv]"])
    for trial in ("0000", "0001"):
        folder = result.path / "trials" / trial
        with open(folder / "metrics.csv", newline="") as f:
            losses = {int(row["epoch"]): float(row["value"]) for row in csv.DictReader(f) if row["key"] == "train/loss"}
        assert losses == logged_numbers(folder)["train/loss"]
