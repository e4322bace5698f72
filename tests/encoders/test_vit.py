import pytest

from kgtool.encoders import ViTEncoder
from kgtool.encoders.attention import TransformerBlock
from kgtool.errors import ConfigError


def test_shape_and_shared_transformer_blocks(images):
    encoder = ViTEncoder(image_size=8, patch_size=4, dim=16, num_heads=2, num_layers=3)
    assert encoder(images).shape == (6, 16) and encoder.out_dim == 16
    assert sum(isinstance(m, TransformerBlock) for m in encoder.modules()) == 3


def test_patches_must_tile_the_image():
    with pytest.raises(ConfigError):
        ViTEncoder(image_size=8, patch_size=3)
