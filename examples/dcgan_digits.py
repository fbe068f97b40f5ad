"""A DCGAN on the 8x8 digits: transposed convolutions up, strided convolutions down, batch norm
and LeakyReLU (Radford et al., 2016; nerve.models.gan).

    python examples/dcgan_digits.py   # ~1-2 min on 2 cores
Writes examples/output/dcgan_digits.png (64 samples; below them 16 real test digits to compare)
and judges 500 samples two ways, with a logistic-regression digit classifier fit on the real
training digits (how sure it is, and which digits it sees) and by the distance from each sample
to its nearest real training digit.
"""

import time
from pathlib import Path

import numpy as np

import nerve
from nerve.datasets import load_digits
from nerve.models.gan import DCGANConfig, DCGANDiscriminator, DCGANGenerator, sample, train_gan
from nerve.models.imagegrid import save_image_grid

OUT = Path(__file__).parent / "output"
STEPS = 2000


def judge(images, X, y):
    """(mean top-class probability, class counts, mean distance to the nearest real digit)."""
    from sklearn.linear_model import LogisticRegression

    real = X.reshape(len(X), -1)
    flat = np.asarray(images).reshape(len(images), -1)
    probs = LogisticRegression(max_iter=2000).fit(real, y).predict_proba(flat)
    squared = (flat**2).sum(1)[:, None] - 2 * flat @ real.T + (real**2).sum(1)[None, :]
    nearest = np.sqrt(np.maximum(squared.min(1), 0)).mean()
    return float(probs.max(1).mean()), np.bincount(probs.argmax(1), minlength=10), float(nearest)


def main():
    nerve.set_num_threads(1)  # small matrices: a second BLAS thread costs more than it saves
    OUT.mkdir(exist_ok=True)
    (X, y), (X_test, _) = load_digits(flatten=False, as_arrays=True)  # (N, 1, 8, 8) in [0, 1]
    nerve.manual_seed(0)
    config = DCGANConfig(latent=32, channels=32)
    generator, discriminator = DCGANGenerator(config), DCGANDiscriminator(config)
    start = time.time()

    def log(step, history):
        print(f"step {step:5d}  D loss {np.mean(history['d_loss'][-250:]):.3f}  "
              f"G loss {np.mean(history['g_loss'][-250:]):.3f}  {time.time() - start:.0f} s")
        generator.train()

    train_gan(generator, discriminator, nerve.from_numpy(X), steps=STEPS, batch_size=64,
              lr=5e-4, seed=0, label_smoothing=0.1, log=log, log_every=250)
    seconds = time.time() - start
    fake = sample(generator, 500, seed=1).numpy()
    confidence, counts, distance = judge(fake, X, y)
    real_confidence, _, real_distance = judge(X_test, X, y)
    noise_confidence, _, noise_distance = judge(np.random.default_rng(0).uniform(size=(500, 64)),
                                                X, y)
    params_g = sum(p.numel() for p in generator.parameters())
    params_d = sum(p.numel() for p in discriminator.parameters())
    print(f"DCGAN: G {params_g} + D {params_d} parameters, {STEPS} steps (batches of 64, "
          f"Adam 5e-4, label smoothing 0.1, seed 0) in {seconds:.0f} s")
    print(f"{'':22s} {'classifier confidence':>22s} {'distance to nearest real':>25s}")
    for name, c, dist in [("500 samples", confidence, distance),
                          ("359 real test digits", real_confidence, real_distance),
                          ("500 uniform noise", noise_confidence, noise_distance)]:
        print(f"{name:22s} {c:22.2f} {dist:25.2f}")
    print(f"samples per class as the classifier sees them: {counts.tolist()}")
    blank = np.zeros((8, 1, 8, 8), dtype=fake.dtype)  # an empty row between the two
    grid = np.concatenate([fake[:64], blank, X_test[:16]])
    path = save_image_grid(grid, OUT / "dcgan_digits.png", upscale=8)
    print(f"wrote {path} (8 rows of samples; below the gap, 2 rows of real test digits)")


if __name__ == "__main__":
    main()
