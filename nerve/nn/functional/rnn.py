"""Fused recurrent primitives: one whole-sequence Function per layer direction, one per cell.

All input projections of a sequence are one matmul, ``gx = x W_ih^T + b_ih``, outside the time
loop; a layer Function then runs the loop on raw arrays with preallocated buffers (forward) and
backpropagates through time in closed form (backward). Per step, with ``h`` the previous state:

    RNN:   h' = act(gx_t + h W_hh^T + b_hh)                       act = tanh or relu
    LSTM:  i, f, g, o = sigma, sigma, tanh, sigma of (gx_t + h W_hh^T + b_hh)   (PyTorch's order)
           c' = f * c + i * g,   h' = o * tanh(c')
    GRU:   r, z = sigma(gx_t[r, z] + h W_hh[r, z]^T + b_hh[r, z])
           n = tanh(gx_t[n] + r * (h W_hn^T + b_hn)),   h' = (1 - z) * n + z * h

The weight gradients are one matmul each after the loop: dW_hh = sum_t dpre_t^T h_{t-1}.
``rnn_layer``/``gru_layer`` take ``gx`` (T, N, G*H), or (N, T, G*H) with ``batch_first``;
``lstm_layer`` (the hot path of W3) takes x itself and does the projection inside its Function.
``w_hh`` (G*H, H); ``b_hh`` (G*H,) or None; ``h0``/``c0`` (N, H) or None (zeros). ``reverse``
runs from t = T-1 down to 0.

The cell Functions (``lstm_cell_gates``, ``gru_cell_gates``) fuse one step's gate math from the
pre-activations; ``LSTMCell``/``GRUCell`` use them.

NOTE: measured on W3's LSTM (T 64, N 32, H 256, forward + backward, 1 BLAS thread), the
whole-sequence Function takes 260 ms where a Python loop of LSTMCell steps takes 373 ms: one
graph node instead of ~6 per step, and dW_hh is one large matmul instead of 64 small ones.
"""

from __future__ import annotations

import numpy as np

from nerve import _kernels, _lstm_kernels, threads
from nerve.autograd.function import Function, once_differentiable
from nerve.device import array_module, quiet_overflow
from nerve.ops.elementwise import relu_array, relu_slope
from nerve.tensor import Tensor


def _sigmoid_(a, xp):
    """sigma(a) in place, as (1 + tanh(a/2)) / 2 (never overflows)."""
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _time_major(arr, batch_first):
    return arr.transpose(1, 0, 2) if batch_first else arr


def _state_buffers(xp, steps, n, hidden, dtype, reverse, init):
    """A (T+1, N, H) buffer whose slot ``start`` holds the initial state ``init`` (or zeros).

    Forward direction: state before step t is slot t, after it slot t+1 (start 0).
    Reverse direction: state before step t is slot t+1, after it slot t (start T).
    """
    buf = xp.empty((steps + 1, n, hidden), dtype=dtype)
    start = steps if reverse else 0
    if init is None:
        buf[start] = 0
    else:
        buf[start] = init._data
    return buf


def _swap_leading_axes(xp, a):
    """A contiguous copy of a (A, B, C) laid out as (B, A, C)."""
    if _kernels.usable(a) and a.flags.c_contiguous:
        out = xp.empty((a.shape[1], a.shape[0], a.shape[2]), dtype=a.dtype)
        _kernels.swap_leading_axes(a, out)
        return out
    return xp.ascontiguousarray(a.transpose(1, 0, 2))


def _transposed_states(xp, steps, hidden, n, dtype, reverse, init):
    """A (T+1, H, N) state buffer (slots as in ``_state_buffers``), holding ``init``^T."""
    buf = xp.empty((steps + 1, hidden, n), dtype=dtype)
    buf[steps if reverse else 0] = 0 if init is None else init._data.T
    return buf


