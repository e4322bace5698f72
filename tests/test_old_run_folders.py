"""Run folders written by earlier code still load and give their metrics; tests/fixtures/runs holds them:

- ``*-0.1``: kgtool 0.1 (before fingerprints, provenance and GNN link prediction as a KGE model),
  written by commit 8e4389b on Nations and a 20-node graph (tests/fixtures/graph20);
- ``*-9308b03``: written by commit 9308b03, before the options moved beside their families and
  the entity rows' caches out of KGEModel: an R-GCN with sampled subgraphs and N3 on Nations, and
  a GCN link run with a RotatE decoder and an L2 regularizer on the 20-node graph.
"""

from pathlib import Path

import pytest

import kgtool

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name, dataset", [("distmult-nations-0.1", None), ("compgcn-nations-0.1", None),
                                           ("gcn-node-0.1", FIXTURES / "graph20"),
                                           ("rgcn-fanout-nations-9308b03", None),
                                           ("gcn-link-rotate-9308b03", FIXTURES / "graph20")])
def test_old_run_folders_load_and_evaluate_to_their_metrics(name, dataset):
    run = kgtool.load(FIXTURES / "runs" / name, dataset=dataset)
    headline = "accuracy" if name == "gcn-node-0.1" else "mrr"
    assert run.evaluate("test")[headline] == pytest.approx(run.metrics["test"][headline], abs=1e-6)


def test_an_old_gnn_link_run_loads_as_a_kge_model_with_its_dot_decoder():
    """kgtool 0.1 tested with messages over train and valid edges; today's ranking passes messages
    over training edges only, so the metrics come close, not equal."""
    run = kgtool.load(FIXTURES / "runs" / "sage-link-0.1", dataset=FIXTURES / "graph20")
    assert run.model.relation_embeddings.weight.eq(1).all()
    answers = run.predict_tails("3", "edge", top=3)
    assert len(answers) == 3
    assert 0 < run.evaluate("test")["mrr"] <= 1
