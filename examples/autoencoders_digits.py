"""Plain, denoising and sparse autoencoders on the 8x8 digits (nerve.models.autoencoder).

    python examples/autoencoders_digits.py   # ~10 s on 2 cores
Writes examples/output/autoencoders_digits.png: rows = test digits, the masked digits the
denoising model sees, then the plain / denoising (from the masked input) / sparse reconstructions.
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
EPOCHS = 30


def main():
    OUT.mkdir(exist_ok=True)
    (X_train, _), (X_test, _) = load_digits(as_arrays=True)  # (1437, 64), (360, 64) in [0, 1]
    X_train, X_test = nerve.from_numpy(X_train), nerve.from_numpy(X_test)
    models = {
        "plain": Autoencoder(AutoencoderConfig(latent=16)),
        "denoising": DenoisingAutoencoder(AutoencoderConfig(latent=16, noise=0.3)),
        "sparse (KL)": SparseAutoencoder(AutoencoderConfig(latent=64, sparsity="kl",
                                                           rho=0.05, beta=0.05)),
    }
    print(f"digits: {len(X_train)} train / {len(X_test)} test images, {EPOCHS} epochs of Adam")
    print(f"{'model':12s} {'test MSE/pixel':>14s} {'loss first->last':>18s} {'params':>7s} {'s':>5s}")
    for name, model in models.items():
        nerve.manual_seed(0)
        start = time.time()
        history = train_autoencoder(model, X_train, epochs=EPOCHS, seed=0)
        seconds = time.time() - start
        mse = reconstruction_error(model, X_test)
        params = sum(p.numel() for p in model.parameters())
        print(f"{name:12s} {mse:14.4f} {history[0]:8.3f}->{history[-1]:.3f} {params:7d} {seconds:5.1f}")
    sparse = models["sparse (KL)"]
    with nerve.no_grad():
        code = sparse.encode(X_test).numpy()
    print(f"sparse code: mean activation {code.mean():.3f} (target rho {sparse.config.rho}), "
          f"{(code > 0.1).mean() * 100:.0f}% of units above 0.1")
    # A picture: originals, masked inputs, and what each model makes of them.
    nerve.manual_seed(1)
    x = X_test[:12]
    noisy = models["denoising"].corrupt(x)
    with nerve.no_grad():
        rows = [x, noisy, models["plain"].reconstruct(x), models["denoising"].reconstruct(noisy),
                sparse.reconstruct(x)]
    images = np.concatenate([r.numpy().reshape(-1, 8, 8) for r in rows])
    print(f"wrote {save_image_grid(images, OUT / 'autoencoders_digits.png', nrow=12)}")


if __name__ == "__main__":
    main()
