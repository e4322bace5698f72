"""The knowledge-graph dataset: splits of integer triples plus the vocabularies that name them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import torch

from kgtool.errors import DataError

SPLITS = ("train", "valid", "test")
SUPPORT = "support"  # optional split: triples known at inference only (a semi-inductive split's)


@dataclass
class OGBProtocol:
    """OGB's official evaluation of a link-prediction set: each valid/test triple is ranked
    against a fixed sample of corrupted heads and tails (OGB's files), not against all entities.

    :param name: the OGB dataset name (``"ogbl-wikikg2"``); it picks ogb's ``Evaluator``.
    :param negatives: ``{split: (head_negatives, tail_negatives)}``, LongTensors ``(n, k)`` of
        global entity ids; row i holds the candidates for triple i of ``KGDataset.splits[split]``.
    """

    name: str
    negatives: dict[str, tuple[torch.Tensor, torch.Tensor]]


@dataclass
class KGDataset:
    """Train/valid/test triples mapped to ids, with entity and relation vocabularies.

    The entity vocabulary covers all three splits (as the RotatE and LibKGE code do), so no
    valid/test triple is dropped; :meth:`unseen_entities` says how many never occur in train.
    Ids are positions in the label lists: sorted labels for triple files, so the same files always
    give the same ids; OGB's own numbering for OGB sets (:mod:`kgtool.data.ogb_link`).

    :param splits: ``{"train": (n, 3), "valid": (m, 3), "test": (k, 3)}`` LongTensors of
        ``(head, relation, tail)`` ids, and optionally ``"support": (s, 3)``: known facts that no
        model trains on, which relational GNNs pass messages over at inference (the triples that
        place a semi-inductive split's new entities, :mod:`kgtool.data.inductive`).
    :param ogb_protocol: OGB's sampled negatives for valid/test, for OGB sets only.
    """

    name: str
    entities: list[str]
    relations: list[str]
    splits: dict[str, torch.Tensor]
    entity_text: dict[str, str] = field(default_factory=dict)  # optional human-readable labels
    ogb_protocol: OGBProtocol | None = None
    # optional type of each entity in id order (a PyG HeteroData's node type); entities of a
    # type are contiguous, in the order of the types' first entities
    entity_types: list[str] | None = None
    # optional feature vectors of the entities ``(num_entities, f)`` and which entities have them
    # ``(num_entities,)`` bool (a PyG graph's node x), for ``encoders.features``
    entity_features: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        return len(self.relations)

    @property
    def train(self) -> torch.Tensor:
        return self.splits["train"]

    @property
    def valid(self) -> torch.Tensor:
        return self.splits["valid"]

    @property
    def test(self) -> torch.Tensor:
        return self.splits["test"]

    @property
    def support(self) -> torch.Tensor:
        """The support triples ``(s, 3)``; ``(0, 3)`` for a dataset without them."""
        return self.splits.get(SUPPORT, torch.empty((0, 3), dtype=torch.long))

    def all_triples(self) -> torch.Tensor:
        """All known triples, shape (n_train + n_valid + n_test + n_support, 3): the filter for ranking."""
        return torch.cat([self.splits[s] for s in SPLITS] + [self.support])

    def trained_entities(self) -> torch.Tensor:
        """``(num_entities,)`` bool: the entity occurs in a training triple."""
        seen = torch.zeros(self.num_entities, dtype=torch.bool)
        seen[self.train[:, [0, 2]].reshape(-1)] = True
        return seen

    def unseen_entities(self) -> dict[str, int]:
        """How many entities of each non-train split never occur in train."""
        return self._unseen(self.num_entities, [0, 2])

    def unseen_relations(self) -> dict[str, int]:
        """How many relations of each non-train split never occur in train (no model learns them)."""
        return self._unseen(self.num_relations, [1])

    def _unseen(self, size: int, columns: list[int]) -> dict[str, int]:
        """Per non-train split: how many ids of ``columns`` occur in it but not in train."""
        def used(split: str) -> torch.Tensor:
            flags = torch.zeros(size, dtype=torch.bool)
            flags[self.splits[split][:, columns].reshape(-1)] = True
            return flags

        seen = used("train")
        return {split: int((used(split) & ~seen).sum()) for split in SPLITS[1:]}

    def first_occurrences(self) -> dict[str, torch.Tensor]:
        """``{split: (n,) bool}``: the triple is not an earlier row of its split, nor in an earlier
        split (in the order train, valid, test, support). False marks a duplicate: a repeat within
        a split, or a valid/test triple the model trains on."""
        names = list(self.splits)
        triples = torch.cat([self.splits[s] for s in names])
        # one int64 per triple (exact: num_entities² · num_relations < 2^63 for every known set)
        codes = (triples[:, 0] * self.num_relations + triples[:, 1]) * self.num_entities + triples[:, 2]
        distinct, inverse = torch.unique(codes, return_inverse=True)
        rows = torch.arange(len(codes))
        first = torch.full_like(distinct, len(codes)).scatter_reduce(0, inverse, rows, reduce="amin")
        kept = torch.zeros(len(codes), dtype=torch.bool)
        kept[first] = True
        return dict(zip(names, kept.split([len(self.splits[s]) for s in names])))

    def duplicate_triples(self) -> dict[str, int]:
        """How many triples of each split are duplicates (see :meth:`first_occurrences`)."""
        return {split: int((~first).sum()) for split, first in self.first_occurrences().items()}

    def without_duplicates(self) -> "KGDataset":
        """This dataset with each distinct triple kept once, at its first occurrence (see
        :meth:`first_occurrences`); the vocabularies and ids stay as they are."""
        kept = self.first_occurrences()
        empty = [split for split in SPLITS if not kept[split].any()]
        if empty:
            raise DataError(f"{self.name}: split(s) {', '.join(empty)} hold only duplicates; nothing is left "
                            "after dropping them")
        protocol = self.ogb_protocol
        if protocol is not None:  # its negatives are rows of valid/test: drop the same rows
            protocol = replace(protocol, negatives={split: (head[kept[split]], tail[kept[split]])
                                                    for split, (head, tail) in protocol.negatives.items()})
        return replace(self, splits={split: triples[kept[split]] for split, triples in self.splits.items()},
                       ogb_protocol=protocol)

    def describe(self) -> str:
        sizes = " / ".join(f"{len(self.splits[s]):,}" for s in SPLITS)
        unseen = self.unseen_entities()
        text = (f"{self.name}: {self.num_entities:,} entities, {self.num_relations:,} relations, "
                f"{sizes} train/valid/test triples; entities not in train: "
                f"{unseen['valid']} in valid, {unseen['test']} in test")
        unseen_relations = self.unseen_relations()
        if any(unseen_relations.values()):
            text += (f"; relations not in train: {unseen_relations['valid']} in valid, "
                     f"{unseen_relations['test']} in test")
        duplicates = {split: n for split, n in self.duplicate_triples().items() if n}
        if duplicates:
            text += (f"; duplicate triples (repeats, or valid/test triples also in train): "
                     f"{', '.join(f'{n:,} in {split}' for split, n in duplicates.items())} "
                     f"(data.drop_duplicates=true drops them)")
        if len(self.support):
            text += f"; {len(self.support):,} support triples (known at inference only)"
        if self.ogb_protocol is not None:
            head, tail = self.ogb_protocol.negatives["test"]
            text += f"; OGB protocol: {head.shape[1]} head and {tail.shape[1]} tail negatives per triple"
        return text

    @classmethod
    def from_labeled(cls, name: str, labeled: dict[str, list[tuple[str, str, str]]],
                     entities: Sequence[str] | None = None, relations: Sequence[str] | None = None) -> "KGDataset":
        """Build ids from ``{split: [(head, relation, tail), ...]}`` string triples (train, valid,
        test, and optionally support).

        :param entities: the entity vocabulary in id order, which may hold entities of no triple
            (ranked as candidates all the same, e.g. known only through their text); default:
            the sorted entities of the triples
        :param relations: the relation vocabulary in id order; default: the sorted relations of the triples
        """
        missing = [s for s in SPLITS if s not in labeled]
        if missing:
            raise DataError(f"{name}: missing split(s) {', '.join(missing)}")
        for split in SPLITS:
            if not labeled[split]:
                raise DataError(f"{name}: split '{split}' has no triples")
        unknown = sorted(set(labeled) - {*SPLITS, SUPPORT})
        if unknown:
            raise DataError(f"{name}: unknown split(s) {', '.join(unknown)}; known: {', '.join(SPLITS)}, {SUPPORT}")
        names = [s for s in (*SPLITS, SUPPORT) if s in labeled]
        used = {e for s in names for h, _, t in labeled[s] for e in (h, t)}
        if entities is None:
            entities = sorted(used)
        elif len(set(entities)) != len(entities):
            raise DataError(f"{name}: the entity list names an entity twice")
        elif not used <= set(entities):
            raise DataError(f"{name}: entities of triples missing from the entity list, e.g. "
                            f"{sorted(used - set(entities))[:3]}")
        used_relations = {r for s in names for _, r, _ in labeled[s]}
        if relations is None:
            relations = sorted(used_relations)
        elif len(set(relations)) != len(relations) or not used_relations <= set(relations):
            raise DataError(f"{name}: the relation list names a relation twice or misses one of the triples', e.g. "
                            f"{sorted(used_relations - set(relations))[:3]}")
        entity_id = {e: i for i, e in enumerate(entities)}
        relation_id = {r: i for i, r in enumerate(relations)}
        splits = {
            s: torch.tensor([(entity_id[h], relation_id[r], entity_id[t]) for h, r, t in labeled[s]],
                            dtype=torch.long).reshape(-1, 3)
            for s in names
        }
        return cls(name=name, entities=list(entities), relations=list(relations), splits=splits)
