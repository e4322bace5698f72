"""Relation patterns of a knowledge graph: cardinality categories, symmetry, inverses, compositions.

Each pattern is a rule measured on the distinct ``(head, tail)`` pairs of each relation:

- category (Bordes et al., 2013): ``1-1``, ``1-N``, ``N-1`` or ``N-N`` from the mean number of
  tails per head and heads per tail, each against the threshold 1.5 (``N`` when at or above);
- symmetry of r: the share of r's pairs ``(h, t)``, ``h != t``, whose reverse ``(t, h)`` is in r;
  antisymmetry the share whose reverse is not (self-loops count for neither; both are None for a
  relation of self-loops only);
- inverse r2 of r1 (r2 != r1): ``(h, r1, t) ⇒ (t, r2, h)``, confidence the share of r1's
  ``h != t`` pairs whose reverse is in r2;
- composition ``r1 ∘ r2 ⇒ r3``: ``(x, r1, y) ∧ (y, r2, z) ⇒ (x, r3, z)``; the body is the set of
  distinct pairs ``(x, z)``, ``x != z``, joined by some y (the nonzeros of the sparse product of
  the adjacency matrices of r1 and r2); support the body's pairs that are in r3, confidence
  support / body size (AMIE's standard confidence).

The counts of pairs are sparse matrix products (scipy.sparse): FB15k-237 takes seconds (README).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from kgtool.data.answers import unique_pairs
from kgtool.data.kg import KGDataset
from kgtool.errors import ConfigError

CATEGORY_THRESHOLD = 1.5
CATEGORIES = ("1-1", "1-N", "N-1", "N-N")
PATTERN_SPLITS = ("all", "train", "valid", "test")


def dataset_patterns(dataset: KGDataset, split: str = "all", min_support: int = 10,
                     min_confidence: float = 0.5) -> dict:
    """:func:`relation_patterns` of a dataset's triples: all three splits (as published category
    counts are taken: FB15k-237 17/26/81/113 relations 1-1/1-N/N-1/N-N), or one split."""
    if split not in PATTERN_SPLITS:
        raise ConfigError(f"unknown split {split!r}; known: {', '.join(PATTERN_SPLITS)}")
    triples = dataset.all_triples() if split == "all" else dataset.splits[split]
    return relation_patterns(triples, dataset.num_entities, dataset.relations, min_support, min_confidence)


def answers_per_query(triples: torch.Tensor, num_relations: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per relation ``(num_relations,)`` each: the mean number of tails per ``(head, relation)``
    and of heads per ``(relation, tail)`` of ``triples`` ``(n, 3)``, counting triples as given."""
    relations = triples[:, 1]
    triples_per_relation = torch.bincount(relations, minlength=num_relations).float()

    def distinct_per_relation(anchor: torch.Tensor) -> torch.Tensor:
        pairs = torch.unique(anchor * num_relations + relations)
        return torch.bincount(pairs % num_relations, minlength=num_relations).float().clamp(min=1)

    return triples_per_relation / distinct_per_relation(triples[:, 0]), triples_per_relation / distinct_per_relation(triples[:, 2])


