"""The fused distance kernels of evaluation against brute-force scores and the plain (chunked,
eager) path, and when they are taken."""

import shutil

import pytest
import torch

from kgtool.kge.interactions import interaction
from kgtool.evaluation.ranking import link_prediction_ranks
from kgtool.kge import fused
from kgtool.kge.model import KGEModel

CASES = [("transe", 1), ("transe", 2), ("rotate", 1)]


@pytest.fixture
def fuse_everything(monkeypatch):
    """Every evaluation takes the fused kernels, over tiles of 3 rows (so that the last tile is
    partial); the calls of the tiling loop are counted."""
    calls = []
    tiled = fused.tiled
    monkeypatch.setattr(fused, "FUSED_MIN_ELEMENTS", 1)
    monkeypatch.setattr(fused, "tiled", lambda *args: calls.append(args[0].__name__) or tiled(*args))
    return calls


@pytest.fixture
def fresh_compiler_check():
    fused.can_fuse.cache_clear()
    yield
    fused.can_fuse.cache_clear()


def brute_force_scores(model: KGEModel, triples: torch.Tensor) -> torch.Tensor:
    """Score of each triple ``(m, 3)`` -> ``(m,)`` in float64, written from the stored rows."""
    rows = model.entity_embeddings.weight.double()
    h, r, t = triples.unbind(1)
    margin = model.interaction.margin
    if model.interaction.complex_valued:  # RotatE: γ - Σ |h·e^{iθ} - t|
        as_complex = torch.view_as_complex(rows.unflatten(-1, (-1, 2)).contiguous())
        phases = model.relation_embeddings.weight.double() * torch.pi / model.interaction.init_scale
        return margin - (as_complex[h] * torch.polar(torch.ones_like(phases), phases)[r] - as_complex[t]).abs().sum(1)
    p = model.interaction.p_norm  # TransE: γ - ||h + r - t||_p
    relations = model.relation_embeddings.weight.double()
    return margin - ((rows[h] + relations[r] - rows[t]).abs() ** p).sum(1) ** (1 / p)


@pytest.mark.parametrize("name,p_norm", CASES)
def test_fused_all_entity_scores_equal_brute_force(name, p_norm, fuse_everything, monkeypatch):
    monkeypatch.setattr(fused, "TILE_BYTES", 3 * 4 * (16 if name == "rotate" else 8))
    torch.manual_seed(0)
    model = KGEModel(interaction(name=name, dim=8, p_norm=p_norm), num_entities=11, num_relations=3).eval()
    anchors, relations = torch.tensor([0, 4, 10, 4, 7]), torch.tensor([0, 2, 1, 1, 0])
    entities = torch.arange(11)
    with torch.no_grad():
        tails, heads = model.score_tails(anchors, relations), model.score_heads(relations, anchors)
    assert fuse_everything  # the fused kernel ran, on both sides
    queries = torch.stack([anchors.repeat_interleave(11), relations.repeat_interleave(11)], 1)  # each with every entity
    every = entities.repeat(5)[:, None]
    expected_tails = brute_force_scores(model, torch.cat([queries, every], 1)).view(5, 11)
    expected_heads = brute_force_scores(model, torch.cat([every, queries.flip(1)], 1)).view(5, 11)
    torch.testing.assert_close(tails.double(), expected_tails, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(heads.double(), expected_heads, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,p_norm", CASES)
def test_fused_filtered_ranks_equal_the_plain_paths(name, p_norm, monkeypatch):
    torch.manual_seed(0)
    model = KGEModel(interaction(name=name, dim=4, p_norm=p_norm), num_entities=40, num_relations=3,
                     max_chunk_elements=50)  # the plain path scores in chunks
    triples = torch.stack([torch.randint(40, (60,)), torch.randint(3, (60,)), torch.randint(40, (60,))], 1)
    plain = link_prediction_ranks(model, triples[:20], triples, batch_size=7)
    monkeypatch.setattr(fused, "FUSED_MIN_ELEMENTS", 1)
    fast = link_prediction_ranks(model, triples[:20], triples, batch_size=7)
    for a, b in zip(plain, fast):
        assert torch.equal(a.optimistic, b.optimistic) and torch.equal(a.pessimistic, b.pessimistic)


@pytest.mark.usefixtures("fresh_compiler_check")
def test_without_a_compiler_evaluation_scores_eagerly_with_one_log_line(monkeypatch, caplog):
    monkeypatch.setattr(fused, "FUSED_MIN_ELEMENTS", 1)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(fused, "tiled", lambda *a: pytest.fail("fused kernel without a compiler"))
    torch.manual_seed(0)
    model = KGEModel(interaction(name="rotate", dim=4), num_entities=9, num_relations=2).eval()
    with caplog.at_level("WARNING", logger="kgtool"), torch.no_grad():
        scores = [model.score_tails(torch.tensor([0, 5]), torch.tensor([1, 0])) for _ in range(2)]
    assert [r.message for r in caplog.records] == [
        "evaluation: no C++ compiler found (c++, g++, clang++); distance models score all entities eagerly"]
    triples = torch.tensor([[h, r, e] for h, r in ((0, 1), (5, 0)) for e in range(9)])
    torch.testing.assert_close(scores[0].double(), brute_force_scores(model, triples).view(2, 9), rtol=1e-5, atol=1e-5)


def test_the_fused_path_bypasses_a_compiled_score_function(fuse_everything):
    """With ``training.compile`` the model's ``score`` is compiled for training; evaluation at
    scale goes through the eager formula to the fused kernel instead of compiling around it."""
    torch.manual_seed(0)
    model = KGEModel(interaction(name="rotate", dim=4), num_entities=9, num_relations=2).eval()
    model.score = lambda *args: pytest.fail("the (compiled) score function scored all entities")
    with torch.no_grad():
        scores = model.score_tails(torch.tensor([0, 5]), torch.tensor([1, 0]))
    assert fuse_everything == ["planar_complex_distances"]
    triples = torch.tensor([[h, r, e] for h, r in ((0, 1), (5, 0)) for e in range(9)])
    torch.testing.assert_close(scores.double(), brute_force_scores(model, triples).view(2, 9), rtol=1e-5, atol=1e-5)


def test_one_log_line_before_the_first_compile(caplog, monkeypatch):
    compiles = []
    monkeypatch.setattr(torch, "compile", lambda kernel, dynamic: compiles.append(kernel) or kernel)
    fused.compiling_notice.cache_clear()
    with caplog.at_level("INFO", logger="kgtool"):
        fused.compile_kernel(fused.lp_distances)
        fused.compile_kernel(fused.planar_complex_distances)
    assert [r.getMessage() for r in caplog.records] == ["compiling scoring kernels, about 20 s once"]
    assert compiles == [fused.lp_distances, fused.planar_complex_distances]