def _slots(steps, reverse):
    """(t, prev slot, new slot) in processing order."""
    if reverse:
        return [(t, t + 1, t) for t in range(steps - 1, -1, -1)]
    return [(t, t, t + 1) for t in range(steps)]


def _outputs(states, reverse, batch_first, xp):
    out = states[:-1] if reverse else states[1:]  # (T, N, H), slot of h_t
    if batch_first:
        return xp.ascontiguousarray(out.transpose(1, 0, 2))
    return out.copy()


def _weight_grads(ctx, d_pre_layout, states, batch_first):
    """dW_hh = sum_t dpre_t^T h_{t-1} and db_hh = sum_t dpre_t, as one matmul and one sum."""
    prev = states[1:] if ctx.reverse else states[:-1]  # (T, N, H): h_{t-1} at step t
    if batch_first:
        prev = prev.transpose(1, 0, 2)
    width = d_pre_layout.shape[-1]
    d_flat = d_pre_layout.reshape(-1, width)
    grad_w = d_flat.T @ prev.reshape(-1, prev.shape[-1]) if ctx.needs_input_grad[1] else None
    grad_b = d_flat.sum(axis=0) if ctx.needs_input_grad[2] else None
    return grad_w, grad_b


def _wrap_all(*arrays):
    return tuple(None if a is None else Tensor._wrap(a) for a in arrays)


class RNNLayer(Function):
    """One direction of an Elman RNN layer over a sequence: (gx, w_hh, b_hh, h0) -> (out, h_n)."""

    @staticmethod
    def forward(ctx, gx, w_hh, b_hh, h0, nonlinearity, reverse, batch_first):
        g = gx._data
        xp = array_module(g)
        pre = _time_major(g + b_hh._data if b_hh is not None else g.copy(), batch_first)
        steps, n, hidden = pre.shape
        states = _state_buffers(xp, steps, n, hidden, g.dtype, reverse, h0)
        w_t = w_hh._data.T
        product = xp.empty((n, hidden), dtype=g.dtype)
        for t, prev, new in _slots(steps, reverse):
            a = pre[t]
            xp.matmul(states[prev], w_t, out=product)
            a += product
            if nonlinearity == "tanh":
                xp.tanh(a, out=states[new])
            else:
                relu_array(a, out=states[new])
        ctx.save_for_backward(w_hh)
        ctx.states, ctx.nonlinearity, ctx.reverse, ctx.batch_first = (
            states,
            nonlinearity,
            reverse,
            batch_first,
        )
        last = 0 if reverse else steps
        return _outputs(states, reverse, batch_first, xp), states[last].copy()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hn):
        (w_hh,) = ctx.saved_tensors
        states, batch_first = ctx.states, ctx.batch_first
        xp = array_module(states)
        w = w_hh._data
        d_out = _time_major(grad_out._data, batch_first)
        steps = d_out.shape[0]
        d_pre_layout = xp.empty(grad_out._data.shape, dtype=states.dtype)
        d_pre = _time_major(d_pre_layout, batch_first)
        dh = grad_hn._data.copy()
        for t, _prev, new in reversed(_slots(steps, ctx.reverse)):
            dh += d_out[t]
            h = states[new]
            d = d_pre[t]
            if ctx.nonlinearity == "tanh":
                xp.multiply(h, h, out=d)
                xp.subtract(1, d, out=d)
                d *= dh
            else:
                xp.multiply(dh, relu_slope(h), out=d)
            xp.matmul(d, w, out=dh)
        grad_w, grad_b = _weight_grads(ctx, d_pre_layout, states, batch_first)
        return _wrap_all(d_pre_layout, grad_w, grad_b, dh if ctx.needs_input_grad[3] else None) + (
            None,
            None,
            None,
        )


def _summed_bias(xp, width, dtype, b_ih, b_hh):
    """b_ih + b_hh (either may be None): (width,)."""
    bias = xp.zeros(width, dtype=dtype)
    for b in (b_ih, b_hh):
        if b is not None:
            bias += b._data
    return bias


