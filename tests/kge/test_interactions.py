"""Score functions against formulas written out element by element, and the broadcasting paths
(single triples, candidates, all entities, chunked) against each other."""

import cmath
import math

import pytest
import torch

from kgtool.kge.interactions import interaction
from kgtool.kge.interactions import (
    complex_interaction,
    distmult_interaction,
    inner_products,
    rotate_interaction,
    transe_interaction,
)
from kgtool.kge.model import KGEModel
from kgtool.kge.scoring_path import ALL_ENTITIES, PLAIN

MODELS = ["transe", "distmult", "complex", "rotate"]


def test_formulas_against_scalar_loops():
    g = torch.Generator().manual_seed(0)
    h, r, t = (torch.randn(5, generator=g, dtype=torch.float64) for _ in range(3))
    for p in (1, 2):
        expected = 3.0 - sum(abs(a + b - c) ** p for a, b, c in zip(h, r, t)) ** (1 / p)
        assert transe_interaction(h, r, t, p, 3.0).item() == pytest.approx(expected.item())
    assert distmult_interaction(h, r, t).item() == pytest.approx(sum(a * b * c for a, b, c in zip(h, r, t)).item())
    hc, rc, tc = (torch.randn(5, generator=g, dtype=torch.complex128) for _ in range(3))
    pairs = torch.view_as_real  # (5,) complex -> (5, 2) (real, imaginary) pairs
    expected = sum((a * b * c.conjugate()).real for a, b, c in zip(hc.tolist(), rc.tolist(), tc.tolist()))
    assert complex_interaction(pairs(hc), pairs(rc), pairs(tc)).item() == pytest.approx(expected)
    phases = torch.rand(5, generator=g, dtype=torch.float64) * 6
    rotation = pairs(torch.polar(torch.ones_like(phases), phases))
    expected = 9.0 - sum(abs(a * cmath.exp(1j * p) - c) for a, p, c in zip(hc.tolist(), phases.tolist(), tc.tolist()))
    assert rotate_interaction(pairs(hc), rotation, pairs(tc), 9.0).item() == pytest.approx(expected)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("reciprocal", [False, True])
