"""One writer per run folder: the OS lock, unfinished runs never reused, leftovers of kills removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import kgtool
from kgtool.errors import ConfigError
from kgtool.run_folder import RunFolder, RunFolderBusy
from tests.conftest import REPO, small_config


def nations_config(**training):
    return small_config(data={"dataset": "nations"}, training={"epochs": 1, **training})


def test_a_locked_folder_is_refused_with_the_holders_pid_and_nothing_written(tmp_path):
    folder = RunFolder(tmp_path / "run")
    with folder.writer_lock():
        with pytest.raises(RunFolderBusy, match=rf"{folder.path} is in use by another kgtool process \(PID {os.getpid()}\)"):
            kgtool.fit(nations_config(), output=folder.path)
        assert sorted(p.name for p in folder.path.iterdir()) == [".lock"]
    kgtool.fit(nations_config(), output=folder.path)  # released: the folder is free again
    assert folder.has_checkpoint()


def test_two_cli_fits_on_one_folder_the_second_exits_with_one_line(tmp_path):
    """The race of the issue: a second `kgtool fit` on a folder being written is refused, and the
    first run's folder stays whole (evaluate works on it)."""
    command = [sys.executable, "-m", "kgtool", "fit", "--model", "transe", "--dataset", "nations", "--no-progress",
               "--output", str(tmp_path / "race")]
    first = subprocess.Popen(command + ["--epochs", "100000", "--set", "model.dim=8", "--set", "training.batch_size=64"],
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lock = tmp_path / "race" / ".lock"
    deadline = time.time() + 120
    while time.time() < deadline and not (lock.is_file() and lock.read_text().strip()):
        time.sleep(0.05)
    second = subprocess.run(command + ["--epochs", "1", "--set", "model.dim=50"], cwd=REPO, capture_output=True,
                            text=True)
    first.send_signal(signal.SIGINT)  # the first run saves its state and stops
    first.wait(timeout=120)
    assert second.returncode == 2
    assert second.stderr.strip().count("\n") == 0
    assert f"{tmp_path / 'race'} is in use by another kgtool process (PID {first.pid})" in second.stderr
    assert RunFolder(tmp_path / "race").load_config().model.dim == 8


def test_a_lock_left_by_a_killed_process_never_blocks(tmp_path):
    holder = subprocess.run(
        [sys.executable, "-c", "import os, signal, sys\nfrom kgtool.run_folder import RunFolder\n"
                               "with RunFolder(sys.argv[1]).writer_lock(): os.kill(os.getpid(), signal.SIGKILL)",
         str(tmp_path / "run")], cwd=REPO)
    assert holder.returncode == -signal.SIGKILL
    assert (tmp_path / "run" / ".lock").read_text().strip()  # its PID is still written there
    kgtool.fit(nations_config(), output=tmp_path / "run")
    assert RunFolder(tmp_path / "run").has_checkpoint()


@pytest.mark.parametrize("leftover", [["config.yaml", "log.jsonl"], ["config.yaml", "checkpoint.pt"]])
def test_an_unfinished_run_is_never_reused_without_resume(tmp_path, leftover):
    """A killed TransE run (config and log, no checkpoint; or a checkpoint, no metrics) is not
    silently continued by a DistMult fit."""
    kgtool.fit(nations_config(), output=tmp_path / "done")
    killed = tmp_path / "killed"
    killed.mkdir()
    for name in leftover:
        (killed / name).write_bytes((tmp_path / "done" / name).read_bytes())
    before = {name: (killed / name).read_bytes() for name in leftover}
    with pytest.raises(ConfigError, match=r"already holds a run \(unfinished: .*\); pass resume=True"):
        kgtool.fit(small_config(model={"name": "distmult"}, data={"dataset": "nations"}), output=killed)
    assert {name: (killed / name).read_bytes() for name in leftover} == before


def test_the_users_config_file_in_the_output_folder_is_never_overwritten(tmp_path, capsys):
    from kgtool.cli.main import main

    mine = tmp_path / "exp" / "config.yaml"
    mine.parent.mkdir()
    text = "# my experiment: keep this comment\nmodel:\n  name: transe\n  dim: 8\ntraining:\n  epochs: 1\n"
    mine.write_text(text)
    status = main(["fit", "--config", str(mine), "--dataset", "nations", "--no-progress", "--output", str(mine.parent)])
    assert status == 2
    assert "already has a config.yaml" in capsys.readouterr().err
    assert mine.read_text() == text


def test_temporary_files_of_a_killed_write_are_removed_on_the_next_start_and_resume(tmp_path):
    kgtool.fit(nations_config(epochs=1), output=tmp_path / "run")
    leftover = tmp_path / "run" / ".checkpoint.pt.k1ll3d"
    leftover.write_bytes(b"half a checkpoint")
    kgtool.fit({"training": {"epochs": 2}}, output=tmp_path / "run", resume=True)
    assert not leftover.exists()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / ".config.yaml.x7").write_text("half")
    kgtool.fit(nations_config(), output=fresh)
    assert not (fresh / ".config.yaml.x7").exists()


def test_output_naming_a_file_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(kgtool.KGToolError, match="is a file, not a folder"):
        kgtool.fit(nations_config(), output=tmp_path / "file")
    assert (tmp_path / "file").read_text() == "not a folder"
