import torch

from kgtool.encoders import BagOfWordsEncoder


def test_mean_of_the_real_tokens_embeddings(tokenizer, token_ids, check_padding_invariance):
    encoder = BagOfWordsEncoder(tokenizer.vocab_size, dim=6)
    out = encoder(token_ids)
    assert out.shape == (len(token_ids), 6) and encoder.out_dim == 6
    real = token_ids[0][token_ids[0] != 0]
    torch.testing.assert_close(out[0], encoder.embedding.weight[real].mean(dim=0))
    check_padding_invariance(encoder, token_ids)


def test_word_order_is_ignored_and_empty_text_gives_zeros(tokenizer):
    encoder = BagOfWordsEncoder(tokenizer.vocab_size, dim=6)
    ids = tokenizer.encode(["dog barks", "barks dog", ""])
    out = encoder(ids)
    torch.testing.assert_close(out[0], out[1])
    assert out[2].tolist() == [0.0] * 6
