import torch

from kgtool.kge.negatives import CorruptionSampler, head_corruption_probability


def test_bernoulli_probability_against_counting():
    # relation 0: one head with 3 tails (1-to-N) -> corrupt heads more often; relation 1: N-to-1.
    triples = torch.tensor([[0, 0, 1], [0, 0, 2], [0, 0, 3], [1, 1, 5], [2, 1, 5], [3, 1, 5], [4, 1, 6]])
    probability = head_corruption_probability(triples, num_relations=3, kind="bernoulli")
    tph0, hpt0 = 3 / 1, 3 / 3
    tph1, hpt1 = 4 / 4, 4 / 2
    assert torch.allclose(probability[:2], torch.tensor([tph0 / (tph0 + hpt0), tph1 / (tph1 + hpt1)]))
    assert probability[2] == 0.5  # unused relation
    assert torch.equal(head_corruption_probability(triples, 3, "uniform"), torch.full((3,), 0.5))


def test_sampler_shapes_sides_and_determinism():
    positives = torch.tensor([[0, 0, 1], [1, 1, 2]] * 500)
    sampler = CorruptionSampler(num_entities=7, num_negatives=5, head_probability=torch.tensor([0.0, 1.0]))
    corrupt_head, entities = sampler.sample(positives, torch.Generator().manual_seed(3))
    assert entities.shape == (1000, 5) and entities.min() >= 0 and entities.max() < 7
    assert torch.equal(corrupt_head, positives[:, 1] == 1)
    again = sampler.sample(positives, torch.Generator().manual_seed(3))
    assert torch.equal(again[1], entities)
    counts = torch.bincount(entities.flatten(), minlength=7).float()
    assert (counts / counts.sum() - 1 / 7).abs().max() < 0.02  # uniform over entities
