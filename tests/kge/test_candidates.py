"""Fused per-row candidate scoring (kgtool.kge.candidates) against the plain path: same scores,
same gradients, for the distance models and both sides, compiled and eager."""

import logging

import pytest
import torch

from kgtool.config import resolve_config
from kgtool.kge.interactions import interaction
from kgtool.errors import ConfigError
from kgtool.kge import candidates
from kgtool.kge.model import KGEModel
from kgtool.kge.scoring_path import ALL_ENTITIES, FUSED_CANDIDATES, PLAIN
from kgtool.kge.task import KGETask

MODELS = [("transe", 1), ("transe", 2), ("rotate", 1)]


def make_model(name: str, p_norm: int, dtype: torch.dtype, **kwargs) -> KGEModel:
    torch.manual_seed(0)
    model = KGEModel(interaction(name=name, dim=24, p_norm=p_norm, margin=6.0), 300, 7, **kwargs).to(dtype)
    with torch.no_grad():
        model.relation_embeddings.weight[0] = 0  # q = h exactly (TransE: r = 0; RotatE: phase 0): zero distances
    return model


def scores_and_gradients(model: KGEModel, fused: bool, monkeypatch) -> list[torch.Tensor]:
    """Tail and head candidate scores of one batch, plus the gradients of a loss of both."""
    monkeypatch.setattr(candidates, "FUSED_MIN_ELEMENTS", 0 if fused else 2**62)
    generator = torch.Generator().manual_seed(1)
    heads, tails = torch.randint(300, (40,), generator=generator), torch.randint(300, (40,), generator=generator)
    relations = torch.randint(7, (40,), generator=generator)
    ids = torch.randint(300, (40, 50), generator=generator)
    ids[:, 0], ids[:, 1] = heads, tails  # the query's own entities: zero distances where r is 0
    model.zero_grad()
    tail_scores = model.score_tail_candidates(heads, relations, ids)
    head_scores = model.score_head_candidates(relations, tails, ids)
    weights = torch.rand(tail_scores.shape, generator=generator, dtype=tail_scores.dtype)
    ((tail_scores * weights).sum() + (head_scores * weights.flip(0)).sum()).backward()
    return [tail_scores.detach(), head_scores.detach(),
            model.entity_embeddings.weight.grad.clone(), model.relation_embeddings.weight.grad.clone()]


@pytest.fixture
def eager_kernels(monkeypatch):
    """The kernels uncompiled (the path without a C++ compiler): the same functions, run eagerly."""
    monkeypatch.setattr(candidates, "kernels", lambda: (candidates.distances, candidates.query_terms))


@pytest.mark.parametrize("name,p_norm", MODELS)
def test_eager_kernels_equal_the_plain_path_in_float64(name, p_norm, monkeypatch, eager_kernels):
    model = make_model(name, p_norm, torch.float64)
    plain = scores_and_gradients(model, False, monkeypatch)
    fused = scores_and_gradients(model, True, monkeypatch)
    for a, b in zip(fused, plain):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name,p_norm", MODELS)
def test_compiled_kernels_equal_the_plain_path(name, p_norm, monkeypatch):
    if not candidates.has_compiler():
        pytest.skip("no C++ compiler: the eager test covers the fallback")
    model = make_model(name, p_norm, torch.float32)
    plain = scores_and_gradients(model, False, monkeypatch)
    fused = scores_and_gradients(model, True, monkeypatch)
    for a, b in zip(fused, plain):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)  # float32 sums in another order


def test_chunks_cover_every_row(monkeypatch, eager_kernels):
    """Batches of many chunks, the last one partial, score every row."""
    monkeypatch.setattr(candidates, "CHUNK_BYTES", 3 * 50 * 48 * 8)  # 3 queries per chunk, 40 queries
    model = make_model("rotate", 1, torch.float64)
    fused = scores_and_gradients(model, True, monkeypatch)
    plain = scores_and_gradients(model, False, monkeypatch)
    for a, b in zip(fused, plain):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_taken_only_for_dense_tables_in_training(monkeypatch):
    monkeypatch.setattr(candidates, "FUSED_MIN_ELEMENTS", 0)
    ids = torch.zeros(4, 5, dtype=torch.long)

    def path(name, p_norm=1, candidate_ids=ids, **options):
        return make_model(name, p_norm, torch.float32, **options).scoring_path(4, candidate_ids)

    assert path("rotate") == FUSED_CANDIDATES
    assert path("rotate", sparse=True) == PLAIN
    assert path("rotate", candidate_ids=ids[:1]) == PLAIN  # shared negatives
    assert path("transe", 3) == PLAIN  # no kernel for p = 3
    assert path("distmult") == PLAIN  # bilinear: the plain path
    assert path("rotate", fused_negatives=False) == PLAIN
    with torch.no_grad():
        assert path("rotate") == PLAIN
    monkeypatch.setattr(candidates, "FUSED_MIN_ELEMENTS", 2**22)
    assert path("rotate") == PLAIN  # too small to repay compiling


def test_without_a_compiler_one_log_line_and_eager_kernels(monkeypatch, caplog):
    monkeypatch.setattr(candidates, "has_compiler", lambda: False)
    candidates.kernels.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="kgtool"):
            assert candidates.kernels() == (candidates.distances, candidates.query_terms)
            candidates.kernels()
        assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
        assert "no C++ compiler" in caplog.records[0].message
    finally:
        candidates.kernels.cache_clear()


def test_config_turns_it_off_and_refuses_it_where_it_does_not_apply():
    for value, expected in [(None, True), (False, False)]:
        config = resolve_config({"model": {"name": "rotate"}, "data": {"dataset": "nations"},
                                 "training": {"fused_negatives": value}})
        assert KGETask.from_config(config).model.fused_negatives is expected
    with pytest.raises(ConfigError, match="fused_negatives"):
        resolve_config({"model": {"name": "rotate"}, "training": {"fused_negatives": True, "scoring": "1vsall",
                                                                   "loss": "ce"}})
    with pytest.raises(ConfigError, match="fused_negatives"):
        resolve_config({"model": {"name": "rotate"}, "training": {"fused_negatives": True, "shared_negatives": True}})


def test_rotate_takes_its_candidates_rather_than_all_entities(monkeypatch):
    """RotatE's all-entity scores in training are elementwise tensors; TransE's a distance matrix."""
    monkeypatch.setattr(candidates, "FUSED_MIN_ELEMENTS", 0)
    ids = torch.zeros(4, 100, dtype=torch.long)  # 4·100 negatives ≥ 300 entities: all entities otherwise
    assert make_model("rotate", 1, torch.float32).scoring_path(4, ids) == FUSED_CANDIDATES
    assert make_model("rotate", 1, torch.float32, fused_negatives=False).scoring_path(4, ids) == ALL_ENTITIES
    assert make_model("transe", 1, torch.float32).scoring_path(4, ids) == ALL_ENTITIES
