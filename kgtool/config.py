"""Typed run configuration: every option, its default and a one-line comment, in one place.

A run is "these defaults + a small YAML of overrides + ``--set section.key=value`` overrides".
The resolved config is written beside each checkpoint, so any run can be reproduced or resumed.
YAML is read with ``yaml.SafeLoader`` only, anchors and aliases refused (:class:`ConfigLoader`).
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from kgtool.errors import ConfigError, quoted
from kgtool.names import did_you_mean, known_name
from kgtool.recipes import recipe_path

KGE_MODELS = ("transe", "distmult", "complex", "rotate")
GNN_MODELS = ("gcn", "gat", "sage")
MODEL_ALIASES = {"graphsage": "sage"}  # other spellings of the names above (case and separators aside)
TEXT_ENCODERS = ("none", "bow", "lstm", "gru", "transformer", "pretrained")  # names in kgtool.encoders.ENCODERS
IMAGE_ENCODERS = ("none", "cnn", "vit", "torchvision", "diffusion", "vae")
FUSIONS = ("concat", "gated", "residual")  # see kgtool.encoders.MultimodalEmbedding
RELATIONAL_ENCODERS = ("none", "rgcn", "compgcn", "lte")  # see kgtool.relational.RelationalEncoder
COMPOSITIONS = ("sub", "mult", "corr")  # names in kgtool.relational.composition.COMPOSITIONS
TRACKERS = ("tensorboard", "mlflow", "wandb", "csv")  # names in kgtool.tracking.TRACKERS
DEFAULT_BATCH_SIZE = 512  # training.batch_size when none is given (full-graph GNNs: all examples)
DEVICES = re.compile(r"auto|cpu|mps|cuda(:\d+)?")  # training.device values; kgtool.training checks availability
MAX_SEED = 2**64 - 1  # torch.manual_seed takes seeds in [0, MAX_SEED]
FLOAT32_MAX = 3.4028234663852886e38  # parameters and scores are float32: a margin or scale beyond is inf



def model_name(text: str) -> str:
    """The model ``text`` names in any case or common spelling (``TransE``, ``GraphSAGE``)."""
    models = KGE_MODELS + GNN_MODELS
    name = known_name(text, [*models, *MODEL_ALIASES])
    if name is None:
        raise ConfigError(f"unknown model '{text}'{did_you_mean(text, models)}; known: {', '.join(models)}")
    return MODEL_ALIASES.get(name, name)


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
    # link task: the KGE interaction scoring node pairs: dot (DistMult with one relation) | complex | transe | rotate
    decoder: str = "dot"
    link_negatives: int = 1  # link task: random negative edges per positive edge
    undirected: Optional[bool] = None  # link task: edges are undirected; None: true when every edge has its reverse
    val_ratio: float = 0.05  # link task: share of edges held out for validation
    test_ratio: float = 0.1  # link task: share of edges held out for testing


@dataclass
class DataConfig:
    dataset: str = "umls"  # a registered name (`kgtool datasets`) or a folder with train/valid/test files; GNNs: cora
    data_dir: Optional[str] = None  # where named datasets' files lie; default: $KGTOOL_DATA, else download
    # KGE: keep each distinct triple once, in its first split (train, valid, test); else duplicates
    # (repeats, valid/test triples also in train) are only counted in the dataset summary
    drop_duplicates: bool = False


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
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    progress: bool = True  # show a progress bar when stderr is a terminal
    # where to log the config, per-epoch and final metrics, metrics.json and config.yaml, besides the run
    # folder: tensorboard (<run>/tensorboard) | mlflow | wandb | csv (<run>/metrics.csv); extras of those names
    trackers: list[str] = field(default_factory=list)
    tensorboard: bool = False  # the same as listing tensorboard in trackers
    mlflow_uri: Optional[str] = None  # MLflow tracking URI; None: sqlite:///<run folder's parent>/mlflow.db
    tracking_project: str = "kgtool"  # the MLflow experiment and W&B project runs are logged to

    @property
    def tracker_names(self) -> list[str]:
        """``trackers`` with the ``tensorboard`` alias resolved, each once."""
        return list(dict.fromkeys(self.trackers + (["tensorboard"] if self.tensorboard else [])))

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
    # the dataset's own entity features (a PyG graph's node x; HeteroData: each node type's in its own
    # columns) as a modality, through a linear map (KGE models; GNNs take node features as x anyway)
    features: bool = False
    # encoders with an objective of their own (diffusion: denoising; vae: the ELBO) train on it for
    # this many epochs of the items' images before the main training (logged as phase: pretrain); 0: not
    pretrain_epochs: int = 10

    @property
    def enabled(self) -> bool:
        return self.text_encoder != "none" or self.image_encoder != "none" or self.features

    def representation_options(self) -> dict:
        """The keyword arguments of :func:`kgtool.encoders.multimodal_from_files` from files: every
        option but the training loop's (``pretrain_epochs``) and the dataset's (``features``)."""
        options = dataclasses.asdict(self)
        del options["pretrain_epochs"], options["features"]  # the features come from the dataset
        return options


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
        for tracker in t.trackers:
            _choice("training.trackers", tracker, TRACKERS)
        _choice("model.p_norm", m.p_norm, (1, 2))
        _choice("evaluation.protocol", self.evaluation.protocol, ("auto", "full", "ogb", "both"))
        _choice("gnn.task", g.task, ("node", "link"))
        _choice("gnn.sampler", g.sampler, ("full", "neighbor", "saint"))
        _choice("gnn.norm", g.norm, ("none", "batch", "layer"))
        _choice("gnn.jk", g.jk, ("none", "last", "cat", "max"))
        _choice("gnn.decoder", g.decoder, ("dot", "distmult", "complex", "transe", "rotate"))
        if not DEVICES.fullmatch(t.device):
            raise ConfigError(f"training.device must be auto, cpu, cuda, cuda:N or mps; got {t.device!r}")

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
                raise ConfigError(f"{name} must be at least 1, got {quoted(value)}")
        if t.batch_size is not None and t.batch_size < 1:
            raise ConfigError(f"training.batch_size must be at least 1, got {quoted(t.batch_size)}")
        if m.init_scale is not None and not 0 < m.init_scale <= FLOAT32_MAX:
            raise ConfigError(f"model.init_scale must be positive and at most {FLOAT32_MAX:.4g} (float32), "
                              f"got {quoted(m.init_scale)}")
        if not 0 <= m.margin <= FLOAT32_MAX:
            raise ConfigError(f"model.margin (γ of the score γ - distance) must be in [0, {FLOAT32_MAX:.4g}] "
                              f"(float32), got {quoted(m.margin)}")
        check_seed("training.seed", t.seed)
        positive = [("training.lr", t.lr), ("training.loss_margin", t.loss_margin), ("training.lr_gamma", t.lr_gamma)]
        non_negative = [("training.weight_decay", t.weight_decay), ("training.regularizer_weight", t.regularizer_weight),
                        ("training.adversarial_temperature", t.adversarial_temperature),
                        ("training.patience", t.patience)]
        for name, value in positive:
            if value <= 0:
                raise ConfigError(f"{name} must be positive, got {quoted(value)}")
        for name, value in non_negative:
            if value < 0:
                raise ConfigError(f"{name} must not be negative, got {quoted(value)}")
        for name, value in [("training.label_smoothing", t.label_smoothing), ("gnn.dropout", g.dropout)]:
            if not 0 <= value < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {quoted(value)}")
        for name, value in [("gnn.val_ratio", g.val_ratio), ("gnn.test_ratio", g.test_ratio)]:
            if not 0 < value < 1:
                raise ConfigError(f"{name} must be in (0, 1): validation and testing need edges, got {quoted(value)}")
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
        if self.model.name in GNN_MODELS and self.data.drop_duplicates:
            raise ConfigError(f"data.drop_duplicates applies to knowledge-graph triples; {self.model.name} is a GNN")
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
                raise ConfigError(f"{name} must be at least 1, got {quoted(value)}")
        if e.features and self.model.name in GNN_MODELS:
            raise ConfigError(f"encoders.features feeds a KGE model's entities; {self.model.name} takes the node "
                              f"features as its input x already")
        if e.pretrain_epochs < 0:
            raise ConfigError(f"encoders.pretrain_epochs must be 0 (no pretraining) or more, got {quoted(e.pretrain_epochs)}")
        if e.char_ngrams < 0:
            raise ConfigError(f"encoders.char_ngrams must be 0 (words only) or an n-gram length, "
                              f"got {quoted(e.char_ngrams)}")
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
                            ("relational.num_bases", g.num_bases), ("relational.num_blocks", g.num_blocks)]:
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1, got {quoted(value)}")
        for name, value in [("relational.dropout", g.dropout), ("relational.entity_dropout", g.entity_dropout)]:
            if not 0 <= value < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {quoted(value)}")
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
            raise ConfigError(f"relational.num_blocks={quoted(g.num_blocks)} must divide "
                              f"relational.width={quoted(g.width)} and the "
                              f"entity width of {m.name} with model.dim={quoted(m.dim)} ({quoted(entity_width)})")

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


def parse_fanout(text: str) -> list[int]:
    """``"15,10"`` -> ``[15, 10]``."""
    try:
        fanout = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"fanout {quoted(text)} must be comma-separated integers, e.g. 15,10") from None
    if any(k == 0 or k < -1 for k in fanout):
        raise ValueError(f"fanout {quoted(text)}: each entry must be positive or -1 (all neighbours)")
    return fanout


def check_seed(name: str, seed: int) -> None:
    """Refuse a seed torch cannot take (it would overflow deep inside torch)."""
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{name} must be in [0, 2**64 - 1], the seeds torch takes; got {seed}")


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, allowed))}; got {quoted(value)}"
                          f"{did_you_mean(value, allowed)}")


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
