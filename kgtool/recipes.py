"""The shipped YAML files, addressed by name: run recipes (``umls/complex``) and search spaces
(``distmult``).

They live in the checkout's top-level ``configs/`` folder, which the wheel installs as
``kgtool/configs`` (pyproject.toml), so a name means the same file in a checkout and after
``pip install``. A path to an existing file is always taken as it is.
"""

from __future__ import annotations

from pathlib import Path

from kgtool.errors import ConfigError
from kgtool.names import did_you_mean

SPACES = "search"  # the folder of configs/ that holds the search spaces; every other one holds run recipes


def configs_folder() -> Path:
    """``kgtool/configs`` of an installed wheel, else the checkout's ``configs/``."""
    package = Path(__file__).resolve().parent
    installed = package / "configs"
    return installed if installed.is_dir() else package.parent / "configs"


def recipe_names() -> list[str]:
    """Names of the run recipes, e.g. ``umls/complex``, sorted."""
    root = configs_folder()
    return sorted(_name(path, root) for path in root.glob("*/*.yaml") if path.parent.name != SPACES)


def space_names() -> list[str]:
    """Names of the search spaces, e.g. ``distmult`` (``kgtool search --space NAME``), sorted."""
    root = configs_folder() / SPACES
    return sorted(_name(path, root) for path in root.glob("*.yaml"))


def recipe_path(name_or_path: str | Path) -> Path:
    """A run recipe's file: an existing file as it is, else the recipe of that name
    (``umls/complex``; ``configs/umls/complex.yaml`` names the same one)."""
    return _find(name_or_path, configs_folder(), recipe_names(), "config", ("configs/",))


def space_path(name_or_path: str | Path) -> Path:
    """A search space's file: an existing file as it is, else the space of that name
    (``distmult``; ``configs/search/distmult.yaml`` names the same one)."""
    return _find(name_or_path, configs_folder() / SPACES, space_names(), "search space",
                 (f"configs/{SPACES}/", f"{SPACES}/"))


def describe(path: Path) -> str:
    """The first line of the file's leading comment, without the ``#``."""
    first = path.read_text().splitlines()[:1]
    return first[0].lstrip("# ").strip() if first and first[0].startswith("#") else ""


def _find(name_or_path: str | Path, root: Path, names: list[str], kind: str, prefixes: tuple[str, ...]) -> Path:
    """An existing file, else ``root/<name>.yaml`` for the name left after one of ``prefixes``
    and the suffix, so the checkout-relative paths of the README work from anywhere."""
    given = Path(name_or_path).expanduser()
    if given.is_file():
        return given
    name = str(name_or_path).removesuffix(".yaml").removesuffix(".yml")
    name = next((name.removeprefix(p) for p in prefixes if name.startswith(p)), name)
    if name in names:
        return root / f"{name}.yaml"
    raise ConfigError(f"{kind} '{name_or_path}' is neither a file nor a shipped name{did_you_mean(name, names)}; "
                      f"`kgtool configs` lists the names")


def _name(path: Path, root: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix()
