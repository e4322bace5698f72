import pytest
import torch

from kgtool.encoders import CNNEncoder, LSTMEncoder, MultimodalEmbedding
from kgtool.errors import ConfigError, DataError


@pytest.fixture
def setup(tokenizer, token_ids, images):
    """4 items: item 3 has no image, item 1 has no text."""
    text_present = torch.tensor([True, False, True, True])
    image_present = torch.tensor([True, True, True, False])
    encoders = {"text": LSTMEncoder(tokenizer.vocab_size, embed_dim=8, hidden_dim=4), "image": CNNEncoder(channels=[4], out_dim=6)}
    inputs = {"text": (token_ids, text_present), "image": (images[:4], image_present)}
    return encoders, inputs


@pytest.mark.parametrize("fusion", ["concat", "gated"])
def test_shape_and_gradients_reach_every_encoder(setup, fusion):
    encoders, inputs = setup
    embedding = MultimodalEmbedding(4, struct_dim=5, encoders=encoders, inputs=inputs, out_dim=7, fusion=fusion)
    out = embedding(torch.tensor([0, 2, 2]))
    assert out.shape == (3, 7)
    out.square().sum().backward()
    for name, encoder in encoders.items():
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters() if p.requires_grad), name
    # Items 0 and 2 have every modality: no placeholder was used, so none gets a gradient.
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in embedding.placeholders.values())


def test_residual_fusion_starts_as_the_structural_table_and_then_trains_the_encoders(setup):
    encoders, inputs = setup
    embedding = MultimodalEmbedding(4, struct_dim=7, encoders=encoders, inputs=inputs, out_dim=7, fusion="residual")
    ids = torch.tensor([0, 2, 3])
    torch.testing.assert_close(embedding(ids), embedding.structural(ids))
    optimizer = torch.optim.SGD(embedding.parameters(), lr=0.1)
    for _ in range(2):  # the first step moves the zero projection, the second reaches the encoders
        optimizer.zero_grad()
        embedding(ids).square().sum().backward()
        optimizer.step()
    for name, encoder in encoders.items():
        assert all(p.grad.abs().sum() > 0 for p in encoder.parameters()), name
    with pytest.raises(ConfigError, match="struct_dim is 5, out_dim 7"):
        MultimodalEmbedding(4, 5, encoders, inputs, out_dim=7, fusion="residual")


def test_missing_modality_uses_the_learned_placeholder(setup):
    encoders, inputs = setup
    embedding = MultimodalEmbedding(4, struct_dim=5, encoders=encoders, inputs=inputs, out_dim=7)
    ids = torch.tensor([1, 3, 0])
    text = embedding.encode_modality("text", ids)
    image = embedding.encode_modality("image", ids)
    torch.testing.assert_close(text[0], embedding.placeholders["text"])  # item 1 has no text
    torch.testing.assert_close(image[1], embedding.placeholders["image"])  # item 3 has no image
    torch.testing.assert_close(text[1:], encoders["text"](inputs["text"][0][[3, 0]]))
    embedding(ids).sum().backward()
    assert embedding.placeholders["text"].grad.abs().sum() > 0


def test_only_the_batch_is_encoded(setup):
    encoders, inputs = setup
    seen = []
    encoders["image"].register_forward_hook(lambda module, args, out: seen.append(len(args[0])))
    MultimodalEmbedding(4, 5, encoders, inputs, out_dim=7)(torch.tensor([3, 0]))
    assert seen == [1]  # item 3 has no image: only item 0 is encoded


def test_text_lists_for_encoders_that_take_strings():
    class Lengths(torch.nn.Module):
        out_dim = 1

        def forward(self, texts):
            return torch.tensor([[float(len(t))] for t in texts])

    embedding = MultimodalEmbedding(2, 3, {"text": Lengths()}, {"text": (["ab", "abcd"], torch.tensor([True, True]))}, 4)
    assert embedding.encode_modality("text", torch.tensor([1, 0])).tolist() == [[4.0], [2.0]]


def test_inconsistent_arguments(setup):
    encoders, inputs = setup
    with pytest.raises(ConfigError):
        MultimodalEmbedding(4, 5, encoders, inputs, out_dim=7, fusion="sum")
    with pytest.raises(ConfigError):
        MultimodalEmbedding(4, 5, encoders, {"text": inputs["text"]}, out_dim=7)
    with pytest.raises(DataError):
        MultimodalEmbedding(5, 5, encoders, inputs, out_dim=7)
