"""Typed run configuration: every option, its default and a one-line comment, in one place.

A run is "these defaults + a small YAML of overrides + ``--set section.key=value`` overrides".
The resolved config is written beside each checkpoint, so any run can be reproduced or resumed.
YAML is read with ``yaml.safe_load`` only.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from kgtool.errors import ConfigError

KGE_MODELS = ("transe", "distmult", "complex", "rotate")
GNN_MODELS = ("gcn", "gat", "sage")
TEXT_ENCODERS = ("none", "bow", "lstm", "gru", "transformer", "pretrained")  # names in kgtool.encoders.ENCODERS
IMAGE_ENCODERS = ("none", "cnn", "vit", "torchvision", "diffusion", "vae")
FUSIONS = ("concat", "gated", "residual")  # see kgtool.encoders.MultimodalEmbedding
RELATIONAL_ENCODERS = ("none", "rgcn", "compgcn", "lte")  # see kgtool.relational.RelationalEncoder
COMPOSITIONS = ("sub", "mult", "corr")  # names in kgtool.relational.composition.COMPOSITIONS
DEFAULT_BATCH_SIZE = 512  # training.batch_size when none is given (full-graph GNNs: all examples)

# Per-model defaults that differ from the dataclass defaults, applied beneath a user's values
# (see resolve_config). GNNs: each paper's Cora setup — GCN: Kipf & Welling (2017); GAT:
# Veličković et al. (2018); GraphSAGE: mean aggregator, the GCN recipe with a wider hidden layer.
_GNN_TRAINING = {"lr": 0.01, "weight_decay": 5e-4, "epochs": 200, "eval_every": 1, "patience": 0}
MODEL_DEFAULTS: dict[str, dict] = {
    "gcn": {"gnn": {"hidden_dim": 16, "dropout": 0.5}, "training": _GNN_TRAINING},
    "gat": {"gnn": {"hidden_dim": 8, "heads": 8, "output_heads": 1, "dropout": 0.6},
            "training": {**_GNN_TRAINING, "lr": 0.005}},
    "sage": {"gnn": {"hidden_dim": 64, "dropout": 0.5}, "training": _GNN_TRAINING},
}


@dataclass
class ModelConfig:
    name: str = "rotate"  # one of KGE_MODELS or GNN_MODELS
    dim: int = 200  # KGE embedding size; complex dimensions for complex/rotate (2x real numbers)
    margin: float = 9.0  # γ in transe/rotate scores (γ - distance); unused by distmult/complex
    p_norm: int = 1  # transe distance norm: 1 or 2
    init_scale: Optional[float] = None  # uniform init bound; None: transe/rotate (γ+2)/dim, else 1/sqrt(dim)


@dataclass
class GNNConfig:
    hidden_dim: int = 64  # width of hidden GNN layers
    num_layers: int = 2  # message-passing layers
    dropout: float = 0.5  # dropout on features and hidden layers
    sampler: str = "full"  # full | neighbor | saint
    task: str = "node"  # node (classification) | link (prediction)
    heads: int = 8  # GAT attention heads of hidden layers (hidden width hidden_dim * heads)
    output_heads: int = 1  # GAT attention heads of the last layer, averaged
    norm: str = "none"  # none | batch | layer, after each hidden layer
    jk: str = "none"  # PyG's jumping knowledge over the layers' outputs: none | last | cat | max
    fanout: str = "10,10"  # neighbor sampler: neighbours per node at each hop, -1 for all
    walk_length: int = 2  # saint: random-walk steps from each root (roots: the batch's train nodes)
    saint_subgraphs: int = 50  # saint: subgraphs pre-sampled to estimate the normalisation
    decoder: str = "dot"  # link task: dot | mlp
    link_negatives: int = 1  # link task: random negative edges per positive edge
    undirected: Optional[bool] = None  # link task: edges are undirected; None: true when every edge has its reverse
    val_ratio: float = 0.05  # link task: share of edges held out for validation
    test_ratio: float = 0.1  # link task: share of edges held out for testing


@dataclass
class DataConfig:
    dataset: str = "umls"  # a registered name (`kgtool datasets`) or a folder with train/valid/test files
    data_dir: Optional[str] = None  # where named datasets' files lie; default: $KGTOOL_DATA, else download


@dataclass
class TrainingConfig:
    scoring: str = "negatives"  # negatives | 1vsall | kvsall
    negative_sampler: str = "uniform"  # uniform | bernoulli (which side to corrupt)
    num_negatives: int = 64  # negatives per positive triple
    shared_negatives: bool = False  # one set of negatives per batch, shared by all its positives (DGL-KE, PBG)
    loss: str = "nssa"  # negatives: nssa | margin | softplus | bce; 1vsall: ce | bce; kvsall: bce | ce
    adversarial_temperature: float = 1.0  # α of the self-adversarial (nssa) loss
    loss_margin: float = 1.0  # λ of the margin ranking loss
    label_smoothing: float = 0.0  # 1vsall/kvsall target smoothing
    reciprocal: bool = False  # learn an inverse relation per relation; predict heads as tails
    subsampling: bool = False  # weigh positives by 1/sqrt(frequency), as the RotatE code does
    # positive triples (or (h, r) queries for 1vsall/kvsall, nodes or edges for GNNs) per step;
    # None: DEFAULT_BATCH_SIZE, or every training example at once for full-graph GNNs
    batch_size: Optional[int] = None
    # redraw sampled negatives that are training triples (false negatives); None: on for per-row
    # sampled negatives, where it measured better (README), off where it does not apply
    filter_negatives: Optional[bool] = None
    # score per-row sampled negatives by the chunked kernels of kgtool.kge.candidates, no (b, k, dim)
    # tensors; None: on where they apply (CPU, a plain table, large steps); false: the plain path
    fused_negatives: Optional[bool] = None
    epochs: int = 30  # passes over the training examples
    optimizer: str = "adam"  # adam | adagrad | sgd
    lr: float = 1e-3  # learning rate
    weight_decay: float = 0.0  # optimizer weight decay (GNNs); KGE models use `regularizer`
    sparse: bool = False  # KGE: sparse embedding gradients, so a step costs O(batch) rows, not O(entities)
    compile: bool = False  # KGE: fuse the score function with torch.compile (needs a C++ compiler on CPU)
    lr_scheduler: str = "none"  # none | step | cosine
    lr_step_size: int = 100  # step scheduler: epochs between decays
    lr_gamma: float = 0.1  # step scheduler: decay factor
    regularizer: str = "none"  # none | l2 | n3, on the embeddings used in each batch
    regularizer_weight: float = 0.0  # weight of that penalty
    eval_every: int = 10  # epochs between validation runs (early stopping, best model)
    patience: int = 5  # validations without improvement before stopping; 0 disables early stopping
    checkpoint_every: int = 10  # epochs between checkpoints (one is always written at the end)
    seed: int = 0  # seeds initialisation, shuffling and negative sampling
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    progress: bool = True  # show a progress bar
    tensorboard: bool = False  # also write loss and validation metrics to <run>/tensorboard (extra: tensorboard)

    @property
    def filters_negatives(self) -> bool:
        """``filter_negatives`` with None resolved."""
        if self.filter_negatives is not None:
            return self.filter_negatives
        return self.scoring == "negatives" and not self.shared_negatives


@dataclass
class EvaluationConfig:
    memory_budget_mb: int = 512  # cap on score matrices and intermediates while ranking
    per_relation: bool = True  # also report metrics per relation
    # full: filtered ranking against all entities; ogb: OGB's sampled negatives and Evaluator (OGB
    # link sets only); both: full at the top, OGB's under "ogb"; auto: ogb for OGB sets, else full
    protocol: str = "auto"


@dataclass
class EncodersConfig:
    """Entity/node representations from text and images (kgtool.encoders.multimodal_from_files)."""

    text: Optional[str] = None  # entity<TAB>text file (plain or .gz); ids: entity labels, or node numbers 0..n-1
    text_encoder: str = "none"  # none | bow (mean of token embeddings) | lstm | gru | transformer | pretrained
    text_model: Optional[str] = None  # pretrained: a local Hugging Face / sentence-transformers folder
    max_tokens: int = 32  # tokens (words, their char n-grams; pretrained: subword tokens) kept of each text
    max_vocab: int = 50000  # most frequent tokens the tokenizer keeps; others are <unk>
    char_ngrams: int = 0  # n > 0: each word is followed by its character n-grams (fastText), so stems match
    images: Optional[str] = None  # folder of <id>.png/<id>.npy, or an .npy array (num_items, [c,] h, w) in id order
    image_encoder: str = "none"  # none | cnn | vit | torchvision | diffusion | vae
    dim: int = 64  # width of each encoder's output and of the structural embedding (GNNs: of the fused x too)
    layers: int = 1  # Transformer/ViT blocks
    structural: bool = True  # also learn a per-item embedding; false: items are known by their text/images only
    fusion: str = "concat"  # concat (project [s; m_1; ...]) | gated (per-dimension softmax gates) | residual (s + W m)
    freeze: bool = False  # keep encoder weights fixed (pretrained); fusion and placeholders still learn

    @property
    def enabled(self) -> bool:
        return self.text_encoder != "none" or self.image_encoder != "none"


@dataclass
class RelationalConfig:
    """Entity representations by message passing over the training triples (KGE models)."""

    encoder: str = "none"  # none (an entity table) | rgcn | compgcn | lte (the same stack without messages)
    layers: int = 2  # message-passing layers; the last outputs the score function's entity rows
    width: int = 64  # width of the input entity table and of hidden layers
    dropout: float = 0.1  # dropout after each hidden layer
    # training zeroes each entity's input table row with this probability, as a new entity's row is
    # at inference: the encoder learns to place entities from their neighbours (semi-inductive splits)
    entity_dropout: float = 0.0
    composition: str = "sub"  # compgcn: sub | mult | corr (circular correlation)
    num_bases: Optional[int] = None  # rgcn: basis decomposition of the relation weights; None: one weight each
    num_blocks: Optional[int] = None  # rgcn: block-diagonal relation weights of this many blocks
    # training steps on sampled subgraphs: incoming edges per entity at each hop (one per layer, -1: all),
    # e.g. "10,5"; None: the full graph every step (needed by 1vsall/kvsall)
    fanout: Optional[str] = None


@dataclass
class DistributedConfig:
    """Training under torchrun beyond data parallelism (kgtool.sharding)."""

    # each rank holds a block of the entity table's rows and their optimizer state, instead of all of
    # them (KGE models with sampled negatives); relations stay replicated
    shard_entities: bool = False
    negatives: str = "uniform"  # sharded negatives: uniform (over all entities) | local (from the rank's own rows, as PBG)
    consolidate: bool = True  # sharded: at the end rank 0 gathers the table into checkpoint.pt (predict/export in one process)

    def validate(self, config: "Config") -> None:
        """The sharded table's requirements; a one-line ConfigError for each combination it lacks."""
        _choice("distributed.negatives", self.negatives, ("uniform", "local"))
        if not self.shard_entities:
            if self.negatives != "uniform":
                raise ConfigError("distributed.negatives=local draws from a rank's shard; set distributed.shard_entities=true")
            return
        t = config.training
        needs = [(config.model.name in GNN_MODELS, f"a KGE model; {config.model.name} is a GNN"),
                 (t.scoring != "negatives", f"training.scoring=negatives: {t.scoring} normalises each query's scores "
                                            f"over all entities, which no rank holds"),
                 (config.encoders.enabled or config.relational.encoder != "none",
                  "a plain entity table; encoders and relational encoders compute rows from shared weights"),
                 (bool(t.weight_decay), "training.weight_decay=0 (it would move untouched rows); use training.regularizer"),
                 (t.sparse, "training.sparse=false: a sharded table always updates only the rows a step touches"),
                 (config.evaluation.protocol in ("ogb", "both"), "evaluation.protocol=full (filtered ranking)")]
        for refused, need in needs:
            if refused:
                raise ConfigError(f"distributed.shard_entities=true needs {need}")


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
            self._validate_combinations()
            self._validate_encoders()
            self._validate_relational()
            self.distributed.validate(self)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None

    def validate_values(self) -> None:
        """Each option on its own: choices and ranges, not the combinations of options."""
        self._validate_choices()
        self._validate_ranges()

    def _validate_choices(self) -> None:
        m, t, g = self.model, self.training, self.gnn
        _choice("model.name", m.name, KGE_MODELS + GNN_MODELS)
        _choice("training.scoring", t.scoring, ("negatives", "1vsall", "kvsall"))
        _choice("training.loss", t.loss, ("nssa", "margin", "softplus", "bce", "ce"))
        _choice("training.negative_sampler", t.negative_sampler, ("uniform", "bernoulli"))
        _choice("training.optimizer", t.optimizer, ("adam", "adagrad", "sgd"))
        _choice("training.lr_scheduler", t.lr_scheduler, ("none", "step", "cosine"))
        _choice("training.regularizer", t.regularizer, ("none", "l2", "n3"))
        _choice("model.p_norm", m.p_norm, (1, 2))
        _choice("evaluation.protocol", self.evaluation.protocol, ("auto", "full", "ogb", "both"))
        _choice("gnn.task", g.task, ("node", "link"))
        _choice("gnn.sampler", g.sampler, ("full", "neighbor", "saint"))
        _choice("gnn.norm", g.norm, ("none", "batch", "layer"))
        _choice("gnn.jk", g.jk, ("none", "last", "cat", "max"))
        _choice("gnn.decoder", g.decoder, ("dot", "mlp"))

    def _validate_ranges(self) -> None:
        m, t, g = self.model, self.training, self.gnn
        for name, value in [("model.dim", m.dim), ("training.num_negatives", t.num_negatives),
                            ("training.epochs", t.epochs), ("training.eval_every", t.eval_every),
                            ("training.checkpoint_every", t.checkpoint_every), ("training.lr_step_size", t.lr_step_size),
                            ("evaluation.memory_budget_mb", self.evaluation.memory_budget_mb),
                            ("gnn.hidden_dim", g.hidden_dim), ("gnn.num_layers", g.num_layers), ("gnn.heads", g.heads),
                            ("gnn.output_heads", g.output_heads), ("gnn.walk_length", g.walk_length),
                            ("gnn.saint_subgraphs", g.saint_subgraphs), ("gnn.link_negatives", g.link_negatives)]:
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if t.batch_size is not None and t.batch_size < 1:
            raise ConfigError(f"training.batch_size must be at least 1, got {t.batch_size}")
        if m.init_scale is not None and m.init_scale <= 0:
            raise ConfigError(f"model.init_scale must be positive, got {m.init_scale}")
        positive = [("training.lr", t.lr), ("training.loss_margin", t.loss_margin), ("training.lr_gamma", t.lr_gamma)]
        non_negative = [("training.weight_decay", t.weight_decay), ("training.regularizer_weight", t.regularizer_weight),
                        ("training.adversarial_temperature", t.adversarial_temperature),
                        ("training.patience", t.patience), ("training.seed", t.seed)]
        for name, value in positive:
            if value <= 0:
                raise ConfigError(f"{name} must be positive, got {value}")
        for name, value in non_negative:
            if value < 0:
                raise ConfigError(f"{name} must not be negative, got {value}")
        for name, value in [("training.label_smoothing", t.label_smoothing), ("gnn.dropout", g.dropout)]:
            if not 0 <= value < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {value}")
        for name, value in [("gnn.val_ratio", g.val_ratio), ("gnn.test_ratio", g.test_ratio)]:
            if not 0 < value < 1:
                raise ConfigError(f"{name} must be in (0, 1): validation and testing need edges, got {value}")
        if g.val_ratio + g.test_ratio >= 1:
            raise ConfigError(f"gnn.val_ratio + gnn.test_ratio must leave training edges, got "
                              f"{g.val_ratio} + {g.test_ratio}")

    def _validate_combinations(self) -> None:
        """Options that would be silently ignored in a combination are refused instead."""
        t, g = self.training, self.gnn
        losses = {"negatives": ("nssa", "margin", "softplus", "bce"), "1vsall": ("ce", "bce"), "kvsall": ("bce", "ce")}
        _choice(f"training.loss (with scoring={t.scoring})", t.loss, losses[t.scoring])
        sampled = t.scoring == "negatives"
        if not sampled:
            for name, value in [("subsampling", t.subsampling), ("shared_negatives", t.shared_negatives),
                                ("filter_negatives", t.filter_negatives), ("fused_negatives", t.fused_negatives)]:
                if value:
                    raise ConfigError(f"training.{name} applies to sampled negatives; scoring={t.scoring} scores "
                                      f"every entity. Set training.{name}=false or training.scoring=negatives")
            if t.negative_sampler != "uniform":
                raise ConfigError(f"training.negative_sampler={t.negative_sampler} applies to sampled negatives; "
                                  f"scoring={t.scoring} scores every entity")
        if sampled and t.label_smoothing:
            raise ConfigError("training.label_smoothing smooths the targets of 1vsall/kvsall scoring; "
                              "scoring=negatives has none")
        if t.reciprocal and t.negative_sampler == "bernoulli":
            raise ConfigError("training.negative_sampler=bernoulli chooses which side to corrupt, but with "
                              "training.reciprocal every query asks for a tail; use uniform")
        for name, what in [("filter_negatives", "redraws"), ("fused_negatives", "scores")]:
            if getattr(t, name) and t.shared_negatives:
                raise ConfigError(f"training.{name} {what} each positive's own negatives; shared "
                                  "negatives have none of their own")
        if g.task == "link" and g.sampler == "saint":
            raise ConfigError("gnn.sampler=saint supports gnn.task=node only")
        if t.sparse and t.weight_decay:
            raise ConfigError("training.sparse does not work with training.weight_decay; use training.regularizer")
        if self.model.name in GNN_MODELS:
            kge_only = ["filter_negatives", "fused_negatives", "shared_negatives", "reciprocal", "subsampling", "sparse",
                        "compile"]
            for name in kge_only:
                if getattr(t, name):
                    raise ConfigError(f"training.{name} applies to KGE models; {self.model.name} is a GNN")
        if g.jk != "none" and g.output_heads != 1:
            raise ConfigError("gnn.output_heads sets GAT's last layer, which gnn.jk replaces by a linear map")

    def _validate_encoders(self) -> None:
        e = self.encoders
        _choice("encoders.text_encoder", e.text_encoder, TEXT_ENCODERS)
        _choice("encoders.image_encoder", e.image_encoder, IMAGE_ENCODERS)
        _choice("encoders.fusion", e.fusion, FUSIONS)
        for name, value in [("encoders.max_tokens", e.max_tokens), ("encoders.max_vocab", e.max_vocab),
                            ("encoders.dim", e.dim), ("encoders.layers", e.layers)]:
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if e.char_ngrams < 0:
            raise ConfigError(f"encoders.char_ngrams must be 0 (words only) or an n-gram length, got {e.char_ngrams}")
        for path, encoder in [("text", "text_encoder"), ("images", "image_encoder")]:
            if getattr(e, path) is not None and getattr(e, encoder) == "none":
                raise ConfigError(f"encoders.{path} is set but encoders.{encoder} is none; choose an encoder")
        if e.fusion == "residual" and not e.structural:
            raise ConfigError("encoders.fusion=residual adds the modalities to the structural embedding: "
                              "it needs encoders.structural=true")
        if e.enabled and self.training.sparse:
            raise ConfigError("training.sparse needs plain embedding tables; encoders have dense gradients")

    def _validate_relational(self) -> None:
        g, m = self.relational, self.model
        _choice("relational.encoder", g.encoder, RELATIONAL_ENCODERS)
        _choice("relational.composition", g.composition, COMPOSITIONS)
        for name, value in [("relational.layers", g.layers), ("relational.width", g.width),
                            ("relational.num_bases", g.num_bases or 1), ("relational.num_blocks", g.num_blocks or 1)]:
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        for name, value in [("relational.dropout", g.dropout), ("relational.entity_dropout", g.entity_dropout)]:
            if not 0 <= value < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {value}")
        if g.encoder == "none":
            return
        if m.name in GNN_MODELS:
            raise ConfigError(f"relational.encoder={g.encoder} feeds a KGE score function; model.name={m.name} is a GNN")
        if g.entity_dropout and self.encoders.enabled:
            raise ConfigError("relational.entity_dropout zeroes rows of the entity table; with encoders the inputs are "
                              "text/image rows, which new entities have too")
        if self.training.sparse:
            raise ConfigError("training.sparse needs plain embedding tables; relational encoders have dense gradients")
        if g.encoder != "rgcn":
            for name in ("num_bases", "num_blocks"):
                if getattr(g, name) is not None:
                    raise ConfigError(f"relational.{name} decomposes R-GCN weights; relational.encoder={g.encoder} has "
                                      f"none. Unset it or choose relational.encoder=rgcn")
        if g.num_bases is not None and g.num_blocks is not None:
            raise ConfigError("relational.num_bases and relational.num_blocks are two decompositions; choose one")
        if g.fanout is not None:
            self._validate_relational_fanout()
        entity_width = m.dim * (2 if m.name in ("complex", "rotate") else 1)
        if g.num_blocks is not None and (g.width % g.num_blocks or entity_width % g.num_blocks):
            raise ConfigError(f"relational.num_blocks={g.num_blocks} must divide relational.width={g.width} and the "
                              f"entity width of {m.name} with model.dim={m.dim} ({entity_width})")

    def _validate_relational_fanout(self) -> None:
        g = self.relational
        try:
            hops = len(parse_fanout(g.fanout))
        except ValueError as error:
            raise ConfigError(f"relational.{error}") from None
        if hops != g.layers:
            raise ConfigError(f"relational.fanout={g.fanout} has {hops} hops but relational.layers={g.layers}; "
                              f"give one fanout per layer")
        if g.encoder == "lte":
            raise ConfigError("relational.fanout samples neighbourhoods; relational.encoder=lte passes no messages")
        if self.training.scoring != "negatives":
            raise ConfigError(f"relational.fanout samples the neighbourhoods of a batch's entities; "
                              f"training.scoring={self.training.scoring} scores all of them. Use the full graph "
                              f"(no fanout) or training.scoring=negatives")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        """A YAML file of overrides, resolved over the defaults (and its model's defaults)."""
        return resolve_config(read_yaml(path), source=str(path))


