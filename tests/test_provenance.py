"""provenance.json: versions, command, device and times of each start and resume of a run."""

import importlib.metadata
import json

import kgtool
from tests.conftest import small_config


def test_each_start_and_resume_writes_an_entry(tmp_path):
    kgtool.fit(small_config(data={"dataset": "nations"}, training={"epochs": 1}), output=tmp_path / "run")
    kgtool.fit({"training": {"epochs": 2}}, output=tmp_path / "run", resume=True)
    runs = json.loads((tmp_path / "run" / "provenance.json").read_text())["runs"]
    assert [entry["resumed"] for entry in runs] == [False, True]
    first = runs[0]
    assert first["torch"] == importlib.metadata.version("torch")
    assert first["kgtool"] and first["torch_geometric"] and first["pykeen"] and first["python"]
    assert first["device"] == "cpu" and first["command"]
    assert first["started"] <= first["ended"] <= runs[1]["started"] <= runs[1]["ended"]
    assert first["git_commit"] is None or len(first["git_commit"]) >= 40
