"""benchmarks/vs_pykeen.py's TorchKGE path: given the same DistMult embeddings, TorchKGE's filtered
evaluator on the graphs the benchmark builds must agree with kgtool's ranking."""

import pytest
import torch

from kgtool.kge.interactions import interaction
from kgtool.evaluation.ranking import evaluate_link_prediction
from kgtool.kge.model import KGEModel
from tests.conftest import random_dataset

pytest.importorskip("torchkge")
import vs_pykeen  # a script in benchmarks/, which tests/benchmarks/conftest.py puts on sys.path


def test_torchkge_filtered_metrics_match_kgtool_for_distmult():
    from torchkge.models import DistMultModel

    dataset = random_dataset(num_entities=40, num_relations=4, num_triples=600, seed=3)
    torch.manual_seed(0)
    ours = KGEModel(interaction(name="distmult", dim=16), 40, 4).eval()
    theirs = DistMultModel(16, 40, 4)
    with torch.no_grad():  # TorchKGE's DistMult scores unit-norm entities: give both those
        ours.entity_embeddings.weight.copy_(torch.nn.functional.normalize(ours.entity_embeddings.weight, dim=1))
        theirs.ent_emb.weight.copy_(ours.entity_embeddings.weight)
        theirs.rel_emb.weight.copy_(ours.relation_embeddings.weight)
    expected = evaluate_link_prediction(ours, dataset.test, dataset.all_triples())
    metrics = vs_pykeen.torchkge_filtered_metrics(theirs.eval(), dataset, dataset.test)
    assert metrics["mrr"] == pytest.approx(expected["pessimistic"]["mrr"], rel=1e-5)
    assert metrics["hits@10"] == pytest.approx(expected["pessimistic"]["hits@10"])
    # without the filter of train + valid the MRR would differ: the check can fail
    unfiltered = evaluate_link_prediction(ours, dataset.test, dataset.test)
    assert unfiltered["pessimistic"]["mrr"] != pytest.approx(metrics["mrr"], rel=1e-5)
