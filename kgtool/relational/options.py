"""The relational encoders' options (the ``relational`` section) and the checks of their values.

Names come from the code: :data:`~kgtool.relational.encoder.KINDS` and
:data:`~kgtool.relational.composition.COMPOSITIONS`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from kgtool.errors import ConfigError
from kgtool.options import at_least_one, choice, fanout_option, probabilities
from kgtool.relational.composition import COMPOSITIONS
from kgtool.relational.encoder import INPUT_INITS, KINDS

RELATIONAL_ENCODERS = ("none", *KINDS)


@dataclass
class RelationalConfig:
    """Entity representations by message passing over the training triples (KGE models)."""

    encoder: str = "none"  # none (an entity table) | rgcn | compgcn | lte (the same stack without messages)
    layers: int = 2  # message-passing layers; the last outputs the score function's entity rows
    width: int = 64  # width of the input entity table and of hidden layers
    # the input entity table's start: normal (N(0, 1), nn.Embedding's) | xavier_normal (std sqrt(2 / (entities
    # + width)), CompGCN's reference code; configs/wn18rr/complex-compgcn-cpu.yaml sets it: docs/benchmarks.md)
    input_init: str = "normal"
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

    def encoder_options(self) -> dict:
        """The keyword options of :func:`~kgtool.relational.encoder.relational_encoder`."""
        options = dataclasses.asdict(self)
        del options["encoder"]
        options["fanout"] = self.fanouts()
        return options

    def fanouts(self) -> list[int] | None:
        """``fanout`` as edges per hop (None: the full graph), or a ConfigError naming it."""
        return fanout_option("relational", self.fanout)

    def check_values(self) -> None:
        """Each option on its own: choices and ranges."""
        choice("relational.encoder", self.encoder, RELATIONAL_ENCODERS)
        choice("relational.composition", self.composition, COMPOSITIONS)
        choice("relational.input_init", self.input_init, INPUT_INITS)
        at_least_one("relational", layers=self.layers, width=self.width, num_bases=self.num_bases,
                     num_blocks=self.num_blocks)
        probabilities("relational", dropout=self.dropout, entity_dropout=self.entity_dropout)
        self.fanouts()

    def check_combinations(self) -> None:
        """The combinations within the section that cannot work or would ignore an option."""
        if self.encoder == "none":
            return
        if self.encoder != "rgcn":
            for name in ("num_bases", "num_blocks"):
                if getattr(self, name) is not None:
                    raise ConfigError(f"relational.{name} decomposes R-GCN weights; relational.encoder={self.encoder} "
                                      f"has none. Unset it or choose relational.encoder=rgcn")
        if self.num_bases is not None and self.num_blocks is not None:
            raise ConfigError("relational.num_bases and relational.num_blocks are two decompositions; choose one")
        if self.fanout is not None:
            hops = len(self.fanouts())
            if hops != self.layers:
                raise ConfigError(f"relational.fanout={self.fanout} has {hops} hops but relational.layers={self.layers}; "
                                  f"give one fanout per layer")
            if self.encoder == "lte":
                raise ConfigError("relational.fanout samples neighbourhoods; relational.encoder=lte passes no messages")
