"""KGEModel: embedding tables plus one interaction, scoring triples, candidates or all entities."""

from __future__ import annotations

import logging
from typing import Callable

import torch
from torch import Tensor, nn

from kgtool.kge.entity_rows import EntityRows
from kgtool.kge.fused import compile_kernel, has_compiler
from kgtool.kge.interactions import Interaction
from kgtool.kge.scoring_path import ALL_ENTITIES, FUSED_ALL, FUSED_CANDIDATES, ScoringCall, log_once, scoring_path

log = logging.getLogger("kgtool")
PENALTIES = {"l2": 2, "n3": 3}  # KGEModel.penalty's kinds: the power of |x| summed


def compiled_or_eager(function: Callable) -> Callable:
    """``torch.compile(function)``, or ``function`` itself with one log line when there is no GPU
    and no C++ compiler for inductor's CPU kernels (compiling would fail at the first call)."""
    if not has_compiler():
        log.warning("training.compile: no C++ compiler found (c++, g++, clang++); scoring runs eagerly")
        return function
    return compile_kernel(function)


class KGEModel(nn.Module):
    """Entity and relation embeddings scored by one of TransE, DistMult, ComplEx or RotatE.

    With ``reciprocal=True`` the relation table holds an inverse for each relation (ids
    ``num_relations + r``), and head prediction ``(?, r, t)`` is asked as tail prediction
    ``(t, r⁻¹, ?)``, as in Lacroix et al. (2018).

    :param interaction: the score function and its rows' layout (:func:`~kgtool.kge.interactions.interaction`)
    :param max_chunk_elements: cap on the elements of any ``(b, chunk, dim)`` intermediate when
        scoring all entities with a distance model; bounds memory regardless of graph size.
    :param sparse: embeddings produce sparse gradients (only the rows a batch uses).
    :param compile: fuse the score function with ``torch.compile``, so that scoring candidates
        does not write ``(b, k, dim)`` intermediates to memory (the first calls compile).
    :param fused_negatives: score per-row candidates in training by the chunked kernels of
        :mod:`kgtool.kge.candidates` where they apply (CPU, dense table, large steps).
    :param entity_encoder: builds the entity representation from the row width the interaction
        needs, e.g. a :class:`~kgtool.encoders.MultimodalEmbedding`: a module mapping entity ids
        ``(*s,)`` to rows ``(*s, width)`` with ``encode_all() -> (num_entities, width)``. It
        replaces the entity table (``entity_embeddings`` is then that module); None: a table.
        An encoder with ``whole_graph = True`` (a :class:`~kgtool.relational.RelationalEncoder`,
        whose rows depend on each other) is always asked for all rows; within
        :meth:`encoding_once` it encodes once for all lookups (or, with a ``sampler``, encodes
        the step's entities from their sampled subgraphs).
    """

    def __init__(self, interaction: Interaction, num_entities: int, num_relations: int,
                 reciprocal: bool = False, max_chunk_elements: int = 2**24, sparse: bool = False,
                 compile: bool = False, entity_encoder: Callable[[int], nn.Module] | None = None,
                 fused_negatives: bool = True):
        super().__init__()
        self.interaction = interaction
        self.score = compiled_or_eager(self.interaction.score) if compile else self.interaction.score
        self.num_entities = num_entities
        self.num_relations = num_relations
        self.reciprocal = reciprocal
        self.sparse = sparse
        self.fused_negatives = fused_negatives
        self.max_chunk_elements = max_chunk_elements
        relation_rows = num_relations * (2 if reciprocal else 1)
        width = self.interaction.entity_width
        if entity_encoder is None:
            self.entity_embeddings = nn.Embedding(num_entities, width, sparse=sparse)
        else:
            self.entity_embeddings = entity_encoder(width)
        self.encoded = entity_encoder is not None
        self.entity_rows = EntityRows(self.entity_embeddings, table=not self.encoded)  # rows and their caches
        self.relation_embeddings = nn.Embedding(relation_rows, self.interaction.relation_width, sparse=sparse)
        self.register_load_state_dict_post_hook(lambda module, keys: module.entity_rows.forget())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The interaction's initialisation of the tables; an entity encoder keeps its own, except
        the tables it names as the interaction's (a residual fusion's structural rows)."""
        self.interaction.reset_parameters(*(table.weight.data for table in self.entity_rows.interaction_tables()),
                                          self.relation_embeddings.weight.data)

    def train(self, mode: bool = True) -> "KGEModel":
        self.entity_rows.forget()  # parameters may change from here on
        return super().train(mode)

    def encoding_once(self, entity_ids: Tensor | None = None, generator: torch.Generator | None = None):
        """A context for one training step: a ``whole_graph`` encoder encodes once for every
        lookup within it (:meth:`EntityRows.step`); otherwise a no-op."""
        return self.entity_rows.step(entity_ids, generator)

    def entities(self, ids: Tensor) -> Tensor:
        """Formula inputs for entity ids of any shape ``(*s,)`` -> ``(*s, dim)``, or
        ``(*s, dim, 2)`` for complex models."""
        return self.interaction.entities(self.entity_rows.rows(ids))

    def relations(self, ids: Tensor) -> Tensor:
        return self.interaction.relations(self.relation_embeddings(ids))

    def all_entities(self) -> Tensor:
        """``(num_entities, dim)``, or ``(num_entities, dim, 2)`` for complex models.

        An entity encoder encodes every entity: in eval mode without gradients (evaluation,
        prediction) once, kept until ``train()``, ``eval()`` or ``load_state_dict``; in training
        (1vsall, kvsall) on every call, so that gradients reach the encoder.
        """
        return self.interaction.entities(self.entity_rows.all_rows())

    def inverse(self, relations: Tensor) -> Tensor:
        return relations + self.num_relations

    def score_hrt(self, triples: Tensor) -> Tensor:
        """Scores of triples ``(n, 3)`` -> ``(n,)``."""
        h, r, t = triples.unbind(dim=-1)
        return self.score(self.entities(h), self.relations(r), self.entities(t))

    def score_tail_candidates(self, heads: Tensor, relations: Tensor, candidates: Tensor) -> Tensor:
        """Scores of ``(h, r, c)`` for ``heads``, ``relations`` ``(b,)`` and ``candidates``
        ``(b, k)`` (or ``(1, k)``, shared by all rows) -> ``(b, k)``."""
        path = self.scoring_path(len(heads), candidates)
        if path == ALL_ENTITIES:
            return self.score_tails(heads, relations).gather(1, candidates)
        h, r = self.entities(heads), self.relations(relations)
        if path == FUSED_CANDIDATES:
            return self.interaction.candidate_scores(self.interaction.tail_query(h, r), self.entity_embeddings.weight,
                                                     candidates)
        return self.score(h[:, None], r[:, None], self.entities(candidates))

    def score_head_candidates(self, relations: Tensor, tails: Tensor, candidates: Tensor) -> Tensor:
        """Scores of ``(c, r, t)`` with ``candidates`` ``(b, k)`` or ``(1, k)`` -> ``(b, k)``.

        A reciprocal model scores a head candidate as the tail ``(t, r⁻¹, c)``, as
        :meth:`score_heads` does, so that a candidate's score is the same on every path."""
        if self.reciprocal:
            return self.score_tail_candidates(tails, self.inverse(relations), candidates)
        path = self.scoring_path(len(tails), candidates)
        if path == ALL_ENTITIES:
            return self.score_heads(relations, tails).gather(1, candidates)
        r, t = self.relations(relations), self.entities(tails)
        if path == FUSED_CANDIDATES:
            return self.interaction.candidate_scores(self.interaction.head_query(r, t), self.entity_embeddings.weight,
                                                     candidates)
        return self.score(self.entities(candidates), r[:, None], t[:, None])

    def scoring_path(self, queries: int, candidates: Tensor | None = None) -> str:
        """The path (:mod:`kgtool.kge.scoring_path`) of scoring ``queries`` queries against
        ``candidates`` ``(b, k)`` or ``(1, k)``, or against all entities when None."""
        interaction = self.interaction
        table = "encoded" if self.encoded else "sparse" if self.sparse else "dense"
        call = ScoringCall(
            is_bilinear=interaction.is_bilinear, one_product_in_training=interaction.trains_all_entities_in_one_product,
            distance_kernel=interaction.distance_kernel, num_entities=self.num_entities,
            width=interaction.entity_width, queries=queries,
            candidates=None if candidates is None else candidates.shape[1],
            shared=candidates is not None and candidates.shape[0] == 1, table=table,
            device=self.relation_embeddings.weight.device.type, grad=torch.is_grad_enabled(),
            compiling=torch.compiler.is_compiling(), fused_negatives=self.fused_negatives)
        path, reason = scoring_path(call)
        log_once(path, reason)
        return path

    def score_tails(self, heads: Tensor, relations: Tensor) -> Tensor:
        """Scores of ``(h, r, e)`` for every entity e: ``(b,)``, ``(b,)`` -> ``(b, num_entities)``."""
        return self._score_all(self.entities(heads), self.relations(relations), None)

    def score_heads(self, relations: Tensor, tails: Tensor) -> Tensor:
        """Scores of ``(e, r, t)`` for every entity e: ``(b,)``, ``(b,)`` -> ``(b, num_entities)``."""
        if self.reciprocal:
            return self.score_tails(tails, self.inverse(relations))
        return self._score_all(None, self.relations(relations), self.entities(tails))

    def _score_all(self, h: Tensor | None, r: Tensor, t: Tensor | None) -> Tensor:
        """Scores ``(b, num_entities)`` of every entity in the place of ``h`` or ``t`` (the one
        that is None), the others formula inputs ``(b, *item)``: one matrix product or distance
        matrix, the fused kernels (:mod:`kgtool.kge.fused`), or the formula over entity chunks.

        The chunks' scores are written into one preallocated ``(b, num_entities)`` tensor: kept as
        a list of small tensors for a final ``cat``, each landed in the hole the chunk's large
        temporaries had just freed, so that the allocator took fresh memory for the next chunk's
        (RotatE, FB15k-237, 3,076 queries: 20 MB more per chunk, 22 GB before the end).
        """
        entities = self.all_entities()
        path = self.scoring_path(len(r))
        if path == FUSED_ALL:
            query = self.interaction.tail_query(h, r) if t is None else self.interaction.head_query(r, t)
            return self.interaction.all_scores_fused(query, entities)
        r = r[:, None]

        def score_against(rows: Tensor) -> Tensor:  # rows (1, chunk, *item) -> (b, chunk)
            return self.score(h[:, None], r, rows) if t is None else self.score(rows, r, t[:, None])

        if path == ALL_ENTITIES:
            return score_against(entities[None])
        chunk = max(1, self.max_chunk_elements // max(1, len(r) * self.interaction.entity_width))
        scores = entities.new_empty((len(r), self.num_entities))
        for start in range(0, self.num_entities, chunk):
            scores[:, start:start + chunk] = score_against(entities[None, start:start + chunk])
        return scores

    def penalty(self, kind: str, entity_ids: Tensor, relation_ids: Tensor) -> Tensor:
        """Per-example L2 (``Σ|x|²``) or N3 (``Σ|x|³``, Lacroix et al. 2018) of the formula inputs
        a batch uses: ``entity_ids`` ``(b, *)``, ``relation_ids`` ``(b,)``; complex numbers count
        by modulus. Returns a scalar, summed over rows and divided by ``b``."""
        power = PENALTIES[kind]
        parts = (self.entities(entity_ids), self.relations(relation_ids))
        return sum(self.interaction.modulus(x).pow(power).sum() for x in parts) / len(relation_ids)
