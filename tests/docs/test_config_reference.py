"""The generated configuration reference lists every option of every section kgtool.config composes."""

import dataclasses
import importlib.util
from pathlib import Path

from kgtool.config import MODEL_DEFAULTS, Config

ROOT = Path(__file__).resolve().parents[2]


def reference_module():
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "docs" / "config_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_field_is_listed_with_its_default_and_comment():
    module = reference_module()
    text = module.config_reference()
    for section in dataclasses.fields(Config):
        comments = module.field_comments(section.default_factory)
        for field in dataclasses.fields(section.default_factory):
            row = next((line for line in text.splitlines() if line.startswith(f"| `{section.name}.{field.name}` |")), None)
            assert row is not None, f"{section.name}.{field.name} is missing from the reference"
            assert comments[field.name], f"{section.name}.{field.name} has no comment beside its declaration"
            assert module.cell(comments[field.name]) in row
    for model in MODEL_DEFAULTS:
        assert f"| `{model}` |" in text


def test_comments_above_a_field_are_joined():
    module = reference_module()
    assert module.field_comments(type(Config().training))["batch_size"].startswith("positive triples (or (h, r) queries")
    assert "rotate" in module.field_comments(type(Config().gnn))["decoder"]


def test_the_hook_replaces_the_marker():
    module = reference_module()
    page = module.on_page_markdown(f"# Configuration\n\n{module.MARKER}\n")
    assert module.MARKER not in page and "`training.lr`" in page
    assert module.MARKER in (ROOT / "docs" / "guide" / "configuration.md").read_text()
