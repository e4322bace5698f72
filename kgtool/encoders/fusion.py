"""Item representations that fuse a learned structural embedding with modality encoders."""

from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import nn

from kgtool.errors import ConfigError, DataError

# A modality's inputs for all items: a tensor indexed by item id, or a list (texts for
# PretrainedTextEncoder), and the (num_items,) bool mask of the items that have it.
ModalityInputs = tuple[Union[torch.Tensor, Sequence], torch.Tensor]

FUSIONS = ("concat", "gated", "residual")  # how MultimodalEmbedding joins the structural row and the modalities


class MultimodalEmbedding(nn.Module):
    r"""``forward(ids)`` returns one vector per item, usable wherever a KGE model or GNN takes an
    embedding table lookup or ``x``.

    Each call encodes only the distinct items in ``ids``, once each. An item without a modality
    gets that modality's learned placeholder vector instead of an encoding of padding. Fusion:

    - ``"concat"``: ``W [s; m_1; …; m_k] + b``
    - ``"gated"``: ``Σ_j g_j ⊙ W_j x_j`` over ``x_j ∈ {s, m_1, …, m_k}``, where the gates
      ``g = softmax_j(W_g [s; m_1; …; m_k])`` are per item, modality and dimension.

    Inputs stay where they were given (CPU, typically); each batch's slice moves to the
    module's device, so large image sets need not fit on the GPU.

    :param num_items: number of entities or nodes
    :param struct_dim: size of the learned structural embedding ``s``; 0 for none, so an item is
        known through its modalities only (inductive: items unseen in training are represented)
    :param encoders: ``{modality: encoder}``, each with ``out_dim``
    :param inputs: ``{modality: (values, present)}``: values of shape (num_items, ...) and the
        (num_items,) bool mask of the items that have the modality (see
        :func:`kgtool.encoders.readers.align_texts` / ``align_images``)
    :param out_dim: size of the fused representation

    Shapes:
        - ids: item ids of any shape (*s,), as for ``nn.Embedding``
        - output: (*s, out_dim)
    """

    def __init__(
        self,
        num_items: int,
        struct_dim: int,
        encoders: dict[str, nn.Module],
        inputs: dict[str, ModalityInputs],
        out_dim: int,
        fusion: str = "concat",
    ) -> None:
        super().__init__()
        if fusion not in FUSIONS:
            raise ConfigError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if set(encoders) != set(inputs):
            raise ConfigError(f"encoders {sorted(encoders)} and inputs {sorted(inputs)} name different modalities")
        for name, (values, present) in inputs.items():
            if len(values) != num_items or present.shape != (num_items,):
                raise DataError(
                    f"modality {name!r}: {len(values)} values and a mask of shape {tuple(present.shape)} "
                    f"for {num_items} items"
                )
        self.fusion = fusion
        self.inputs = {name: (values, present.bool()) for name, (values, present) in inputs.items()}
        self.num_items = num_items
        self.structural = nn.Embedding(num_items, struct_dim) if struct_dim else None
        self.encoders = nn.ModuleDict(encoders)
        self.placeholders = nn.ParameterDict(
            {name: nn.Parameter(torch.randn(encoder.out_dim) * 0.1) for name, encoder in encoders.items()}
        )
        if fusion == "residual" and struct_dim != out_dim:
            raise ConfigError(f"residual fusion adds the modalities to a structural embedding of the output's width: "
                              f"struct_dim is {struct_dim}, out_dim {out_dim}")
        dims = ([struct_dim] if struct_dim else []) + [encoder.out_dim for encoder in encoders.values()]
        if fusion == "concat":
            self.project = nn.Linear(sum(dims), out_dim)
        elif fusion == "residual":
            self.project = nn.Linear(sum(dims[1:]), out_dim)
            nn.init.zeros_(self.project.weight)
            nn.init.zeros_(self.project.bias)
        else:
            self.projections = nn.ModuleList(nn.Linear(dim, out_dim) for dim in dims)
            self.gate = nn.Linear(sum(dims), len(dims) * out_dim)
        self.out_dim = out_dim

    def train(self, mode: bool = True) -> "MultimodalEmbedding":
        super().train(mode)
        for encoder in self.encoders.values():
            if not any(p.requires_grad for p in encoder.parameters()):
                encoder.eval()  # a frozen encoder stays a fixed feature extractor (no dropout)
        return self

    def encode_modality(self, name: str, ids: torch.Tensor) -> torch.Tensor:
        """The encodings of modality ``name`` for ``ids`` (b,), placeholders where it is missing: (b, out_dim)."""
        values, present = self.inputs[name]
        placeholder = self.placeholders[name]
        cpu_ids = ids.cpu()
        rows = present[cpu_ids].nonzero().squeeze(1)
        out = placeholder.repeat(len(ids), 1)
        if len(rows):
            batch = cpu_ids[rows]
            if isinstance(values, torch.Tensor):
                selected = values[batch].to(placeholder.device)
            else:
                selected = [values[i] for i in batch.tolist()]
            out = out.index_put((rows.to(out.device),), self.encoders[name](selected))
        return out

    def interaction_tables(self) -> list[nn.Embedding]:
        """The tables a KGE interaction initialises as its own rows: with residual fusion the
        structural table holds the entity rows themselves (the modalities add to it)."""
        return [self.structural] if self.fusion == "residual" else []

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        distinct, inverse = torch.unique(ids.reshape(-1), return_inverse=True)
        return self.fuse(distinct)[inverse].view(*ids.shape, self.out_dim)

    def fuse(self, ids: torch.Tensor) -> torch.Tensor:
        """Fused representations of ``ids`` (b,), each item encoded as often as it occurs: (b, out_dim)."""
        parts = [self.encode_modality(name, ids) for name in self.encoders]
        if self.structural is not None:
            parts.insert(0, self.structural(ids))
        if self.fusion == "concat":
            return self.project(torch.cat(parts, dim=-1))
        if self.fusion == "residual":
            return parts[0] + self.project(torch.cat(parts[1:], dim=-1))
        gates = self.gate(torch.cat(parts, dim=-1)).view(len(ids), len(parts), self.out_dim).softmax(dim=1)
        projected = torch.stack([projection(part) for projection, part in zip(self.projections, parts)], dim=1)
        return (gates * projected).sum(dim=1)

    def encode_all(self, chunk_size: int = 4096) -> torch.Tensor:
        """Every item, ``chunk_size`` at a time: (num_items, out_dim). Under ``torch.no_grad`` the
        chunk bounds memory; with gradients, backward keeps every chunk's activations anyway."""
        ids = torch.arange(self.num_items, device=next(self.parameters()).device)
        return torch.cat([self.fuse(chunk) for chunk in ids.split(chunk_size)])
