"""What every ``kgtool`` command shares: help with defaults and examples, ``-q``/``-v``, and
model names in any common spelling."""

from __future__ import annotations

import argparse
import logging

from kgtool.config import model_name
from kgtool.errors import ConfigError


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks, and appends each option's default unless it is unset
    (None, False, an empty list) or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == []
        if not action.option_strings or "default" in text or unset or action.default is argparse.SUPPRESS:
            return text
        return f"{text} (default: %(default)s)"


def verbosity_options(defaults: bool) -> argparse.ArgumentParser:
    """``-q`` and ``-v``, for the main parser (``defaults``) and each command (no defaults, so a
    command's parser keeps what was given before the command's name)."""
    parser = argparse.ArgumentParser(add_help=False)
    given = {} if defaults else {"default": argparse.SUPPRESS}
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only", **given)
    group.add_argument("-v", "--verbose", action="store_true", help="debug messages too", **given)
    return parser


def log_level(args: argparse.Namespace) -> int:
    """WARNING for ``--quiet``, DEBUG for ``--verbose``, else INFO (a line per epoch)."""
    return logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO


def add_command(commands, name: str, summary: str, examples: str, description: str | None = None):
    """A command's parser: ``summary`` in ``kgtool --help``, ``examples`` (lines of ``kgtool ...``)
    at the end of its own ``--help``."""
    return commands.add_parser(name, help=summary, description=description or summary,
                               epilog="examples:\n" + examples.rstrip(), formatter_class=HelpFormatter,
                               parents=[verbosity_options(defaults=False)])


def model_choice(text: str) -> str:
    """argparse ``type`` of ``--model``: ``TransE``, ``GraphSAGE`` etc. as kgtool's names."""
    try:
        return model_name(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
