"""The checks every family's options use: one-line ConfigErrors that name the option.

Each family declares its options as a dataclass beside its code, with a ``validate()`` made of
these checks (:mod:`kgtool.kge.options`, :mod:`kgtool.gnn.options`, …); :mod:`kgtool.config`
composes the sections and checks what spans several of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kgtool.errors import ConfigError, quoted
from kgtool.names import did_you_mean

MAX_SEED = 2**64 - 1  # torch.manual_seed takes seeds in [0, MAX_SEED]
FLOAT32_MAX = 3.4028234663852886e38  # parameters and scores are float32: a margin or scale beyond is inf


def choice(name: str, value: Any, allowed: Iterable) -> None:
    """Refuse a ``value`` of option ``name`` that is not one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}; got {quoted(value)}"
                          f"{did_you_mean(value, allowed)}")


def at_least_one(section: str, **values: int | None) -> None:
    """Refuse a count below 1 among ``values`` (``None`` means "not set" and passes)."""
    for key, value in values.items():
        if value is not None and value < 1:
            raise ConfigError(f"{section}.{key} must be at least 1, got {quoted(value)}")


def probabilities(section: str, **values: float) -> None:
    """Refuse a rate outside ``[0, 1)`` (dropout, smoothing)."""
    for key, value in values.items():
        if not 0 <= value < 1:
            raise ConfigError(f"{section}.{key} must be in [0, 1), got {quoted(value)}")


def parse_fanout(text: str) -> list[int]:
    """``"15,10"`` -> ``[15, 10]``: neighbours per node at each hop, -1 for all."""
    try:
        fanout = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"fanout {quoted(text)} must be comma-separated integers, e.g. 15,10") from None
    if any(k == 0 or k < -1 for k in fanout):
        raise ValueError(f"fanout {quoted(text)}: each entry must be positive or -1 (all neighbours)")
    return fanout


def fanout_option(section: str, text: str | None) -> list[int] | None:
    """The fanout option ``section.fanout`` as neighbours per hop (None stays None), or a
    ConfigError naming it."""
    if text is None:
        return None
    try:
        return parse_fanout(text)
    except ValueError as error:
        raise ConfigError(f"{section}.{error}") from None


def check_seed(name: str, seed: int) -> None:
    """Refuse a seed torch cannot take (it would overflow deep inside torch)."""
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{name} must be in [0, 2**64 - 1], the seeds torch takes; got {seed}")