def test_all_scoring_paths_agree(name, reciprocal):
    torch.manual_seed(0)
    model = KGEModel(interaction(name=name, dim=6, p_norm=2), num_entities=25, num_relations=4,
                     reciprocal=reciprocal, max_chunk_elements=40)  # forces many entity chunks
    triples = torch.tensor([[0, 1, 2], [3, 0, 24], [7, 3, 7], [24, 2, 0]])
    h, r, t = triples.unbind(1)
    direct = model.score_hrt(triples)
    tails = model.score_tails(h, r)
    assert tails.shape == (4, 25)
    assert torch.allclose(tails[torch.arange(4), t], direct, atol=1e-5)
    candidates = torch.tensor([[2, 5, 9]] * 4)
    assert torch.allclose(model.score_tail_candidates(h, r, candidates), tails[:, [2, 5, 9]], atol=1e-5)
    shared = model.score_tail_candidates(h, r, candidates[:1])
    assert torch.allclose(shared, tails[:, [2, 5, 9]], atol=1e-5)
    heads = model.score_heads(r, t)
    if reciprocal:  # heads are asked as (t, r⁻¹, ?)
        inverse = torch.stack([t, r + 4, h], dim=1)
        assert torch.allclose(heads[torch.arange(4), h], model.score_hrt(inverse), atol=1e-5)
    else:
        assert torch.allclose(heads[torch.arange(4), h], direct, atol=1e-5)
        assert torch.allclose(model.score_head_candidates(r, t, candidates), heads[:, [2, 5, 9]], atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_reciprocal_head_candidates_score_the_same_on_both_paths(name):
    """A reciprocal model's head candidate c of (?, r, t) is (t, r⁻¹, c) whether few candidates
    are gathered or many go through all entities, and equals its all-heads score."""
    torch.manual_seed(0)
    model = KGEModel(interaction(name=name, dim=6), num_entities=25, num_relations=4, reciprocal=True)
    relations, tails = torch.tensor([1, 0, 3, 2]), torch.tensor([0, 3, 7, 24])
    many = torch.randint(25, (4, 9))
    assert model.scoring_path(4, many) == ALL_ENTITIES and model.scoring_path(4, many[:, :2]) == PLAIN
    all_heads = model.score_heads(relations, tails)
    for candidates in (many, many[:, :2]):
        expected = model.score(model.entities(tails)[:, None], model.relations(relations + 4)[:, None],
                               model.entities(candidates))
        scores = model.score_head_candidates(relations, tails, candidates)
        torch.testing.assert_close(scores, expected)
        torch.testing.assert_close(scores, all_heads.gather(1, candidates))


@pytest.mark.parametrize("name", ["transe", "rotate"])
def test_chunked_all_entity_scores_carry_the_same_gradients(name):
    """Chunks are written into one preallocated score matrix; gradients must still reach every chunk."""
    torch.manual_seed(0)
    chunked = KGEModel(interaction(name=name, dim=6), num_entities=25, num_relations=4, max_chunk_elements=40)
    whole = KGEModel(interaction(name=name, dim=6), num_entities=25, num_relations=4)
    whole.load_state_dict(chunked.state_dict())
    h, r = torch.tensor([0, 3, 7, 24]), torch.tensor([1, 0, 3, 2])
    for model in (chunked, whole):
        model.score_tails(h, r).logsumexp(dim=1).sum().backward()
    for (name_, a), b in zip(chunked.named_parameters(), whole.parameters()):
        assert a.grad is not None and torch.allclose(a.grad, b.grad, atol=1e-5), name_


@pytest.mark.parametrize("shapes", [((5, 1, 6), (1, 7, 6)), ((5, 1, 6), (5, 7, 6)), ((5, 6), (5, 6))])
def test_inner_products_match_the_elementwise_sum_with_gradients(shapes):
    """The matrix-product path (queries against a table) and einsum agree with Σ a·b."""
    a = torch.randn(shapes[0], requires_grad=True)
    b = torch.randn(shapes[1], requires_grad=True)
    fast = inner_products(a, b)
    reference = (a * b).sum(dim=-1)
    assert fast.shape == reference.shape
    torch.testing.assert_close(fast, reference)
    weights = torch.randn(reference.shape)
    fast_grads = torch.autograd.grad((fast * weights).sum(), (a, b))
    reference_grads = torch.autograd.grad((reference * weights).sum(), (a, b))
    for got, expected in zip(fast_grads, reference_grads):
        torch.testing.assert_close(got, expected)


def test_rotate_scores_the_same_with_and_without_gradients():
    """Evaluation (no gradients) takes faster in-place moduli; training keeps the NaN-free norm."""
    torch.manual_seed(0)
    h, r, t = torch.randn(4, 1, 6, 2), torch.randn(4, 1, 6, 2), torch.randn(1, 9, 6, 2)
    r = r / torch.linalg.vector_norm(r, dim=-1, keepdim=True)
    for heads, tails in ((h, t), (t, h)):  # both orders: tails rotated when the heads are many
        with torch.no_grad():
            fast = rotate_interaction(heads, r, tails, 9.0)
        torch.testing.assert_close(fast, rotate_interaction(heads, r, tails, 9.0))
    same = torch.randn(3, 6, 2, requires_grad=True)
    identity = torch.tensor([1.0, 0.0]).expand(3, 6, 2)
    rotate_interaction(same, identity, same.detach(), 9.0).sum().backward()
    assert torch.isfinite(same.grad).all()  # |h·r - t| = 0: the training path's gradient is finite


def test_rotate_relations_are_unit_rotations_and_init_follows_reference_code():
    config = interaction(name="rotate", dim=50, margin=9.0)
    model = KGEModel(config, num_entities=10, num_relations=3)
    bound = (9.0 + 2.0) / 50
    assert model.entity_embeddings.weight.abs().max() <= bound
    assert model.entity_embeddings.weight.shape == (10, 100)  # 50 complex numbers
    rotations = torch.view_as_complex(model.relations(torch.arange(3)).contiguous())
    assert torch.allclose(rotations.abs(), torch.ones(3, 50))
    phases = model.relation_embeddings.weight * math.pi / bound
    assert phases.abs().max() <= math.pi + 1e-6
    assert torch.allclose(rotations.angle(), phases, atol=1e-5)


def test_penalties():
    model = KGEModel(interaction(name="complex", dim=2), num_entities=3, num_relations=1)
    with torch.no_grad():
        model.entity_embeddings.weight.copy_(torch.tensor([[3.0, 4.0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]]))
        model.relation_embeddings.weight.fill_(0)
    entities, relations = torch.tensor([[0, 1]]), torch.tensor([0])
    assert model.penalty("n3", entities, relations).item() == pytest.approx(5**3 + 1)  # moduli cubed
    assert model.penalty("l2", entities, relations).item() == pytest.approx(25 + 1)


@pytest.mark.parametrize("p_norm", [1, 2])
def test_transe_distance_matrix_path_equals_the_broadcast_formula(p_norm):
    """Tables against queries go through cdist; scores and gradients match the plain formula."""
    g = torch.Generator().manual_seed(0)
    queries = torch.randn(6, 1, 10, generator=g, requires_grad=True)
    relations = torch.randn(6, 1, 10, generator=g, requires_grad=True)
    table = torch.randn(1, 50, 10, generator=g, requires_grad=True)
    for h, t in ((queries, table), (table, queries)):  # all tails; all heads
        fast = transe_interaction(h, relations, t, p_norm, 9.0)
        plain = 9.0 - torch.linalg.vector_norm(h + relations - t, ord=p_norm, dim=-1)
        torch.testing.assert_close(fast, plain)
        for a, b in zip(torch.autograd.grad(fast.sum(), (queries, relations, table)),
                        torch.autograd.grad(plain.sum(), (queries, relations, table))):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", MODELS)
def test_many_per_row_candidates_go_through_all_entities_with_the_same_scores_and_gradients(name):
    """With k ≥ num_entities / 4 candidates per row the model scores all entities and picks;
    scores and gradients equal those of gathering the candidates' rows."""
    torch.manual_seed(0)
    model = KGEModel(interaction(name=name, dim=6), num_entities=25, num_relations=4)
    anchors, relations = torch.tensor([0, 3, 7, 24]), torch.tensor([1, 0, 3, 2])
    candidates = torch.randint(25, (4, 9))  # repeats included: their gradients must add up
    assert model.scoring_path(4, candidates) == ALL_ENTITIES and model.scoring_path(4, candidates[:, :5]) == PLAIN
    a, r, c = model.entities(anchors)[:, None], model.relations(relations)[:, None], model.entities(candidates)
    for fast, gathered in ((model.score_tail_candidates(anchors, relations, candidates), model.score(a, r, c)),
                           (model.score_head_candidates(relations, anchors, candidates), model.score(c, r, a))):
        torch.testing.assert_close(fast, gathered)
        weights = torch.randn(fast.shape)
        for x, y in zip(torch.autograd.grad((fast * weights).sum(), list(model.parameters())),
                        torch.autograd.grad((gathered * weights).sum(), list(model.parameters()), retain_graph=True)):
            torch.testing.assert_close(x, y)


@pytest.mark.parametrize("side", ["heads", "tails"])
def test_complex_all_entities_is_a_matrix_product_not_a_huge_tensor(side):
    """100k entities as heads against 512 queries, or 100k queries against 512 tails (all tails
    of a big batch on a small graph): a (512, 100000, 128, 2) intermediate would need 52 GB."""
    g = torch.Generator().manual_seed(0)
    many, few = torch.randn(100_000, 1, 128, 2, generator=g), torch.randn(512, 1, 128, 2, generator=g)
    if side == "heads":  # (?, r, t): the entities (1, 100000) against queries (512, 1)
        h, r, t = many.transpose(0, 1), few, torch.randn(512, 1, 128, 2, generator=g)
    else:  # (h, r, ?): queries (100000, 1) against the entities (1, 512)
        h, r, t = many, torch.randn(100_000, 1, 128, 2, generator=g), few.transpose(0, 1)
    scores = complex_interaction(h, r, t)
    assert scores.shape == ((512, 100_000) if side == "heads" else (100_000, 512))
    hc, rc, tc = (torch.view_as_complex(x[:3, :7].contiguous()) for x in (h, r, t))  # broadcast to (3, 7, 128)
    expected = (hc * rc * tc.conj()).sum(dim=-1).real  # Re(Σ h·r·conj(t))
    torch.testing.assert_close(scores[:3, :7], expected, rtol=1e-4, atol=1e-4)


def test_distances_without_gradients_take_the_in_place_path_even_for_views_of_a_parameter(monkeypatch):
    """Evaluation scores views of the entity table, which keep requires_grad under no_grad; the
    gradient-safe norm there made RotatE's chunked ranking 2x slower."""
    from kgtool.kge.interactions import complex_distances

    table = torch.nn.Parameter(torch.randn(5, 4, 2))
    expected = torch.linalg.vector_norm(table[None, :3].detach() - table[:2, None].detach(), dim=-1).sum(-1)
    monkeypatch.setattr(torch.linalg, "vector_norm", lambda *a, **k: pytest.fail("the gradient-safe path"))
    with torch.no_grad():
        got = complex_distances(table[None, :3], table[:2, None])
    torch.testing.assert_close(got, expected)
