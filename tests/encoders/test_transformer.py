import pytest
import torch

from kgtool.encoders import TransformerEncoder
from kgtool.errors import ConfigError


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_shape_and_padding_never_changes_the_output(positions, pooling, tokenizer, token_ids, check_padding_invariance):
    torch.manual_seed(0)
    encoder = TransformerEncoder(
        tokenizer.vocab_size, dim=16, num_heads=4, num_layers=2, positions=positions, pooling=pooling
    )
    assert encoder(token_ids).shape == (len(token_ids), 16) and encoder.out_dim == 16
    check_padding_invariance(encoder, token_ids)


def test_word_order_matters_through_positions(tokenizer):
    encoder = TransformerEncoder(tokenizer.vocab_size, dim=16)
    ids = tokenizer.encode(["dog barks", "barks dog"])
    assert not torch.allclose(encoder(ids)[0], encoder(ids)[1])


def test_empty_text_gives_zeros_not_nan(tokenizer):
    encoder = TransformerEncoder(tokenizer.vocab_size, dim=16)
    assert encoder(tokenizer.encode([""])).tolist() == [[0.0] * 16]


def test_invalid_settings():
    with pytest.raises(ConfigError):
        TransformerEncoder(10, positions="rotary")
    with pytest.raises(ConfigError):
        TransformerEncoder(10, dim=10, num_heads=4)
