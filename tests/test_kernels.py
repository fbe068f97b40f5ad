"""The compiled kernels of nerve/_kernels.py (Numba) against the NumPy code they replace.

Each op runs twice on the same float32 inputs, once with the kernels and once with
``_kernels.enabled = False`` (the NumPy path every other device and dtype takes), and the
outputs and gradients must agree to float32 precision. The ops' agreement with PyTorch is tested
in tests/nn/ (with the kernels on, as the suite runs).
"""

import numpy as np
import pytest

import nerve
from nerve import _kernels
from nerve.nn import functional as F
from nerve.nn.functional.rnn import lstm_layer


def test_numba_is_installed_and_the_kernels_are_on():
    assert _kernels.numba is not None and _kernels.enabled
    assert _kernels.usable(np.zeros(3, np.float32))
    assert not _kernels.usable(np.zeros(3, np.float64))


def test_exp_is_within_a_few_ulps_and_keeps_nan_and_the_limits():
    x = np.random.default_rng(0).uniform(-87, 88, 100_000).astype(np.float32)
    x[:3] = [0.0, 1.0, -1.0]
    y = x.copy()
    _kernels.exp_(y)
    exact = np.exp(x.astype(np.float64))
    np.testing.assert_allclose(y, exact, rtol=1e-6)  # float32 ulp: 6e-8
    special = np.array([np.nan, np.inf, -np.inf, -100.0, 100.0], np.float32)
    _kernels.exp_(special)
    assert np.isnan(special[0])
    assert special[1] == special[4]  # capped at e^88
    np.testing.assert_allclose(special[1], np.exp(88.0), rtol=1e-6)
    assert special[2] == special[3] == 0.0


def _run(fn, enabled, monkeypatch):
    monkeypatch.setattr(_kernels, "enabled", enabled)
    return fn()


