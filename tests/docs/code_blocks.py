"""Fenced code blocks of Markdown files, and a runner that executes them on tiny settings.

A page's ``python`` and ``bash`` blocks run in order in one folder, sharing one namespace, as a
reader would type them. ``kgtool`` command lines run in this process through the CLI's ``main``
(no interpreter start per command); ``pip install`` lines are left out (the test environment has
the packages); other shell lines run in bash. Training is cut to a couple of epochs and small
widths by wrapping :func:`kgtool.fit`, so the commands stay as a user types them.

A block preceded by ``<!-- skip: reason -->`` is not run: it needs a GPU, a download, several
machines or hours. Blocks in other languages (``yaml``, ``text``) are never run.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

FENCE = re.compile(r"^(\s*)```(\w*)")
SKIP = re.compile(r"<!--\s*skip:\s*(.+?)\s*-->")
RUNNABLE = ("python", "bash")
TINY = {"epochs": 2, "dim": 16, "width": 16, "hidden_dim": 8}  # caps on the settings of every fit


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    skip: str | None  # the reason given in a skip marker, if any

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with their language and skip marker."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        indent, language, start = len(fence.group(1)), fence.group(2), index
        body = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith("```"):
            body.append(lines[index][indent:])
            index += 1
        index += 1
        previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        marker = SKIP.search(previous)
        blocks.append(Block(path, start + 1, language, "\n".join(body) + "\n", marker.group(1) if marker else None))
    return blocks


def shell_commands(code: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, split at ``&&``, blank and
    comment-only lines left out."""
    joined = re.sub(r"\s*\\\n\s*", " ", code)
    commands = []
    for line in joined.splitlines():
        for command in line.split(" && "):
            if command.strip() and not command.strip().startswith("#"):
                commands.append(command.strip())
    return commands


def tiny_config(config):
    """``config`` (a Config, dict or YAML path) with epochs and widths capped by ``TINY``."""
    from kgtool.run import as_config

    config = as_config(config)
    cap = lambda section, key: {key: min(getattr(section, key), TINY[key])}  # noqa: E731
    return replace(config,
                   training=replace(config.training, **cap(config.training, "epochs")),
                   model=replace(config.model, **cap(config.model, "dim")),
                   relational=replace(config.relational, **cap(config.relational, "width")),
                   gnn=replace(config.gnn, **cap(config.gnn, "hidden_dim")),
                   encoders=replace(config.encoders, dim=min(config.encoders.dim, TINY["dim"])))


def tiny_resume(changes):
    """A resume's changes with more epochs cut to one more than a tiny run's."""
    if isinstance(changes, dict) and "epochs" in changes.get("training", {}):
        training = {**changes["training"], "epochs": min(changes["training"]["epochs"], TINY["epochs"] + 1)}
        return {**changes, "training": training}
    return changes


def tiny_fit(real_fit):
    """:func:`kgtool.fit` on tiny settings; a resume trains at most one epoch more."""
    def fit(config=None, output=None, resume=False, **kwargs):
        config = tiny_resume(config) if resume else tiny_config(config)
        return real_fit(config, output=output, resume=resume, **kwargs)
    return fit


def run_shell(command: str, block: Block) -> None:
    from kgtool.cli.main import main

    words = shlex.split(command, comments=True)
    if words[:2] == ["pip", "install"]:
        return
    if words[:3] == ["python", "-m", "kgtool"]:
        words = ["kgtool", *words[3:]]
    if words[0] == "kgtool":
        try:
            code = main(words[1:])
        except SystemExit as exit:  # --help and argparse errors
            code = exit.code
        assert code == 0, f"{block.where}: `{command}` exited with {code}"
        return
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    assert done.returncode == 0, f"{block.where}: `{command}` failed: {done.stderr[-2000:]}"


def run_blocks(blocks: list[Block], namespace: dict) -> None:
    """Run the runnable blocks in order: python into ``namespace``, bash command by command."""
    for block in blocks:
        if block.skip or block.language not in RUNNABLE:
            continue
        if block.language == "python":
            exec(compile(block.code, block.where, "exec"), namespace)
        else:
            for command in shell_commands(block.code):
                run_shell(command, block)
