import pytest
import torch

from kgtool.encoders import WordTokenizer

TEXTS = ["a dog barks at the cat", "the cat sleeps on a mat", "saxony, an area in germany", "dog"]


@pytest.fixture
def tokenizer() -> WordTokenizer:
    return WordTokenizer.fit(TEXTS, max_length=8)


@pytest.fixture
def token_ids(tokenizer) -> torch.Tensor:
    return tokenizer.encode(TEXTS)


@pytest.fixture
def images() -> torch.Tensor:
    """(6, 1, 8, 8) images in [0, 1]."""
    return torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def blobs() -> torch.Tensor:
    """(32, 1, 8, 8) bright 3x3 squares at random places: structure a DDPM or VAE learns in seconds."""
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(32, 1, 8, 8)
    for i, (row, col) in enumerate(torch.randint(0, 6, (32, 2), generator=generator).tolist()):
        images[i, 0, row : row + 3, col : col + 3] = 1.0
    return images


@pytest.fixture
def check_padding_invariance():
    """Asserts that extra ``<pad>`` columns leave a text encoder's output unchanged, while one
    more real token (``<unk>``) changes it, so the check can fail."""

    def check(encoder, token_ids: torch.Tensor) -> None:
        out = encoder(token_ids)
        padded = torch.cat([token_ids, torch.zeros(len(token_ids), 5, dtype=torch.long)], dim=1)
        torch.testing.assert_close(encoder(padded), out)
        extended = torch.cat([token_ids, torch.ones(len(token_ids), 1, dtype=torch.long)], dim=1)
        assert not torch.allclose(encoder(extended)[0], out[0])

    return check