def _lstm_case(reverse, batch_first, with_state, bias=True, strided_grad=False, n=3):
    rng = np.random.default_rng(1)
    t, i, h = 5, 4, 6
    x = rng.standard_normal((n, t, i) if batch_first else (t, n, i)).astype(np.float32)
    arrays = {
        "x": x,
        "w_ih": rng.standard_normal((4 * h, i)).astype(np.float32) * 0.5,
        "w_hh": rng.standard_normal((4 * h, h)).astype(np.float32) * 0.5,
        "b_ih": rng.standard_normal(4 * h).astype(np.float32) if bias else None,
        "b_hh": rng.standard_normal(4 * h).astype(np.float32) if bias else None,
        "h0": rng.standard_normal((n, h)).astype(np.float32) if with_state else None,
        "c0": rng.standard_normal((n, h)).astype(np.float32) if with_state else None,
    }
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(x.shape[:2] + (h,)), (n, h), (n, h)]]
    if strided_grad:  # the output's gradient as a view with gaps (every other column of a wider one)
        wide = np.repeat(grads[0], 2, axis=-1)
        grads[0] = wide[..., ::2]
        assert not grads[0].flags.c_contiguous

    def run():
        tensors = {k: None if v is None else nerve.tensor(v, requires_grad=True) for k, v in arrays.items()}
        out, hn, cn = lstm_layer(*tensors.values(), reverse=reverse, batch_first=batch_first)
        given = [nerve.Tensor._wrap(g) for g in grads]  # as they are: strided stays strided
        nerve.autograd.backward([out, hn, cn], given)
        values = [out.detach().numpy(), hn.detach().numpy(), cn.detach().numpy()]
        return values + [t.grad.numpy() for t in tensors.values() if t is not None]

    return run


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_lstm_kernels_match_the_numpy_cell(reverse, batch_first, with_state, monkeypatch):
    run = _lstm_case(reverse, batch_first, with_state)
    compiled = _run(run, True, monkeypatch)
    plain = _run(run, False, monkeypatch)
    assert len(compiled) == len(plain)
    for a, b in zip(compiled, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_kernels_without_bias_and_with_a_strided_output_gradient(batch_first, monkeypatch):
    run = _lstm_case(False, batch_first, True, bias=False, strided_grad=True)
    seen = []
    backward = _kernels.lstm_step_backward

    def spy(*args):
        seen.append(args[4].flags.c_contiguous)  # d_out, the output's gradient as it reaches the kernel
        return backward(*args)

    monkeypatch.setattr(_kernels, "lstm_step_backward", spy)
    compiled = _run(run, True, monkeypatch)
    plain = _run(run, False, monkeypatch)
    assert seen and all(seen)  # the kernel ran, on a contiguous copy of the strided gradient
    for a, b in zip(compiled, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("shape", [(4, 7, 33), (1,), (0, 5)])
def test_gelu_tanh_kernels_match_the_numpy_formula(shape, monkeypatch):
    rng = np.random.default_rng(2)
    x_np = (rng.standard_normal(shape) * 4).astype(np.float32)
    if x_np.size:
        x_np.flat[0] = 30.0  # saturated: s = 1
    g_np = rng.standard_normal(shape).astype(np.float32)

    def run():
        x = nerve.tensor(x_np, requires_grad=True)
        y = F.gelu(x, approximate="tanh")
        y.backward(nerve.tensor(g_np))
        return y.detach().numpy(), x.grad.numpy()

    (y1, g1), (y2, g2) = _run(run, True, monkeypatch), _run(run, False, monkeypatch)
    np.testing.assert_allclose(y1, y2, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(g1, g2, rtol=2e-6, atol=1e-6)


def test_gelu_on_a_non_contiguous_input_takes_the_numpy_path(monkeypatch):
    x = nerve.randn(6, 8).T
    assert not x._data.flags.c_contiguous
    np.testing.assert_allclose(
        F.gelu(x, approximate="tanh").numpy(),
        _run(lambda: F.gelu(x.contiguous(), approximate="tanh").numpy(), False, monkeypatch),
        rtol=1e-6,
        atol=1e-7,
    )


@pytest.mark.parametrize("causal", [False, True])
def test_attention_softmax_kernel_matches_the_numpy_softmax(causal, monkeypatch):
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 3, 9, 4)).astype(np.float32) for _ in range(3))
    mask = np.tril(np.ones((9, 9), bool))
    mask[0] = False  # a query that may attend to nothing: its row of P is 0

    def run():
        tq, tk, tv = (nerve.tensor(a, requires_grad=True) for a in (q, k, v))
        kwargs = {"is_causal": True} if causal else {"attn_mask": nerve.tensor(mask)}
        out = F.scaled_dot_product_attention(tq, tk, tv, **kwargs)
        out.backward(nerve.ones(*out.shape))
        return [out.detach().numpy()] + [t.grad.numpy() for t in (tq, tk, tv)]

    for a, b in zip(_run(run, True, monkeypatch), _run(run, False, monkeypatch), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)


def test_softmax_rows_handles_masked_rows_and_nan():
    x = np.array([[0.0, 1.0, -np.inf], [-np.inf, -np.inf, -np.inf], [1.0, np.nan, 0.0]], np.float32)
    _kernels.softmax_rows_(x)
    e = np.exp([-1.0, 0.0])
    np.testing.assert_allclose(x[0], [e[0] / e.sum(), e[1] / e.sum(), 0.0], rtol=1e-6)
    assert (x[1] == 0).all() and np.isnan(x[2]).all()


@pytest.mark.parametrize("cols", [1, 7, 8, 9, 16, 33, 128])
def test_softmax_rows_matches_numpy_on_rows_of_every_length(cols):
    """The row maximum runs eight at a time with a tail: each length, a NaN anywhere in a row,
    a row masked but for its last entry, and the maximum in the tail."""
    rng = np.random.default_rng(cols)
    x = rng.standard_normal((6, cols)).astype(np.float32) * 10
    x[1, -1] = np.nan
    x[2, :-1] = -np.inf
    x[3, -1] = 100.0  # the largest entry, last
    x[4, :] = -np.inf
    y = x.copy()
    _kernels.softmax_rows_(y)
    with np.errstate(invalid="ignore"):
        top = np.max(np.where(np.isneginf(x).all(axis=1, keepdims=True), 0, x), axis=1,
                     keepdims=True)
        e = np.exp(x.astype(np.float64) - top)
        total = e.sum(axis=1, keepdims=True)
        expected = e / np.where(total == 0, 1, total)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-30)  # a few ulps near e^-87
    assert np.isnan(y[1]).all() and (y[4] == 0).all() and y[2, -1] == 1.0