def relation_categories(triples: torch.Tensor, num_relations: int) -> list[str]:
    """``1-1``, ``1-N``, ``N-1`` or ``N-N`` per relation of the distinct ``triples`` ``(n, 3)``:
    ``N`` on the tail side when the relation has at least 1.5 tails per head, on the head side
    when at least 1.5 heads per tail (Bordes et al., 2013)."""
    queries, tails = unique_pairs(triples[:, 0] * num_relations + triples[:, 1], triples[:, 2])
    distinct = torch.stack([queries // num_relations, queries % num_relations, tails], dim=1)
    tails_per_head, heads_per_tail = answers_per_query(distinct, num_relations)
    return [f"{'N' if hpt >= CATEGORY_THRESHOLD else '1'}-{'N' if tph >= CATEGORY_THRESHOLD else '1'}"
            for tph, hpt in zip(tails_per_head.tolist(), heads_per_tail.tolist())]


def relation_patterns(triples: torch.Tensor, num_entities: int, relations: list[str],
                      min_support: int = 10, min_confidence: float = 0.5) -> dict:
    """``{"relations": {name: {"category", "symmetry", "antisymmetry", "inverses": [{"relation",
    "confidence"}]}}, "compositions": [{"body": [r1, r2], "head": r3, "support", "confidence"}]}``
    of ``triples`` ``(n, 3)``; inverses and compositions with at least ``min_support`` pairs and
    ``min_confidence``, best first.
    """
    if min_support < 1 or not 0 <= min_confidence <= 1:  # support 0 makes 0/0 confidences (NaN)
        raise ConfigError(f"min_support must be at least 1 and min_confidence in [0, 1]; got min_support="
                          f"{min_support}, min_confidence={min_confidence}")
    graph = PairGraph(triples, num_entities, len(relations))
    categories = relation_categories(triples, len(relations))
    reversed_counts = graph.reversed_pair_counts()  # (R, R)
    non_loops = graph.non_loop_counts()
    report = {}
    for r, name in enumerate(relations):
        symmetric = float(reversed_counts[r, r] / non_loops[r]) if non_loops[r] else None
        inverses = [{"relation": relations[r2], "confidence": round(float(reversed_counts[r, r2] / non_loops[r]), 4)}
                    for r2 in np.argsort(-reversed_counts[r], kind="stable").tolist()
                    if r2 != r and reversed_counts[r, r2] >= min_support
                    and reversed_counts[r, r2] / non_loops[r] >= min_confidence]
        report[name] = {"category": categories[r],
                        "symmetry": None if symmetric is None else round(symmetric, 4),
                        "antisymmetry": None if symmetric is None else round(1 - symmetric, 4),
                        "inverses": inverses}
    compositions = [{"body": [relations[r1], relations[r2]], "head": relations[r3], "support": support,
                     "confidence": round(confidence, 4)}
                    for r1, r2, r3, support, confidence in graph.compositions(min_support, min_confidence)]
    compositions.sort(key=lambda rule: (-rule["confidence"], -rule["support"]))
    return {"relations": report, "compositions": compositions}


class PairGraph:
    """The distinct ``(head, tail)`` pairs of each relation, as sparse matrices.

    ``pairs`` ``(P, 2)`` are the distinct entity pairs of any relation; ``membership`` (P × R,
    CSR) marks the relations holding each pair; ``adjacency[r]`` (E × E, CSR) is relation r.
    """

    def __init__(self, triples: torch.Tensor, num_entities: int, num_relations: int):
        h, r, t = np.unique(triples.cpu().numpy().astype(np.int64), axis=0).T
        self.num_entities, self.num_relations = num_entities, num_relations
        codes = h * num_entities + t
        self.pair_codes, pair_of_triple = np.unique(codes, return_inverse=True)
        self.membership = sp.csr_matrix((np.ones(len(h)), (pair_of_triple.reshape(-1), r)),
                                        shape=(len(self.pair_codes), num_relations))
        self.adjacency = [sp.csr_matrix((np.ones(int((r == k).sum())), (h[r == k], t[r == k])),
                                        shape=(num_entities, num_entities)) for k in range(num_relations)]

    def pair_rows(self, heads: np.ndarray, tails: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``membership`` of pairs ``(heads, tails)`` ``(m,)`` that exist, and which did."""
        codes = heads * self.num_entities + tails
        slots = np.searchsorted(self.pair_codes, codes).clip(max=max(len(self.pair_codes) - 1, 0))
        found = self.pair_codes[slots] == codes
        return slots[found], found

    def non_loop_counts(self) -> np.ndarray:
        """``(R,)`` pairs ``h != t`` per relation."""
        return np.array([m.nnz - np.count_nonzero(m.diagonal()) for m in self.adjacency])

    def reversed_pair_counts(self) -> np.ndarray:
        """``(R, R)``: entry ``[r1, r2]`` counts the pairs ``(h, t)`` of r1, ``h != t``, with
        ``(t, h)`` in r2 (the diagonal: symmetric pairs)."""
        tails, heads = np.divmod(self.pair_codes, self.num_entities)  # each pair read reversed
        rows, found = self.pair_rows(heads, tails)
        keep = heads[found] != tails[found]
        forward = self.membership[np.flatnonzero(found)[keep]]
        return (forward.T @ self.membership[rows[keep]]).toarray()

    def compositions(self, min_support: int, min_confidence: float):
        """``(r1, r2, r3, support, confidence)`` of each rule ``r1 ∘ r2 ⇒ r3`` that passes.

        Only pairs ``(r1, r2)`` with at least ``min_support`` paths ``x -r1-> y -r2-> z`` are
        multiplied out: the path counts of all pairs are one product of degree matrices.
        """
        in_degrees = sp.vstack([sp.csr_matrix(m.getnnz(axis=0)) for m in self.adjacency])  # (R, E)
        out_degrees = sp.vstack([sp.csr_matrix(m.getnnz(axis=1)) for m in self.adjacency])
        paths = (in_degrees @ out_degrees.T).toarray()  # (R, R)
        for r1, r2 in zip(*np.nonzero(paths >= min_support)):
            body = (self.adjacency[r1] @ self.adjacency[r2]).tocoo()
            distinct = body.row != body.col
            x, z = body.row[distinct].astype(np.int64), body.col[distinct].astype(np.int64)
            if len(x) < min_support:
                continue
            rows, _ = self.pair_rows(x, z)
            supports = np.asarray(self.membership[rows].sum(axis=0)).ravel()
            for r3 in np.flatnonzero(supports >= max(min_support, min_confidence * len(x))):
                yield int(r1), int(r2), int(r3), int(supports[r3]), float(supports[r3] / len(x))
