import torch
from torch import nn

from kgtool.encoders.attention import MultiHeadSelfAttention


def test_attention_matches_torch_multihead_attention_with_key_padding():
    torch.manual_seed(0)
    ours = MultiHeadSelfAttention(dim=8, num_heads=2)
    reference = nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(ours.qkv.weight)
        reference.in_proj_bias.copy_(ours.qkv.bias)
        reference.out_proj.weight.copy_(ours.proj.weight)
        reference.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(3, 5, 8)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    expected, _ = reference(x, x, x, key_padding_mask=~mask)
    torch.testing.assert_close(ours(x, mask), expected)
