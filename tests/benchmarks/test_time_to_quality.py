"""benchmarks/time_to_quality.py's pykeen path: kgtool's ranking of a pykeen model must give
pykeen's own filtered metrics, and a kgtool config must map onto pykeen's components."""

import pytest
import torch

from kgtool.config import Config
from kgtool.errors import ConfigError
from kgtool.evaluation.ranking import evaluate_link_prediction
from tests.conftest import random_dataset

pytest.importorskip("pykeen")
import time_to_quality  # a script in benchmarks/, which tests/benchmarks/conftest.py puts on sys.path


def kvsall_config(**training) -> Config:
    return Config.from_dict({"model": {"name": "complex", "dim": 8},
                             "training": {"scoring": "kvsall", "loss": "ce", "reciprocal": True, "optimizer": "adagrad",
                                          "lr": 0.1, "regularizer": "n3", "regularizer_weight": 0.05, "batch_size": 64,
                                          "epochs": 2, "eval_every": 1, **training}})


def test_pykeen_scorer_ranks_as_pykeens_evaluator():
    from pykeen.evaluation import RankBasedEvaluator

    dataset = random_dataset(num_entities=40, num_relations=4, num_triples=600, seed=3)
    factory, model, loop = time_to_quality.pykeen_components(kvsall_config(), dataset)
    loop.train(triples_factory=factory, num_epochs=1, batch_size=64, use_tqdm=False)
    model.eval()
    theirs = RankBasedEvaluator(filtered=True).evaluate(
        model, dataset.test, additional_filter_triples=[dataset.train, dataset.valid], use_tqdm=False)
    ours = evaluate_link_prediction(time_to_quality.PykeenScorer(model, dataset.num_entities), dataset.test,
                                    dataset.all_triples())
    assert ours["mrr"] == pytest.approx(theirs.get_metric("both.realistic.inverse_harmonic_mean_rank"), rel=1e-5)
    assert ours["hits@10"] == pytest.approx(theirs.get_metric("both.realistic.hits_at_10"))
    # heads ranked without the inverse relations would differ: the check can fail
    unfiltered = evaluate_link_prediction(time_to_quality.PykeenScorer(model, dataset.num_entities), dataset.test,
                                          dataset.test)
    assert unfiltered["mrr"] != pytest.approx(ours["mrr"], rel=1e-5)


def test_pykeen_components_map_the_config():
    from pykeen.regularizers import PowerSumRegularizer
    from pykeen.training import LCWATrainingLoop, SLCWATrainingLoop

    dataset = random_dataset()
    factory, model, loop = time_to_quality.pykeen_components(kvsall_config(), dataset)
    assert isinstance(loop, LCWATrainingLoop) and factory.create_inverse_triples
    regularizers = [m for m in model.modules() if isinstance(m, PowerSumRegularizer)]
    assert regularizers and all(r.weight.item() == pytest.approx(0.05) and r.p == 3.0 for r in regularizers)
    assert isinstance(loop.optimizer, torch.optim.Adagrad) and loop.optimizer.defaults["lr"] == 0.1
    _, _, sampled = time_to_quality.pykeen_components(
        kvsall_config(scoring="negatives", loss="nssa", num_negatives=5, regularizer="none"), dataset)
    assert isinstance(sampled, SLCWATrainingLoop) and sampled.negative_sampler_kwargs == {"num_negs_per_pos": 5}
    with pytest.raises(ConfigError, match="1vsAll"):
        time_to_quality.pykeen_components(kvsall_config(scoring="1vsall"), dataset)


def test_crossings_are_the_first_epochs_at_or_above_each_target():
    log = [{"epoch": 1, "seconds": 10.0, "valid": {"mrr": 0.2}}, {"epoch": 2, "seconds": 12.0},
           {"epoch": 3, "seconds": 11.0, "valid": {"mrr": 0.31}}, {"epoch": 4, "seconds": 9.0, "valid": {"mrr": 0.33}}]
    found = time_to_quality.crossings(log, [(1, 11.0), (3, 40.0), (4, 52.0)], [0.2, 0.3, 0.4])
    assert found == {0.2: (1, 10.0, 11.0), 0.3: (3, 33.0, 40.0)}


def test_the_monitored_test_mrr_is_the_one_fit_reports(tmp_path):
    """The benchmark ranks test at every validation; its filter must stay train + valid + test, as
    `kgtool fit` ranks test with (it once overwrote valid by test: 0.302 where fit said 0.335)."""
    import kgtool

    dataset = random_dataset(num_entities=40, num_relations=4, num_triples=600, seed=3)
    config = kvsall_config(scoring="1vsall", epochs=1, patience=0)
    log, _ = time_to_quality.run_kgtool(config, dataset, float("inf"))
    run = kgtool.fit(config, output=tmp_path / "run", dataset=dataset)
    assert log[-1]["valid"]["mrr"] == pytest.approx(run.metrics["test"]["mrr"])
