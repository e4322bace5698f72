"""The one exception family of kgtool.

Every error a user can cause (bad file, unknown name, bad value, NaN loss, unreadable checkpoint)
is a :class:`KGToolError` whose message names the thing and the place at fault. The CLI prints
the message on one line and exits non-zero; library users can catch the family.
"""


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

