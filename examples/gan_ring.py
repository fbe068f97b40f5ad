"""An MLP GAN on a ring of 8 Gaussians, the standard test for mode collapse (nerve.models.gan).

    python examples/gan_ring.py   # ~1 min on 2 cores
Prints how many of the 8 modes the generator covers (a mode counts when >= 2% of 2000 samples
lie within 3 standard deviations of its centre), writes examples/output/gan_ring.png.
"""

import time
from pathlib import Path

import nerve
from nerve.models.gan import (
    Discriminator,
    GANConfig,
    Generator,
    count_modes,
    make_ring,
    ring_centers,
    sample,
    train_gan,
)

OUT = Path(__file__).parent / "output"
STEPS = 3000
NEAR = 0.15  # a sample "hits" a mode within 3 standard deviations (std 0.05) of its centre


def main():
    nerve.set_num_threads(1)  # small matrices: a second BLAS thread costs more than it saves
    OUT.mkdir(exist_ok=True)
    nerve.manual_seed(0)
    real = make_ring(4096, modes=8, radius=2.0, std=0.05, seed=0)
    generator, discriminator = Generator(GANConfig()), Discriminator(GANConfig())
    centers = ring_centers(8, 2.0)

    def log(step, history):
        modes, quality = count_modes(sample(generator, 2000, seed=1), centers, NEAR)
        d_loss = sum(history["d_loss"][-500:]) / 500
        g_loss = sum(history["g_loss"][-500:]) / 500
        print(f"step {step:5d}  D loss {d_loss:.3f}  G loss {g_loss:.3f}  "
              f"modes {modes}/8  samples near a mode {quality:.0%}")
        generator.train()

    start = time.time()
    train_gan(generator, discriminator, nerve.from_numpy(real), steps=STEPS, batch_size=128,
              lr=1e-3, seed=0, log=log, log_every=500)
    seconds = time.time() - start
    fake = sample(generator, 2000, seed=1).numpy()
    modes, quality = count_modes(fake, centers, NEAR)
    params = sum(p.numel() for m in (generator, discriminator) for p in m.parameters())
    print(f"{modes}/8 modes covered, {quality:.0%} of samples within {NEAR} of a centre; "
          f"{params} parameters (G + D), {STEPS} steps (batches of 128, Adam 1e-3, seed 0), "
          f"{seconds:.1f} s")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(real[:2000, 0], real[:2000, 1], s=3, alpha=0.4, label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=3, alpha=0.4, label="generated")
    ax.set_aspect("equal")
    ax.legend(loc="upper right")
    ax.set_title(f"MLP GAN, {STEPS} steps: {modes}/8 modes")
    path = OUT / "gan_ring.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
