"""Predictions: known flags and filtering against brute force, batches against single queries."""

import re

import pytest
import torch

import kgtool
from kgtool import prediction
from kgtool.errors import DataError
from kgtool.prediction import Query, read_queries
from tests.conftest import random_dataset, small_config


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = small_config(model={"name": "distmult", "dim": 8}, training={"epochs": 1})
    return kgtool.fit(config, output=tmp_path_factory.mktemp("prediction") / "run", dataset=random_dataset())


def known_set(dataset):
    E, R = dataset.entities, dataset.relations
    return {(E[h], R[r], E[t]) for h, r, t in dataset.all_triples().tolist()}


def brute_force(run, query):
    """Every completion of ``query`` with its score from ``score_hrt``, best first (stable)."""
    d = run.dataset
    ids = [None if label is None else (d.relations if i == 1 else d.entities).index(label)
           for i, label in enumerate(query.labels)]
    choices = range(d.num_relations if query.asked == 1 else d.num_entities)
    triples = torch.tensor([[c if i == query.asked else ids[i] for i in range(3)] for c in choices])
    with torch.no_grad():
        scores = run.model.score_hrt(triples)
    order = sorted(range(len(triples)), key=lambda j: -scores[j].item())
    return [(tuple((d.relations if i == 1 else d.entities)[x] for i, x in enumerate(triples[j].tolist())),
             scores[j].item()) for j in order]


QUERIES = [Query("e1", "r0", None), Query(None, "r2", "e5"), Query("e3", None, "e4"), Query("e0", "r1", None)]


@pytest.mark.parametrize("query", QUERIES, ids=str)
def test_answers_are_the_brute_force_ranking_with_known_flags(run, query):
    known = known_set(run.dataset)
    everything = run.predict([query], top=10**6)[0]
    expected = brute_force(run, query)
    assert [(a.head, a.relation, a.tail) for a in everything] == [t for t, _ in expected]
    assert [a.score for a in everything] == pytest.approx([s for _, s in expected], abs=1e-5)
    assert [a.known for a in everything] == [(a.head, a.relation, a.tail) in known for a in everything]
    assert any(a.known for a in everything) or query.asked == 1


@pytest.mark.parametrize("query", QUERIES, ids=str)
@pytest.mark.parametrize("top", [3, 10**6])
def test_filter_removes_exactly_the_known_triples(run, query, top):
    known = known_set(run.dataset)
    unfiltered = run.predict([query], top=10**6)[0]
    new = [a for a in unfiltered if (a.head, a.relation, a.tail) not in known]
    filtered = run.predict([query], top=top, filter_known=True)[0]
    assert [(a.head, a.relation, a.tail) for a in filtered] == [(a.head, a.relation, a.tail) for a in new][:top]
    assert not any(a.known for a in filtered)
    assert len(unfiltered) - len(new) == sum(a.known for a in unfiltered) > 0 or query.asked == 1


def test_batch_of_queries_equals_single_queries(run, monkeypatch):
    d = run.dataset
    queries = [Query(d.entities[i % 30], d.relations[i % 4], None) for i in range(0, 30, 3)]
    queries += [Query(None, d.relations[i % 4], d.entities[i]) for i in range(5)] + [Query("e7", None, "e9")]
    queries = queries[::2] + queries[1::2]  # positions interleaved
    single = [run.predict([q], top=5, filter_known=True)[0] for q in queries]
    monkeypatch.setattr(prediction, "CANDIDATES_PER_BATCH", 64)  # several batches per position
    batched = run.predict(queries, top=5, filter_known=True)
    assert [[(a.head, a.relation, a.tail, a.known) for a in ranked] for ranked in batched] == \
        [[(a.head, a.relation, a.tail, a.known) for a in ranked] for ranked in single]
    assert [a.score for ranked in batched for a in ranked] == pytest.approx([a.score for r in single for a in r], abs=1e-6)


def test_scored_triples_match_the_model_and_carry_known_flags(run):
    d = run.dataset
    triples = [("e1", "r0", "e2"), tuple(d.entities[x] if i != 1 else d.relations[x] for i, x in enumerate(d.test[0].tolist()))]
    scored = run.score_triples(triples)
    ids = torch.tensor([[d.entities.index(h), d.relations.index(r), d.entities.index(t)] for h, r, t in triples])
    with torch.no_grad():
        assert [a.score for a in scored] == pytest.approx(run.model.score_hrt(ids).tolist(), abs=1e-6)
    assert [a.known for a in scored] == [t in known_set(d) for t in triples]
    assert scored[1].known


def test_query_files_name_the_line_at_fault(run, tmp_path):
    good = tmp_path / "queries.tsv"
    good.write_text("e1\tr0\t?\n\n?\tr2\te5\n")
    assert read_queries(good) == [Query("e1", "r0", None, f"{good}:1"), Query(None, "r2", "e5", f"{good}:3")]
    for text, message in [("e1\t?\t?\n", ":1: a query has '?' in exactly one position, found 2"),
                          ("e1\tr0\t?\ne1\tr0\n", ":2: expected 3 tab-separated fields")]:
        good.write_text(text)
        with pytest.raises(DataError, match=re.escape(message)):
            read_queries(good)
    good.write_text("e1\tr0\t?\nnobody\tr0\t?\n")
    with pytest.raises(DataError, match=f"{good}:2: unknown entity 'nobody'"):
        run.predict(read_queries(good))
    good.write_text("e1\tr0\t?\n")
    with pytest.raises(DataError, match=":1: a triple to score has no '\\?'"):
        read_queries(good, asked=False)


def test_query_files_from_other_tools_read_as_written(tmp_path):
    """A byte-order mark, a header line and padded fields (a spreadsheet's export) read as the queries."""
    path = tmp_path / "queries.tsv"
    path.write_text("\ufeffhead\trelation\ttail\r\n e1 \tr0\t ?\r\n", encoding="utf-8")
    assert read_queries(path) == [Query("e1", "r0", None, f"{path}:2")]


def test_a_file_of_test_triples_ranks_as_the_test_split_and_counts_unknown_ones(run, tmp_path):
    d = run.dataset
    lines = [f"{d.entities[h]}\t{d.relations[r]}\t{d.entities[t]}\n" for h, r, t in d.test.tolist()]
    lines.insert(3, "stranger\tr0\te1\n")
    lines.insert(7, "e1\tno_such_relation\te2\n")
    path = tmp_path / "new.tsv"
    path.write_text("".join(lines))
    metrics, expected = run.evaluate_triples(path), run.evaluate("test")
    assert metrics["skipped"] == {"count": 2, "first": f"{path}:4: unknown entity 'stranger' in dataset random"}
    assert metrics["num_triples"] == len(d.test)
    for key in ("mrr", "mr", "hits@1", "hits@10"):
        assert metrics[key] == pytest.approx(expected[key]) and metrics["head"][key] == pytest.approx(expected["head"][key])
    path.write_text("stranger\tr0\te1\n")
    with pytest.raises(DataError, match="none of the 1 triples uses only the run's entities"):
        run.evaluate_triples(path)


@pytest.mark.parametrize("asked, what", [(True, "queries"), (False, "triples")])
def test_an_empty_query_or_triple_file_is_an_error(tmp_path, asked, what):
    path = tmp_path / "empty.tsv"
    path.write_text("\n  \n")
    with pytest.raises(DataError, match=f"{path} holds no {what}: it is empty or blank"):
        read_queries(path, asked=asked)
