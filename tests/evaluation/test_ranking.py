"""Filtered ranking against a brute-force reference (with many ties) and against pykeen's
evaluator fed the same scores."""

import pytest
import torch

from kgtool.kge.interactions import interaction
from kgtool.evaluation.ranking import evaluate_link_prediction
from kgtool.kge.model import KGEModel
from tests.conftest import random_dataset


class TableModel(torch.nn.Module):
    """Scores from a fixed table of small integers, so that ties are everywhere."""

    def __init__(self, num_entities, num_relations, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.table = torch.randint(0, 4, (num_entities, num_relations, num_entities), generator=g).float()
        self.num_entities = num_entities
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the model a device

    def score_tails(self, heads, relations):
        return self.table[heads, relations].clone()

    def score_heads(self, relations, tails):
        return self.table[:, relations, tails].T.clone()


def brute_force_ranks(score, triples, known, side):
    """(optimistic, pessimistic) rank per triple, by looping over every candidate entity."""
    known = {tuple(t) for t in known.tolist()}
    result = []
    for h, r, t in triples.tolist():
        target = t if side == "tail" else h
        target_score = score(h, r, t)
        greater = equal = 0
        for e in range(len(score.entities)):
            candidate = (h, r, e) if side == "tail" else (e, r, t)
            if e != target and candidate in known:
                continue  # filtered
            s = score(*candidate)
            greater += s > target_score
            equal += s == target_score and e != target
        result.append((1 + greater, 1 + greater + equal))
    return torch.tensor(result, dtype=torch.float)


class Score:
    def __init__(self, model):
        self.model = model
        self.entities = range(model.num_entities)

    def __call__(self, h, r, t):
        return self.model.table[h, r, t].item()


def metrics_of(ranks):
    return {"mrr": (1 / ranks).mean().item(), "mr": ranks.mean().item(),
            **{f"hits@{k}": (ranks <= k).float().mean().item() for k in (1, 3, 10)}}


@pytest.mark.parametrize("batch_size", [3, None])
def test_matches_brute_force_with_ties(batch_size):
    dataset = random_dataset(num_entities=20, num_relations=3, num_triples=250, seed=1)
    model = TableModel(20, 3)
    result = evaluate_link_prediction(model, dataset.test, dataset.all_triples(), batch_size=batch_size)
    ranks = {side: brute_force_ranks(Score(model), dataset.test, dataset.all_triples(), side) for side in ("head", "tail")}
    assert (ranks["tail"][:, 1] > ranks["tail"][:, 0]).any(), "the test needs ties"
    for kind, column in (("optimistic", 0), ("pessimistic", 1), ("realistic", None)):
        def pick(side):
            r = ranks[side]
            return r.mean(dim=1) if column is None else r[:, column]
        block = result if kind == "realistic" else result[kind]
        expected = metrics_of(torch.cat([pick("head"), pick("tail")]))
        assert {k: block[k] for k in expected} == pytest.approx(expected)
        assert {k: block["head"][k] for k in expected} == pytest.approx(metrics_of(pick("head")))
        assert {k: block["tail"][k] for k in expected} == pytest.approx(metrics_of(pick("tail")))


def test_per_relation_metrics():
    dataset = random_dataset(num_entities=20, num_relations=3, num_triples=250, seed=2)
    model = TableModel(20, 3, seed=2)
    result = evaluate_link_prediction(model, dataset.test, dataset.all_triples(), relation_labels=dataset.relations)
    ranks = torch.stack([brute_force_ranks(Score(model), dataset.test, dataset.all_triples(), s).mean(1)
                         for s in ("head", "tail")], dim=1)
    for r, label in enumerate(dataset.relations):
        mask = dataset.test[:, 1] == r
        if mask.any():
            assert result["per_relation"][label]["mrr"] == pytest.approx(metrics_of(ranks[mask].flatten())["mrr"])
            assert result["per_relation"][label]["num_triples"] == int(mask.sum())


class PykeenAdapter(torch.nn.Module):
    """What pykeen's public ``Evaluator.evaluate`` needs of a model: its sizes, device and
    ``predict`` of all heads or tails."""

    def __init__(self, model):
        super().__init__()
        self.model, self.num_entities, self.num_relations = model, model.num_entities, 4
        self.device = torch.device("cpu")

    def predict(self, hrt_batch, target, **kwargs):
        h, r, t = hrt_batch.unbind(1)
        return self.model.score_tails(h, r) if target == "tail" else self.model.score_heads(r, t)


@pytest.mark.parametrize("model_kind", ["table", "rotate"])
def test_matches_pykeen_rank_based_evaluator(model_kind):
    """Against pykeen's public RankBasedEvaluator.evaluate (filtered by train and valid too)."""
    from pykeen.evaluation import RankBasedEvaluator

    dataset = random_dataset(num_entities=40, num_relations=4, num_triples=600, seed=3)
    torch.manual_seed(0)
    model = TableModel(40, 4, seed=3) if model_kind == "table" else KGEModel(interaction(name="rotate", dim=8), 40, 4)
    ours = evaluate_link_prediction(model, dataset.test, dataset.all_triples())
    theirs = RankBasedEvaluator(filtered=True).evaluate(
        PykeenAdapter(model), dataset.test, batch_size=16, use_tqdm=False,
        additional_filter_triples=[dataset.train, dataset.splits["valid"]])
    for kind in ("realistic", "optimistic", "pessimistic"):
        block = ours if kind == "realistic" else ours[kind]
        for side, part in (("both", block), ("head", block["head"]), ("tail", block["tail"])):
            assert part["mrr"] == pytest.approx(theirs.get_metric(f"{side}.{kind}.inverse_harmonic_mean_rank"), rel=1e-5)
            assert part["mr"] == pytest.approx(theirs.get_metric(f"{side}.{kind}.arithmetic_mean_rank"), rel=1e-5)
            for k in (1, 3, 10):
                assert part[f"hits@{k}"] == pytest.approx(theirs.get_metric(f"{side}.{kind}.hits_at_{k}"))


def test_nan_scores_are_an_error():
    from kgtool.errors import KGToolError

    dataset = random_dataset(num_entities=10, num_relations=2, num_triples=60)
    model = TableModel(10, 2)
    model.table[dataset.test[0, 0], dataset.test[0, 1], 5] = float("nan")
    with pytest.raises(KGToolError, match="NaN scores"):
        evaluate_link_prediction(model, dataset.test, dataset.all_triples())
