"""OGB's protocol against a brute-force reference: every (corrupted) triple scored on its own by
``score_hrt``, ranked with OGB's tie rule ``1 + #greater + #equal / 2`` (read from
``ogb.linkproppred.Evaluator._eval_mrr``), head and tail sides pooled as in OGB's examples."""

from dataclasses import replace

import pytest
import torch

from kgtool.kge.interactions import interaction
from kgtool.data import load_kg
from kgtool.errors import KGToolError
from kgtool.evaluation.ogb_protocol import evaluate_ogb
from kgtool.kge.model import KGEModel
from tests.conftest import random_dataset
from tests.data.ogb_files import NUM_NEGATIVES, write_biokg


@pytest.fixture(scope="module")
def biokg(tmp_path_factory):
    """The biokg-style set read from OGB's format; in a few rows the true entity is among the
    negatives, which must tie with the positive."""
    root = tmp_path_factory.mktemp("ogb")
    write_biokg(root)
    dataset = load_kg("ogbl-biokg", str(root))
    for split in ("valid", "test"):
        head, tail = (x.clone() for x in dataset.ogb_protocol.negatives[split])
        triples = dataset.splits[split]
        head[0, :2] = triples[0, 0]
        tail[1, :] = triples[1, 2]
        dataset.ogb_protocol.negatives[split] = (head, tail)
    return dataset


def brute_force(model, triples, head_negatives, tail_negatives):
    R = model.num_relations
    ranks = []
    with torch.no_grad():
        for (h, r, t), heads, tails in zip(triples.tolist(), head_negatives.tolist(), tail_negatives.tolist()):
            for true, candidates, corrupt in ((t, tails, lambda c: (h, r, c)),
                                              (h, heads, (lambda c: (t, r + R, c)) if model.reciprocal
                                               else (lambda c: (c, r, t)))):
                scores = [model.score_hrt(torch.tensor([corrupt(c)])).item() for c in [true] + candidates]
                greater = sum(s > scores[0] for s in scores[1:])
                equal = sum(s == scores[0] for s in scores[1:])
                ranks.append(1 + greater + equal / 2)
    ranks = torch.tensor(ranks)
    return {"mrr": ranks.reciprocal().mean().item(),
            **{f"hits@{k}": (ranks <= k).float().mean().item() for k in (1, 3, 10)}}


@pytest.mark.parametrize("name, reciprocal", [("rotate", False), ("distmult", True), ("transe", False)])
@pytest.mark.parametrize("split", ["valid", "test"])
def test_matches_brute_force(biokg, name, reciprocal, split):
    torch.manual_seed(0)
    model = KGEModel(interaction(name=name, dim=8), biokg.num_entities, biokg.num_relations, reciprocal=reciprocal)
    metrics = evaluate_ogb(model, biokg, split, batch_size=2)
    expected = brute_force(model, biokg.splits[split], *biokg.ogb_protocol.negatives[split])
    assert metrics["protocol"] == "ogb ogbl-biokg sampled negatives"
    assert {k: metrics[k] for k in expected} == pytest.approx(expected, abs=1e-6)
    assert 0 < metrics["mrr"] < 1  # neither trivially perfect nor empty


def test_batches_and_mode_do_not_change_the_result(biokg):
    model = KGEModel(interaction(name="complex", dim=8), biokg.num_entities, biokg.num_relations)
    model.train()
    results = [evaluate_ogb(model, biokg, "test", batch_size=b) for b in (1, 4, None)]
    assert results[0] == pytest.approx(results[1]) and results[0] == pytest.approx(results[2])
    assert model.training


def test_all_negatives_equal_to_the_answer_tie_in_the_middle(biokg):
    """Every negative is the true entity: rank 1 + k/2 = 3 on both sides (optimistic would be 1,
    pessimistic 5)."""
    triples = biokg.test
    head = triples[:, :1].expand(-1, NUM_NEGATIVES)
    tail = triples[:, 2:].expand(-1, NUM_NEGATIVES)
    dataset = replace(biokg, ogb_protocol=replace(biokg.ogb_protocol, negatives={"test": (head, tail)}))
    model = KGEModel(interaction(name="rotate", dim=8), biokg.num_entities, biokg.num_relations)
    metrics = evaluate_ogb(model, dataset, "test")
    assert metrics["mrr"] == pytest.approx(1 / 3)
    assert (metrics["hits@1"], metrics["hits@3"], metrics["hits@10"]) == (0.0, 1.0, 1.0)


def test_errors_name_the_problem(biokg):
    model = KGEModel(interaction(name="transe", dim=4), biokg.num_entities, biokg.num_relations)
    with pytest.raises(KGToolError, match="cover valid, test, not 'train'"):
        evaluate_ogb(model, biokg, "train")
    plain = random_dataset()
    with pytest.raises(KGToolError, match="dataset random has no OGB protocol"):
        evaluate_ogb(model, plain, "test")


def test_fit_reports_the_protocol_the_config_names(tmp_path):
    """``auto`` scores an OGB set with OGB's protocol only; ``both`` adds the full ranking on
    top; ``ogb`` on a set without OGB negatives is a config error."""
    import kgtool
    from kgtool.errors import ConfigError

    write_biokg(tmp_path / "data")
    settings = {"model": {"name": "distmult", "dim": 8}, "data": {"dataset": "ogbl-biokg", "data_dir": str(tmp_path / "data")},
                "training": {"epochs": 1, "progress": False}}
    auto = kgtool.fit(settings, output=tmp_path / "auto")
    assert auto.metrics["test"]["protocol"].startswith("ogb") and "head" not in auto.metrics["test"]
    both = kgtool.fit({**settings, "evaluation": {"protocol": "both"}}, output=tmp_path / "both")
    assert both.metrics["test"]["ogb"]["mrr"] == pytest.approx(auto.metrics["test"]["mrr"])
    assert "head" in both.metrics["test"]  # the full filtered ranking's side blocks
    with pytest.raises(ConfigError, match="evaluation.protocol=ogb needs an OGB link set"):
        kgtool.fit({"training": {"epochs": 1}, "evaluation": {"protocol": "ogb"}}, output=tmp_path / "umls")
