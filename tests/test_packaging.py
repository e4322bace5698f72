"""The wheel as users get it: built from the checkout, installed into a fresh virtual environment
outside it, and run from another directory (slow: about a minute)."""

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import kgtool
from kgtool.optional import DISTRIBUTION
from tests.conftest import REPO


def test_the_distribution_name_is_the_one_hints_name():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION and project["dynamic"] == ["version"]


def test_the_citation_names_the_version():
    import yaml

    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert str(citation["version"]) == kgtool.__version__ and citation["license"] == "MIT"


def build_wheel(folder: Path) -> Path:
    """The wheel of a copy of the checkout: setuptools builds in the source tree, and files left
    in an old build/ folder would end up in the wheel. No build isolation: the installed
    setuptools builds it, with no download."""
    source = folder / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "runs", "*.egg-info", "__pycache__", ".pytest_cache", ".venv"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w",
                    str(folder), str(source)], check=True, capture_output=True)
    return next(folder.glob("kgtool_ml-*.whl"))


def check_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = f"kgtool_ml-{kgtool.__version__}.dist-info"
    for name in ["kgtool/py.typed", "kgtool/cli/main.py", "kgtool/configs/umls/complex.yaml",
                 "kgtool/configs/search/distmult.yaml", f"{dist_info}/licenses/LICENSE"]:
        assert name in names, name
    assert {name.split("/")[0] for name in names} == {"kgtool", dist_info}  # no top-level cli/ or configs/
    shipped = {n for n in names if n.startswith("kgtool/configs/")}
    assert shipped == {f"kgtool/{p.relative_to(REPO).as_posix()}" for p in (REPO / "configs").rglob("*.yaml")}
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    assert f"Name: {DISTRIBUTION}\n" in metadata and f"Version: {kgtool.__version__}\n" in metadata


def install(wheel: Path, folder: Path) -> Path:
    """A virtual environment that reuses the installed dependencies, with the wheel's kgtool in it."""
    venv.create(folder, system_site_packages=True, with_pip=True)
    python = folder / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", "--quiet",
                    str(wheel)], check=True, capture_output=True)
    return folder / "bin"


@pytest.mark.slow
def test_the_wheel_runs_from_another_directory(tmp_path):
    wheel = build_wheel(tmp_path / "dist")
    check_contents(wheel)
    bin_dir = install(wheel, tmp_path / "venv")
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing of the checkout on the path

    def run(*argv: str) -> str:
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stderr[-2000:]}"
        return done.stdout

    where = run(str(bin_dir / "python"), "-c", "import kgtool, kgtool.cli, kgtool.recipes as r; "
                "print(kgtool.__file__, kgtool.cli.__file__, r.configs_folder())")
    assert all(Path(path).is_relative_to(tmp_path / "venv") for path in where.split()), where
    kgtool_command = str(bin_dir / "kgtool")
    assert run(kgtool_command, "--version").strip() == f"kgtool {kgtool.__version__}"
    small = ["--dim", "8", "--set", "training.num_negatives=4"]
    run(kgtool_command, "fit", "--model", "rotate", "--epochs", "2", "--output", "rotate", *small)
    run(kgtool_command, "fit", "--config", "umls/complex", "--epochs", "1", "--output", "complex", *small[:2])
    out = run(kgtool_command, "search", "--model", "distmult", "--dataset", "nations", "--trials", "2", "--output",
              "search", "--set", "training.epochs=2", "--set", "training.eval_every=1")
    assert "best trial" in out
    answers = run(kgtool_command, "predict", "rotate", "--head", "virus", "--relation", "causes", "--top", "3")
    assert answers.splitlines()[0] == "(virus, causes, ?)" and len(answers.splitlines()) == 5
    exported = run(kgtool_command, "export", "complex").split()
    assert {Path(path).name for path in exported} >= {"entities.tsv", "relations.tsv"}
    assert (work / "complex" / "export" / "entities.tsv").is_file()


def test_every_package_of_the_library_is_listed_for_the_wheel():
    """pyproject.toml lists the packages by hand; one left out (kgtool.sharding was) is missing
    from every installed copy, while a checkout still imports it."""
    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(path.parent.relative_to(REPO).parts) for path in (REPO / "kgtool").rglob("__init__.py")}
    assert on_disk - {"kgtool.cli"} <= listed
