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


def test_filtered_negatives_are_never_training_triples():
    """UMLS: about a tenth of uniform negatives are training triples; filtered, none is (checked
    against a Python set of the triples), and the other negatives stay as drawn."""
    from kgtool.data.registry import load_kg

    train = load_kg("umls").train
    known = {tuple(x) for x in train.tolist()}
    probability = torch.full((46,), 0.5)
    plain = CorruptionSampler(135, 64, probability)
    filtered = CorruptionSampler(135, 64, probability, known=train)
    positives = train[:512]

    def corrupted(corrupt_head, entities):
        return [(e, r, t) if head else (h, r, e) for (h, r, t), head, row in
                zip(positives.tolist(), corrupt_head.tolist(), entities.tolist()) for e in row]

    side, drawn = plain.sample(positives, torch.Generator().manual_seed(0))
    false_negatives = sum(triple in known for triple in corrupted(side, drawn)) / drawn.numel()
    assert false_negatives > 0.05
    side_f, kept = filtered.sample(positives, torch.Generator().manual_seed(0))
    assert torch.equal(side, side_f)
    assert not any(triple in known for triple in corrupted(side_f, kept))
    stays = torch.tensor([[triple not in known for triple in corrupted(side, drawn)]]).view(drawn.shape)
    assert torch.equal(kept[stays], drawn[stays])  # only the known ones were drawn again


def test_contains_matches_a_set():
    from kgtool.data.answers import AnswerIndex

    g = torch.Generator().manual_seed(0)
    triples = torch.randint(20, (200, 3), generator=g) % torch.tensor([20, 3, 20])
    index = AnswerIndex.tails(triples, 3)
    anchors, relations = torch.randint(20, (50,), generator=g), torch.randint(3, (50,), generator=g)
    answers = torch.randint(25, (50, 7), generator=g)  # some beyond every known answer
    known = {tuple(x) for x in triples.tolist()}
    expected = [[(a, r, c) in known for c in row] for a, r, row in zip(anchors.tolist(), relations.tolist(), answers.tolist())]
    assert index.contains(anchors, relations, answers).tolist() == expected


def test_per_row_negatives_are_filtered_by_default():
    """filter_negatives=None turns filtering on where it measured better (per-row sampled
    negatives), off with shared negatives; an explicit value wins."""
    from kgtool.kge.task import KGETask
    from tests.conftest import random_dataset, small_config

    dataset = random_dataset()
    assert KGETask(small_config(), dataset).objective.sampler.known_tails is not None
    assert KGETask(small_config(training={"shared_negatives": True}), dataset).objective.sampler.known_tails is None
    assert KGETask(small_config(training={"filter_negatives": False}), dataset).objective.sampler.known_tails is None
