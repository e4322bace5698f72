"""Which code scores a call of a KGE model: one function decides, from what the call is, and says why.

A model scores either *candidates* (each query's own ``k`` entities ``(b, k)``, e.g. sampled
negatives, or ``k`` shared by all queries ``(1, k)``) or *all entities*. The paths:

- :data:`PLAIN`: gather the rows and broadcast the interaction's formula.
- :data:`ALL_ENTITIES`: score all entities in one matrix product or distance matrix (bilinear
  models, TransE), and for candidates pick theirs from those scores: once ``k`` is a sizeable share
  of the entities this is cheaper than gathering ``b·k`` rows and scattering their gradients.
- :data:`FUSED_CANDIDATES`: the chunked kernels of :mod:`kgtool.kge.candidates` (training, CPU).
- :data:`FUSED_ALL`: the tiled kernels of :mod:`kgtool.kge.fused` (evaluation, CPU, large).
- :data:`CHUNKED_ALL`: the formula over chunks of all entities, bounding ``(b, chunk, dim)``.

Every fast path is tested equal to the plain one (``tests/kge/test_candidates.py``,
``tests/kge/test_fused.py``); the choice itself is tested as a table in
``tests/kge/test_scoring_path.py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kgtool.kge import candidates, fused

log = logging.getLogger("kgtool")

PLAIN = "plain"
ALL_ENTITIES = "all-entities"
FUSED_CANDIDATES = "fused-candidates"
FUSED_ALL = "fused-all"
CHUNKED_ALL = "chunked-all"


@dataclass(frozen=True)
class ScoringCall:
    """What decides the path of one scoring call.

    :param is_bilinear: the interaction scores all entities as a matrix product (DistMult, ComplEx)
    :param one_product_in_training: with gradients, all entities are one product or distance
        matrix (not RotatE, whose all-entity scores are elementwise ``(b, chunk, dim)`` tensors)
    :param distance_kernel: the interaction's kind of fused distance kernel (``l1``, ``l2``,
        ``complex``), or None
    :param num_entities: entities of the model
    :param width: stored numbers per entity row
    :param queries: queries of the call
    :param candidates: ``k`` per query, or None when all entities are scored
    :param shared: the candidates are one ``(1, k)`` set for all queries
    :param table: ``dense`` (a plain table), ``sparse`` (a table with sparse gradients) or
        ``encoded`` (rows computed by an encoder)
    :param device: ``cpu`` or ``cuda``
    :param grad: gradients are being recorded (training)
    :param compiling: the call is traced by ``torch.compile`` (no kernels within kernels)
    :param fused_negatives: ``training.fused_negatives`` is not false
    """

    is_bilinear: bool
    one_product_in_training: bool
    distance_kernel: str | None
    num_entities: int
    width: int
    queries: int
    candidates: int | None = None
    shared: bool = False
    table: str = "dense"
    device: str = "cpu"
    grad: bool = False
    compiling: bool = False
    fused_negatives: bool = True


def scoring_path(call: ScoringCall) -> tuple[str, str]:
    """The path of ``call`` and the reason, in words."""
    if call.candidates is None:
        return _all_entities_path(call)
    return _candidates_path(call)


def _candidates_path(call: ScoringCall) -> tuple[str, str]:
    """Per-row candidates gather ``b·k`` rows (and scatter their gradients back), which alone takes
    about as long as scoring ``b`` queries against all entities as a matrix product or distance
    matrix once ``k`` is a sizeable part of the entities: on UMLS (135 entities, 128 negatives) a
    TransE step is several times faster through all entities, with the same scores and gradients.
    Not with sparse tables (the whole table would get a gradient) nor with entity encoders (all
    entities would be encoded). Nor for RotatE, whose all-entity scores in training are elementwise
    ``(b, chunk, dim)`` tensors, where its fused candidate kernels apply: a UMLS RotatE step (512 x
    64 negatives, dim 200) took 24 ms with them against 370 ms through all entities
    (``benchmarks/fused_negatives.py``)."""
    if call.shared:
        return PLAIN, "shared candidates: one (1, k) set broadcast against the queries"
    if call.table != "dense":
        return PLAIN, f"an {call.table} entity table: picking from all entities would give every row a gradient"
    fused_ok = (call.fused_negatives and call.distance_kernel is not None and call.grad and call.device == "cpu"
                and not call.compiling and call.queries * call.candidates * call.width >= candidates.FUSED_MIN_ELEMENTS)
    cheaper = 4 * call.candidates >= call.num_entities
    if cheaper and (call.one_product_in_training or not fused_ok):
        return ALL_ENTITIES, f"{call.candidates} candidates per query are a sizeable share of {call.num_entities} entities"
    if fused_ok:
        return FUSED_CANDIDATES, "per-row candidates of a distance model in training on a CPU, large enough to compile"
    return PLAIN, "per-row candidates: gather their rows"


def _all_entities_path(call: ScoringCall) -> tuple[str, str]:
    if call.is_bilinear:
        return ALL_ENTITIES, "a bilinear model: one matrix product"
    if (call.distance_kernel is not None and not call.grad and not call.compiling and call.device == "cpu"
            and call.queries * call.num_entities * call.width >= fused.FUSED_MIN_ELEMENTS and fused.can_fuse()):
        return FUSED_ALL, "a distance model ranking all entities on a CPU, large enough to compile"
    return CHUNKED_ALL, "the formula over chunks of entities"


_logged: set[tuple[str, str]] = set()


def log_once(path: str, reason: str) -> None:
    """Say at debug level, once per process, which path a kind of call takes and why."""
    if (path, reason) not in _logged:
        _logged.add((path, reason))
        log.debug(f"scoring path {path}: {reason}")