# Fewer rows than this and the LSTM stays on the per-step products (two blocks of 4 rows need 8).
ROW_BLOCKS_MIN_BATCH = 8


def _row_blocks_pool(x, w_ih, w_hh, n):
    """The runner of ``_blocks_forward``'s blocks on OpenBLAS's threads (``threads.blas_pool``),
    or None where the per-step path runs: not float32 NumPy, no compiled kernels, one thread,
    fewer than ``ROW_BLOCKS_MIN_BATCH`` rows."""
    if n < ROW_BLOCKS_MIN_BATCH or not _kernels.usable(x, w_ih, w_hh):
        return None
    pool = threads.blas_pool()
    return pool if pool is not None and pool.parts > 1 else None


def _blocks_forward(ctx, x, x_tn, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse, batch_first, pool):
    """``LSTMLayer.forward`` on blocks of batch rows, each block's whole sequence on one thread
    (nerve/_lstm_kernels.py). Its buffers are rows: acts (T, N, 4H), hs and cs (T+1, N, H),
    tanh_c (T, N, H); so the gate gradients that its backward writes over acts are the (T N, 4H)
    operand of the weight gradients as they are."""
    steps, n, _ = x_tn.shape
    width = w_hh._data.shape[0]
    hidden = width // 4
    f32 = np.float32
    bias = _summed_bias(np, width, f32, b_ih, b_hh)
    acts = np.empty((steps, n, width), f32)
    hs = _state_buffers(np, steps, n, hidden, f32, reverse, h0)
    cs = _state_buffers(np, steps, n, hidden, f32, reverse, c0)
    tanh_c = np.empty((steps, n, hidden), f32)
    out = np.empty((n, steps, hidden) if batch_first else (steps, n, hidden), f32)
    spans = _lstm_kernels.blocks(n, pool.parts)
    _lstm_kernels.forward(x_tn, w_ih._data, w_hh._data, bias, acts, cs, hs, tanh_c, out, reverse,
                          batch_first, spans, pool)
    ctx.save_for_backward(x, w_ih, w_hh)  # x: x_tn may be its array (version-checked)
    ctx.x_tn, ctx.acts, ctx.hs, ctx.cs, ctx.tanh_c = x_tn, acts, hs, cs, tanh_c
    ctx.reverse, ctx.batch_first, ctx.spans, ctx.run = reverse, batch_first, spans, pool
    last = 0 if reverse else steps
    return out, hs[last].copy(), cs[last].copy()


def _blocks_backward(ctx, grad_out, grad_hn, grad_cn):
    """``LSTMLayer.backward`` after ``_blocks_forward``: the same blocks, by the same runner
    (which runs them in turn where OpenBLAS has fewer threads by now: the same bits), then the
    weight gradients as one product each on the gate gradients' rows."""
    _x, w_ih, w_hh = ctx.saved_tensors
    acts = ctx.acts
    steps, n, width = acts.shape
    hidden, in_size = width // 4, w_ih.shape[1]
    d = acts if ctx.buffers_reusable else acts.copy()  # becomes the gate gradients, in place
    if d is acts:
        ctx.acts = None  # from here on they are no longer the activations
    d_out = np.ascontiguousarray(grad_out._data, dtype=np.float32)
    dh = np.array(grad_hn._data, dtype=np.float32)  # (N, H), in: of h_n; out: of h0
    dc = np.array(grad_cn._data, dtype=np.float32)
    db = _lstm_kernels.backward(d, ctx.tanh_c, ctx.cs, d_out, w_hh._data, dh, dc, ctx.reverse,
                                ctx.batch_first, ctx.spans, ctx.run)
    need = ctx.needs_input_grad
    rows = d.reshape(steps * n, width)
    grad_x = grad_w_ih = grad_w_hh = grad_b = None
    if need[0]:
        grad_x = (rows @ w_ih._data).reshape(steps, n, in_size)  # (T, N, I)
        if ctx.batch_first:
            grad_x = _swap_leading_axes(np, grad_x)
    if need[1]:
        grad_w_ih = rows.T @ ctx.x_tn.reshape(steps * n, in_size)
    if need[2]:
        prev = ctx.hs[1:] if ctx.reverse else ctx.hs[:-1]  # (T, N, H): h_{t-1} of step t
        grad_w_hh = rows.T @ prev.reshape(steps * n, hidden)
    grad_b = db.astype(np.float32) if need[3] or need[4] else None
    return _lstm_layer_grads(need, grad_x, grad_w_ih, grad_w_hh, grad_b, dh, dc)


