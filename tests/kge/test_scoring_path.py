"""The one choice of a scoring path, as a table of (model, device, sizes, grad) -> path."""

import pytest

from kgtool.kge import fused
from kgtool.kge.scoring_path import (ALL_ENTITIES, CHUNKED_ALL, FUSED_ALL, FUSED_CANDIDATES, PLAIN, ScoringCall,
                                     scoring_path)

# the three facts of each interaction: is_bilinear, one product in training, distance kernel
MODELS = {"transe": (False, True, "l1"), "rotate": (False, False, "complex"), "distmult": (True, True, None),
          "complex": (True, True, None), "transe-p3": (False, True, None)}
FB15K237 = {"num_entities": 14_541, "width": 500}
UMLS = {"num_entities": 135, "width": 400}

TABLE = [
    # model, graph, queries, candidates per query (None: all entities), options, path
    ("rotate", FB15K237, 1024, 128, {"grad": True}, FUSED_CANDIDATES),
    ("transe", FB15K237, 1024, 128, {"grad": True}, FUSED_CANDIDATES),
    ("rotate", FB15K237, 1024, 128, {"grad": True, "device": "cuda"}, PLAIN),  # kernels sized for a CPU cache
    ("rotate", FB15K237, 1024, 128, {"grad": True, "fused_negatives": False}, PLAIN),
    ("rotate", FB15K237, 1024, 128, {"grad": True, "compiling": True}, PLAIN),
    ("rotate", FB15K237, 1024, 128, {"grad": True, "table": "sparse"}, PLAIN),
    ("rotate", FB15K237, 1024, 128, {"grad": True, "table": "encoded"}, PLAIN),
    ("rotate", FB15K237, 1024, 128, {"grad": True, "shared": True}, PLAIN),
    ("distmult", FB15K237, 1024, 128, {"grad": True}, PLAIN),  # no kernel: the batched product
    ("transe-p3", FB15K237, 1024, 128, {"grad": True}, PLAIN),  # no kernel for p = 3
    ("rotate", FB15K237, 8, 16, {"grad": True}, PLAIN),  # too small to repay compiling
    ("rotate", UMLS, 512, 64, {"grad": True}, FUSED_CANDIDATES),  # no one-product form: its kernels
    ("rotate", UMLS, 512, 64, {"grad": True, "fused_negatives": False}, ALL_ENTITIES),
    ("transe", UMLS, 512, 64, {"grad": True}, ALL_ENTITIES),  # 64 of 135: one distance matrix
    ("distmult", UMLS, 512, 64, {"grad": True}, ALL_ENTITIES),
    ("distmult", UMLS, 512, 64, {"grad": True, "table": "sparse"}, PLAIN),
    ("complex", FB15K237, 512, None, {"grad": True}, ALL_ENTITIES),
    ("complex", FB15K237, 512, None, {}, ALL_ENTITIES),
    ("rotate", FB15K237, 500, None, {}, FUSED_ALL),
    ("transe", FB15K237, 500, None, {}, FUSED_ALL),
    ("rotate", FB15K237, 500, None, {"grad": True}, CHUNKED_ALL),  # gradients: the eager formula
    ("rotate", FB15K237, 500, None, {"device": "cuda"}, CHUNKED_ALL),
    ("rotate", UMLS, 500, None, {}, CHUNKED_ALL),  # not worth compiling
    ("transe-p3", FB15K237, 500, None, {}, CHUNKED_ALL),
]


@pytest.mark.parametrize("model, graph, queries, candidates, options, expected", TABLE)
def test_each_call_takes_its_path(model, graph, queries, candidates, options, expected, monkeypatch):
    monkeypatch.setattr(fused, "can_fuse", lambda: True)
    is_bilinear, one_product, kernel = MODELS[model]
    call = ScoringCall(is_bilinear=is_bilinear, one_product_in_training=one_product, distance_kernel=kernel,
                       queries=queries, candidates=candidates, **graph, **options)
    path, reason = scoring_path(call)
    assert path == expected, reason
    assert reason


def test_without_a_compiler_evaluation_stays_eager(monkeypatch):
    monkeypatch.setattr(fused, "can_fuse", lambda: False)
    call = ScoringCall(is_bilinear=False, one_product_in_training=False, distance_kernel="complex", queries=500,
                       **FB15K237)
    assert scoring_path(call)[0] == CHUNKED_ALL
