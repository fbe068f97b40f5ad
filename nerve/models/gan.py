"""Generative adversarial networks (Goodfellow et al., 2014).

A generator G maps noise z ~ N(0, I) to samples; a discriminator D scores how real a sample
looks (a logit). They play a game, trained in turns with the non-saturating losses:

    L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)          # D: tell real from fake
    L_G = BCE(D(G(z)), 1)                          # G: make D call its fakes real

Two pairs:

- ``Generator`` / ``Discriminator``: MLPs for points in the plane, e.g. ``make_ring``, a ring of
  8 Gaussians, the standard test for mode collapse; ``count_modes`` says how many G covers.
- ``DCGANGenerator`` / ``DCGANDiscriminator`` (Radford et al., 2016) for 8x8 digits:

    G: z (N, latent) -> Linear -> (N, 2c, 2, 2) -> BN, ReLU
       -> ConvTranspose 4x4 /2 -> (N, c, 4, 4) -> BN, ReLU
       -> ConvTranspose 4x4 /2 -> (N, 1, 8, 8) -> sigmoid          # pixels in [0, 1]
    D: x (N, 1, 8, 8) -> Conv 4x4 /2 -> (N, c, 4, 4) -> LeakyReLU 0.2
       -> Conv 4x4 /2 -> (N, 2c, 2, 2) -> BN, LeakyReLU 0.2 -> flatten -> Linear -> (N, 1) logit

``train_gan`` runs the alternating updates with Adam(lr, betas=(0.5, 0.999)) as DCGAN does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import nerve
from nerve import nn
from nerve.nn import functional as F


@dataclass
class GANConfig:
    latent: int = 8
    hidden: int = 128
    data_dim: int = 2


class Generator(nn.Module):
    """z (N, latent) -> [Linear -> ReLU] x 2 -> Linear -> (N, data_dim)."""

    def __init__(self, config: GANConfig | None = None):
        super().__init__()
        self.config = c = config or GANConfig()
        self.net = nn.Sequential(
            nn.Linear(c.latent, c.hidden), nn.ReLU(),
            nn.Linear(c.hidden, c.hidden), nn.ReLU(),
            nn.Linear(c.hidden, c.data_dim),
        )

    def forward(self, z):  # z: (N, latent) -> (N, data_dim)
        return self.net(z)


class Discriminator(nn.Module):
    """x (N, data_dim) -> [Linear -> LeakyReLU 0.2] x 2 -> Linear -> (N, 1) logit."""

    def __init__(self, config: GANConfig | None = None):
        super().__init__()
        self.config = c = config or GANConfig()
        self.net = nn.Sequential(
            nn.Linear(c.data_dim, c.hidden), nn.LeakyReLU(0.2),
            nn.Linear(c.hidden, c.hidden), nn.LeakyReLU(0.2),
            nn.Linear(c.hidden, 1),
        )

    def forward(self, x):  # x: (N, data_dim) -> (N, 1)
        return self.net(x)


@dataclass
class DCGANConfig:
    latent: int = 32
    channels: int = 64  # c: the discriminator's first and the generator's last hidden maps


class DCGANGenerator(nn.Module):
    def __init__(self, config: DCGANConfig | None = None):
        super().__init__()
        self.config = cfg = config or DCGANConfig()
        c = cfg.channels
        self.project = nn.Linear(cfg.latent, 2 * c * 2 * 2)
        self.bn0 = nn.BatchNorm2d(2 * c)
        self.up1 = nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(c)
        self.up2 = nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1)

    def forward(self, z):  # z: (N, latent)
        x = self.project(z).view(z.shape[0], -1, 2, 2)  # (N, 2c, 2, 2)
        x = F.relu(self.bn0(x))
        x = F.relu(self.bn1(self.up1(x)))  # (N, c, 4, 4)
        return self.up2(x).sigmoid()  # (N, 1, 8, 8)


class DCGANDiscriminator(nn.Module):
    def __init__(self, config: DCGANConfig | None = None):
        super().__init__()
        self.config = cfg = config or DCGANConfig()
        c = cfg.channels
        self.conv1 = nn.Conv2d(1, c, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(c, 2 * c, 4, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(2 * c)
        self.head = nn.Linear(2 * c * 2 * 2, 1)

    def forward(self, x):  # x: (N, 1, 8, 8)
        x = F.leaky_relu(self.conv1(x), 0.2)  # (N, c, 4, 4)
        x = F.leaky_relu(self.bn2(self.conv2(x)), 0.2)  # (N, 2c, 2, 2)
        return self.head(x.flatten(1))  # (N, 1) logit


def train_gan(generator, discriminator, real, steps: int = 1000, batch_size: int = 64,
              lr: float = 2e-4, betas=(0.5, 0.999), seed: int = 0, log=None, log_every=100,
              label_smoothing: float = 0.0):
    """Alternate one discriminator and one generator Adam step, ``steps`` times.

    real: a tensor of real samples (M, ...); each step draws ``batch_size`` rows of it and
    ``batch_size`` noise vectors (seeded). ``label_smoothing`` s: D's target for real samples
    is 1 - s (one-sided, Salimans et al., 2016). Returns {"d_loss": [...], "g_loss": [...]}.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"train_gan: steps and batch_size must be >= 1, got {steps}, {batch_size}")
    if not 0 <= label_smoothing < 1:
        raise ValueError(f"train_gan: label_smoothing must be in [0, 1), got {label_smoothing}")
    latent = generator.config.latent
    opt_g = nerve.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    opt_d = nerve.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    gen = nerve.Generator().manual_seed(seed)
    ones, zeros = nerve.ones(batch_size, 1), nerve.zeros(batch_size, 1)
    real_target = nerve.full((batch_size, 1), 1.0 - label_smoothing)
    history = {"d_loss": [], "g_loss": []}
    generator.train()
    discriminator.train()
    for step in range(steps):
        x = real[nerve.randint(0, real.shape[0], (batch_size,), generator=gen)]
        z = nerve.randn(batch_size, latent, generator=gen)
        # Discriminator step: the fake batch is detached, G gets no gradient here.
        fake = generator(z)
        d_loss = (F.binary_cross_entropy_with_logits(discriminator(x), real_target)
                  + F.binary_cross_entropy_with_logits(discriminator(fake.detach()), zeros))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        # Generator step (non-saturating): push D(G(z)) towards "real".
        g_loss = F.binary_cross_entropy_with_logits(discriminator(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        if log is not None and (step + 1) % log_every == 0:
            log(step + 1, history)
    generator.eval()
    discriminator.eval()
    return history


def sample(generator, n: int, seed: int = 0):
    """n samples of G (eval mode, no graph) from seeded noise."""
    generator.eval()
    z = nerve.randn(n, generator.config.latent, generator=nerve.Generator().manual_seed(seed))
    with nerve.no_grad():
        return generator(z)


def ring_centers(modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """(modes, 2): points evenly spaced on a circle."""
    angles = 2 * math.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def make_ring(n: int = 4096, modes: int = 8, radius: float = 2.0, std: float = 0.05,
              seed: int = 0) -> np.ndarray:
    """(n, 2) float32: a mixture of ``modes`` Gaussians (std ``std``) on a circle, equal weights."""
    if n < 1 or modes < 1 or std <= 0:
        raise ValueError(f"make_ring: need n, modes >= 1 and std > 0, got {n}, {modes}, {std}")
    rng = np.random.default_rng(seed)
    centers = ring_centers(modes, radius)
    points = centers[rng.integers(0, modes, n)] + std * rng.normal(size=(n, 2))
    return points.astype(np.float32)


def count_modes(samples, centers: np.ndarray, max_distance: float, min_fraction: float = 0.02):
    """How many centers have at least ``min_fraction`` of the samples within ``max_distance``,
    and the fraction of samples near any center ("high quality"). samples: (n, 2)."""
    points = np.asarray(samples.numpy() if hasattr(samples, "numpy") else samples)
    dist = np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=2)  # (n, modes)
    nearest, near = dist.argmin(1), dist.min(1) <= max_distance
    counts = np.bincount(nearest[near], minlength=len(centers))
    covered = int((counts >= min_fraction * len(points)).sum())
    return covered, float(near.mean())
