"""Modules below the run take plain arguments: only the run's own modules import kgtool.config.

The interactions, models, encoders, samplers and representations are built from plain values,
so that they can be used (and tested) without a config; each family's options dataclass turns
a config section into those values (``kgtool/*/options.py``), and :mod:`kgtool.config` composes
the sections. Importing the config from below would also make import cycles with it.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kgtool"
# the run: what reads a whole config to build tasks, train, record, search and plot
THE_RUN = {"__init__.py", "config.py", "run.py", "run_folder.py", "run_dataset.py", "training.py", "tracking.py",
           "hyperparameter_search.py", "search_space.py", "plotting.py", "data/convert.py", "kge/task.py",
           "gnn/task.py", "gnn/link.py", "sharding/task.py", "sharding/training.py"}


def runtime_imports(path: Path) -> set[str]:
    """The modules ``path`` imports outside ``if TYPE_CHECKING:`` blocks."""
    imported = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    return imported


def test_modules_below_the_run_do_not_import_the_config():
    below = [path for path in sorted(PACKAGE.rglob("*.py"))
             if path.relative_to(PACKAGE).as_posix() not in THE_RUN and "cli" not in path.parts]
    assert len(below) > 60  # interactions, models, encoders, samplers, options, ...
    importing = [path.relative_to(PACKAGE).as_posix() for path in below if "kgtool.config" in runtime_imports(path)]
    assert importing == []


def test_a_module_that_imports_the_config_is_found(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kgtool.config import Config\n")
    assert "kgtool.config" not in runtime_imports(module)
    module.write_text("def f():\n    from kgtool import config\n")
    assert "kgtool.config" in runtime_imports(module)
