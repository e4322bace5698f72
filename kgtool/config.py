"""Typed run configuration: the sections each family declares beside its code, composed here.

Each family's options are a dataclass with its defaults, one-line comments and the checks of its
own values, registered by the names its code defines: :mod:`kgtool.kge.options` (``model`` and
the objective's part of ``training``), :mod:`kgtool.training_options` (the loop's part),
:mod:`kgtool.gnn.options`, :mod:`kgtool.encoders.options`, :mod:`kgtool.relational.options` and
:mod:`kgtool.sharding.options`. This module composes them into :class:`Config`, checks what spans
several sections, and parses YAML and ``--set``.

A run is "these defaults + a small YAML of overrides + ``--set section.key=value`` overrides".
The resolved config is written beside each checkpoint, so any run can be reproduced or resumed.
YAML is read with ``yaml.SafeLoader`` only, anchors and aliases refused (:class:`ConfigLoader`).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from kgtool.encoders.options import IMAGE_ENCODER_NAMES, TEXT_ENCODER_NAMES, EncodersConfig
from kgtool.errors import ConfigError, quoted
from kgtool.gnn.options import GNN_MODELS, LINK_TASK_KGE_OPTIONS, GNNConfig
from kgtool.kge.options import KGE_MODELS, KGETrainingOptions, ModelConfig
from kgtool.names import did_you_mean, known_name
from kgtool.options import at_least_one, choice
from kgtool.recipes import recipe_path
from kgtool.relational.options import RELATIONAL_ENCODERS, RelationalConfig
from kgtool.sharding.options import DistributedConfig
from kgtool.training_options import DEFAULT_BATCH_SIZE, TrainingLoopOptions

MODEL_ALIASES = {"graphsage": "sage"}  # other spellings of the model names (case and separators aside)
# the sections' names the CLI and the library use, each defined beside its family's code
__all__ = ["Config", "DEFAULT_BATCH_SIZE", "GNN_MODELS", "IMAGE_ENCODER_NAMES", "KGE_MODELS", "RELATIONAL_ENCODERS",
           "TEXT_ENCODER_NAMES", "assignments_as_dict", "merge", "model_name", "read_yaml", "resolve_config"]


def model_name(text: str) -> str:
    """The model ``text`` names in any case or common spelling (``TransE``, ``GraphSAGE``)."""
    models = KGE_MODELS + GNN_MODELS
    name = known_name(text, [*models, *MODEL_ALIASES])
    if name is None:
        raise ConfigError(f"unknown model '{text}'{did_you_mean(text, models)}; known: {', '.join(models)}")
    return MODEL_ALIASES.get(name, name)


@dataclass
class DataConfig:
    dataset: str = "umls"  # a registered name (`kgtool datasets`) or a folder with train/valid/test files; GNNs: cora
    data_dir: Optional[str] = None  # where named datasets' files lie; default: $KGTOOL_DATA, else download
    # KGE: keep each distinct triple once, in its first split (train, valid, test); else duplicates
    # (repeats, valid/test triples also in train) are only counted in the dataset summary
    drop_duplicates: bool = False


@dataclass
class TrainingConfig(TrainingLoopOptions, KGETrainingOptions):
    """The ``training`` section: the KGE objective's options (:class:`~kgtool.kge.options.KGETrainingOptions`)
    and the loop's (:class:`~kgtool.training_options.TrainingLoopOptions`)."""