def _lstm_layer_grads(need, grad_x, grad_w_ih, grad_w_hh, grad_b, dh, dc):
    """What ``LSTMLayer.backward`` returns: the gradients of its inputs x, w_ih, w_hh, b_ih,
    b_hh (both grad_b), h0 and c0 (dh, dc: (N, H)), None where ``need`` says not needed."""
    return _wrap_all(
        grad_x,
        grad_w_ih,
        grad_w_hh,
        grad_b if need[3] else None,
        grad_b if need[4] else None,
        dh if need[5] else None,
        dc if need[6] else None,
    ) + (None, None)


class LSTMLayer(Function):
    """One direction of an LSTM layer, input projection included:
    (x, w_ih, w_hh, b_ih, b_hh, h0, c0) -> (out, h_n, c_n).

    NOTE: the loop works on transposed states h^T: (H, N). Each step's recurrent product
    W_hh h^T is (4H, H) x (H, N), faster in BLAS than h W_hh^T with its few rows (N). The input
    projections come as pre: (T, 4H, N), so a step reads one contiguous block (each gate a block
    of rows: NumPy's loops are several times slower on strided views), and so are the gate
    gradients, copied once to (4H, T N) for the weight gradients: one product each. (Writing
    them strided as (4H, T, N) instead cost more than the copy: a page per row and step.)
    On float32 batches of ``ROW_BLOCKS_MIN_BATCH`` rows or more, with two OpenBLAS threads, the
    layer runs as blocks of rows instead (``_blocks_forward``, ``_blocks_backward``), laid out
    as rows (T, N, features).
    One (T, 4H, N) buffer holds the projections, then the activations, then (on the graph's last
    backward) the gate gradients: each step's block is overwritten in place, so a third as many
    bytes pass through the cache as with three buffers. The input stays as rows: (T, N, I) (one
    copy when batch_first, whole rows of I), which the input projections read as a transposed
    operand and the products for dW_ih (d (T N, I)) and dx ((T N, 4H) x (4H, I)) use as they are.
    """

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse, batch_first):
        xt = _time_major(x._data, batch_first)  # (T, N, I)
        xp = array_module(xt)
        steps, n, in_size = xt.shape
        width = w_hh._data.shape[0]
        hidden = width // 4
        # (T, N, I): a copy only when batch_first, moving whole rows of I
        x_tn = _swap_leading_axes(xp, x._data) if batch_first else xp.ascontiguousarray(xt)
        pool = _row_blocks_pool(x_tn, w_ih._data, w_hh._data, n)
        ctx.spans = None
        if pool is not None:
            return _blocks_forward(ctx, x, x_tn, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse,
                                   batch_first, pool)
        # (4H, I) x (I, N) for every t: (T, 4H, N)
        pre = xp.matmul(w_ih._data, x_tn.transpose(0, 2, 1))
        dtype = pre.dtype
        bias = _summed_bias(xp, width, dtype, b_ih, b_hh)
        acts = pre  # becomes i, f, g, o of every step, in place
        hs = _transposed_states(xp, steps, hidden, n, dtype, reverse, h0)  # (T+1, H, N)
        cs = _transposed_states(xp, steps, hidden, n, dtype, reverse, c0)
        tanh_c = xp.empty((steps, hidden, n), dtype=dtype)
        out = xp.empty((n, steps, hidden) if batch_first else (steps, n, hidden), dtype=dtype)
        w = w_hh._data
        product = xp.empty((width, n), dtype=dtype)
        fused = _kernels.usable(pre, w)
        if not fused:
            pre += bias[:, None]
            scratch = xp.empty((hidden, n), dtype=dtype)
            # NOTE: all four gates in one exp: sigma(s x) = 1 / (1 + e^(-s x)) with s = 2 on the
            # g block, then g = tanh(x) = 2 sigma(2x) - 1 (exp is about twice as fast as tanh).
            neg_scale = xp.full((width, 1), -1.0, dtype=dtype)
            neg_scale[2 * hidden : 3 * hidden] = -2.0
        with quiet_overflow(xp):
            for t, prev, new in _slots(steps, reverse):
                a = acts[t]
                xp.matmul(w, hs[prev], out=product)
                if fused:  # the gate math below in one compiled pass
                    _kernels.lstm_step_forward(
                        a, bias, product, cs[prev], cs[new], tanh_c[t], hs[new], out, t,
                        batch_first,
                    )
                    continue
                a += product
                a *= neg_scale
                xp.exp(a, out=a)
                a += 1.0
                xp.reciprocal(a, out=a)
                i, f, gg, o = (a[k * hidden : (k + 1) * hidden] for k in range(4))
                gg *= 2.0
                gg -= 1.0
                c = cs[new]
                xp.multiply(f, cs[prev], out=c)
                xp.multiply(i, gg, out=scratch)
                c += scratch
                xp.tanh(c, out=tanh_c[t])
                xp.multiply(o, tanh_c[t], out=hs[new])
        if not fused:
            states = hs[:-1] if reverse else hs[1:]  # (T, H, N)
            out[...] = states.transpose(2, 0, 1) if batch_first else states.transpose(0, 2, 1)
        ctx.save_for_backward(x, w_ih, w_hh)  # x: x_tn may be its array (version-checked)
        ctx.x_tn, ctx.acts, ctx.hs, ctx.cs, ctx.tanh_c = x_tn, acts, hs, cs, tanh_c
        ctx.reverse, ctx.batch_first = reverse, batch_first
        last = 0 if reverse else steps
        return out, hs[last].T.copy(), cs[last].T.copy()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hn, grad_cn):
        _x, w_ih, w_hh = ctx.saved_tensors
        acts, hs, cs, tanh_c = ctx.acts, ctx.hs, ctx.cs, ctx.tanh_c
        if acts is None:
            raise RuntimeError(
                "LSTM: a backward through this graph was interrupted after it had begun to "
                "overwrite the saved activations; run the forward again"
            )
        if ctx.spans is not None:
            return _blocks_backward(ctx, grad_out, grad_hn, grad_cn)
        xp = array_module(hs)
        steps, width, n = acts.shape
        hidden = width // 4
        w_t = w_hh._data.T  # (H, 4H)
        dh = grad_hn._data.T.copy()  # (H, N)
        dc = grad_cn._data.T.copy()
        fused = _kernels.usable(acts, w_t, grad_out._data)
        if fused:  # the kernel turns each step's activations into its gate gradients, in place
            d_pre = acts if ctx.buffers_reusable else acts.copy()  # (T, 4H, N)
            if d_pre is acts:
                ctx.acts = None  # from here on they are no longer the activations
            d_out = xp.ascontiguousarray(grad_out._data)  # as the output: (N, T, H) or (T, N, H)
            bias_grad_sum = xp.zeros(width, dtype=xp.float64)  # the kernel adds each step's
        else:
            d_out = _time_major(grad_out._data, ctx.batch_first)  # (T, N, H)
            d_out = xp.ascontiguousarray(d_out.transpose(0, 2, 1))  # (T, H, N)
            d_pre = xp.empty_like(acts)  # gate gradients, (T, 4H, N)
            scratch = xp.empty((hidden, n), dtype=hs.dtype)
            slope = xp.empty((width, n), dtype=hs.dtype)
        for t, prev, _new in reversed(_slots(steps, ctx.reverse)):
            if fused:  # the gate math below in one compiled pass
                _kernels.lstm_step_backward(
                    d_pre[t], tanh_c[t], cs[prev], dh, d_out, dc, bias_grad_sum, t, ctx.batch_first
                )
                xp.matmul(w_t, d_pre[t], out=dh)
                continue
            dh += d_out[t]
            a, d, tc = acts[t], d_pre[t], tanh_c[t]
            i, f, gg, o = (a[k * hidden : (k + 1) * hidden] for k in range(4))
            # dc += dh * o * (1 - tanh(c)^2)
            xp.multiply(tc, tc, out=scratch)
            xp.subtract(1, scratch, out=scratch)
            scratch *= o
            scratch *= dh
            dc += scratch
            # d(gate) = dc * (g, c_prev, i) and dh * tanh(c); then times each activation's slope
            xp.multiply(dc, gg, out=d[:hidden])
            xp.multiply(dc, cs[prev], out=d[hidden : 2 * hidden])
            xp.multiply(dc, i, out=d[2 * hidden : 3 * hidden])
            xp.multiply(dh, tc, out=d[3 * hidden :])
            xp.subtract(1, a, out=slope)  # sigma' = s (1 - s)
            slope *= a
            sg = slope[2 * hidden : 3 * hidden]  # tanh' = 1 - g^2
            xp.multiply(gg, gg, out=sg)
            xp.subtract(1, sg, out=sg)
            d *= slope
            dc *= f
            xp.matmul(w_t, d, out=dh)
        need = ctx.needs_input_grad
        d_rows = _swap_leading_axes(xp, d_pre).reshape(width, steps * n)
        grad_x = grad_w_ih = grad_w_hh = grad_b = None
        if need[0]:
            grad_x = (d_rows.T @ w_ih._data).reshape(steps, n, w_ih.shape[1])  # (T, N, I)
            if ctx.batch_first:
                grad_x = _swap_leading_axes(xp, grad_x)
        if need[1]:
            grad_w_ih = d_rows @ ctx.x_tn.reshape(steps * n, w_ih.shape[1])
        if need[2]:
            prev = hs[1:] if ctx.reverse else hs[:-1]  # (T, H, N): h_{t-1} of step t
            prev_rows = _swap_leading_axes(xp, prev).reshape(hidden, steps * n)
            grad_w_hh = d_rows @ prev_rows.T
        if need[3] or need[4]:
            grad_b = bias_grad_sum.astype(hs.dtype) if fused else d_rows.sum(axis=1)
        return _lstm_layer_grads(need, grad_x, grad_w_ih, grad_w_hh, grad_b,
                                 dh.T.copy() if need[5] else None,
                                 dc.T.copy() if need[6] else None)


