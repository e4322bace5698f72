"""Imports of optional packages that fail with a ConfigError saying what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from kgtool.errors import ConfigError


def import_optional(module: str, needed_by: str, pip_name: str) -> ModuleType:
    """``importlib.import_module(module)``, or a ConfigError naming the package ``needed_by`` needs."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ConfigError(f"{needed_by} needs the optional package {pip_name!r} (pip install {pip_name})") from error