@dataclass
class EvaluationConfig:
    memory_budget_mb: int = 512  # cap on score matrices and intermediates while ranking
    per_relation: bool = True  # also report metrics per relation
    # full: filtered ranking against all entities; ogb: OGB's sampled negatives and Evaluator (OGB
    # link sets only); both: full at the top, OGB's under "ogb"; auto: ogb for OGB sets, else full
    protocol: str = "auto"


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    gnn: GNNConfig = field(default_factory=GNNConfig)
    data: DataConfig = field(default_factory=DataConfig)
    encoders: EncodersConfig = field(default_factory=EncodersConfig)
    relational: RelationalConfig = field(default_factory=RelationalConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def flat(self) -> dict[str, Any]:
        """Every option as ``{"section.key": value}``."""
        return {f"{section}.{key}": value for section, values in self.to_dict().items() for key, value in values.items()}

    @classmethod
    def from_dict(cls, values: dict, source: str = "config", validate: bool = True) -> "Config":
        """Build a config from nested ``{section: {key: value}}``; unknown keys and values of the
        wrong type are errors naming ``source``. ``validate=False`` skips the checks that look
        at several options together, for one layer of a config that is merged with others."""
        config = cls()
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: expected a mapping of sections, got {type(values).__name__}")
        for section_name, section_values in values.items():
            section = _section(config, section_name, source)
            if not isinstance(section_values, dict):
                raise ConfigError(f"{source}: section '{section_name}' must be a mapping")
            for key, value in section_values.items():
                _assign(section, section_name, key, value, source)
        if validate:
            config.validate(source)
        return config

    def override(self, assignments: list[str]) -> "Config":
        """Apply ``section.key=value`` (or ``key=value`` for a key unique across sections)."""
        return Config.from_dict(merge(self.to_dict(), assignments_as_dict(assignments)), source="--set")

    def validate(self, source: str = "config") -> None:
        """Check choices, ranges and combinations of the whole config, so that errors surface
        before any work is done; messages start with ``source``."""
        try:
            self.validate_values()
            self.training.check_objective_combinations()
            for section in (self.gnn, self.encoders, self.relational):
                section.check_combinations()
            self.distributed.check_combinations(self)
            self._validate_families()
            self._validate_relational()
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None

    def validate_values(self) -> None:
        """Each option on its own: choices and ranges, not the combinations of options. Each
        family checks its own section (``check_values``)."""
        choice("model.name", self.model.name, KGE_MODELS + GNN_MODELS)
        self.model.check_values()
        self.training.check_objective_values()
        self.training.check_loop_values()
        for section in (self.gnn, self.encoders, self.relational, self.distributed):
            section.check_values()
        choice("evaluation.protocol", self.evaluation.protocol, ("auto", "full", "ogb", "both"))
        at_least_one("evaluation", memory_budget_mb=self.evaluation.memory_budget_mb)

    def _validate_families(self) -> None:
        """Options of one model family set on a model of the other are refused, not ignored."""
        t, model = self.training, self.model.name
        if t.sparse and t.weight_decay:
            raise ConfigError("training.sparse does not work with training.weight_decay; use training.regularizer")
        if self.encoders.enabled and t.sparse:
            raise ConfigError("training.sparse needs plain embedding tables; encoders have dense gradients")
        if model not in GNN_MODELS:
            return
        read = LINK_TASK_KGE_OPTIONS if self.gnn.task == "link" else ()
        for name in t.changed_kge_options():
            if name not in read:
                raise ConfigError(f"training.{name} applies to KGE models; {model} is a GNN")
        if self.data.drop_duplicates:
            raise ConfigError(f"data.drop_duplicates applies to knowledge-graph triples; {model} is a GNN")
        if self.encoders.features:
            raise ConfigError(f"encoders.features feeds a KGE model's entities; {model} takes the node "
                              f"features as its input x already")

    def _validate_relational(self) -> None:
        """What a relational encoder needs of the model and the training."""
        g, m = self.relational, self.model
        if g.encoder == "none":
            return
        if m.name in GNN_MODELS:
            raise ConfigError(f"relational.encoder={g.encoder} feeds a KGE score function; model.name={m.name} is a GNN")
        if g.entity_dropout and self.encoders.enabled:
            raise ConfigError("relational.entity_dropout zeroes rows of the entity table; with encoders the inputs are "
                              "text/image rows, which new entities have too")
        if g.input_init != "normal" and self.encoders.enabled:
            raise ConfigError(f"relational.input_init={g.input_init} starts the entity table; with encoders the inputs "
                              f"are text/image rows")
        if self.training.sparse:
            raise ConfigError("training.sparse needs plain embedding tables; relational encoders have dense gradients")
        entity_width = m.build_interaction().entity_width
        if g.num_blocks is not None and (g.width % g.num_blocks or entity_width % g.num_blocks):
            raise ConfigError(f"relational.num_blocks={quoted(g.num_blocks)} must divide "
                              f"relational.width={quoted(g.width)} and the "
                              f"entity width of {m.name} with model.dim={quoted(m.dim)} ({quoted(entity_width)})")
        if g.fanout is not None and self.training.scoring != "negatives":
            raise ConfigError(f"relational.fanout samples the neighbourhoods of a batch's entities; "
                              f"training.scoring={self.training.scoring} scores all of them. Use the full graph "
                              f"(no fanout) or training.scoring=negatives")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        """A YAML file of overrides, or a shipped recipe by name (``umls/complex``, see
        :mod:`kgtool.recipes`), resolved over the defaults (and its model's defaults)."""
        path = recipe_path(path)
        return resolve_config(read_yaml(path), source=str(path))


class RefusedAlias(yaml.MarkedYAMLError):
    """A YAML anchor or alias in a config, which :class:`ConfigLoader` refuses."""


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without anchors and aliases (``&name``, ``*name``): 300 bytes of nested
    aliases (a "billion laughs") expand to gigabytes, and no config needs them."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise RefusedAlias(problem="YAML anchors and aliases (&name, *name) are not allowed in configs; "
                                       "write the value out", problem_mark=event.start_mark)
        return super().compose_node(parent, index)


