"""A hyperparameter search space: config keys mapped to ranges, choices or fixed values.

A space is a YAML mapping of ``section.key`` (any key of :mod:`kgtool.config`) to one of::

    training.lr: {type: float, low: 1e-4, high: 1e-1, log: true}   # float range, linear or log
    model.dim: {type: int, low: 32, high: 512, log: true}           # integer range (ends included)
    training.optimizer: {choices: [adam, adagrad]}                  # categorical
    training.epochs: 100                                            # fixed value

Numbers may be written in any form Python's ``float`` reads (``1e-4``, which YAML itself leaves
a string, ``1_000``, ``.5``). Every value is checked against the config before the first trial,
so an unknown key, a bad range or a value the config refuses is one error naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgtool.config import Config, coerce_value, merge, read_yaml
from kgtool.errors import ConfigError, quoted


@dataclass(frozen=True)
class Range:
    """Numbers from ``low`` to ``high`` (both included), on a log scale if ``log``; integers if ``integer``."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def suggest(self, trial, key: str) -> float | int:
        suggest = trial.suggest_int if self.integer else trial.suggest_float
        return suggest(key, self.low, self.high, log=self.log)

    def representatives(self) -> tuple:
        return self.low, self.high


@dataclass
class Choice:
    """One of ``choices`` (numbers, strings, booleans)."""

    choices: list

    def suggest(self, trial, key: str):
        return trial.suggest_categorical(key, self.choices)

    def representatives(self) -> tuple:
        return tuple(self.choices)


@dataclass
class SearchSpace:
    """``searched``: key -> range or choice, sampled per trial; ``fixed``: key -> value for every trial."""

    searched: dict[str, Range | Choice]
    fixed: dict[str, Any]

    def sample(self, trial) -> dict[str, Any]:
        """One value per searched key, asked of an Optuna ``trial``."""
        return {key: parameter.suggest(trial, key) for key, parameter in self.searched.items()}

    def config_values(self, sampled: dict[str, Any]) -> dict:
        """The fixed and ``sampled`` values as ``{section: {key: value}}`` config overrides."""
        return nested({**self.fixed, **sampled})

    def check(self, base: dict, source: str) -> None:
        """Every end of every range and every choice must be a valid value of its option on top
        of ``base`` and the fixed values. Combinations of options are checked in each trial (a
        trial they refuse fails with the reason): a choice of scoring=1vsall|kvsall with loss=ce
        is a valid space although the default scoring would refuse ce."""
        base = merge(base, nested(self.fixed))
        Config.from_dict(base, source=source, validate=False).validate_values()
        for key, parameter in self.searched.items():
            for value in parameter.representatives():
                try:
                    Config.from_dict(merge(base, nested({key: value})), source=source, validate=False).validate_values()
                except ConfigError as error:
                    reason = str(error).removeprefix(f"{source}: ")
                    raise ConfigError(f"{source}: {key}: the value {quoted(value)} is refused: {reason}") from None

    def searched_as_dict(self) -> dict:
        """The searched keys' ranges and choices, JSON-able (kept with a study to recognise its space)."""
        return {key: {"kind": type(p).__name__, **dataclasses.asdict(p)} for key, p in self.searched.items()}


def load_space(path: str | Path) -> SearchSpace:
    """The space in a YAML file; errors name the file and the key."""
    return parse_space(read_yaml(path), source=str(path))


def parse_space(values: dict, source: str = "space") -> SearchSpace:
    searched, fixed = {}, {}
    for key, spec in values.items():
        kind = _field_type(key, source)
        where = f"{source}: {key}"
        if isinstance(spec, dict):
            searched[key] = _parameter(spec, kind, where)
        else:
            fixed[key] = _typed(spec, kind, where)
    return SearchSpace(searched, fixed)


def nested(flat: dict[str, Any]) -> dict:
    """``{"training.lr": 0.1}`` -> ``{"training": {"lr": 0.1}}``."""
    values: dict = {}
    for key, value in flat.items():
        section, _, leaf = key.partition(".")
        values.setdefault(section, {})[leaf] = value
    return values


def _parameter(spec: dict, kind: type, where: str) -> Range | Choice:
    if "choices" in spec:
        _expect_keys(spec, {"choices"}, where)
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: choices must be a non-empty list, got {quoted(choices)}")
        if any(not isinstance(choice, (str, int, float, bool, type(None))) for choice in choices):
            raise ConfigError(f"{where}: choices must be plain values (numbers, strings, booleans), "
                              f"got {quoted(choices)}")
        return Choice([_typed(choice, kind, where) for choice in choices])
    if spec.get("type") not in ("float", "int"):
        raise ConfigError(f"{where}: expected {{type: float|int, low: .., high: .., log: ..}}, {{choices: [..]}} "
                          f"or a fixed value; got {quoted(spec)}")
    _expect_keys(spec, {"type", "low", "high", "log"}, where)
    number = float if spec["type"] == "float" else int
    if kind is not float and number is not kind:
        raise ConfigError(f"{where}: the config key holds {kind.__name__} values, not a {spec['type']} range")
    missing = {"low", "high"} - spec.keys()
    if missing:
        raise ConfigError(f"{where}: a range needs low and high (missing {', '.join(sorted(missing))})")
    low, high = (_typed(spec[end], number, f"{where}: {end}") for end in ("low", "high"))
    if any(isinstance(end, bool) or not isinstance(end, (int, float)) for end in (low, high)):
        raise ConfigError(f"{where}: low and high must be numbers, "
                          f"got low={quoted(spec['low'])}, high={quoted(spec['high'])}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log must be true or false, got {quoted(log)}")
    if not low < high:
        raise ConfigError(f"{where}: low must be below high, got low={quoted(low)}, high={quoted(high)}")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0, got low={quoted(low)}")
    return Range(low, high, log, integer=number is int)


def _expect_keys(spec: dict, allowed: set, where: str) -> None:
    unknown = spec.keys() - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(quoted(field) for field in sorted(map(str, unknown)))} "
                          f"(known: {', '.join(sorted(allowed))})")


def _field_type(key: str, source: str) -> type:
    """The type of config key ``section.key`` (int, float, bool or str; Optional unwrapped)."""
    section_name, _, leaf = str(key).partition(".")
    sections = {f.name: f.type for f in dataclasses.fields(Config)}
    if section_name not in sections or not leaf:
        raise ConfigError(f"{source}: unknown key {quoted(key)}; write config keys as section.key "
                          f"(sections: {', '.join(sections)})")
    hints = typing.get_type_hints(type(getattr(Config(), section_name)))
    if leaf not in hints:
        raise ConfigError(f"{source}: unknown key {quoted(key)} (keys of {section_name}: {', '.join(hints)})")
    hint = hints[leaf]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(option for option in typing.get_args(hint) if option is not type(None))
    return hint


def _typed(value: Any, kind: type, where: str) -> Any:
    """``value`` as a number when ``kind`` is int or float, read as the config reads numbers (YAML
    leaves ``1e-4`` a string); other values pass as they are, for the config to check."""
    if kind not in (int, float) or isinstance(value, bool):
        return value
    return coerce_value(value, kind, where)