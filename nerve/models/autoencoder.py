"""Autoencoders: learn a code z = f(x) from which g(z) rebuilds x (Hinton & Salakhutdinov, 2006).

    x (N, D) -> encoder: [Linear -> ReLU] x len(hidden) -> Linear -> z (N, latent)
    z        -> decoder: [Linear -> ReLU] x len(hidden) -> Linear -> logits (N, D)
    x_hat = sigmoid(logits)                       # pixels in [0, 1]

The reconstruction loss is binary cross-entropy between x_hat and x (pixels in [0, 1]),
averaged over pixels. Three variants differ in what stops the code from being an identity map:

- ``Autoencoder``: the bottleneck (latent < D).
- ``DenoisingAutoencoder`` (Vincent et al., 2008): it sees a corrupted x~ (masking noise: each
  pixel zeroed with probability ``noise``) and must rebuild the clean x.
- ``SparseAutoencoder`` (Ng, CS294A notes): a sigmoid code penalized towards sparsity, either
  ``beta * mean |z|`` (L1) or ``beta * sum_j KL(rho || rho_hat_j)``, rho_hat_j the code unit's
  mean activation over the batch and KL(p||q) = p log p/q + (1-p) log (1-p)/(1-q).

Every model has ``loss(x) -> (scalar, parts)`` for training and ``reconstruct(x)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nerve
from nerve import nn
from nerve.nn import functional as F


@dataclass
class AutoencoderConfig:
    in_features: int = 64  # 8x8 digits, flattened
    hidden: list[int] = field(default_factory=lambda: [128])
    latent: int = 16
    noise: float = 0.3  # DenoisingAutoencoder: probability of zeroing an input pixel
    sparsity: str = "kl"  # SparseAutoencoder: "l1" or "kl"
    beta: float = 0.1  # SparseAutoencoder: weight of the sparsity penalty
    rho: float = 0.05  # SparseAutoencoder, KL: target mean activation of a code unit


def mlp(widths: list[int]) -> nn.Sequential:
    """Linear layers through ``widths`` with ReLU between them (none after the last)."""
    layers = []
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if k < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    def __init__(self, config: AutoencoderConfig | None = None):
        super().__init__()
        config = config or AutoencoderConfig()
        if config.latent < 1 or any(h < 1 for h in config.hidden):
            raise ValueError(f"{type(self).__name__}: widths must be >= 1, got {config}")
        self.config = config
        self.encoder = mlp([config.in_features, *config.hidden, config.latent])
        self.decoder = mlp([config.latent, *reversed(config.hidden), config.in_features])

    def _flat(self, x):
        if x.ndim < 2 or x[0].numel() != self.config.in_features:
            raise ValueError(
                f"{type(self).__name__}: x must be (N, {self.config.in_features}) or images with "
                f"{self.config.in_features} pixels, got shape {tuple(x.shape)}"
            )
        return x.reshape(x.shape[0], -1)  # (N, D)

    def encode(self, x):  # x: (N, D) or (N, 1, H, W) -> z: (N, latent)
        return self.encoder(self._flat(x))

    def decode(self, z):  # z: (N, latent) -> logits (N, D)
        return self.decoder(z)

    def forward(self, x):  # x: (N, D) -> x_hat: (N, D) in [0, 1]
        return self.decode(self.encode(x)).sigmoid()

    def reconstruct(self, x):
        """x -> x_hat with x's shape (no corruption, whatever the mode)."""
        return self.decode(self.encode(x)).sigmoid().reshape(x.shape)

    def loss(self, x):
        """Binary cross-entropy of the reconstruction, averaged over pixels and batch."""
        x = self._flat(x)
        recon = F.binary_cross_entropy_with_logits(self.decode(self.encode(x)), x)
        return recon, {"recon": recon.item()}


class DenoisingAutoencoder(Autoencoder):
    """Rebuilds clean x from x~ = x * mask, mask ~ Bernoulli(1 - noise), in training mode."""

    def corrupt(self, x):  # x: (N, D) -> x~: (N, D)
        keep = (nerve.rand(*x.shape) >= self.config.noise).to(x.dtype)
        return x * keep

    def loss(self, x):
        x = self._flat(x)
        noisy = self.corrupt(x) if self.training else x
        recon = F.binary_cross_entropy_with_logits(self.decode(self.encode(noisy)), x)
        return recon, {"recon": recon.item()}


class SparseAutoencoder(Autoencoder):
    """A sigmoid code with an L1 or KL sparsity penalty on its activations."""

    def __init__(self, config: AutoencoderConfig | None = None):
        super().__init__(config)
        if self.config.sparsity not in ("l1", "kl"):
            raise ValueError(
                f"SparseAutoencoder: sparsity must be 'l1' or 'kl', got {self.config.sparsity!r}"
            )
        if not 0 < self.config.rho < 1:
            raise ValueError(f"SparseAutoencoder: rho must be in (0, 1), got {self.config.rho}")

    def encode(self, x):  # x -> z: (N, latent) in (0, 1)
        return self.encoder(self._flat(x)).sigmoid()

    def penalty(self, z):
        if self.config.sparsity == "l1":
            return z.abs().mean()
        rho = self.config.rho
        rho_hat = z.mean(0).clamp(1e-6, 1 - 1e-6)  # (latent,) mean activation per unit
        kl = rho * (rho / rho_hat).log() + (1 - rho) * ((1 - rho) / (1 - rho_hat)).log()
        return kl.sum()

    def loss(self, x):
        x = self._flat(x)
        z = self.encode(x)
        recon = F.binary_cross_entropy_with_logits(self.decode(z), x)
        sparse = self.penalty(z)
        return recon + self.config.beta * sparse, {"recon": recon.item(), "sparsity": sparse.item()}


def train_autoencoder(model, X, epochs: int = 30, batch_size: int = 64, lr: float = 1e-3,
                      seed: int = 0, log=None) -> list[float]:
    """Adam on ``model.loss`` over the rows of ``X`` (a tensor), shuffled with ``seed``.
    Returns the mean training loss of each epoch; ``log(epoch, loss)`` is called after each."""
    opt = nerve.optim.Adam(model.parameters(), lr=lr)
    generator = nerve.Generator().manual_seed(seed)
    history = []
    model.train()
    for epoch in range(epochs):
        order = nerve.randperm(X.shape[0], generator=generator)
        total = 0.0
        for start in range(0, X.shape[0], batch_size):
            batch = X[order[start:start + batch_size]]
            loss, _ = model.loss(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * batch.shape[0]
        history.append(total / X.shape[0])
        if log is not None:
            log(epoch, history[-1])
    model.eval()
    return history


def reconstruction_error(model, X) -> float:
    """Mean squared error per pixel between X and the model's reconstruction (eval mode)."""
    model.eval()
    with nerve.no_grad():
        return F.mse_loss(model.reconstruct(X), X).item()
