"""The ``kgtool`` command line, installed as ``kgtool.cli`` (see pyproject.toml)."""
