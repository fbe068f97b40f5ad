"""GANs: the MLP pair and the DCGAN pair against torch twins (same weights: outputs and gradients,
batch norm in training mode), parameter counts, the losses of ``train_gan`` by hand, the ring
data and mode counting, a short run that pulls the samples onto the ring, and the quality bars:
all 8 modes of the ring covered, and DCGAN digits that a classifier of real digits recognizes."""

import math
import os
import time

import numpy as np
import pytest
import torch
from torch import nn as tnn
from zoo_oracle import blas_threads, copy_into_torch, count

import nerve
from nerve.models.gan import (
    DCGANConfig,
    DCGANDiscriminator,
    DCGANGenerator,
    Discriminator,
    GANConfig,
    Generator,
    count_modes,
    make_ring,
    ring_centers,
    sample,
    train_gan,
)

SLOW = bool(os.environ.get("NERVE_SLOW"))


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with blas_threads(1):
        yield


# ------------------------------------------------------------------------------ torch twins


class TorchGenerator(tnn.Module):
    def __init__(self, latent, hidden, data_dim):
        super().__init__()
        self.net = tnn.Sequential(tnn.Linear(latent, hidden), tnn.ReLU(),
                                  tnn.Linear(hidden, hidden), tnn.ReLU(),
                                  tnn.Linear(hidden, data_dim))

    def forward(self, z):
        return self.net(z)


class TorchDiscriminator(tnn.Module):
    def __init__(self, hidden, data_dim):
        super().__init__()
        self.net = tnn.Sequential(tnn.Linear(data_dim, hidden), tnn.LeakyReLU(0.2),
                                  tnn.Linear(hidden, hidden), tnn.LeakyReLU(0.2),
                                  tnn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


class TorchDCGANGenerator(tnn.Module):
    """Radford et al. (2016) scaled to 8x8: project to (2c, 2, 2), two stride-2 transposed
    convolutions with batch norm and ReLU, sigmoid pixels."""

    def __init__(self, latent, c):
        super().__init__()
        self.project = tnn.Linear(latent, 2 * c * 4)
        self.bn0 = tnn.BatchNorm2d(2 * c)
        self.up1 = tnn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1)
        self.bn1 = tnn.BatchNorm2d(c)
        self.up2 = tnn.ConvTranspose2d(c, 1, 4, stride=2, padding=1)

    def forward(self, z):
        x = torch.relu(self.bn0(self.project(z).view(z.shape[0], -1, 2, 2)))
        x = torch.relu(self.bn1(self.up1(x)))
        return torch.sigmoid(self.up2(x))


