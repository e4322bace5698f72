"""Every script in benchmarks/ starts (``--help``), takes its shared pieces from ``_harness``, trains
through ``Trainer.step``, and imports only packages that ``pip install -e ".[bench]"`` installs."""

import ast
import importlib
import re
import sys

import pytest

from tests.benchmarks.conftest import BENCHMARKS
from tests.conftest import REPO

SCRIPTS = sorted(path.stem for path in BENCHMARKS.glob("*.py") if path.stem != "_harness")
# loops that are not kgtool's: TorchKGE's model trained as TorchKGE trains it; the sharded
# table's and DDP's bare steps on a synthetic KG, timed and measured without a task around them
OWN_TRAINING_LOOPS = {"vs_pykeen", "sharded"}
DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml"}  # import name: distribution, where they differ


def tree(script: str) -> ast.Module:
    return ast.parse((BENCHMARKS / f"{script}.py").read_text())


def imported_modules(script: str) -> set[str]:
    """Top-level names of every module the script imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(tree(script)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("script", SCRIPTS)
def test_starts_and_shows_its_help(script, monkeypatch, capsys):
    module = importlib.import_module(script)
    monkeypatch.setattr(sys, "argv", [f"{script}.py", "--help"])
    with pytest.raises(SystemExit) as exit:
        module.main()
    assert exit.value.code == 0 and capsys.readouterr().out.startswith("usage:")


@pytest.mark.parametrize("script", SCRIPTS)
def test_takes_shared_pieces_from_the_harness(script):
    body = tree(script)
    assert "_harness" in imported_modules(script)
    assert not imported_modules(script) & {"machine", "platform", "resource"}, "machine facts belong to _harness"
    assert not [n for n in ast.walk(body) if isinstance(n, ast.Attribute) and n.attr == "path"
                and isinstance(n.value, ast.Name) and n.value.id == "sys"], "kgtool is installed; no sys.path patches"
    imported = {alias.name for node in ast.walk(body) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert "build_optimizer" not in imported and "time_training_steps" not in imported
    if script not in OWN_TRAINING_LOOPS:
        calls = {n.func.attr for n in ast.walk(body) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
        assert "backward" not in calls, "a training step is kgtool.training.Trainer.step"


def test_bench_extra_lists_every_package_a_benchmark_imports():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {re.match(r"[A-Za-z0-9_.-]+", requirement).group().lower().replace("_", "-")
                for requirement in project["dependencies"] + project["optional-dependencies"]["bench"]}
    local = set(SCRIPTS) | {"_harness", "kgtool"}
    imported = set().union(*(imported_modules(script) for script in SCRIPTS + ["_harness"]))
    third_party = {DISTRIBUTIONS.get(name, name.replace("_", "-")) for name in imported - local
                   if name not in sys.stdlib_module_names}
    assert third_party - declared == set()