# --------------------------------------------------------------------------- direct convolution
DIRECT_CASES = [
    # (N, C_in, H, W), C_out, kernel, padding, dilation, groups, bias
    ((3, 1, 12, 12), 6, 5, 2, 1, 1, True),  # LeNet's first layer: 28 taps (25 + 3 of padding)
    ((2, 3, 9, 11), 7, (3, 2), (1, 2), (2, 1), 1, True),  # odd C_out: one padded channel
    ((2, 6, 7, 8), 6, 3, "same", 2, 3, False),  # groups of 2 in, 2 out; no bias
    ((2, 4, 6, 6), 4, 3, 1, 1, 4, True),  # depthwise
    ((2, 5, 6, 5), 5, 2, "same", 1, 5, True),  # even kernel: 'same' pads more on the right
    ((1, 2, 5, 6), 3, (5, 6), 0, 1, 1, True),  # one output pixel
    ((0, 2, 5, 5), 2, 3, 1, 1, 1, True),  # empty batch
]


def _conv_case(shape, out_ch, kernel, padding, dilation, groups, bias, need_x=True):
    rng = np.random.default_rng(4)
    x_np = rng.standard_normal(shape).astype(np.float32)
    cg = shape[1] // groups
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    w_np = rng.standard_normal((out_ch, cg) + k).astype(np.float32)
    b_np = rng.standard_normal(out_ch).astype(np.float32) if bias else None

    def run():
        x, w = nerve.tensor(x_np, requires_grad=need_x), nerve.tensor(w_np, requires_grad=True)
        b = None if b_np is None else nerve.tensor(b_np, requires_grad=True)
        y = F.conv2d(x, w, b, padding=padding, dilation=dilation, groups=groups)
        g = np.random.default_rng(5).standard_normal(y.shape).astype(np.float32)
        y.backward(nerve.tensor(g))
        grads = [t.grad.numpy() for t in (x, w, b) if t is not None and t.requires_grad]
        return [y.detach().numpy()] + grads

    return run, x_np, w_np


@pytest.mark.parametrize("case", DIRECT_CASES)
def test_direct_convolution_matches_im2col_and_gemm(case, monkeypatch):
    from nerve.nn.functional import _conv_kernels

    run, x_np, w_np = _conv_case(*case)
    assert _conv_kernels.use_direct(x_np, w_np, (1, 1))
    direct, gemm = _run(run, True, monkeypatch), _run(run, False, monkeypatch)
    assert len(direct) == len(gemm)
    for a, b in zip(direct, gemm, strict=True):
        assert a.shape == b.shape and a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(b).max(initial=0)))


