import torch

from kgtool.encoders import VAEEncoder


def test_features_are_posterior_means(images):
    encoder = VAEEncoder(image_size=8, channels=8, latent_dim=5)
    mean, _ = encoder.posterior(images)
    assert encoder(images).shape == (6, 5) and encoder.out_dim == 5
    torch.testing.assert_close(encoder(images), mean)


def test_odd_image_sizes_reconstruct_to_the_same_size():
    encoder = VAEEncoder(image_size=7, channels=4, latent_dim=3)
    assert encoder.decoder(torch.zeros(2, 3)).shape == (2, 1, 7, 7)
    assert torch.isfinite(encoder.loss(torch.rand(2, 1, 7, 7), torch.Generator().manual_seed(0)))


def test_pretraining_lowers_the_negative_elbo(blobs):
    torch.manual_seed(0)
    encoder = VAEEncoder(image_size=8, channels=8, latent_dim=4)
    losses = encoder.pretrain(blobs, epochs=20, batch_size=8, lr=3e-3, seed=0)
    # 64 pixels at chance cost 64·ln 2 ≈ 44 nats; the ELBO must improve well past the start.
    assert losses[0] > 40 and losses[-1] < 0.8 * losses[0]
