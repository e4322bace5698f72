import pytest
import torch

from kgtool.encoders import GRUEncoder, LSTMEncoder


@pytest.mark.parametrize("cls", [LSTMEncoder, GRUEncoder])
@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_shape_and_padding_never_changes_the_output(cls, pooling, tokenizer, token_ids, check_padding_invariance):
    torch.manual_seed(0)
    encoder = cls(tokenizer.vocab_size, embed_dim=8, hidden_dim=6, num_layers=2, pooling=pooling)
    assert encoder(token_ids).shape == (len(token_ids), 12) and encoder.out_dim == 12
    check_padding_invariance(encoder, token_ids)


def test_a_text_encodes_the_same_alone_and_in_a_batch(tokenizer, token_ids):
    encoder = LSTMEncoder(tokenizer.vocab_size, embed_dim=8, hidden_dim=6)
    torch.testing.assert_close(encoder(token_ids[3:]), encoder(token_ids)[3:])
