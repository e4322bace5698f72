"""The sharded table's options (the ``distributed`` section) and what it needs of the others."""

from __future__ import annotations

from dataclasses import dataclass

from kgtool.errors import ConfigError
from kgtool.gnn.options import GNN_MODELS
from kgtool.options import choice

NEGATIVES = ("uniform", "local")  # over all entities | from the rank's own rows (PBG)


@dataclass
class DistributedConfig:
    """Training under torchrun beyond data parallelism (kgtool.sharding)."""

    # each rank holds a block of the entity table's rows and their optimizer state, instead of all of
    # them (KGE models with sampled negatives); relations stay replicated
    shard_entities: bool = False
    negatives: str = "uniform"  # sharded negatives: uniform (over all entities) | local (from the rank's own rows, as PBG)
    consolidate: bool = True  # sharded: at the end rank 0 gathers the table into checkpoint.pt (predict/export in one process)

    def check_values(self) -> None:
        choice("distributed.negatives", self.negatives, NEGATIVES)

    def check_combinations(self, config) -> None:
        """The sharded table's requirements of the whole ``config`` (a :class:`kgtool.config.Config`);
        a one-line ConfigError for each combination it lacks."""
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