class GRULayer(Function):
    """One direction of a GRU layer: (gx, w_hh, b_hh, h0) -> (out, h_n)."""

    @staticmethod
    def forward(ctx, gx, w_hh, b_hh, h0, reverse, batch_first):
        g = gx._data
        xp = array_module(g)
        gates_layout = g.copy()  # becomes r, z, n of every step
        gates = _time_major(gates_layout, batch_first)
        steps, n, width = gates.shape
        hidden = width // 3
        hs = _state_buffers(xp, steps, n, hidden, g.dtype, reverse, h0)
        hn_part = xp.empty((steps, n, hidden), dtype=g.dtype)  # h W_hn^T + b_hn
        w_t = w_hh._data.T
        product = xp.empty((n, width), dtype=g.dtype)
        for t, prev, new in _slots(steps, reverse):
            a = gates[t]
            xp.matmul(hs[prev], w_t, out=product)
            if b_hh is not None:
                product += b_hh._data
            rz = a[:, : 2 * hidden]
            rz += product[:, : 2 * hidden]
            _sigmoid_(rz, xp)
            r, z, nn = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
            hn_part[t] = product[:, 2 * hidden :]
            h = hs[new]
            xp.multiply(r, hn_part[t], out=h)
            nn += h
            xp.tanh(nn, out=nn)
            xp.subtract(hs[prev], nn, out=h)  # h' = n + z (h - n)
            h *= z
            h += nn
        ctx.save_for_backward(w_hh)
        ctx.gates_layout, ctx.hs, ctx.hn_part = gates_layout, hs, hn_part
        ctx.reverse, ctx.batch_first = reverse, batch_first
        last = 0 if reverse else steps
        return _outputs(hs, reverse, batch_first, xp), hs[last].copy()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_hn):
        (w_hh,) = ctx.saved_tensors
        hs, hn_part, batch_first = ctx.hs, ctx.hn_part, ctx.batch_first
        xp = array_module(hs)
        w = w_hh._data
        gates = _time_major(ctx.gates_layout, batch_first)
        d_out = _time_major(grad_out._data, batch_first)
        steps, n, width = gates.shape
        hidden = width // 3
        d_in_layout = xp.empty_like(ctx.gates_layout)
        d_in = _time_major(d_in_layout, batch_first)
        d_hid = xp.empty((steps, n, width), dtype=hs.dtype)  # grads of h W_hh^T + b_hh
        dh = grad_hn._data.copy()
        scratch = xp.empty((n, hidden), dtype=hs.dtype)
        for t, prev, _new in reversed(_slots(steps, ctx.reverse)):
            dh += d_out[t]
            a, di, dq = gates[t], d_in[t], d_hid[t]
            r, z, nn = a[:, :hidden], a[:, hidden : 2 * hidden], a[:, 2 * hidden :]
            dr, dz, dn = di[:, :hidden], di[:, hidden : 2 * hidden], di[:, 2 * hidden :]
            # dn_pre = dh (1 - z) (1 - n^2)
            xp.multiply(nn, nn, out=dn)
            xp.subtract(1, dn, out=dn)
            xp.subtract(1, z, out=scratch)
            scratch *= dh
            dn *= scratch
            # dz_pre = dh (h_prev - n) z (1 - z)
            xp.subtract(hs[prev], nn, out=dz)
            dz *= dh
            xp.subtract(1, z, out=scratch)
            scratch *= z
            dz *= scratch
            # dr_pre = dn_pre (h W_hn^T + b_hn) r (1 - r)
            xp.multiply(dn, hn_part[t], out=dr)
            xp.subtract(1, r, out=scratch)
            scratch *= r
            dr *= scratch
            dq[:, : 2 * hidden] = di[:, : 2 * hidden]
            xp.multiply(dn, r, out=dq[:, 2 * hidden :])
            dh *= z
            dh += dq @ w
        prev = hs[1:] if ctx.reverse else hs[:-1]
        need = ctx.needs_input_grad
        d_flat = d_hid.reshape(-1, width)
        grad_w = d_flat.T @ prev.reshape(-1, hidden) if need[1] else None
        grad_b = d_flat.sum(axis=0) if need[2] else None
        return _wrap_all(d_in_layout, grad_w, grad_b, dh if need[3] else None) + (None, None)


