import pytest
import torch

from kgtool.encoders import ENCODERS, WordTokenizer, build_encoder
from kgtool.errors import ConfigError

VOCAB = 12
CASES = {
    "bow": ({"vocab_size": VOCAB, "dim": 8}, "text"),
    "lstm": ({"vocab_size": VOCAB, "embed_dim": 8, "hidden_dim": 4}, "text"),
    "gru": ({"vocab_size": VOCAB, "embed_dim": 8, "hidden_dim": 4, "pooling": "max"}, "text"),
    "transformer": ({"vocab_size": VOCAB, "dim": 8, "num_heads": 2, "positions": "learned"}, "text"),
    "cnn": ({"channels": [4, 8], "out_dim": 5}, "image"),
    "vit": ({"image_size": 8, "patch_size": 4, "dim": 8, "num_heads": 2}, "image"),
    "diffusion": ({"image_size": 8, "channels": 8, "feature_step": 10}, "image"),
    "vae": ({"image_size": 8, "channels": 4, "latent_dim": 3}, "image"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_encoder_rebuilds_from_its_config_and_weights_through_weights_only_load(name, tmp_path):
    """As a run's checkpoint holds an encoder: its weights in the model's state, rebuilt from the config."""
    config, kind = CASES[name]
    inputs = torch.randint(1, VOCAB, (3, 6)) if kind == "text" else torch.rand(3, 1, 8, 8)
    torch.manual_seed(0)
    encoder = build_encoder(name, **config).eval()
    expected = encoder(inputs)
    torch.save(encoder.state_dict(), tmp_path / "encoder.pt")
    torch.manual_seed(1)  # a different initialisation, overwritten by the saved weights
    loaded = build_encoder(name, **encoder.config()).eval()
    loaded.load_state_dict(torch.load(tmp_path / "encoder.pt", weights_only=True))
    assert type(loaded) is ENCODERS[name]
    torch.testing.assert_close(loaded(inputs), expected, rtol=0, atol=0)


def test_same_seed_same_encoder():
    outputs = []
    for _ in range(2):
        torch.manual_seed(7)
        outputs.append(build_encoder("cnn", out_dim=4)(torch.ones(1, 1, 8, 8)))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)


def test_tokenizer_travels_in_a_weights_only_checkpoint(tmp_path):
    tokenizer = WordTokenizer.fit(["a b c", "b c"], max_length=4)
    torch.save({"tokenizer": tokenizer.config()}, tmp_path / "t.pt")
    loaded = WordTokenizer.from_config(torch.load(tmp_path / "t.pt", weights_only=True)["tokenizer"])
    assert loaded.encode(["c a q"]).tolist() == tokenizer.encode(["c a q"]).tolist()


def test_unknown_encoder_name():
    with pytest.raises(ConfigError, match="unknown encoder 'bert'"):
        build_encoder("bert")
