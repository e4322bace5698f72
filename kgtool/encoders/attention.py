"""Multi-head self-attention and pre-norm Transformer blocks, shared by the text Transformer and ViT."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from kgtool.errors import ConfigError


class MultiHeadSelfAttention(nn.Module):
    r"""``softmax(Q Kᵀ / √d_head + mask) V`` per head, heads concatenated and projected.

    Shapes:
        - x: (n, length, dim)
        - key_mask: (n, length), True at positions that may be attended to; None: all
        - output: (n, length, dim)
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        n, length, dim = x.shape
        # (3, n, heads, length, d_head)
        q, k, v = self.qkv(x).view(n, length, 3, self.num_heads, dim // self.num_heads).permute(2, 0, 3, 1, 4)
        bias = None
        if key_mask is not None:
            # An additive mask of the dtype's minimum rather than a boolean one (-inf): a row with
            # no valid key (an empty text) then attends uniformly instead of giving NaN, and its
            # output is masked out later anyway.
            bias = torch.zeros(key_mask.shape, dtype=x.dtype, device=x.device)
            bias = bias.masked_fill(~key_mask, torch.finfo(x.dtype).min)[:, None, None, :]
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # (n, heads, length, d_head)
        return self.proj(out.transpose(1, 2).reshape(n, length, dim))


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + attention(norm(x))`` then ``x + mlp(norm(x))``.

    Shapes: as :class:`MultiHeadSelfAttention`.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(dim)
        self.attention = MultiHeadSelfAttention(dim, num_heads)
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x: torch.Tensor, key_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x), key_mask)
        return x + self.mlp(self.mlp_norm(x))


class TransformerStack(nn.Module):
    """``num_layers`` pre-norm blocks and the final LayerNorm that pre-norm stacks need.

    Shapes: as :class:`MultiHeadSelfAttention`.
    """

    def __init__(self, dim: int, num_heads: int, num_layers: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(TransformerBlock(dim, num_heads, mlp_ratio) for _ in range(num_layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, key_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, key_mask)
        return self.norm(x)