class LSTMCellGates(Function):
    """One LSTM step from its pre-activations: (pre (N, 4H), c (N, H)) -> (h', c')."""

    @staticmethod
    def forward(ctx, pre, c):
        xp = array_module(pre._data)
        a = pre._data.copy()
        hidden = a.shape[-1] // 4
        _sigmoid_(a[:, : 2 * hidden], xp)
        xp.tanh(a[:, 2 * hidden : 3 * hidden], out=a[:, 2 * hidden : 3 * hidden])
        _sigmoid_(a[:, 3 * hidden :], xp)
        i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
        c_new = f * c._data + i * g
        tanh_c = xp.tanh(c_new)
        ctx.acts, ctx.c, ctx.tanh_c = a, c._data, tanh_c
        return o * tanh_c, c_new

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_h, grad_c):
        a, c, tc = ctx.acts, ctx.c, ctx.tanh_c
        xp = array_module(a)
        hidden = a.shape[-1] // 4
        i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
        dh = grad_h._data
        dc = grad_c._data + dh * o * (1 - tc * tc)
        d = xp.concatenate(
            [
                dc * g * i * (1 - i),
                dc * c * f * (1 - f),
                dc * i * (1 - g * g),
                dh * tc * o * (1 - o),
            ],
            axis=-1,
        )
        return Tensor._wrap(d), (Tensor._wrap(dc * f) if ctx.needs_input_grad[1] else None)


