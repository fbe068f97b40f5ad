"""A training run that the resume test starts, interrupts with SIGTERM, and resumes."""

import sys
import time

import numpy as np

import nerve
from nerve import nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.data.transforms import GaussianNoise
from nerve.train import Callback, Trainer, TrainingInterrupted


class Announce(Callback):
    def on_batch_end(self, batch, logs=None):
        print(f"epoch {self.trainer.epoch} batch {batch}", flush=True)
        time.sleep(0.004)


def main(out_dir, mode):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64)
    nerve.manual_seed(7)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 2))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(nerve.tensor(x), nerve.tensor(y)), batch_size=20, shuffle=True)
    trainer = Trainer(model, opt, nn.CrossEntropyLoss(), callbacks=[Announce()], verbose=False,
                      checkpoint_path=f"{out_dir}/interrupted.safetensors",
                      augment=GaussianNoise(0.05))  # random draws per batch: resumed exactly too
    try:
        trainer.fit(loader, epochs=6, resume=f"{out_dir}/interrupted.safetensors" if mode == "resume" else None)
    except TrainingInterrupted as stop:
        print(f"INTERRUPTED {stop.epoch} {stop.batch}", flush=True)
        return 3
    nerve.save(model.state_dict(), f"{out_dir}/final-{mode}.safetensors")
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
