"""The variational autoencoder (Kingma & Welling, 2014).

    x (N, D) -> [Linear -> ReLU] x len(hidden) -> mu, logvar (N, latent)   q(z|x) = N(mu, e^logvar)
    z = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)                          # reparameterization
    z (N, latent) -> [Linear -> ReLU] x len(hidden) -> logits (N, D)        p(x|z) = Bernoulli

The evidence lower bound, per example (in nats), maximized in training:

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || N(0, I))
    log p(x|z) = sum_d x_d log sigmoid(l_d) + (1 - x_d) log(1 - sigmoid(l_d))   (= -BCE, summed)
    KL = -1/2 sum_k (1 + logvar_k - mu_k^2 - exp(logvar_k))

with the expectation estimated by one sample of z. The digits' pixels are in [0, 1], not binary;
the Bernoulli likelihood of such "continuous" x is the usual choice for them and stays <= 0.
``sample(n)`` decodes z ~ N(0, I) to images.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nerve
from nerve import nn
from nerve.models.autoencoder import mlp
from nerve.nn import functional as F


@dataclass
class VAEConfig:
    in_features: int = 64  # 8x8 digits, flattened
    hidden: list[int] = field(default_factory=lambda: [256, 128])
    latent: int = 8


class VAE(nn.Module):
    def __init__(self, config: VAEConfig | None = None):
        super().__init__()
        config = config or VAEConfig()
        if config.latent < 1 or any(h < 1 for h in config.hidden):
            raise ValueError(f"VAE: widths must be >= 1, got {config}")
        self.config = config
        self.encoder = nn.Sequential(mlp([config.in_features, *config.hidden]), nn.ReLU())
        width = config.hidden[-1] if config.hidden else config.in_features
        self.to_mu = nn.Linear(width, config.latent)
        self.to_logvar = nn.Linear(width, config.latent)
        self.decoder = mlp([config.latent, *reversed(config.hidden), config.in_features])

    def _flat(self, x):
        if x.ndim < 2 or x[0].numel() != self.config.in_features:
            raise ValueError(
                f"VAE: x must be (N, {self.config.in_features}) or images with "
                f"{self.config.in_features} pixels, got shape {tuple(x.shape)}"
            )
        return x.reshape(x.shape[0], -1)  # (N, D)

    def encode(self, x):  # x: (N, D) -> mu, logvar: (N, latent) each
        h = self.encoder(self._flat(x))  # (N, hidden[-1])
        return self.to_mu(h), self.to_logvar(h)

    def reparameterize(self, mu, logvar, generator=None):
        """z = mu + sigma * eps: a sample of q(z|x) that gradients flow through to mu and sigma."""
        eps = nerve.randn(*mu.shape, generator=generator)
        return mu + (0.5 * logvar).exp() * eps

    def decode(self, z):  # z: (N, latent) -> logits (N, D)
        return self.decoder(z)

    def forward(self, x):  # x -> (logits (N, D), mu, logvar)
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar) if self.training else mu
        return self.decode(z), mu, logvar

    def elbo(self, x, generator=None):
        """The one-sample ELBO estimate of every example: (N,) in nats (higher is better)."""
        x = self._flat(x)
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        logits = self.decode(z)
        log_px = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)  # (N,)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)  # (N,)
        return log_px - kl

    def loss(self, x):
        """-ELBO averaged over the batch (nats per example), and its value for logging."""
        elbo = self.elbo(x).mean()
        return -elbo, {"elbo": elbo.item()}

    def reconstruct(self, x):
        """x -> the decoded posterior mean, in [0, 1], with x's shape."""
        mu, _ = self.encode(x)
        return self.decode(mu).sigmoid().reshape(x.shape)

    def sample(self, n: int, generator=None):
        """n images from the prior: z ~ N(0, I) -> sigmoid(decoder(z)): (n, D) in [0, 1]."""
        with nerve.no_grad():
            z = nerve.randn(n, self.config.latent, generator=generator)
            return self.decode(z).sigmoid()


def evaluate_elbo(model: VAE, X, samples: int = 10, seed: int = 0) -> float:
    """The mean ELBO (nats per example) on X, averaging ``samples`` draws of z per example."""
    model.eval()
    generator = nerve.Generator().manual_seed(seed)
    with nerve.no_grad():
        return sum(model.elbo(X, generator).mean().item() for _ in range(samples)) / samples
