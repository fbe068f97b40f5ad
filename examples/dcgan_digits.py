"""A DCGAN on the 8x8 digits: transposed convolutions up, strided convolutions down, batch norm
and LeakyReLU (Radford et al., 2016; nerve.models.gan).

    python examples/dcgan_digits.py   # ~2-3 min on 2 cores
Writes examples/output/dcgan_digits.png (64 samples) and reports how a logistic-regression
digit classifier, fit on the real training digits, judges the samples.
"""

import time
from pathlib import Path

import numpy as np

import nerve
from nerve.datasets import load_digits
from nerve.models.gan import DCGANConfig, DCGANDiscriminator, DCGANGenerator, sample, train_gan
from nerve.models.imagegrid import save_image_grid

OUT = Path(__file__).parent / "output"
STEPS = 1500


def judge(images, X, y):
    """Mean top-class probability of a softmax classifier fit on (X, y), and the class counts."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=2000).fit(X.reshape(len(X), -1), y)
    probs = clf.predict_proba(np.asarray(images).reshape(len(images), -1))
    return float(probs.max(1).mean()), np.bincount(probs.argmax(1), minlength=10)


def main():
    OUT.mkdir(exist_ok=True)
    (X, y), (X_test, _) = load_digits(flatten=False, as_arrays=True)  # (N, 1, 8, 8) in [0, 1]
    nerve.manual_seed(0)
    config = DCGANConfig(latent=32, channels=32)
    generator, discriminator = DCGANGenerator(config), DCGANDiscriminator(config)
    start = time.time()

    def log(step, history):
        print(f"step {step:5d}  D loss {np.mean(history['d_loss'][-250:]):.3f}  "
              f"G loss {np.mean(history['g_loss'][-250:]):.3f}  {time.time() - start:.0f} s")

    train_gan(generator, discriminator, nerve.from_numpy(X), steps=STEPS, batch_size=64,
              lr=2e-4, seed=0, log=log, log_every=250)
    seconds = time.time() - start
    fake = sample(generator, 500, seed=1).numpy()
    confidence, counts = judge(fake, X, y)
    real_confidence, _ = judge(X_test, X, y)
    params_g = sum(p.numel() for p in generator.parameters())
    params_d = sum(p.numel() for p in discriminator.parameters())
    print(f"DCGAN: G {params_g} + D {params_d} parameters, {STEPS} steps in {seconds:.0f} s")
    print(f"classifier confidence on samples {confidence:.2f} (on real test digits "
          f"{real_confidence:.2f}); samples per class {counts.tolist()}")
    print(f"wrote {save_image_grid(fake[:64], OUT / 'dcgan_digits.png')}")


if __name__ == "__main__":
    main()
