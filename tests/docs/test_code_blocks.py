"""The code blocks of README.md and of the docs run, page by page, on tiny settings."""

from pathlib import Path

import pytest

import kgtool
from tests.docs.code_blocks import RUNNABLE, code_blocks, run_blocks, shell_commands, tiny_fit

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def runnable(page: Path) -> bool:
    return any(block.language in RUNNABLE and not block.skip for block in code_blocks(page))


@pytest.mark.parametrize("page", [p for p in PAGES if runnable(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KGTOOL_DATA", raising=False)
    monkeypatch.setattr(kgtool, "fit", tiny_fit(kgtool.fit))
    run_blocks(code_blocks(page), {"__name__": "__docs__"})


def test_skipped_blocks_say_why():
    """Every skip marker gives a reason, and few blocks are skipped."""
    blocks = [block for page in PAGES for block in code_blocks(page) if block.language in RUNNABLE]
    skipped = [block for block in blocks if block.skip]
    assert all(block.skip.strip() for block in skipped)
    assert len(skipped) < len(blocks) / 2, [block.where for block in skipped]


def test_reading_blocks(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n\n```bash\nkgtool fit \\\n    --model rotate  # comment\n# only a comment\n"
                    "pip install x && kgtool datasets\n```\n\n<!-- skip: needs a GPU -->\n```python\nx = 1\n```\n"
                    "- item\n\n    ```yaml\n    a: 1\n    ```\n")
    bash, python, yaml = code_blocks(page)
    assert (bash.language, bash.line, bash.skip) == ("bash", 3, None)
    assert shell_commands(bash.code) == ["kgtool fit --model rotate  # comment", "pip install x", "kgtool datasets"]
    assert (python.skip, python.code) == ("needs a GPU", "x = 1\n")
    assert yaml.code == "a: 1\n"
