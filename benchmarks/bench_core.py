"""Engine overhead: per-op forward+backward on small tensors, W5 (tiny MLP step), W6 (latency)."""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Workload, torch_setup


def _per_op(name, op, shapes):
    import torch

    import nerve

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    nx = [nerve.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_shape = op(*nx).shape
    ng = nerve.ones(*out_shape) if len(out_shape) else None
    tg = torch.ones(*out_shape) if len(out_shape) else None

    def run_nerve():
        for t in nx:
            t.grad = None
        op(*nx).backward(ng)

    def run_torch():
        for t in tx:
            t.grad = None
        op(*tx).backward(tg)

    return Workload(f"op:{name}", f"{name} forward+backward, {' x '.join(map(str, shapes))}", "us",
                    1, run_nerve, run_torch)


def _w5():
    """W5: MLP 2-8-8-1, tanh hidden and output, MSE, SGD lr 0.03, batch 10."""
    import torch

    import nerve
    from nerve import nn, optim

    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 2)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)

    nerve.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1), nn.Tanh())
    opt = optim.SGD(model.parameters(), lr=0.03)
    nx, ny = nerve.from_numpy(x), nerve.from_numpy(y)
    loss_fn = nn.MSELoss()

    tmodel = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8),
                                 torch.nn.Tanh(), torch.nn.Linear(8, 1), torch.nn.Tanh())
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.03)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    tloss_fn = torch.nn.MSELoss()

    def step_nerve():
        loss = loss_fn(model(nx), ny)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def step_torch():
        loss = tloss_fn(tmodel(tx), ty)
        topt.zero_grad()
        loss.backward()
        topt.step()

    return Workload("W5", "MLP 2-8-8-1 tanh, MSE, SGD, batch 10 (step)", "steps/s", 1,
                    step_nerve, step_torch)


def _w6():
    """W6: W1's MLP 784-256-256-10 forward only, batch 1, result back as a NumPy array."""
    import torch

    import nerve
    from nerve import nn

    x = np.random.default_rng(0).standard_normal((1, 784)).astype(np.float32)
    nerve.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    model.eval()
    tmodel = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                 torch.nn.ReLU(), torch.nn.Linear(256, 10)).eval()

    def run_nerve():
        with nerve.no_grad():
            return model(nerve.from_numpy(x)).numpy()

    def run_torch():
        with torch.no_grad():
            return tmodel(torch.from_numpy(x)).numpy()

    return Workload("W6", "MLP 784-256-256-10 forward, batch 1 (latency)", "us", 1, run_nerve, run_torch)


def workloads():
    torch_setup()
    import nerve

    ops = [
        _per_op("add", lambda a, b: a + b, [(16,), (16,)]),
        _per_op("mul", lambda a, b: a * b, [(16,), (16,)]),
        _per_op("matmul", lambda a, b: a @ b, [(64, 64), (64, 64)]),
        _per_op("sum", lambda a: a.sum(), [(16,)]),
        _per_op("relu", lambda a: a.relu(), [(16,)]),
    ]
    del nerve
    return ops + [_w5(), _w6()]
