"""Helpers for the model-zoo tests: the same network in torch.nn as an oracle for nerve's.

torchvision is not installable here, so each test file writes torchvision's layout in plain
torch.nn; these helpers compare the two networks' parameters, per-layer output shapes and logits.
"""

import numpy as np
import torch

import nerve


def count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def parameter_shapes(model) -> list[tuple]:
    return [tuple(p.shape) for p in model.parameters()]


def _leaves(model):
    return [m for m in model.modules() if not list(m.children())]


def nerve_layer_shapes(model, x) -> list[tuple]:
    """Output shape of every leaf layer, in call order, for a forward pass of ``x``."""
    shapes = []
    handles = [m.register_forward_hook(lambda mod, inp, out: shapes.append(tuple(out.shape)))
               for m in _leaves(model)]
    with nerve.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return shapes


def torch_layer_shapes(model, x) -> list[tuple]:
    shapes = []
    handles = [m.register_forward_hook(lambda mod, inp, out: shapes.append(tuple(out.shape)))
               for m in _leaves(model)]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return shapes


def copy_into_torch(nerve_model, torch_model) -> None:
    """Copy nerve's state (parameters and buffers, in order) into the torch twin."""
    ours = list(nerve_model.state_dict().values())
    theirs = torch_model.state_dict()
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    with torch.no_grad():
        for value, (name, target) in zip(ours, theirs.items()):
            array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
            assert tuple(array.shape) == tuple(target.shape), name
            target.copy_(torch.from_numpy(array.copy()).to(target.dtype))


def assert_same_logits(nerve_model, torch_model, x: np.ndarray, atol=1e-4) -> None:
    nerve_model.eval()
    torch_model.eval()
    copy_into_torch(nerve_model, torch_model)
    with nerve.no_grad():
        ours = nerve_model(nerve.tensor(x)).numpy()
    with torch.no_grad():
        theirs = torch_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=atol)


def digits_batch(n=64, seed=0):
    """A batch of the 8x8 digits: x (n, 1, 8, 8) float32, y (n,) int64."""
    from nerve.datasets import load_digits

    train, _ = load_digits(flatten=False, seed=seed, test_fraction=0.25)
    x, y = train.tensors
    return x[:n], y[:n]


def losses_of_short_run(model, x, y, steps=30, lr=3e-3) -> list[float]:
    """Full-batch Adam steps on (x, y); the loss before each step."""
    from nerve import nn, optim

    model.train()
    opt = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def train_and_score(config, tmp_path) -> float:
    """Train ``config`` (a ``RunConfig``) as ``nerve train`` does; return the test accuracy."""
    import json
    import time

    from nerve.train.run import train

    start = time.perf_counter()
    run = train(config, verbose=False, run_dir=tmp_path / "run")
    metrics = json.loads((run / "metrics.json").read_text())
    accuracy = metrics["test"]["accuracy"]
    print(f"{config.model} on {config.data}: test accuracy {accuracy:.4f}, "
          f"{metrics['parameters']:,} parameters, {time.perf_counter() - start:.1f} s")
    return accuracy


def blas_threads(limit: int = 1):
    """A context manager capping BLAS threads (threadpoolctl), or a no-op without threadpoolctl.

    NOTE: tiny matrices (GANs, autoencoders and GNNs on toy data) run 5-50x slower with two
    OpenBLAS threads on a busy 2-core machine (pytest -n 2, or another job running): measured
    a 128x128 product at 0.55 ms with one thread and 31 ms with two.
    """
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with the test extras
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


def randomize_batchnorm(model, seed=0) -> None:
    """Give every BatchNorm of a nerve model random running statistics and affine parameters, so
    that an eval-mode comparison exercises them (fresh ones are the identity)."""
    from nerve import nn

    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            m.running_mean._data[...] = rng.normal(0, 0.1, n)
            m.running_var._data[...] = rng.uniform(0.5, 2.0, n)
            m.weight._data[...] = rng.uniform(0.5, 1.5, n)
            m.bias._data[...] = rng.normal(0, 0.1, n)
