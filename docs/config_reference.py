"""The configuration reference, generated from the options dataclasses that ``kgtool.config`` composes.

Every option of every section is listed with its type, its default and the comment written beside
it (or on the lines just above it) in the source, so the reference cannot drift from the code.
An mkdocs hook (``hooks:`` in mkdocs.yml) puts the tables where a page says ``<!-- config-reference -->``;
``python docs/config_reference.py`` prints them.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import tokenize
import typing

from kgtool import config as config_module
from kgtool.config import Config

MARKER = "<!-- config-reference -->"


def sections() -> list[tuple[str, type]]:
    """``(section name, its dataclass)`` for each field of :class:`Config`, in source order."""
    return [(field.name, field.default_factory) for field in dataclasses.fields(Config)]


def field_comments(cls: type) -> dict[str, str]:
    """The comment of each field of ``cls``: the ``# ...`` after it on its line, else the comment
    lines right above it, joined; fields a dataclass inherits (``training``: the loop's and the
    KGE objective's options) have their comments in the class that declares them."""
    result = {}
    for declaring in reversed(cls.__mro__):
        if dataclasses.is_dataclass(declaring):
            result.update(_declared_comments(declaring, {field.name for field in dataclasses.fields(cls)}))
    return result


def _declared_comments(cls: type, names: set[str]) -> dict[str, str]:
    """The comments of the fields among ``names`` that the body of ``cls`` declares."""
    lines, _ = inspect.getsourcelines(cls)
    comments = {}  # line index -> comment text
    tokens = tokenize.generate_tokens(io.StringIO("".join(lines)).readline)
    for token in tokens:
        if token.type == tokenize.COMMENT:
            comments[token.start[0] - 1] = token.string.lstrip("#").strip()
    result = {}
    for index, line in enumerate(lines):
        name = line.strip().split(":", 1)[0]
        if name not in names or name in result:
            continue
        if index in comments and not line.strip().startswith("#"):
            result[name] = comments[index]
            continue
        above = []
        while index - 1 - len(above) >= 0 and lines[index - 1 - len(above)].strip().startswith("#"):
            above.insert(0, comments[index - 1 - len(above)])
        result[name] = " ".join(above)
    return result


def type_name(annotation) -> str:
    """``Optional[int]`` as ``int | None``, ``list[str]`` as is."""
    if isinstance(annotation, str):
        return annotation
    if typing.get_origin(annotation) is typing.Union:
        return " | ".join(type_name(arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    if typing.get_origin(annotation) is not None:
        return str(annotation).replace("typing.", "")
    return annotation.__name__


def default_text(field: dataclasses.Field) -> str:
    if field.default_factory is not dataclasses.MISSING:
        return repr(field.default_factory())
    return repr(field.default)


def cell(text: str) -> str:
    """Text fit for one table cell: pipes escaped."""
    return text.replace("|", "\\|")


def section_table(name: str, cls: type) -> str:
    comments = field_comments(cls)
    hints = typing.get_type_hints(cls)
    rows = [f"### `{name}`", ""]
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):  # dataclasses invent a signature
        rows += [inspect.cleandoc(cls.__doc__), ""]
    rows += ["| option | type | default | meaning |", "|---|---|---|---|"]
    for field in dataclasses.fields(cls):
        rows.append(f"| `{name}.{field.name}` | `{cell(type_name(hints[field.name]))}` "
                    f"| `{cell(default_text(field))}` | {cell(comments[field.name])} |")
    return "\n".join(rows)


def flat(values: dict, prefix: str = "") -> list[str]:
    """``{"training": {"lr": 0.01}}`` -> ``["training.lr=0.01"]``."""
    if not isinstance(values, dict):
        return [f"{prefix}={values}"]
    return [item for key, value in values.items() for item in flat(value, f"{prefix}.{key}" if prefix else key)]


def model_defaults_table() -> str:
    """The defaults a model brings beneath the user's values (``MODEL_DEFAULTS``)."""
    rows = ["### Model defaults", "",
            "A model's own defaults replace the ones above, beneath your config, flags and `--set`:", "",
            "| model | its defaults |", "|---|---|"]
    for model, values in config_module.MODEL_DEFAULTS.items():
        rows.append(f"| `{model}` | {', '.join(f'`{item}`' for item in flat(values))} |")
    return "\n".join(rows)


def config_reference() -> str:
    """Markdown tables of every option, one section each, then the models' own defaults."""
    intro = ("Generated from the options dataclasses each family declares beside its code (`kgtool/kge/options.py`, "
             "`kgtool/gnn/options.py`, …), composed by `kgtool/config.py`, and the comments beside their fields, "
             "by `docs/config_reference.py` when the docs are built.")
    tables = [section_table(name, cls) for name, cls in sections()]
    return "\n\n".join([intro, *tables, model_defaults_table()])


def on_page_markdown(markdown: str, **kwargs) -> str:
    """mkdocs hook: the reference in place of the marker."""
    return markdown.replace(MARKER, config_reference())


if __name__ == "__main__":
    print(config_reference())
