"""CompGCN's composition operators φ(entity, relation): one broadcasting function each.

Each takes entity rows ``x`` and relation rows ``r`` of broadcastable shapes ``(*batch, d)`` and
returns ``(*batch, d)``. Vashishth et al. (2020), "Composition-based multi-relational graph
convolutional networks", Sec. 4.
"""

from __future__ import annotations

import torch
from torch import Tensor


def subtraction(x: Tensor, r: Tensor) -> Tensor:
    """``x - r``, the translation of TransE."""
    return x - r


def multiplication(x: Tensor, r: Tensor) -> Tensor:
    """``x ⊙ r``, the diagonal bilinear map of DistMult."""
    return x * r


def circular_correlation(x: Tensor, r: Tensor) -> Tensor:
    """``(x ⋆ r)_k = Σ_i x_i r_{(i + k) mod d}``, the composition of HolE, in ``O(d log d)``
    through the FFT: ``x ⋆ r = F⁻¹(conj(F(x)) ⊙ F(r))``."""
    d = x.shape[-1]
    return torch.fft.irfft(torch.fft.rfft(x, dim=-1).conj() * torch.fft.rfft(r, dim=-1), n=d, dim=-1)


COMPOSITIONS = {"sub": subtraction, "mult": multiplication, "corr": circular_correlation}
