import torch

from kgtool.encoders import VAEEncoder


def test_loss_is_the_negative_elbo_of_torch_distributions(images):
    """The loss against the negative ELBO written with torch.distributions: Bernoulli pixels
    given the same reparameterised z, and KL(N(μ, σ²) ‖ N(0, I)) in closed form; β weighs the KL."""
    from torch.distributions import Bernoulli, Normal, kl_divergence

    torch.manual_seed(0)
    encoder = VAEEncoder(image_size=8, channels=8, latent_dim=5, beta=0.5)
    mean, log_var = encoder.posterior(images)
    std = (0.5 * log_var).exp()
    z = mean + std * torch.randn(mean.shape, generator=torch.Generator().manual_seed(3))
    reconstruction = -Bernoulli(logits=encoder.decoder(z), validate_args=False).log_prob(images).sum()  # grey pixels
    kl = kl_divergence(Normal(mean, std), Normal(0.0, 1.0)).sum()
    expected = (reconstruction + 0.5 * kl) / len(images)
    torch.testing.assert_close(encoder.loss(images, torch.Generator().manual_seed(3)), expected)
    assert encoder(images).shape == (6, 5) and encoder.out_dim == 5
    assert torch.equal(encoder.train()(images), encoder(images))  # features draw no noise


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
