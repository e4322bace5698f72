"""Imports of optional packages that fail with a ConfigError saying what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from kgtool.errors import ConfigError

# The name pip installs kgtool by (pyproject.toml): `kgtool` on the package index is another project.
DISTRIBUTION = "kgtool-ml"


def extra(name: str) -> str:
    """The requirement of one of kgtool's extras, e.g. ``kgtool-ml[plot]``."""
    return f"{DISTRIBUTION}[{name}]"


def import_optional(module: str, needed_by: str, requirement: str) -> ModuleType:
    """``importlib.import_module(module)``, or a ConfigError naming the ``requirement`` (a package,
    or :func:`extra`) that ``needed_by`` needs."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ConfigError(f"{needed_by} needs an optional package: pip install '{requirement}'") from error