class GRUCellGates(Function):
    """One GRU step from its projections: (gi (N, 3H), gh (N, 3H), h (N, H)) -> h'.

    gi = x W_ih^T + b_ih and gh = h W_hh^T + b_hh; the reset gate scales gh's n part only.
    """

    @staticmethod
    def forward(ctx, gi, gh, h):
        xp = array_module(gi._data)
        gid, ghd = gi._data, gh._data
        hidden = gid.shape[-1] // 3
        rz = gid[:, : 2 * hidden] + ghd[:, : 2 * hidden]
        _sigmoid_(rz, xp)
        r, z = rz[:, :hidden], rz[:, hidden:]
        n = xp.tanh(gid[:, 2 * hidden :] + r * ghd[:, 2 * hidden :])
        ctx.rz, ctx.n, ctx.hn_part, ctx.h = rz, n, ghd[:, 2 * hidden :], h._data
        return n + z * (h._data - n)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        rz, n, hn_part, h = ctx.rz, ctx.n, ctx.hn_part, ctx.h
        xp = array_module(rz)
        hidden = n.shape[-1]
        r, z = rz[:, :hidden], rz[:, hidden:]
        dh = grad._data
        dn = dh * (1 - z) * (1 - n * n)
        dz = dh * (h - n) * z * (1 - z)
        dr = dn * hn_part * r * (1 - r)
        d_gi = xp.concatenate([dr, dz, dn], axis=-1)
        d_gh = xp.concatenate([dr, dz, dn * r], axis=-1)
        return (
            Tensor._wrap(d_gi),
            Tensor._wrap(d_gh),
            (Tensor._wrap(dh * z) if ctx.needs_input_grad[2] else None),
        )


