"""The KGE family's options: the interaction's (the ``model`` section) and the objective's (its
part of the ``training`` section), each with the checks of its own values.

Names come from the registries beside the code: :data:`~kgtool.kge.interactions.INTERACTIONS`,
:data:`~kgtool.kge.objectives.OBJECTIVES` (each with its ``loss_names``),
:data:`~kgtool.kge.negatives.CORRUPTED_SIDES` and :data:`~kgtool.kge.model.PENALTIES`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from kgtool.errors import ConfigError, quoted
from kgtool.kge.interactions import INTERACTIONS, Interaction, interaction
from kgtool.kge.model import PENALTIES
from kgtool.kge.negatives import CORRUPTED_SIDES
from kgtool.kge.objectives import OBJECTIVES
from kgtool.options import FLOAT32_MAX, at_least_one, choice, probabilities

KGE_MODELS = tuple(INTERACTIONS)
REGULARIZERS = ("none", *PENALTIES)


@dataclass
class ModelConfig:
    name: str = "rotate"  # a KGE interaction (kgtool.kge.INTERACTIONS) or a GNN (kgtool.gnn.GNN_KINDS)
    dim: int = 200  # KGE embedding size; complex dimensions for complex/rotate (2x real numbers)
    margin: float = 9.0  # γ in transe/rotate scores (γ - distance); unused by distmult/complex
    p_norm: int = 1  # transe distance norm: 1 or 2
    init_scale: Optional[float] = None  # uniform init bound; None: transe/rotate (γ+2)/dim, else 1/sqrt(dim)

    def build_interaction(self, name: str | None = None) -> Interaction:
        """The interaction ``name`` (default: ``self.name``) with these options."""
        return interaction(name or self.name, self.dim, margin=self.margin, p_norm=self.p_norm,
                           init_scale=self.init_scale)

    def check_values(self) -> None:
        """Each option's own range (the name is checked where the model families meet, in
        :mod:`kgtool.config`)."""
        at_least_one("model", dim=self.dim)
        choice("model.p_norm", self.p_norm, (1, 2))
        if self.init_scale is not None and not 0 < self.init_scale <= FLOAT32_MAX:
            raise ConfigError(f"model.init_scale must be positive and at most {FLOAT32_MAX:.4g} (float32), "
                              f"got {quoted(self.init_scale)}")
        if not 0 <= self.margin <= FLOAT32_MAX:
            raise ConfigError(f"model.margin (γ of the score γ - distance) must be in [0, {FLOAT32_MAX:.4g}] "
                              f"(float32), got {quoted(self.margin)}")


@dataclass
class KGETrainingOptions:
    """The ``training`` options of KGE models: the objective, its negatives and loss, the
    regularizer and the model's gradients. A GNN refuses them (see :mod:`kgtool.config`)."""

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
    # redraw sampled negatives that are training triples (false negatives); None: on for per-row
    # sampled negatives, where it measured better (README), off where it does not apply
    filter_negatives: Optional[bool] = None
    # score per-row sampled negatives by the chunked kernels of kgtool.kge.candidates, no (b, k, dim)
    # tensors; None: on where they apply (CPU, a plain table, large steps); false: the plain path
    fused_negatives: Optional[bool] = None
    sparse: bool = False  # sparse embedding gradients, so a step costs O(batch) rows, not O(entities)
    compile: bool = False  # fuse the score function with torch.compile (needs a C++ compiler on CPU)
    regularizer: str = "none"  # none | l2 | n3, on the embeddings used in each batch
    regularizer_weight: float = 0.0  # weight of that penalty

    @property
    def filters_negatives(self) -> bool:
        """``filter_negatives`` with None resolved."""
        if self.filter_negatives is not None:
            return self.filter_negatives
        return self.scoring == "negatives" and not self.shared_negatives

    def changed_kge_options(self) -> list[str]:
        """The names of these options set to something other than their default or off (``false``,
        as a run folder's config records a resolved ``filter_negatives``): a GNN run refuses them."""
        return [f.name for f in dataclasses.fields(KGETrainingOptions)
                if getattr(self, f.name) not in (f.default, None, False)]

    def check_objective_values(self) -> None:
        """Each option on its own: choices and ranges."""
        choice("training.scoring", self.scoring, OBJECTIVES)
        choice("training.loss", self.loss, dict.fromkeys(n for o in OBJECTIVES.values() for n in o.loss_names))
        choice("training.negative_sampler", self.negative_sampler, CORRUPTED_SIDES)
        choice("training.regularizer", self.regularizer, REGULARIZERS)
        at_least_one("training", num_negatives=self.num_negatives)
        if self.loss_margin <= 0:
            raise ConfigError(f"training.loss_margin must be positive, got {quoted(self.loss_margin)}")
        for name in ("regularizer_weight", "adversarial_temperature"):
            if getattr(self, name) < 0:
                raise ConfigError(f"training.{name} must not be negative, got {quoted(getattr(self, name))}")
        probabilities("training", label_smoothing=self.label_smoothing)

    def check_objective_combinations(self) -> None:
        """The combinations that would silently ignore an option are refused."""
        choice(f"training.loss (with scoring={self.scoring})", self.loss, OBJECTIVES[self.scoring].loss_names)
        sampled = self.scoring == "negatives"
        if not sampled:
            for name in ("subsampling", "shared_negatives", "filter_negatives", "fused_negatives"):
                if getattr(self, name):
                    raise ConfigError(f"training.{name} applies to sampled negatives; scoring={self.scoring} scores "
                                      f"every entity. Set training.{name}=false or training.scoring=negatives")
            if self.negative_sampler != "uniform":
                raise ConfigError(f"training.negative_sampler={self.negative_sampler} applies to sampled negatives; "
                                  f"scoring={self.scoring} scores every entity")
        if sampled and self.label_smoothing:
            raise ConfigError("training.label_smoothing smooths the targets of 1vsall/kvsall scoring; "
                              "scoring=negatives has none")
        if self.reciprocal and self.negative_sampler == "bernoulli":
            raise ConfigError("training.negative_sampler=bernoulli chooses which side to corrupt, but with "
                              "training.reciprocal every query asks for a tail; use uniform")
        for name, what in [("filter_negatives", "redraws"), ("fused_negatives", "scores")]:
            if getattr(self, name) and self.shared_negatives:
                raise ConfigError(f"training.{name} {what} each positive's own negatives; shared "
                                  "negatives have none of their own")
