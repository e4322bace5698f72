import pytest
import torch

from kgtool.encoders import DiffusionEncoder
from kgtool.errors import ConfigError


def test_features_shape_and_determinism(images):
    torch.manual_seed(0)
    encoder = DiffusionEncoder(image_size=8, channels=8)
    features = encoder(images)
    assert features.shape == (6, 32) and encoder.out_dim == 32
    # Fixed noise: same features alone or in a batch, whatever the global random state.
    torch.manual_seed(123)
    torch.testing.assert_close(encoder(images[2:3]), features[2:3])
    torch.manual_seed(0)
    torch.testing.assert_close(DiffusionEncoder(image_size=8, channels=8)(images), features)


def test_pretraining_lowers_the_noise_prediction_loss(blobs):
    torch.manual_seed(0)
    encoder = DiffusionEncoder(image_size=8, channels=8)
    losses = encoder.pretrain(blobs, epochs=10, batch_size=16, lr=3e-3, seed=0)
    assert len(losses) == 10
    # Predicting ε ~ N(0, I) by zero costs 1; a learnt denoiser does much better.
    assert losses[0] > 0.7 and sum(losses[-3:]) / 3 < 0.5 * losses[0]
    assert not encoder.training


def test_frozen_encoder_gets_no_gradients(images):
    encoder = DiffusionEncoder(image_size=8, channels=8).freeze()
    assert not encoder(images).requires_grad
    assert encoder.unfreeze()(images).requires_grad


def test_feature_step_must_be_a_step():
    with pytest.raises(ConfigError):
        DiffusionEncoder(num_steps=100, feature_step=100)


def test_grid_pooling_averages_to_global_pooling(images):
    torch.manual_seed(0)
    grid = DiffusionEncoder(image_size=8, channels=8, pool_size=2)
    assert grid(images).shape == (6, 128) and grid.out_dim == 128
    # Each block's 2×2 grid (8×8 and 4×4 maps divide evenly) averages to its global mean.
    cells = grid(images).split([4 * 8, 4 * 16, 4 * 8], dim=1)
    averaged = torch.cat([cell.view(6, -1, 4).mean(dim=2) for cell in cells], dim=1)
    torch.manual_seed(0)
    global_pooled = DiffusionEncoder(image_size=8, channels=8)
    global_pooled.load_state_dict(grid.state_dict())
    torch.testing.assert_close(averaged, global_pooled(images))