def test_direct_convolution_without_input_gradient_and_on_odd_layouts(monkeypatch):
    run, _, _ = _conv_case((2, 1, 10, 9), 3, 3, 1, 1, 1, True, need_x=False)
    for a, b in zip(_run(run, True, monkeypatch), _run(run, False, monkeypatch), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)

    # A channels-last input (a transposed view) and a non-contiguous gradient (from a slice).
    def odd():
        rng = np.random.default_rng(6)
        x = nerve.tensor(rng.standard_normal((2, 7, 8, 3)).astype(np.float32), requires_grad=True)
        w = nerve.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
        y = F.conv2d(x.permute(0, 3, 1, 2), w, padding=2)
        (y[:, :, ::2, 1:] * 2.0).sum().backward()
        return [y.detach().numpy(), x.grad.numpy(), w.grad.numpy()]

    for a, b in zip(_run(odd, True, monkeypatch), _run(odd, False, monkeypatch), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_direct_convolution_is_chosen_for_thin_stride_1_float32_convolutions():
    from nerve.nn.functional._conv_kernels import DIRECT_MAX_OUT, use_direct

    x, w = np.zeros((2, 3, 8, 8), np.float32), np.zeros((DIRECT_MAX_OUT, 3, 3, 3), np.float32)
    assert use_direct(x, w, (1, 1))
    assert not use_direct(x, w, (2, 1))  # strided: im2col
    assert not use_direct(x.astype(np.float64), w.astype(np.float64), (1, 1))
    assert not use_direct(x, np.zeros((DIRECT_MAX_OUT + 1, 3, 3, 3), np.float32), (1, 1))
    assert not use_direct(x, np.zeros((4, 3, 1, 1), np.float32), (1, 1))  # 1x1: a plain GEMM
    assert not use_direct(np.zeros((2, 64, 8, 8), np.float32), np.zeros((4, 64, 3, 3), np.float32), (1, 1))


def test_conv_then_maxpool_kernel_matches_the_numpy_layers(monkeypatch):
    """The fused Conv2d + MaxPool2d(2) op (pooling inside the direct kernel) against im2col,
    GEMM and NumPy's max pooling."""
    from nerve import nn

    rng = np.random.default_rng(7)
    x_np = rng.standard_normal((3, 2, 11, 10)).astype(np.float32)

    def run():
        nerve.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(2, 5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        x = nerve.tensor(x_np, requires_grad=True)
        y = model(x)
        y.backward(nerve.tensor(np.linspace(-1, 1, y.numel(), dtype=np.float32).reshape(y.shape)))
        return [y.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]

    for a, b in zip(_run(run, True, monkeypatch), _run(run, False, monkeypatch), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# The direct-convolution kernels, serial and parallel: the same bits (nerve/_kernels.py compiles
# each twice; the weight gradient sums fixed slices of the batch in order).
_SERIAL_VS_PARALLEL = '''
import numpy as np
from nerve import _kernels, threads
from nerve.nn.functional import _conv_kernels as ck

def both(fn):
    out = []
    for parallel in (False, True):
        threads.spare_core = lambda parallel=parallel: parallel
        out.append(fn())
    return out

rng = np.random.default_rng(0)
cases = [((64, 6, 14, 14), (16, 6, 5, 5), (0, 0, 0, 0), 1),  # LeNet's second layer
         ((13, 1, 28, 28), (6, 1, 5, 5), (2, 2, 2, 2), 1),
         ((5, 4, 9, 11), (4, 1, 3, 3), (1, 1, 1, 1), 4),      # depthwise, odd batch
         ((2, 3, 8, 8), (5, 3, 3, 3), (1, 0, 2, 1), 1)]
for x_shape, w_shape, pads, groups in cases:
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    for pool in (False, True):
        (o1, xf1, a1), (o2, xf2, a2) = both(lambda: ck.direct_forward(x, w, b, pads, (1, 1), groups, pool))
        assert np.array_equal(o1, o2) and np.array_equal(xf1, xf2)
        assert (a1 is None and a2 is None) or np.array_equal(a1, a2)
        g = rng.standard_normal(o1.shape).astype(np.float32)
        (dw1, db1), (dw2, db2) = both(lambda: ck.direct_weight_grad(
            xf1, g, x.shape, w.shape, pads, (1, 1), groups, True, arg=a1))
        assert np.array_equal(dw1, dw2) and np.array_equal(db1, db2)
        dx1, dx2 = both(lambda: ck.direct_input_grad(g, w, x.shape, pads, (1, 1), groups, arg=a1))
        assert np.array_equal(dx1, dx2)
import numba
print("same bits on", numba.get_num_threads(), "threads")
'''


def test_parallel_direct_kernels_give_the_serial_bits():
    from nerve import threads

    spare_core = threads.spare_core
    try:
        exec(_SERIAL_VS_PARALLEL, {})
    finally:
        threads.spare_core = spare_core


def test_parallel_direct_kernels_give_the_serial_bits_on_two_threads():
    """In a fresh process with two Numba threads (the suite itself runs with one per worker)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", _SERIAL_VS_PARALLEL], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "same bits on 2 threads" in done.stdout


def test_the_parallel_twin_has_a_cache_name_of_its_own():
    # Numba's on-disk cache keys a function by name and line: one name would mix the two up.
    serial, parallel = _kernels.conv_direct_forward, _kernels.conv_direct_forward_parallel
    assert serial.py_func.__qualname__ != parallel.py_func.__qualname__
    assert parallel.targetoptions.get("parallel") and not serial.targetoptions.get("parallel")


@pytest.mark.parametrize(
    ("shape", "normalized", "affine"),
    [((4, 7, 33), (33,), True), ((4, 7, 33), (7, 33), True), ((5, 16), (16,), False),
     ((1, 1), (1,), True), ((0, 8), (8,), True)],
)
def test_layer_norm_row_kernels_match_the_numpy_path(shape, normalized, affine, monkeypatch):
    rng = np.random.default_rng(5)
    x_np = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    g_np = rng.standard_normal(shape).astype(np.float32)
    w_np = rng.standard_normal(normalized).astype(np.float32)
    b_np = rng.standard_normal(normalized).astype(np.float32)
    calls = []
    forward = _kernels.layer_norm_rows_forward
    monkeypatch.setattr(_kernels, "layer_norm_rows_forward",
                        lambda *a: calls.append(1) or forward(*a))

    def run():
        x = nerve.tensor(x_np, requires_grad=True)
        params = [nerve.tensor(a, requires_grad=True) for a in (w_np, b_np)] if affine else []
        y = F.layer_norm(x, normalized, *params)
        y.backward(nerve.tensor(g_np))
        return [y.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in params]

    compiled = _run(run, True, monkeypatch)
    assert len(calls) == (1 if x_np.size else 0)
    plain = _run(run, False, monkeypatch)
    assert len(calls) == (1 if x_np.size else 0)  # the NumPy path ran the second time
    for a, b in zip(compiled, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_layer_norm_on_a_strided_input_takes_the_numpy_path(monkeypatch):
    x = nerve.randn(8, 6).T  # (6, 8), not contiguous
    monkeypatch.setattr(_kernels, "layer_norm_rows_forward", None)  # would fail if called
    y = F.layer_norm(x, (8,))
    np.testing.assert_allclose(y.numpy().mean(axis=1), 0, atol=1e-6)


@pytest.mark.parametrize("shape", [(64, 1024, 32), (3, 5, 7), (1, 1, 1), (0, 4, 2), (4, 0, 2)])
def test_swap_leading_axes_is_numpys_transposing_copy(shape):
    src = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    dst = np.empty((shape[1], shape[0], shape[2]), np.float32)
    _kernels.swap_leading_axes(src, dst)
    np.testing.assert_array_equal(dst, src.transpose(1, 0, 2))


def test_cached_kernels_go_when_any_kernel_file_changes(tmp_path):
    """Numba's cache does not follow calls across files; nerve deletes the cached code of all its
    kernel files when one of them changes (``_forget_stale_compiled_code``)."""
    import os

    for name in _kernels._KERNEL_FILES:
        (tmp_path / name).write_text("# kernels\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    cached = ["_kernels.exp_-137.py311.nbi", "_lstm_kernels.forward_block-9.py311.1.nbc",
              "_lstm_tasks.forward_task-3.py311.nbi"]
    others = ["tensor.cpython-311.pyc", "_kernelsfoo.nbi"]
    for name in cached + others:
        (cache / name).write_text("")
    _kernels._forget_stale_compiled_code(str(tmp_path))
    assert sorted(os.listdir(cache)) == sorted(others + ["nerve-kernels.stamp"])
    (cache / cached[0]).write_text("")  # compiled again: kept while no file changes
    _kernels._forget_stale_compiled_code(str(tmp_path))
    assert (cache / cached[0]).exists()
    later = os.stat(tmp_path / "_lstm_kernels.py").st_mtime_ns + 10**9
    os.utime(tmp_path / "_lstm_kernels.py", ns=(later, later))  # an edit of another file
    _kernels._forget_stale_compiled_code(str(tmp_path))
    assert not (cache / cached[0]).exists()
