import math

import pytest
import torch
import torch.nn.functional as F

from kgtool.kge import losses


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_nssa_against_formula():
    pos, neg, alpha = torch.tensor([2.0, -1.0]), torch.tensor([[0.5, -0.5, 1.0], [0.0, 3.0, -2.0]]), 0.7
    expected_pos = sum(-math.log(sigmoid(p)) for p in pos.tolist()) / 2
    expected_neg = 0.0
    for row in neg.tolist():
        weights = [math.exp(alpha * s) for s in row]
        expected_neg += sum(-w / sum(weights) * math.log(sigmoid(-s)) for w, s in zip(weights, row))
    expected = (expected_pos + expected_neg / 2) / 2
    assert losses.nssa_loss(pos, neg, alpha).item() == pytest.approx(expected, rel=1e-5)


def test_adversarial_weights_carry_no_gradient():
    neg = torch.tensor([[0.5, -0.5]], requires_grad=True)
    losses.nssa_loss(torch.tensor([1.0]), neg, 1.0).backward()
    expected = [w * sigmoid(s) / 2 for w, s in zip(torch.softmax(neg.detach(), 1)[0].tolist(), [0.5, -0.5])]
    assert neg.grad[0].tolist() == pytest.approx(expected, rel=1e-5)


def test_margin_softplus_bce_and_weights():
    pos, neg = torch.tensor([1.0, 0.0]), torch.tensor([[0.5, 2.0], [-1.0, 0.2]])
    assert losses.margin_ranking_loss(pos, neg, 1.0).item() == pytest.approx(((0.5 + 2.0) / 2 + (0 + 1.2) / 2) / 2)
    sp = lambda x: math.log1p(math.exp(x))
    expected = ((sp(-1) + (sp(0.5) + sp(2.0)) / 2) + (sp(0) + (sp(-1) + sp(0.2)) / 2)) / 2
    assert losses.softplus_loss(pos, neg).item() == pytest.approx(expected, rel=1e-5)
    bce = ((sp(-1) + sp(0.5) + sp(2.0)) / 3 + (sp(0) + sp(-1) + sp(0.2)) / 3) / 2
    assert losses.bce_loss(pos, neg).item() == pytest.approx(bce, rel=1e-5)
    weighted = losses.margin_ranking_loss(pos, neg, 1.0, torch.tensor([1.0, 0.0]))
    assert weighted.item() == pytest.approx((0.5 + 2.0) / 2)


def test_all_entity_losses():
    scores = torch.tensor([[2.0, 0.0, -1.0]])
    first = torch.tensor([0])
    log_z = math.log(sum(math.exp(s) for s in [2.0, 0.0, -1.0]))
    assert losses.all_entities_loss("ce", scores, first, torch.tensor([1]), 0.0).item() == pytest.approx(log_z - 0.0)
    two = torch.tensor([0, 0]), torch.tensor([0, 1])
    assert losses.all_entities_loss("ce", scores, *two, 0.0).item() == pytest.approx(log_z - 1.0)
    eps = 0.3
    targets = [(1 - eps) * y + eps / 3 for y in [0.0, 1.0, 0.0]]
    sp = lambda x: math.log1p(math.exp(x))
    expected = sum(y * sp(-s) + (1 - y) * sp(s) for y, s in zip(targets, [2.0, 0.0, -1.0])) / 3
    assert losses.all_entities_loss("bce", scores, first, torch.tensor([1]), eps).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kind", ["ce", "bce"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_all_entity_losses_equal_dense_reference(kind, label_smoothing, monkeypatch):
    """The sparse-target loss and its hand-written gradient against torch's losses on dense
    multi-hot labels (normalised per row for ``ce``), rows with one to several answers, the
    scores cut into blocks of 2 rows (the last has one)."""
    monkeypatch.setattr(losses, "BLOCK_ELEMENTS", 25)  # 2 rows of 11 entities per block
    generator = torch.Generator().manual_seed(0)
    b, n = 7, 11  # the last block has one row
    scores = (3 * torch.randn(b, n, generator=generator, dtype=torch.float64)).requires_grad_()
    labels = torch.rand(b, n, generator=generator) < 0.3
    labels[torch.arange(b), torch.randint(n, (b,), generator=generator)] = True  # every row answered
    rows, answers = labels.nonzero(as_tuple=True)
    dense = labels.double()
    if kind == "ce":
        reference = F.cross_entropy(scores, dense / dense.sum(1, keepdim=True), label_smoothing=label_smoothing)
    else:
        smoothed = (1 - label_smoothing) * dense + label_smoothing / n
        reference = F.binary_cross_entropy_with_logits(scores, smoothed)
    expected_grad, = torch.autograd.grad(reference, scores)
    loss = losses.all_entities_loss(kind, scores, rows, answers, label_smoothing)
    grad, = torch.autograd.grad(3.0 * loss, scores)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-12)
    torch.testing.assert_close(grad, 3.0 * expected_grad, rtol=1e-10, atol=1e-12)
    assert torch.autograd.gradcheck(lambda s: losses.all_entities_loss(kind, s, rows, answers, label_smoothing),
                                    (scores.detach().requires_grad_(),))