class TorchDCGANDiscriminator(tnn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = tnn.Conv2d(1, c, 4, stride=2, padding=1)
        self.conv2 = tnn.Conv2d(c, 2 * c, 4, stride=2, padding=1)
        self.bn2 = tnn.BatchNorm2d(2 * c)
        self.head = tnn.Linear(2 * c * 4, 1)

    def forward(self, x):
        x = torch.nn.functional.leaky_relu(self.conv1(x), 0.2)
        x = torch.nn.functional.leaky_relu(self.bn2(self.conv2(x)), 0.2)
        return self.head(x.flatten(1))


def _same_as_torch(ours, theirs, x):
    """Training mode (batch statistics): same output, same input and parameter gradients for a
    random upstream gradient, same running statistics afterwards."""
    ours, theirs = ours.double(), theirs.double()
    copy_into_torch(ours, theirs)
    ours.train()
    theirs.train()
    xn = nerve.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out_n, out_t = ours(xn), theirs(xt)
    upstream = np.random.default_rng(1).normal(size=tuple(out_t.shape))
    (out_n * nerve.tensor(upstream)).sum().backward()
    (out_t * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(out_n.detach().numpy(), out_t.detach().numpy(), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-12)
    grads = {k: v.grad.numpy() for k, v in ours.named_parameters()}
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-8, atol=1e-12,
                                   err_msg=name)
    for name, buf in theirs.named_buffers():
        np.testing.assert_allclose(np.asarray(ours.state_dict()[name].numpy()), buf.numpy(),
                                   rtol=1e-9, err_msg=name)


def test_mlp_pair_matches_torch_with_gradients():
    nerve.manual_seed(0)
    cfg = GANConfig(latent=8, hidden=32, data_dim=2)
    rng = np.random.default_rng(0)
    _same_as_torch(Generator(cfg), TorchGenerator(8, 32, 2), rng.normal(size=(16, 8)))
    _same_as_torch(Discriminator(cfg), TorchDiscriminator(32, 2), rng.normal(size=(16, 2)))


def test_dcgan_pair_matches_torch_with_gradients():
    nerve.manual_seed(0)
    cfg = DCGANConfig(latent=6, channels=4)
    rng = np.random.default_rng(0)
    _same_as_torch(DCGANGenerator(cfg), TorchDCGANGenerator(6, 4), rng.normal(size=(5, 6)))
    _same_as_torch(DCGANDiscriminator(cfg), TorchDCGANDiscriminator(4),
                   rng.uniform(size=(5, 1, 8, 8)))


def test_shapes_and_parameter_counts():
    nerve.manual_seed(0)
    g, d = Generator(GANConfig()), Discriminator(GANConfig())  # latent 8, hidden 128, 2-D
    assert count(g) == (8 * 128 + 128) + (128 * 128 + 128) + (128 * 2 + 2) == 17922
    assert count(d) == (2 * 128 + 128) + (128 * 128 + 128) + (128 + 1) == 17025
    assert tuple(g(nerve.randn(5, 8)).shape) == (5, 2)
    assert tuple(d(nerve.randn(5, 2)).shape) == (5, 1)
    cfg = DCGANConfig(latent=32, channels=32)
    g, d = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    # G: Linear 32 -> 64*2*2, BN(64), ConvT 64 -> 32 (4x4), BN(32), ConvT 32 -> 1 (4x4)
    assert count(g) == (32 * 256 + 256) + 2 * 64 + (64 * 32 * 16 + 32) + 2 * 32 + (32 * 16 + 1)
    # D: Conv 1 -> 32 (4x4), Conv 32 -> 64 (4x4), BN(64), Linear 64*2*2 -> 1
    assert count(d) == (16 * 32 + 32) + (32 * 64 * 16 + 64) + 2 * 64 + (256 + 1)
    images = g(nerve.randn(5, 32))
    assert tuple(images.shape) == (5, 1, 8, 8)
    assert 0 <= images.min().item() and images.max().item() <= 1
    assert tuple(d(images).shape) == (5, 1)


def test_train_gan_losses_by_hand():
    """With D's last layer zeroed, D says logit 0 to everything: the first discriminator loss is
    BCE(0, 1) + BCE(0, 0) = 2 log 2, and (after a negligible step) the generator's is log 2;
    with one-sided label smoothing s the real term is log 2 too (BCE(0, 1 - s) = log 2)."""
    for smoothing in (0.0, 0.1):
        nerve.manual_seed(0)
        g, d = Generator(GANConfig(hidden=16)), Discriminator(GANConfig(hidden=16))
        with nerve.no_grad():
            d.net[4].weight.zero_()
            d.net[4].bias.zero_()
        history = train_gan(g, d, nerve.from_numpy(make_ring(256)), steps=1, batch_size=8,
                            lr=1e-12, label_smoothing=smoothing)
        assert history["d_loss"][0] == pytest.approx(2 * math.log(2), rel=1e-6)
        assert history["g_loss"][0] == pytest.approx(math.log(2), rel=1e-6)


def test_train_gan_is_seeded_and_validates():
    real = nerve.from_numpy(make_ring(256))
    runs = []
    for _ in range(2):
        nerve.manual_seed(0)
        g, d = Generator(GANConfig(hidden=16)), Discriminator(GANConfig(hidden=16))
        runs.append(train_gan(g, d, real, steps=5, batch_size=16, seed=3)["g_loss"])
    assert runs[0] == runs[1] and len(runs[0]) == 5
    with pytest.raises(ValueError, match="steps and batch_size"):
        train_gan(g, d, real, steps=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        train_gan(g, d, real, label_smoothing=1.0)


def test_ring_and_mode_counting():
    points = make_ring(8000, modes=8, radius=2.0, std=0.05, seed=0)
    centers = ring_centers(8, 2.0)
    assert points.shape == (8000, 2) and points.dtype == np.float32
    np.testing.assert_allclose(centers[2], [0.0, 2.0], atol=1e-12)
    nearest = np.linalg.norm(points[:, None] - centers[None], axis=2).argmin(1)
    assert np.bincount(nearest).min() > 900  # 1000 expected per mode
    offsets = points - centers[nearest]
    assert offsets.std() == pytest.approx(0.05, rel=0.05)
    # the real data: all modes, 99% within 3 sigma (a 2-D Gaussian: 1 - exp(-9/2) = 98.9%)
    modes, near = count_modes(points, centers, max_distance=0.15)
    assert modes == 8 and near == pytest.approx(1 - math.exp(-4.5), abs=0.005)
    # a collapsed generator: one mode; points at the origin: none near any mode
    assert count_modes(np.tile(centers[3], (100, 1)), centers, 0.15) == (1, 1.0)
    assert count_modes(np.zeros((100, 2)), centers, 0.15) == (0, 0.0)
    with pytest.raises(ValueError, match="make_ring"):
        make_ring(0)


def _distance_to_ring(generator):
    """Mean | ||x|| - 2 | of 1000 samples: how far they lie from the circle of the modes."""
    points = sample(generator, 1000, seed=1).numpy()
    return np.abs(np.linalg.norm(points, axis=1) - 2.0).mean()


def test_short_run_pulls_samples_onto_the_ring():
    """A GAN has no loss that must fall; what falls is the distance from G's samples to the
    data, and D's loss while it learns to tell them apart. Measured (seed 0, hidden 64, 200
    steps): distance to the circle 1.91 -> 0.63, D's loss 1.32 -> 1.08 (first 5 / last 50
    steps; 2 log 2 = 1.39 is a D that cannot tell)."""
    nerve.manual_seed(0)
    g, d = Generator(GANConfig(hidden=64)), Discriminator(GANConfig(hidden=64))
    before = _distance_to_ring(g)
    history = train_gan(g, d, nerve.from_numpy(make_ring(4096)), steps=200, batch_size=128,
                        lr=1e-3, seed=0)
    after = _distance_to_ring(g)
    assert after < 0.5 * before, (before, after)
    assert np.mean(history["d_loss"][-50:]) < np.mean(history["d_loss"][:5]) - 0.1


# Ring of 8 Gaussians (radius 2, std 0.05): a mode is covered when >= 2% of 2000 samples lie
# within 3 sigma (0.15) of its centre (1/8 = 12.5% each for a perfect generator).
# Recipe: Adam lr 1e-3, betas (0.5, 0.999), batches of 128, seed 0.
# NERVE_SLOW=1: hidden 128, 3000 steps: 8/8 modes, 87% of the samples within 3 sigma (55 s on a
#   busy 2-core machine); seeds 1-3: 8/8 each, 84/81/87%. Bar: 8/8 modes, >= 70% near.
# Default (CI): hidden 64, 3000 steps: 7/8 modes, 75% (59 s wall, ~20 s CPU, busy machine);
#   seeds 1-3: 8/8 each, 88/85/89%. Bar: >= 6 modes, >= 50% near: GAN training is chaotic,
#   and another machine's BLAS rounding gives another trajectory, so the CI bar keeps a margin.


@pytest.mark.slow
def test_ring_gan_covers_all_modes():
    hidden, steps, min_modes, min_near = (128, 3000, 8, 0.70) if SLOW else (64, 3000, 6, 0.50)
    nerve.manual_seed(0)
    cfg = GANConfig(latent=8, hidden=hidden)
    g, d = Generator(cfg), Discriminator(cfg)
    start = time.perf_counter()
    train_gan(g, d, nerve.from_numpy(make_ring(4096, std=0.05, seed=0)), steps=steps,
              batch_size=128, lr=1e-3, seed=0)
    modes, near = count_modes(sample(g, 2000, seed=1), ring_centers(), max_distance=0.15)
    print(f"ring GAN (hidden {hidden}, {count(g) + count(d)} parameters): {modes}/8 modes, "
          f"{near:.0%} within 3 sigma, {steps} steps, {time.perf_counter() - start:.1f} s")
    assert modes >= min_modes
    assert near >= min_near


def _judge_digits(samples, x_train, y_train):
    """How digit-like samples (n, 1, 8, 8) are, by two judges fit on the real training digits:
    a logistic-regression classifier's mean top-class probability and its class histogram, and
    the mean distance from each sample to its nearest real training digit (L2, 64 pixels)."""
    from sklearn.linear_model import LogisticRegression

    real = x_train.reshape(len(x_train), -1)
    flat = np.asarray(samples).reshape(len(samples), -1)
    clf = LogisticRegression(max_iter=2000).fit(real, y_train)
    probs = clf.predict_proba(flat)
    squared = (flat**2).sum(1)[:, None] - 2 * flat @ real.T + (real**2).sum(1)[None, :]
    nearest = np.sqrt(np.maximum(squared.min(1), 0)).mean()
    return float(probs.max(1).mean()), np.bincount(probs.argmax(1), minlength=10), float(nearest)


# DCGAN on the 1438 training digits: latent 32, channels 32, Adam lr 5e-4, betas (0.5, 0.999),
# batches of 64, one-sided label smoothing 0.1, seed 0; 500 samples judged.
# The judges on other images (measured): the 359 real test digits: confidence 0.90, distance
# 1.06; uniform noise: 0.53, 3.56; the mean training digit: 0.34, 1.51; the untrained
# generator: 0.45, every sample in one class.
# NERVE_SLOW=1: 2000 steps: confidence 0.778, fewest samples in a class 41 of 500 (class 8),
#   distance 1.36 (198 s on a busy 2-core machine, ~55 s CPU). Bars: >= 0.72, >= 4%, <= 1.45.
# Default (CI): 300 steps: 0.670, fewest 29 of 500, distance 1.62 (31 s wall, ~9 s CPU).
#   Bars: >= 0.60, >= 2%, <= 2.0 (this early the samples are blurred, near the mean digit).


@pytest.mark.slow
def test_dcgan_draws_digits_a_classifier_recognizes():
    from nerve.datasets import load_digits

    steps, min_confidence, min_share, max_distance = (
        (2000, 0.72, 0.04, 1.45) if SLOW else (300, 0.60, 0.02, 2.0))
    (x, y), _ = load_digits(flatten=False, as_arrays=True)
    nerve.manual_seed(0)
    cfg = DCGANConfig(latent=32, channels=32)
    g, d = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    start = time.perf_counter()
    train_gan(g, d, nerve.from_numpy(x), steps=steps, batch_size=64, lr=5e-4, seed=0,
              label_smoothing=0.1)
    seconds = time.perf_counter() - start
    confidence, classes, distance = _judge_digits(sample(g, 500, seed=1).numpy(), x, y)
    print(f"DCGAN ({count(g)} + {count(d)} parameters), {steps} steps, {seconds:.1f} s: "
          f"classifier confidence {confidence:.3f}, classes {classes.tolist()}, "
          f"distance to the nearest real digit {distance:.3f}")
    assert confidence >= min_confidence
    assert classes.min() >= min_share * 500  # every digit drawn: no mode collapse
    assert distance <= max_distance
