"""No path of the development machines appears in the README or the docs: they say `--data-dir
DIR` or `$KGTOOL_DATA`."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MACHINE_PATHS = re.compile(r"shared/data|/work/|/root/|/home/\w")


def test_readme_and_docs_name_no_machine_paths():
    pages = [ROOT / "README.md", ROOT / "mkdocs.yml", *sorted((ROOT / "docs").rglob("*.md")),
             *sorted((ROOT / "examples").glob("*.py"))]
    found = [f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
             for page in pages for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
             if MACHINE_PATHS.search(line)]
    assert not found, "\n".join(found)
