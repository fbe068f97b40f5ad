"""A variational autoencoder on the 8x8 digits: test ELBO, reconstructions, samples
(nerve.models.vae).

    python examples/vae_digits.py   # ~20 s on 2 cores
Writes examples/output/vae_samples.png (64 draws from the prior) and
examples/output/vae_reconstructions.png (16 test digits, then their reconstructions).
"""

import time
from pathlib import Path

import numpy as np

import nerve
from nerve.datasets import load_digits
from nerve.models.autoencoder import reconstruction_error, train_autoencoder
from nerve.models.imagegrid import save_image_grid
from nerve.models.vae import VAE, VAEConfig, evaluate_elbo

OUT = Path(__file__).parent / "output"
EPOCHS = 100


def main():
    nerve.set_num_threads(1)  # small matrices: a second BLAS thread costs more than it saves
    OUT.mkdir(exist_ok=True)
    (X_train, _), (X_test, _) = load_digits(as_arrays=True)  # (N, 64) in [0, 1]
    X_train, X_test = nerve.from_numpy(X_train), nerve.from_numpy(X_test)
    nerve.manual_seed(0)
    model = VAE(VAEConfig(hidden=[256, 128], latent=8))
    start = time.time()
    history = train_autoencoder(
        model, X_train, epochs=EPOCHS, seed=0,
        log=lambda e, loss: print(f"epoch {e + 1:3d}  -ELBO {loss:.2f}") if (e + 1) % 20 == 0
        else None,
    )
    seconds = time.time() - start
    params = sum(p.numel() for p in model.parameters())
    print(f"VAE ({params} parameters, latent 8), {EPOCHS} epochs in {seconds:.1f} s, seed 0")
    print(f"train -ELBO first/last epoch: {history[0]:.2f} / {history[-1]:.2f} nats")
    # NOTE: the pixels are grey levels in [0, 1], not binary; under the Bernoulli likelihood no
    # model beats the pixels' own entropy, sum_d H(x_d), averaged over the test digits.
    x = X_test.numpy().clip(1e-7, 1 - 1e-7)
    ceiling = float((x * np.log(x) + (1 - x) * np.log(1 - x)).sum(1).mean())
    print(f"test ELBO: {evaluate_elbo(model, X_test):.2f} nats per image (64 pixels, Bernoulli "
          f"likelihood, 10 samples of z; the best possible is {ceiling:.2f})")
    error = reconstruction_error(model, X_test)
    print(f"test reconstruction MSE/pixel (posterior mean): {error:.4f}")
    samples = model.sample(64, generator=nerve.Generator().manual_seed(1))
    path = save_image_grid(samples.reshape(64, 1, 8, 8), OUT / "vae_samples.png", upscale=8)
    print(f"wrote {path}")
    with nerve.no_grad():
        recon = model.reconstruct(X_test[:16])
    pair = np.concatenate([X_test[:16].numpy(), recon.numpy()]).reshape(-1, 8, 8)
    print(f"wrote {save_image_grid(pair, OUT / 'vae_reconstructions.png', nrow=16, upscale=6)}")


if __name__ == "__main__":
    main()