def read_yaml(path: str | Path) -> dict:
    """The mapping in a YAML file (safe-loaded); errors name the file."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:  # its text spans lines; the message names the place in one
        mark = getattr(error, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
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
            raise ConfigError(f"--set '{assignment}': expected key=value")
        section_name, leaf = _locate(key.strip(), known)
        values.setdefault(section_name, {})[leaf] = yaml.safe_load(raw) if raw.strip() else None
    return values


def merge(base: dict, top: dict) -> dict:
    """``base`` updated by ``top``, section by section (new dicts; inputs unchanged)."""
    merged = {name: dict(section) for name, section in base.items()}
    for name, section in top.items():
        merged[name] = {**merged.get(name, {}), **section} if isinstance(section, dict) else section
    return merged


def _section(config: Config, name: str, source: str):
    if name not in {f.name for f in dataclasses.fields(config)}:
        known = ", ".join(f.name for f in dataclasses.fields(config))
        raise ConfigError(f"{source}: unknown section '{name}' (known: {known})")
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
        known = ", ".join(hints)
        raise ConfigError(f"{source}: unknown key '{section_name}.{key}' (known: {known})")
    setattr(section, key, coerce_value(value, hints[key], f"{source}: {section_name}.{key}"))


def coerce_value(value: Any, annotation: Any, where: str) -> Any:
    """Return ``value`` as ``annotation`` (int, float, bool, str or Optional of one), or raise.

    Numbers may come as text: YAML 1.1 (PyYAML) reads ``1e-3`` as a string, so every literal
    Python's ``int``/``float`` accept is taken (``1e-3``, ``5E-4``, ``.5``, ``1_000``); an int
    option takes a float literal only when it is a whole number (``epochs: 1e3``)."""
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
                if not math.isfinite(number):
                    raise ConfigError(f"{where} must be a finite number, got {value!r}: every loss and score "
                                      f"it enters would become nan or inf")
                return float(number)
            if kind is int and number is not None and math.isfinite(number) and number == int(number):
                return int(number)
        if kind is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise ConfigError(f"{where} must be {names}, got {value!r}")


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
            raise ConfigError(f"--set {key}: unknown section '{section_name}' (known: {', '.join(values)})")
        if leaf not in values[section_name]:
            raise ConfigError(f"--set {key}: unknown key '{leaf}' in section '{section_name}'")
        return section_name, leaf
    owners = [name for name, section in values.items() if key in section]
    if len(owners) != 1:
        reason = "unknown key" if not owners else f"ambiguous key (in {', '.join(owners)})"
        raise ConfigError(f"--set {key}: {reason}; write it as section.key")
    return owners[0], key


def parse_fanout(text: str) -> list[int]:
    """``"15,10"`` -> ``[15, 10]``."""
    try:
        fanout = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"fanout '{text}' must be comma-separated integers, e.g. 15,10") from None
    if any(k == 0 or k < -1 for k in fanout):
        raise ValueError(f"fanout '{text}': each entry must be positive or -1 (all neighbours)")
    return fanout


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