def rnn_layer(gx, w_hh, b_hh, h0, nonlinearity="tanh", reverse=False, batch_first=False):
    """Elman RNN over a sequence of input projections; returns (output, h_n)."""
    return RNNLayer.apply(gx, w_hh, b_hh, h0, nonlinearity, reverse, batch_first)


def lstm_layer(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse=False, batch_first=False):
    """LSTM over a sequence x: (T, N, I) or (N, T, I); returns (output, h_n, c_n)."""
    return LSTMLayer.apply(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse, batch_first)


def gru_layer(gx, w_hh, b_hh, h0, reverse=False, batch_first=False):
    """GRU over a sequence of input projections; returns (output, h_n)."""
    return GRULayer.apply(gx, w_hh, b_hh, h0, reverse, batch_first)


def lstm_cell_gates(pre, c):
    """(h', c') of one LSTM step from pre = x W_ih^T + b_ih + h W_hh^T + b_hh: (N, 4H)."""
    return LSTMCellGates.apply(pre, c)


def gru_cell_gates(gi, gh, h):
    """h' of one GRU step from gi = x W_ih^T + b_ih and gh = h W_hh^T + b_hh: (N, 3H)."""
    return GRUCellGates.apply(gi, gh, h)


__all__ = ["rnn_layer", "lstm_layer", "gru_layer", "lstm_cell_gates", "gru_cell_gates"]
