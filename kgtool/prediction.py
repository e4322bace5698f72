"""Answers of a trained KGE model: ranked completions of queries and scores of given triples.

A query is a triple with one position asked: ``(h, r, ?)``, ``(?, r, t)`` or ``(h, ?, t)``. Every
answer is the completed triple with its score and a ``known`` flag: whether the triple is in the
dataset (train, valid or test). ``filter_known`` drops known answers, so that the top answers are
new links rather than the training triples back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from kgtool.data.kg import KGDataset
from kgtool.data.readers import read_numbered_tsv
from kgtool.errors import ConfigError, DataError
from kgtool.evaluation.mode import evaluation_mode

ASKED = "?"
POSITIONS = ("head", "relation", "tail")
CANDIDATES_PER_BATCH = 2**20  # candidate triples scored at once: queries per batch = this / candidates


@dataclass(frozen=True)
class Query:
    """Labels of a triple, ``None`` in the asked position (at most one); with none asked it is a
    triple to score. ``source`` says where it was read (``"queries.tsv:3"``), for errors."""

    head: str | None
    relation: str | None
    tail: str | None
    source: str = ""

    @property
    def labels(self) -> tuple[str | None, str | None, str | None]:
        return self.head, self.relation, self.tail

    @property
    def asked(self) -> int | None:
        """The position asked (0 head, 1 relation, 2 tail), or None for a complete triple."""
        return self.labels.index(None) if None in self.labels else None

    def __str__(self) -> str:
        return "(" + ", ".join(ASKED if label is None else label for label in self.labels) + ")"


@dataclass(frozen=True)
class Answer:
    """A scored triple; ``known``: it is in the dataset's train, valid or test split."""

    head: str
    relation: str
    tail: str
    score: float
    known: bool


def require_complete(triples: Sequence[Query]) -> None:
    """A DataError naming the first of ``triples`` that asks for a position instead of naming it."""
    for query in triples:
        if query.asked is not None:
            where = f"{query.source}: " if query.source else ""
            raise DataError(f"{where}a triple to score names all three parts; this one asks for its "
                            f"{POSITIONS[query.asked]}")


def read_queries(path: str | Path, asked: bool = True) -> list[Query]:
    """Rows ``head<TAB>relation<TAB>tail`` of ``path``; with ``asked`` each row has ``?`` in exactly
    one position, without none. A bad row is a :class:`DataError` naming the file and line."""
    queries = []
    for line, fields in read_numbered_tsv(Path(path), columns=3):
        query = Query(*(None if field == ASKED else field for field in fields), source=f"{path}:{line}")
        marks = fields.count(ASKED)
        if asked and marks != 1:
            raise DataError(f"{query.source}: a query has '?' in exactly one position, found {marks}: {query}")
        if not asked and marks:
            raise DataError(f"{query.source}: a triple to score has no '?': {query}")
        queries.append(query)
    if not queries:
        raise DataError(f"{path} holds no {'queries' if asked else 'triples'}: it is empty or blank")
    return queries


