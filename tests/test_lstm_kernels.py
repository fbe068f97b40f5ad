"""The LSTM layer on blocks of batch rows (nerve/_lstm_kernels.py), against the per-step path it
replaces and against PyTorch.

The suite runs with one BLAS thread (the Makefile), where the layer keeps the per-step path; so
these tests hand the layer a runner that runs the blocks one after the other on this thread (the
same compiled tasks, the same bits), and one test runs a child process with two OpenBLAS threads,
where the blocks run on OpenBLAS's workers (``nerve.threads.blas_pool``)."""

import numpy as np
import pytest
import torch
from test_kernels import _lstm_case

import nerve
from nerve import _kernels, _lstm_kernels, threads
from nerve.nn.functional import rnn

pytestmark = pytest.mark.skipif(_kernels.numba is None, reason="needs Numba")


class OneAfterTheOther:
    """A runner of the blocks' tasks, two blocks, run in turn on this thread."""

    parts = 2

    def __init__(self):
        self.calls = []

    def __call__(self, task, records):
        self.calls.append(len(records))
        threads.run_in_turn(task, records)


@pytest.mark.parametrize("n, parts", [(8, 2), (13, 2), (32, 2), (5, 2), (32, 3), (9, 1), (0, 2)])
def test_blocks_start_at_multiples_of_four_and_cover_the_batch(n, parts):
    spans = _lstm_kernels.blocks(n, parts)
    assert [a for a, _ in spans] == sorted(a for a, _ in spans)
    assert all(a % 4 == 0 and b > a for a, b in spans)
    covered = [r for a, b in spans for r in range(a, b)]
    assert covered == list(range(n))
    assert len(spans) <= parts


def _counting_pool(monkeypatch):
    """Blocks for batches of 8 rows and more, run in turn; returns the list of the runs' sizes."""
    runner = OneAfterTheOther()
    monkeypatch.setattr(rnn, "_row_blocks_pool", lambda *a: runner if a[-1] >= 8 else None)
    return runner.calls


@pytest.mark.parametrize("n", [8, 13])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state, bias", [(False, True), (True, True), (True, False)])
def test_blocks_match_the_per_step_path(n, reverse, batch_first, with_state, bias, monkeypatch):
    run = _lstm_case(reverse, batch_first, with_state, bias, n=n)
    calls = _counting_pool(monkeypatch)
    blocked = run()
    assert calls == [2, 2]  # the forward and the backward, each on two blocks
    monkeypatch.setattr(rnn, "_row_blocks_pool", lambda *a: None)
    per_step = run()
    assert len(blocked) == len(per_step)
    for a, b in zip(blocked, per_step, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


_ON_OPENBLAS_THREADS = """
import numpy as np
import test_lstm_kernels as case
from nerve import threads
from nerve.nn.functional import rnn

pool = threads.blas_pool()
assert pool is not None and pool.parts == 2, pool
f32 = np.zeros((2, 2), np.float32)
assert rnn._row_blocks_pool(f32, f32, f32, rnn.ROW_BLOCKS_MIN_BATCH) is pool
assert rnn._row_blocks_pool(f32, f32, f32, rnn.ROW_BLOCKS_MIN_BATCH - 1) is None
assert rnn._row_blocks_pool(f32.astype(np.float64), f32, f32, 32) is None
for n in (8, 13, 32):
    run = case._lstm_case(False, True, True, n=n)
    seen = []
    real = rnn._row_blocks_pool

    def spy(*a):
        found = real(*a)
        seen.append(found)
        return found

    rnn._row_blocks_pool = spy
    on_threads = run()
    assert seen and all(found is pool for found in seen), seen
    rnn._row_blocks_pool = lambda *a: case.OneAfterTheOther()
    in_turn = run()
    rnn._row_blocks_pool = real
    for a, b in zip(on_threads, in_turn, strict=True):
        assert np.array_equal(a, b)
print("blocks on openblas threads ok")
"""


def test_the_blocks_run_on_openblas_threads_and_give_the_bits_of_one_thread():
    import os
    import subprocess
    import sys

    env = dict(os.environ, OPENBLAS_NUM_THREADS="2", NUMBA_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([os.path.dirname(__file__), *sys.path]))
    done = subprocess.run([sys.executable, "-c", _ON_OPENBLAS_THREADS], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "blocks on openblas threads ok" in done.stdout


@pytest.mark.parametrize("bidirectional, num_layers, whole_output",
                         [(False, 1, True), (True, 1, True), (False, 2, False)])
def test_blocks_match_torch(bidirectional, num_layers, whole_output, monkeypatch):
    """Outputs and every gradient; with ``whole_output`` False, only h_n reaches the loss."""
    calls = _counting_pool(monkeypatch)
    torch.manual_seed(0)
    kwargs = dict(batch_first=True, bidirectional=bidirectional, num_layers=num_layers)
    twin = torch.nn.LSTM(6, 9, **kwargs)
    module = nerve.nn.LSTM(6, 9, **kwargs)
    for (_, p), (_, tp) in zip(module.named_parameters(), twin.named_parameters(), strict=True):
        p._data[...] = tp.detach().numpy()
    x = np.random.default_rng(3).standard_normal((11, 7, 6)).astype(np.float32)
    nx, tx = nerve.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    results = []
    for m, xx in ((module, nx), (twin, tx)):
        out, (h_n, c_n) = m(xx)
        loss = (h_n * h_n).sum()
        if whole_output:
            loss = loss + (out * out).sum() + (c_n * c_n).sum()
        loss.backward()
        results.append([out, h_n, c_n, xx.grad])
    assert len(calls) == 2 * num_layers * (2 if bidirectional else 1)  # forward and backward
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=2e-5)
    for (name, p), (_, tp) in zip(module.named_parameters(), twin.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=5e-5,
                                   err_msg=name)


def test_backward_twice_with_retain_graph_on_blocks(monkeypatch):
    calls = _counting_pool(monkeypatch)
    module = nerve.nn.LSTM(4, 6, batch_first=True)
    x = nerve.randn(9, 5, 4, requires_grad=True)
    out, (h_n, c_n) = module(x)
    loss = (out * out).sum() + h_n.sum() + (c_n * c_n).sum()
    loss.backward(retain_graph=True)
    first = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in module.parameters()]
    loss.backward()
    second = [x.grad.numpy()] + [p.grad.numpy() for p in module.parameters()]
    assert len(calls) == 3
    for a, b in zip(first, second, strict=True):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-6)


def test_one_blas_thread_keeps_the_per_step_path():
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(1)
        assert threads.blas_pool() is None or threads.blas_pool().parts == 1
        f32 = np.zeros((2, 2), np.float32)
        assert rnn._row_blocks_pool(f32, f32, f32, 32) is None
    finally:
        threads.set_num_threads(before)


def test_an_empty_sequence_on_blocks_returns_the_initial_state(monkeypatch):
    calls = _counting_pool(monkeypatch)
    module = nerve.nn.LSTM(4, 6, batch_first=True)
    h0 = nerve.randn(1, 9, 6, requires_grad=True)
    out, (h_n, c_n) = module(nerve.zeros(9, 0, 4, requires_grad=True), (h0, nerve.randn(1, 9, 6)))
    assert tuple(out.shape) == (9, 0, 6) and calls == [2]
    np.testing.assert_array_equal(h_n.detach().numpy(), h0.detach().numpy())
    h_n.sum().backward()
    np.testing.assert_array_equal(h0.grad.numpy(), np.ones((1, 9, 6)))
