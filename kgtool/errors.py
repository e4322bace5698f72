"""The one exception family of kgtool.

Every error a user can cause (bad file, unknown name, bad value, NaN loss, unreadable checkpoint)
is a :class:`KGToolError` whose message names the thing and the place at fault. The CLI prints
the message on one line and exits non-zero; library users can catch the family.
"""

from typing import Any

QUOTE_LIMIT = 200  # characters of a value an error message quotes: a hostile value must not make a 39 MB line


def quoted(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters."""
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4300 digits refuses to print (sys.get_int_max_str_digits)
        text = f"<{type(value).__name__} too long to print>"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


class KGToolError(Exception):
    """Base class of all errors kgtool raises on purpose."""


class DataError(KGToolError):
    """A dataset, file or graph is missing, malformed or inconsistent."""


class ConfigError(KGToolError):
    """A configuration key or value is unknown or invalid."""


class CheckpointError(KGToolError):
    """A run folder or checkpoint is missing, unreadable or does not match its config."""


class TrainingError(KGToolError):
    """Training cannot go on (for example, the loss became NaN or infinite)."""