class Predictor:
    """Ranks answers of queries and scores triples with ``model`` on ``dataset``'s vocabulary.

    :param model: a KGE model offering ``score_hrt``, ``score_tails`` and ``score_heads``
    """

    def __init__(self, model: torch.nn.Module, dataset: KGDataset):
        self.model, self.dataset = model, dataset
        self.index = [{label: i for i, label in enumerate(labels)}
                      for labels in (dataset.entities, dataset.relations, dataset.entities)]
        self.known_codes = torch.unique(self.codes(dataset.all_triples()))

    def codes(self, triples: Tensor) -> Tensor:
        """One int64 per triple ``(…, 3)`` -> ``(…)``, equal exactly for equal triples."""
        E, R = self.dataset.num_entities, self.dataset.num_relations
        return (triples[..., 0] * R + triples[..., 1]) * E + triples[..., 2]

    def known(self, triples: Tensor) -> Tensor:
        """Whether each triple ``(…, 3)`` is in train, valid or test: bool ``(…)``."""
        return torch.isin(self.codes(triples), self.known_codes)

    def ids(self, query: Query) -> list[int]:
        """Ids of a query's labels, 0 in the asked position; an unknown label is a DataError."""
        ids = []
        for position, label in enumerate(query.labels):
            if label is not None and label not in self.index[position]:
                kind = "relation" if position == 1 else "entity"
                where = f"{query.source}: " if query.source else ""
                raise DataError(f"{where}unknown {kind} {label!r} in dataset {self.dataset.name}")
            ids.append(0 if label is None else self.index[position][label])
        return ids

    def answer(self, queries: Sequence[Query], top: int = 10, filter_known: bool = False) -> list[list[Answer]]:
        """The ``top`` answers of each query, best first; ``filter_known`` drops known triples
        (so fewer than ``top`` remain when the candidates run out)."""
        if top < 1:
            raise ConfigError(f"top must be at least 1, got {top}")
        for query in queries:
            if query.asked is None:
                raise DataError(f"{query.source + ': ' if query.source else ''}{query} asks nothing")
        ids = torch.tensor([self.ids(q) for q in queries], dtype=torch.long).reshape(-1, 3)
        asked = torch.tensor([q.asked for q in queries], dtype=torch.long)
        answers: list[list[Answer]] = [[] for _ in queries]
        with evaluation_mode(self.model):  # once: an encoder model encodes all entities once, not per batch
            for position in range(3):
                rows = (asked == position).nonzero().flatten()
                num_candidates = len(self.index[position])
                step = max(1, CANDIDATES_PER_BATCH // num_candidates)
                for start in range(0, len(rows), step):
                    batch = rows[start:start + step]
                    for row, ranked in zip(batch.tolist(), self._answer_batch(ids[batch], position, top, filter_known)):
                        answers[row] = ranked
        return answers

    def _answer_batch(self, queries: Tensor, position: int, top: int, filter_known: bool) -> list[list[Answer]]:
        """Answers of ``queries`` ``(b, 3)`` that all ask ``position``."""
        num_candidates = len(self.index[position])
        candidates = queries[:, None, :].repeat(1, num_candidates, 1)
        candidates[:, :, position] = torch.arange(num_candidates)
        scores = self._score_candidates(queries, candidates, position)
        known = self.known(candidates)
        if filter_known:
            scores = scores.masked_fill(known, float("-inf"))
        picked = scores.topk(min(top, num_candidates), dim=1).indices
        answers = []
        for row in range(len(queries)):
            kept = [j for j in picked[row].tolist() if not (filter_known and known[row, j])]
            answers.append([self._answer(candidates[row, j], float(scores[row, j]), bool(known[row, j])) for j in kept])
        return answers

    def _score_candidates(self, queries: Tensor, candidates: Tensor, position: int) -> Tensor:
        """Scores ``(b, c)`` of candidate triples ``(b, c, 3)``; entity positions score all entities
        at once. Called in evaluation mode."""
        model, device = self.model, next(self.model.parameters()).device
        h, r, t = queries.to(device).unbind(dim=1)
        if position == 0:
            scores = model.score_heads(r, t)
        elif position == 2:
            scores = model.score_tails(h, r)
        else:
            scores = model.score_hrt(candidates.to(device).reshape(-1, 3)).reshape(candidates.shape[:2])
        return scores.float().cpu()

    def score(self, triples: Sequence[Query | tuple[str, str, str]]) -> list[Answer]:
        """Each triple with its score and ``known`` flag, in the given order."""
        queries = [t if isinstance(t, Query) else Query(*t) for t in triples]
        require_complete(queries)
        ids = torch.tensor([self.ids(q) for q in queries], dtype=torch.long).reshape(-1, 3)
        device = next(self.model.parameters()).device
        with evaluation_mode(self.model):
            scores = torch.cat([self.model.score_hrt(ids[start:start + CANDIDATES_PER_BATCH].to(device)).float().cpu()
                                for start in range(0, len(ids), CANDIDATES_PER_BATCH)]) if len(ids) else torch.zeros(0)
        known = self.known(ids)
        return [self._answer(triple, float(s), bool(k)) for triple, s, k in zip(ids, scores.tolist(), known.tolist())]

    def evaluate(self, triples: Sequence[Query], memory_budget_mb: int = 512) -> dict:
        """Filtered ranking metrics of ``triples`` (as ``kgtool evaluate`` gives for a split; the
        filter: train, valid, test and these triples). Triples with a label the run does not know
        are not ranked but counted: ``{"skipped": {"count": n, "first": "file:line: unknown ..."}}``."""
        from kgtool.evaluation.ranking import evaluate_link_prediction

        require_complete(triples)
        rows, skipped = [], []
        for query in triples:
            try:
                rows.append(self.ids(query))
            except DataError as error:
                skipped.append(str(error))
        if not rows:
            raise DataError(f"none of the {len(skipped)} triples uses only the run's entities and relations; "
                            f"first: {skipped[0] if skipped else 'no triples'}")
        ids = torch.tensor(rows, dtype=torch.long)
        metrics = evaluate_link_prediction(self.model, ids, torch.cat([self.dataset.all_triples(), ids]),
                                           memory_budget_mb)
        metrics["skipped"] = {"count": len(skipped), "first": skipped[0] if skipped else None}
        return metrics

    def frame(self, queries: Sequence[Query], answers: list[list[Answer]]):
        """A pandas DataFrame of ``answers`` (as :meth:`answer` gives them for ``queries``), one row
        each: ``query`` (its text), ``rank`` (from 1), ``head``, ``relation``, ``tail``, their ids
        ``head_id``, ``relation_id``, ``tail_id``, ``score`` and ``known``."""
        import pandas

        rows = [(str(query), rank, a.head, a.relation, a.tail, a.score, a.known)
                for query, ranked in zip(queries, answers) for rank, a in enumerate(ranked, start=1)]
        frame = pandas.DataFrame(rows, columns=["query", "rank", "head", "relation", "tail", "score", "known"])
        for position, column in enumerate(POSITIONS):
            ids = [self.index[position][label] for label in frame[column]]
            frame.insert(frame.columns.get_loc("score"), f"{column}_id", pandas.Series(ids, dtype="int64"))
        return frame

    def _answer(self, triple: Tensor, score: float, known: bool) -> Answer:
        h, r, t = triple.tolist()
        d = self.dataset
        return Answer(d.entities[h], d.relations[r], d.entities[t], score, known)
