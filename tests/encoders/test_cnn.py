import torch

from kgtool.encoders import CNNEncoder


def test_shape_for_any_image_size_and_batch_independence(images):
    encoder = CNNEncoder(in_channels=1, channels=[8, 16, 16], out_dim=10)
    assert encoder(images).shape == (6, 10) and encoder.out_dim == 10
    assert encoder(torch.rand(2, 1, 13, 7)).shape == (2, 10)
    torch.testing.assert_close(encoder(images[:2]), encoder(images)[:2])


def test_rgb_input():
    assert CNNEncoder(in_channels=3, out_dim=5)(torch.rand(2, 3, 16, 16)).shape == (2, 5)


def test_grid_pooling_averages_each_quadrant(images):
    encoder = CNNEncoder(in_channels=1, channels=[4, 8], out_dim=3, pool_size=2)
    assert encoder(images).shape == (6, 3)
    maps = encoder.head[:2](encoder.blocks(encoder.stem(images)))  # (6, 8, 4, 4)
    quadrants = maps.view(6, 8, 2, 2, 2, 2).mean(dim=(3, 5)).flatten(1)  # (channel, row, column) order
    torch.testing.assert_close(encoder.head(encoder.blocks(encoder.stem(images))), quadrants)