def parse_yaml(text: str, where: str) -> Any:
    """``text`` read by :class:`ConfigLoader`; any problem is a one-line ConfigError starting with
    ``where`` and the line and column at fault."""
    try:
        return yaml.load(text, Loader=ConfigLoader)
    except yaml.YAMLError as error:  # its text spans lines; the message names the place in one
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            where = f"{where}, line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        if not isinstance(error, RefusedAlias):
            problem = f"not valid YAML: {problem}"
        raise ConfigError(f"{where}: {problem}") from None
    except ValueError as error:  # a YAML scalar Python refuses: a date 2024-13-01, an int of 5000 digits
        raise ConfigError(f"{where}: a value YAML cannot read: {str(error).partition(';')[0]}") from None
    except RecursionError:
        raise ConfigError(f"{where}: YAML nested too deeply") from None


def read_yaml(path: str | Path) -> dict:
    """The mapping in a YAML file (read by :class:`ConfigLoader`); errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    values = parse_yaml(text, str(path)) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(values).__name__}")
    return values


def resolve_config(values: dict | None = None, assignments: list[str] = (), source: str = "config") -> Config:
    """Defaults < the chosen model's MODEL_DEFAULTS < ``values`` (e.g. a YAML file's content)
    < ``assignments`` (``section.key=value``). Keys and types are checked layer by layer, so such
    an error names where the bad value came from; ranges and combinations are checked once, on
    the merged config (a file's scoring=1vsall and ``--set training.loss=ce`` go together)."""
    values = values or {}
    Config.from_dict(values, source=source, validate=False)
    given = assignments_as_dict(list(assignments))
    Config.from_dict(given, source="--set", validate=False)
    layered = merge(values, given)
    name = layered.get("model", {}).get("name", ModelConfig.name)
    merged_source = f"{source} with --set" if given else source
    return Config.from_dict(merge(MODEL_DEFAULTS.get(name, {}), layered), source=merged_source)


def assignments_as_dict(assignments: list[str]) -> dict:
    """``["training.lr=0.1", "dim=8"]`` -> ``{"training": {"lr": 0.1}, "model": {"dim": 8}}``;
    values are parsed as YAML scalars."""
    known = Config().to_dict()
    values: dict = {}
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {quoted(assignment)}: expected key=value")
        section_name, leaf = _locate(key.strip(), known)
        value = parse_yaml(raw, f"--set {quoted(assignment)}") if raw.strip() else None
        values.setdefault(section_name, {})[leaf] = value
    return values


def merge(base: dict, top: dict) -> dict:
    """``base`` updated by ``top``, section by section (new dicts; inputs unchanged)."""
    merged = {name: dict(section) for name, section in base.items()}
    for name, section in top.items():
        merged[name] = {**merged.get(name, {}), **section} if isinstance(section, dict) else section
    return merged


def _section(config: Config, name: str, source: str):
    if name not in {f.name for f in dataclasses.fields(config)}:
        known = [f.name for f in dataclasses.fields(config)]
        raise ConfigError(f"{source}: unknown section {quoted(name)}{did_you_mean(name, known)} "
                          f"(known: {', '.join(known)})")
    return getattr(config, name)


# options that no longer exist: (the value that meant "off", why it went); run folders written
# before still hold them, so "off" is read as nothing and anything else is an error saying why
RETIRED = {"gnn.residual": (False, "GNNs are PyG's models now, which have no residual option; try gnn.jk")}


def _assign(section, section_name: str, key: str, value: Any, source: str) -> None:
    retired = RETIRED.get(f"{section_name}.{key}")
    if retired is not None:
        if value == retired[0]:
            return
        raise ConfigError(f"{source}: {section_name}.{key} was removed: {retired[1]}")
    hints = typing.get_type_hints(type(section))
    if key not in hints:
        raise ConfigError(f"{source}: unknown key {quoted(f'{section_name}.{key}')}{did_you_mean(key, hints)} "
                          f"(known: {', '.join(hints)})")
    setattr(section, key, coerce_value(value, hints[key], f"{source}: {section_name}.{key}"))


def coerce_value(value: Any, annotation: Any, where: str) -> Any:
    """Return ``value`` as ``annotation`` (int, float, bool, str, Optional of one, or a list of one), or raise.

    Numbers may come as text: YAML 1.1 (PyYAML) reads ``1e-3`` as a string, so every literal
    Python's ``int``/``float`` accept is taken (``1e-3``, ``5E-4``, ``.5``, ``1_000``); an int
    option takes a float literal only when it is a whole number (``epochs: 1e3``)."""
    if typing.get_origin(annotation) is list:  # a YAML list, or "a,b" from the command line
        items = [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        return [coerce_value(item, typing.get_args(annotation)[0], where) for item in items]
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else (annotation,)
    if value is None:
        if type(None) in options:
            return None
        raise ConfigError(f"{where} must not be empty")
    for kind in (o for o in options if o is not type(None)):
        if kind is bool and isinstance(value, bool):
            return value
        if kind in (int, float) and not isinstance(value, bool):
            number = _number(value)
            if kind is float and number is not None:
                if abs(number) > _LARGEST_FLOAT or not math.isfinite(number):
                    raise ConfigError(f"{where} must be a finite number, got {quoted(value)}: every loss and score "
                                      f"it enters would become nan or inf")
                return float(number)
            if kind is int and (isinstance(number, int) or (number is not None and math.isfinite(number)
                                                            and number.is_integer())):
                return int(number)
        if kind is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise ConfigError(f"{where} must be {names}, got {quoted(value)}")


_LARGEST_FLOAT = sys.float_info.max  # an int above it (a YAML 1 followed by 400 zeros) is no float


def _number(value: Any) -> int | float | None:
    """``value`` as a Python number if it is one or is the text of an int or float literal."""
    if isinstance(value, (int, float)):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    for parse in (lambda x: int(x, 0), float):
        try:
            return parse(text)
        except ValueError:
            pass
    return None


def _locate(key: str, values: dict) -> tuple[str, str]:
    if "." in key:
        section_name, _, leaf = key.partition(".")
        if section_name not in values:
            raise ConfigError(f"--set {quoted(key)}: unknown section {quoted(section_name)}"
                              f"{did_you_mean(section_name, values)} (known: {', '.join(values)})")
        if leaf not in values[section_name]:
            raise ConfigError(f"--set {quoted(key)}: unknown key {quoted(leaf)} in section '{section_name}'"
                              f"{did_you_mean(leaf, values[section_name])}")
        return section_name, leaf
    owners = [name for name, section in values.items() if key in section]
    if len(owners) != 1:
        leaves = [leaf for section in values.values() for leaf in section]
        reason = f"unknown key{did_you_mean(key, leaves)}" if not owners else f"ambiguous key (in {', '.join(owners)})"
        raise ConfigError(f"--set {quoted(key)}: {reason}; write it as section.key")
    return owners[0], key


def _model_defaults() -> dict[str, dict]:
    """Per-model defaults that differ from the dataclass defaults, applied beneath a user's values
    (see :func:`resolve_config`): each GNN's paper setup on Cora, kept as the recipes
    ``configs/cora/<model>.yaml`` (GCN: Kipf & Welling 2017; GAT: Veličković et al. 2018;
    GraphSAGE: mean aggregator, the GCN recipe with a wider hidden layer), less their ``model`` section."""
    defaults = {}
    for model in GNN_MODELS:
        values = read_yaml(recipe_path(f"cora/{model}"))
        values.pop("model")
        defaults[model] = values
    return defaults


MODEL_DEFAULTS: dict[str, dict] = _model_defaults()
