"""Plain, denoising and sparse (KL and L1) autoencoders on the 8x8 digits
(nerve.models.autoencoder).

    python examples/autoencoders_digits.py   # ~30 s on 2 cores
Prints each model's reconstruction error on the 359 held-out digits, what the denoising model
makes of masked digits, and how sparse the sparse codes are. Writes
examples/output/autoencoders_digits.png: rows = test digits, the 30%-masked digits, then the
plain / denoising (from the masked input) / sparse KL / sparse L1 reconstructions.
"""

import time
from pathlib import Path

import numpy as np

import nerve
from nerve.datasets import load_digits
from nerve.models.autoencoder import (
    Autoencoder,
    AutoencoderConfig,
    DenoisingAutoencoder,
    SparseAutoencoder,
    reconstruction_error,
    train_autoencoder,
)
from nerve.models.imagegrid import save_image_grid

OUT = Path(__file__).parent / "output"
EPOCHS = 100


def mse(a, b) -> float:
    return float(((a - b) ** 2).mean().item())


def main():
    nerve.set_num_threads(1)  # small matrices: a second BLAS thread costs more than it saves
    OUT.mkdir(exist_ok=True)
    (X_train, _), (X_test, _) = load_digits(as_arrays=True)  # (1438, 64), (359, 64) in [0, 1]
    X_train, X_test = nerve.from_numpy(X_train), nerve.from_numpy(X_test)
    recipes = {
        "plain": (Autoencoder, AutoencoderConfig(latent=16)),
        "denoising": (DenoisingAutoencoder, AutoencoderConfig(latent=16, noise=0.3)),
        "sparse KL": (SparseAutoencoder,
                      AutoencoderConfig(latent=64, sparsity="kl", rho=0.05, beta=0.05)),
        "sparse L1": (SparseAutoencoder, AutoencoderConfig(latent=64, sparsity="l1", beta=0.1)),
    }
    models = {}
    print(f"digits: {len(X_train)} train / {len(X_test)} test images, {EPOCHS} epochs of Adam "
          "(lr 1e-3, batches of 64), seed 0")
    print(f"{'model':10s} {'code':>5s} {'test MSE/pixel':>14s} {'loss first->last':>17s} "
          f"{'params':>7s} {'s':>5s}")
    for name, (cls, config) in recipes.items():
        nerve.manual_seed(0)  # the same initial weights and noise for every run
        model = models[name] = cls(config)
        start = time.time()
        history = train_autoencoder(model, X_train, epochs=EPOCHS, seed=0)
        seconds = time.time() - start
        error = reconstruction_error(model, X_test)
        params = sum(p.numel() for p in model.parameters())
        print(f"{name:10s} {model.config.latent:5d} {error:14.4f} "
              f"{history[0]:8.3f}->{history[-1]:.3f} {params:7d} {seconds:5.1f}")

    nerve.manual_seed(1)
    noisy = models["denoising"].corrupt(X_test)  # 30% of the pixels zeroed
    with nerve.no_grad():
        denoised = mse(models["denoising"].reconstruct(noisy), X_test)
        plain = mse(models["plain"].reconstruct(noisy), X_test)
    print(f"from 30%-masked test digits (MSE of the masked input itself "
          f"{mse(noisy, X_test):.4f}): denoising model {denoised:.4f}, plain model {plain:.4f}")
    for name in ("sparse KL", "sparse L1"):
        with nerve.no_grad():
            code = models[name].encode(X_test).numpy()  # (359, 64) in (0, 1)
        print(f"{name} code: mean activation {code.mean():.3f}, "
              f"{(code > 0.1).mean() * 100:.0f}% of the units above 0.1")

    x = X_test[:12]
    with nerve.no_grad():
        rows = [x, noisy[:12], models["plain"].reconstruct(x),
                models["denoising"].reconstruct(noisy[:12]),
                models["sparse KL"].reconstruct(x), models["sparse L1"].reconstruct(x)]
    images = np.concatenate([r.numpy().reshape(-1, 8, 8) for r in rows])
    path = save_image_grid(images, OUT / "autoencoders_digits.png", nrow=12, upscale=6)
    print(f"wrote {path} (rows: test digits, masked, plain, denoising, sparse KL, sparse L1)")


if __name__ == "__main__":
    main()
