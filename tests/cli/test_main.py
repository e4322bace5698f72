"""The kgtool command: each verb end to end, and one-line errors with a non-zero exit."""

import json
import subprocess
import sys

import pytest
import torch

from kgtool.cli.main import main
from tests.conftest import REPO

FAST = ["--epochs", "1", "--no-progress", "--set", "model.dim=8", "--set", "training.num_negatives=4"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "run"
    assert main(["fit", "--model", "distmult", "--dataset", "umls", "--output", str(path)] + FAST) == 0
    return path


def test_fit_writes_the_run_folder(run_dir, capsys):
    for name in ("config.yaml", "checkpoint.pt", "metrics.json", "log.jsonl"):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for split in ("valid", "test"):
        block = metrics[split]
        assert {"mrr", "mr", "hits@1", "hits@3", "hits@10", "head", "tail", "optimistic", "pessimistic"} <= block.keys()
        assert block["optimistic"]["mrr"] >= block["mrr"] >= block["pessimistic"]["mrr"]
        assert block["head"].keys() == block["tail"].keys() == {"mrr", "mr", "hits@1", "hits@3", "hits@10"}
    assert "model:\n  name: distmult" in (run_dir / "config.yaml").read_text()


def test_evaluate_reprints_the_saved_metrics(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--split", "valid"]) == 0
    out = capsys.readouterr().out
    saved = json.loads((run_dir / "metrics.json").read_text())["valid"]["mrr"]
    assert f"{saved:.4f}" in out.splitlines()[1]


def test_predict_ranks_tails_and_heads(run_dir, capsys):
    assert main(["predict", str(run_dir), "--head", "acquired_abnormality", "--relation", "location_of", "--top", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "(acquired_abnormality, location_of, ?)" and len(lines) == 5
    scores = [float(line.split()[1]) for line in lines[2:]]
    assert scores == sorted(scores, reverse=True)
    assert main(["predict", str(run_dir), "--tail", "virus", "--relation", "location_of", "--top", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_datasets_lists_sizes(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "umls" in out and "5,216" in out and "fb15k237" in out


@pytest.mark.parametrize("argv, message", [
    (["fit", "--set", "training.lr=abc"], "training.lr must be float"),
    (["fit", "--dataset", "/no/such/folder"], "neither a known name"),
    (["fit", "--set", "bogus=1"], "--set 'bogus': unknown key"),
    (["fit", "--resume"], "--resume needs --output"),
    (["evaluate", "/no/such/run"], "is not a run folder"),
])
def test_errors_are_one_line_with_nonzero_exit(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kgtool: error: ") and message in err and "\n" not in err


def test_unknown_entity_and_corrupt_checkpoint(run_dir, tmp_path, capsys):
    assert main(["predict", str(run_dir), "--head", "nonexistent", "--relation", "location_of"]) == 2
    assert "unknown entity 'nonexistent'" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.yaml").write_text((run_dir / "config.yaml").read_text())
    (broken / "checkpoint.pt").write_bytes((run_dir / "checkpoint.pt").read_bytes()[:100])
    assert main(["evaluate", str(broken)]) == 2
    assert "cannot read checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("saved, held", [(torch.zeros(3), "a Tensor"), ({"model": [1]}, "a dict without model weights")])
def test_a_checkpoint_that_is_no_kgtool_state_is_one_line_everywhere(run_dir, tmp_path, capsys, saved, held):
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "config.yaml").write_text((run_dir / "config.yaml").read_text())
    torch.save(saved, folder / "checkpoint.pt")
    for argv in (["evaluate", str(folder)], ["predict", str(folder), "--head", "cell", "--relation", "location_of"],
                 ["export", str(folder), "--output", str(tmp_path / "export")],
                 ["fit", "--resume", "--output", str(folder)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err == f"kgtool: error: {folder / 'checkpoint.pt'} holds {held}, not a kgtool checkpoint", argv


def test_an_output_where_no_folder_can_be_made_is_one_line(run_dir, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    fit = ["fit", "--model", "distmult", "--dataset", "nations"] + FAST
    for argv, message in [(fit + ["--output", str(blocker)], f"the run folder {blocker} is a file, not a folder"),
                          (fit + ["--output", str(blocker / "run")], f"cannot create the run folder {blocker / 'run'}: "),
                          (["export", str(run_dir), "--output", str(blocker)],
                           f"the export folder {blocker} is a file, not a folder"),
                          (["export", str(run_dir), "--output", str(blocker / "x")],
                           f"cannot create the export folder {blocker / 'x'}: ")]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"kgtool: error: {message}") and "\n" not in err, err
    assert blocker.read_text() == "mine"


def test_unknown_model_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--model", "bogus"])
    assert exit_info.value.code == 2 and "unknown model 'bogus'" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command():
    done = subprocess.run([sys.executable, "-m", "kgtool", "datasets"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and "kinships" in done.stdout


@pytest.mark.parametrize("sampler", ["full", "neighbor"])
def test_gnn_fit_and_evaluate_on_cora(tmp_path, shared_data, sampler, capsys):
    output = tmp_path / sampler
    argv = ["fit", "--model", "sage", "--dataset", "cora", "--data-dir", str(shared_data), "--sampler", sampler,
            "--fanout", "5,5", "--batch-size", "64", "--epochs", "10", "--no-progress", "--output", str(output)]
    assert main(argv) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    # 30 steps reach 0.67 (full) and 0.73 (neighbor); the most frequent class alone scores 0.32
    assert set(metrics["test"]) == {"accuracy"} and metrics["test"]["accuracy"] > 0.55
    assert "gnn:\n  hidden_dim: 64" in (output / "config.yaml").read_text()  # the model's paper defaults
    capsys.readouterr()
    assert main(["evaluate", str(output)]) == 0
    assert f"{metrics['test']['accuracy']:.4f}" in capsys.readouterr().out


def test_fit_with_text_and_an_encoder_then_evaluate(tmp_path, capsys):
    from kgtool.data.inductive import write_folder
    from tests.conftest import random_dataset

    dataset = random_dataset()
    write_folder(dataset, tmp_path / "kg")
    (tmp_path / "text.txt").write_text("".join(f"{e}\tabout {e} and more\n" for e in dataset.entities[::2]))
    output = tmp_path / "run"
    assert main(["fit", "--model", "rotate", "--dataset", str(tmp_path / "kg"), "--text", str(tmp_path / "text.txt"),
                 "--text-encoder", "transformer", "--set", "encoders.dim=8", "--output", str(output)] + FAST) == 0
    assert "text_encoder: transformer" in (output / "config.yaml").read_text()
    saved = json.loads((output / "metrics.json").read_text())["test"]["mrr"]
    capsys.readouterr()
    assert main(["evaluate", str(output)]) == 0
    assert f"{saved:.4f}" in capsys.readouterr().out


def test_fit_a_gcn_on_images(tmp_path, capsys):
    import numpy as np

    folder, images = tmp_path / "graph", tmp_path / "images"
    folder.mkdir(), images.mkdir()
    (folder / "nodes.csv").write_text("id,label\n" + "".join(f"n{i},{i % 2}\n" for i in range(10)))
    (folder / "edges.csv").write_text("source,target\n" + "".join(f"n{i},n{(i + 2) % 10}\n" for i in range(10)))
    for i in range(9):  # node 9 has no image
        np.save(images / f"{i}.npy", np.full((6, 6), i % 2, dtype=np.uint8) * 255)
    output = tmp_path / "run"
    assert main(["fit", "--model", "gcn", "--dataset", str(folder), "--images", str(images), "--image-encoder", "cnn",
                 "--epochs", "2", "--no-progress", "--output", str(output)]) == 0
    assert "accuracy" in capsys.readouterr().out
    (images / "x.npy").write_bytes(b"")
    assert main(["fit", "--model", "gcn", "--dataset", str(folder), "--images", str(images), "--image-encoder", "cnn",
                 "--epochs", "1", "--no-progress", "--output", str(tmp_path / "bad")]) == 2
    assert "unknown id 'x'" in capsys.readouterr().err
