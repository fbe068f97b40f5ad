"""An LSTM layer's forward pass on blocks of batch rows, each block on its own thread (Numba).

The rows of a batch never meet in an LSTM: row n's states depend on row n's inputs only. So the
whole sequence of a block of rows can run on one thread while another block runs on another,
with no synchronisation per step. A block does, at each step t and for each hidden unit j,

    z[g, j, n] = W[g H + j] . [x_t[n], h_{t-1}[n]] + b[g H + j]      g = i, f, g, o
    i, f, o = sigma(z); g = tanh(z); c = f c_prev + i g; h = o tanh(c)

with W = [W_ih W_hh] packed once as (H, 4, I + H): the four gate rows of a unit side by side,
so a 4 x 4 tile (four gates by four batch rows) reads four weight rows and four input rows and
keeps sixteen sums in registers. The input projections are inside the same products, so the
layer makes no separate (T N, I) x (I, 4H) product.

It writes the buffers the layer's backward reads, laid out as ``LSTMLayer.forward`` lays them
out (acts (T, 4H, N), cs and hs (T+1, H, N), tanh_c (T, H, N), out), each block its own
columns. Blocks start at multiples of 4 rows, so every row takes the same path (a tile, or the
one-row tail after the last whole tile) however many blocks there are: one block or several
give the same bits.

Why threads of OpenBLAS's: see ``nerve.threads.blas_pool``.
"""

from __future__ import annotations

import numpy as np

from nerve._kernels import _F, _FASTMATH, _ONE, _jit, _sigmoid, _tanh, numba

_RECORD = 21  # int64 fields in a block's record (see forward_task, backward_task)


@_jit
def _gates(z, bias, c_prev, c_new, th):
    """z (4, H, R): the block's gate sums, turned into i, f, g, o in place; c_new (H, R) =
    f c_prev + i g; th[0] = tanh(c_new), th[1] = h = o tanh(c_new)."""
    hidden, rows = c_prev.shape
    for j in range(hidden):
        b_i, b_f = bias[j], bias[hidden + j]
        b_g, b_o = bias[2 * hidden + j], bias[3 * hidden + j]
        for r in range(rows):
            i = _sigmoid(z[0, j, r] + b_i)
            f = _sigmoid(z[1, j, r] + b_f)
            g = _tanh(z[2, j, r] + b_g)
            o = _sigmoid(z[3, j, r] + b_o)
            z[0, j, r] = i
            z[1, j, r] = f
            z[2, j, r] = g
            z[3, j, r] = o
            c = f * c_prev[j, r] + i * g
            c_new[j, r] = c
            tc = _tanh(c)
            th[0, j, r] = tc
            th[1, j, r] = o * tc


@_jit
def _to_columns(src, dst, n0):
    """dst[:, n0 : n0 + R] = src (K, R)."""
    rows = src.shape[1]
    for k in range(src.shape[0]):
        d = dst[k, n0 : n0 + rows]  # NOTE: a slice: d[n0 + r] would test n0 + r < 0 per element
        s = src[k]
        for r in range(rows):
            d[r] = s[r]


@_jit
def _gate_sums(wp, xh, z):
    """z[g, j, r] = wp[j, g] . xh[r] for the block's rows: (H, 4, K) by (R, K) -> (4, H, R)."""
    hidden, _, width = wp.shape
    rows = xh.shape[0]
    for j in range(hidden):
        w0, w1, w2, w3 = wp[j, 0], wp[j, 1], wp[j, 2], wp[j, 3]
        r = 0
        while r + 4 <= rows:
            h0, h1, h2, h3 = xh[r], xh[r + 1], xh[r + 2], xh[r + 3]
            a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = _F(0.0)
            a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = _F(0.0)
            for k in range(width):
                x0, x1, x2, x3 = h0[k], h1[k], h2[k], h3[k]
                v = w0[k]
                a00 += v * x0
                a01 += v * x1
                a02 += v * x2
                a03 += v * x3
                v = w1[k]
                a10 += v * x0
                a11 += v * x1
                a12 += v * x2
                a13 += v * x3
                v = w2[k]
                a20 += v * x0
                a21 += v * x1
                a22 += v * x2
                a23 += v * x3
                v = w3[k]
                a30 += v * x0
                a31 += v * x1
                a32 += v * x2
                a33 += v * x3
            z[0, j, r], z[0, j, r + 1], z[0, j, r + 2], z[0, j, r + 3] = a00, a01, a02, a03
            z[1, j, r], z[1, j, r + 1], z[1, j, r + 2], z[1, j, r + 3] = a10, a11, a12, a13
            z[2, j, r], z[2, j, r + 1], z[2, j, r + 2], z[2, j, r + 3] = a20, a21, a22, a23
            z[3, j, r], z[3, j, r + 1], z[3, j, r + 2], z[3, j, r + 3] = a30, a31, a32, a33
            r += 4
        while r < rows:  # the tail: fewer than 4 rows
            h0 = xh[r]
            a0 = a1 = a2 = a3 = _F(0.0)
            for k in range(width):
                v = h0[k]
                a0 += w0[k] * v
                a1 += w1[k] * v
                a2 += w2[k] * v
                a3 += w3[k] * v
            z[0, j, r], z[1, j, r], z[2, j, r], z[3, j, r] = a0, a1, a2, a3
            r += 1


@_jit
def forward_block(x, wp, bias, acts, cs, hs, tanh_c, out, xh, z, cb, th, n0, n1, reverse,
                  batch_first):
    """The whole sequence of batch rows n0 <= n < n1 (see the module's docstring).

    x (T, N, I); wp (H, 4, I + H); bias (4H,); writes acts (T, 4H, N), cs and hs (T+1, H, N)
    (reading the initial states from their first slot, or their last with ``reverse``), tanh_c
    (T, H, N) and out ((N, T, H) with ``batch_first``, else (T, N, H)). Scratch, the block's
    own: xh (2, R, I + H) (the rows [x_t, h_{t-1}], two steps' worth), z (4, H, R), cb and th
    (2, H, R)."""
    steps = acts.shape[0]
    hidden = wp.shape[0]
    in_size = wp.shape[2] - hidden
    rows = n1 - n0
    start = steps if reverse else 0
    for r in range(rows):
        for j in range(hidden):
            xh[0, r, in_size + j] = hs[start, j, n0 + r]
            cb[0, j, r] = cs[start, j, n0 + r]
    s = 0
    for step in range(steps):
        t = steps - 1 - step if reverse else step
        new = t if reverse else t + 1
        cur, nxt = xh[s], xh[1 - s]
        for r in range(rows):
            src = x[t, n0 + r]
            for k in range(in_size):
                cur[r, k] = src[k]
        _gate_sums(wp, cur, z)
        _gates(z, bias, cb[s], cb[1 - s], th)
        _to_columns(z.reshape(4 * hidden, rows), acts[t], n0)
        _to_columns(cb[1 - s], cs[new], n0)
        _to_columns(th[0], tanh_c[t], n0)
        _to_columns(th[1], hs[new], n0)
        h = th[1]
        for r in range(rows):
            row = out[n0 + r, t] if batch_first else out[t, n0 + r]
            dst = nxt[r]
            for j in range(hidden):
                row[j] = h[j, r]
                dst[in_size + j] = h[j, r]
        s = 1 - s


@_jit
def _from_columns(src, n0, dst):
    """dst (K, R) = src[:, n0 : n0 + R]."""
    rows = dst.shape[1]
    for k in range(dst.shape[0]):
        s = src[k, n0 : n0 + rows]
        d = dst[k]
        for r in range(rows):
            d[r] = s[r]


@_jit
def _gate_grads(a, tc, c_prev, dh, dc, db):
    """The block's step of the LSTM backward, on (4H, R) and (H, R) arrays: with
    dc += dh o (1 - tanh(c)^2), a's activations i, f, g, o become their gradients
    (dc g, dc c_prev, dc i, dh tanh(c)) times each activation's slope, summed into db (4H,);
    then dc = dc f."""
    hidden, rows = dc.shape
    for j in range(hidden):
        s_i = s_f = s_g = s_o = _F(0.0)
        for r in range(rows):
            i, f, g, o = a[j, r], a[hidden + j, r], a[2 * hidden + j, r], a[3 * hidden + j, r]
            t = tc[j, r]
            h_grad = dh[j, r]
            c_grad = dc[j, r] + h_grad * o * (_ONE - t * t)
            d_i = c_grad * g * (i * (_ONE - i))
            d_f = c_grad * c_prev[j, r] * (f * (_ONE - f))
            d_g = c_grad * i * (_ONE - g * g)
            d_o = h_grad * t * (o * (_ONE - o))
            a[j, r], a[hidden + j, r], a[2 * hidden + j, r], a[3 * hidden + j, r] = d_i, d_f, d_g, d_o
            s_i += d_i
            s_f += d_f
            s_g += d_g
            s_o += d_o
            dc[j, r] = c_grad * f
        db[j] += s_i
        db[hidden + j] += s_f
        db[2 * hidden + j] += s_g
        db[3 * hidden + j] += s_o


@_jit
def _state_grads(dz, wt, dh):
    """dh[k, r] = wt[k] . dz[r]: the gradient of the previous state, W_hh^T dz, from the gate
    gradients as rows dz (R, 4H) and wt = W_hh^T (H, 4H). Weight rows outer, so that each is
    read once a step (W_hh is about L2's size); the block's few rows of dz stay in cache."""
    hidden, width = wt.shape
    rows = dz.shape[0]
    whole = rows - rows % 4
    for k in range(0, hidden - hidden % 4, 4):
        w0, w1, w2, w3 = wt[k], wt[k + 1], wt[k + 2], wt[k + 3]
        for r in range(0, whole, 4):
            d0, d1, d2, d3 = dz[r], dz[r + 1], dz[r + 2], dz[r + 3]
            a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = _F(0.0)
            a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = _F(0.0)
            for i in range(width):
                x0, x1, x2, x3 = d0[i], d1[i], d2[i], d3[i]
                v = w0[i]
                a00 += v * x0
                a01 += v * x1
                a02 += v * x2
                a03 += v * x3
                v = w1[i]
                a10 += v * x0
                a11 += v * x1
                a12 += v * x2
                a13 += v * x3
                v = w2[i]
                a20 += v * x0
                a21 += v * x1
                a22 += v * x2
                a23 += v * x3
                v = w3[i]
                a30 += v * x0
                a31 += v * x1
                a32 += v * x2
                a33 += v * x3
            dh[k, r], dh[k, r + 1], dh[k, r + 2], dh[k, r + 3] = a00, a01, a02, a03
            dh[k + 1, r], dh[k + 1, r + 1], dh[k + 1, r + 2], dh[k + 1, r + 3] = a10, a11, a12, a13
            dh[k + 2, r], dh[k + 2, r + 1], dh[k + 2, r + 2], dh[k + 2, r + 3] = a20, a21, a22, a23
            dh[k + 3, r], dh[k + 3, r + 1], dh[k + 3, r + 2], dh[k + 3, r + 3] = a30, a31, a32, a33
        _state_grad_one(dz, wt, dh, k, whole, rows - whole)
        for q in range(1, 4):
            _state_grad_one(dz, wt, dh, k + q, whole, rows - whole)
    for k in range(hidden - hidden % 4, hidden):
        _state_grad_one(dz, wt, dh, k, 0, rows)


@_jit
def _state_grad_one(dz, wt, dh, k, r0, count):
    """dh[k, r] = wt[k] . dz[r] for r0 <= r < r0 + count, one at a time (the tiles' edges)."""
    w = wt[k]
    for r in range(r0, r0 + count):
        d = dz[r]
        total = _F(0.0)
        for i in range(w.shape[0]):
            total += w[i] * d[i]
        dh[k, r] = total


@_jit
def backward_block(acts, tanh_c, cs, d_out, wt, dh_all, dc_all, db, ab, dz, dh, dc, tb, cb, n0,
                   n1, reverse, batch_first):
    """The backward through time of batch rows n0 <= n < n1 (see ``forward_block``).

    acts (T, 4H, N): the activations, overwritten (the block's columns) with the gate gradients;
    tanh_c (T, H, N); cs (T+1, H, N); d_out: the output's gradient, laid out as the output;
    wt = W_hh^T (H, 4H); dh_all and dc_all (H, N): the gradients of the last states, in, and of
    the initial ones, out; db (4H,) float64: the block's sum of the gate gradients. Scratch:
    ab (4H, R), dz (R, 4H), dh, dc, tb, cb (H, R)."""
    steps = acts.shape[0]
    hidden = wt.shape[0]
    rows = n1 - n0
    _from_columns(dh_all, n0, dh)
    _from_columns(dc_all, n0, dc)
    for step in range(steps):
        t = step if reverse else steps - 1 - step
        prev = t + 1 if reverse else t
        for r in range(rows):
            row = d_out[n0 + r, t] if batch_first else d_out[t, n0 + r]
            for j in range(hidden):
                dh[j, r] += row[j]
        _from_columns(acts[t], n0, ab)
        _from_columns(tanh_c[t], n0, tb)
        _from_columns(cs[prev], n0, cb)
        _gate_grads(ab, tb, cb, dh, dc, db)
        _to_columns(ab, acts[t], n0)
        for r in range(rows):
            d = dz[r]
            for i in range(4 * hidden):
                d[i] = ab[i, r]
        _state_grads(dz, wt, dh)
    _to_columns(dh, dh_all, n0)
    _to_columns(dc, dc_all, n0)


if numba is None:  # pragma: no cover - Numba is an optional extra
    forward_task = backward_task = None
else:
    from numba import types as _t
    from numba.extending import intrinsic

    @intrinsic
    def _address(typingctx, value):
        """An int64 as a pointer (the records below hold arrays' addresses)."""

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(_t.voidptr))

        return _t.voidptr(_t.int64), codegen

    @_jit
    def _f32(address, shape):
        return numba.carray(_address(address), shape, np.float32)

    @numba.cfunc(_t.void(_t.voidptr), cache=True, error_model="numpy", fastmath=_FASTMATH)
    def forward_task(record):
        """``forward_block`` on one block, from its record of int64s: n0, n1, reverse,
        batch_first, T, N, I, H, then the addresses of x, wp, bias, acts, cs, hs, tanh_c, out and
        of the block's xh, z, cb, th (see ``forward_block`` for their shapes)."""
        f = numba.carray(record, (_RECORD,), np.int64)
        n0, n1, reverse, batch_first = f[0], f[1], f[2] != 0, f[3] != 0
        steps, n, in_size, hidden = f[4], f[5], f[6], f[7]
        rows = n1 - n0
        forward_block(
            _f32(f[8], (steps, n, in_size)),
            _f32(f[9], (hidden, 4, in_size + hidden)),
            _f32(f[10], (4 * hidden,)),
            _f32(f[11], (steps, 4 * hidden, n)),
            _f32(f[12], (steps + 1, hidden, n)),
            _f32(f[13], (steps + 1, hidden, n)),
            _f32(f[14], (steps, hidden, n)),
            _f32(f[15], (n, steps, hidden) if batch_first else (steps, n, hidden)),
            _f32(f[16], (2, rows, in_size + hidden)),
            _f32(f[17], (4, hidden, rows)),
            _f32(f[18], (2, hidden, rows)),
            _f32(f[19], (2, hidden, rows)),
            n0, n1, reverse, batch_first,
        )


    @numba.cfunc(_t.void(_t.voidptr), cache=True, error_model="numpy", fastmath=_FASTMATH)
    def backward_task(record):
        """``backward_block`` on one block, from its record of 21 int64s: n0, n1, reverse,
        batch_first, T, N, H, the address of db (float64, (4H,)), then those of acts, tanh_c,
        cs, d_out, wt, dh_all, dc_all and of the block's ab, dz, dh, dc, tb, cb."""
        f = numba.carray(record, (_RECORD,), np.int64)
        n0, n1, reverse, batch_first = f[0], f[1], f[2] != 0, f[3] != 0
        steps, n, hidden = f[4], f[5], f[6]
        rows = n1 - n0
        backward_block(
            _f32(f[8], (steps, 4 * hidden, n)),
            _f32(f[9], (steps, hidden, n)),
            _f32(f[10], (steps + 1, hidden, n)),
            _f32(f[11], (n, steps, hidden) if batch_first else (steps, n, hidden)),
            _f32(f[12], (hidden, 4 * hidden)),
            _f32(f[13], (hidden, n)),
            _f32(f[14], (hidden, n)),
            numba.carray(_address(f[7]), (4 * hidden,), np.float64),
            _f32(f[15], (4 * hidden, rows)),
            _f32(f[16], (rows, 4 * hidden)),
            _f32(f[17], (hidden, rows)),
            _f32(f[18], (hidden, rows)),
            _f32(f[19], (hidden, rows)),
            _f32(f[20], (hidden, rows)),
            n0, n1, reverse, batch_first,
        )

def pack_weights(w_ih, w_hh):
    """[W_ih W_hh] (4H, I + H) as (H, 4, I + H): unit j's four gate rows side by side."""
    four_h, in_size = w_ih.shape
    hidden = four_h // 4
    wp = np.empty((hidden, 4, in_size + hidden), np.float32)
    wp[:, :, :in_size] = w_ih.reshape(4, hidden, in_size).transpose(1, 0, 2)
    wp[:, :, in_size:] = w_hh.reshape(4, hidden, hidden).transpose(1, 0, 2)
    return wp


def blocks(n, parts):
    """(n0, n1) of ``parts`` blocks of the batch, starting at multiples of 4 rows."""
    quads = -(-n // 4)
    edges = [min(n, 4 * (quads * p // parts)) for p in range(parts + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def forward(x_tn, wp, bias, acts, cs, hs, tanh_c, out, reverse, batch_first, run):
    """The layer's forward on blocks of rows: ``run(task, records)`` runs ``forward_task`` on
    each record (in parallel, or one after the other: the same bits)."""
    steps, n, in_size = x_tn.shape
    hidden = wp.shape[0]
    spans = blocks(n, run.parts)
    records = np.empty((len(spans), _RECORD), np.int64)
    keep = []  # the scratch arrays live until the tasks are done
    shared = [a.__array_interface__["data"][0] for a in (x_tn, wp, bias, acts, cs, hs, tanh_c, out)]
    for record, (n0, n1) in zip(records, spans):
        rows = n1 - n0
        scratch = (np.zeros((2, rows, in_size + hidden), np.float32),
                   np.empty((4, hidden, rows), np.float32),
                   np.empty((2, hidden, rows), np.float32),
                   np.empty((2, hidden, rows), np.float32))
        keep.append(scratch)
        record[:] = [n0, n1, reverse, batch_first, steps, n, in_size, hidden, *shared,
                     *(a.__array_interface__["data"][0] for a in scratch), 0]
    run(forward_task, records)


def backward(acts, tanh_c, cs, d_out, w_hh, dh, dc, reverse, batch_first, run):
    """The layer's backward through time on blocks of rows (``run`` as in ``forward``): acts
    becomes the gate gradients, dh and dc (H, N) those of the initial states; returns the sum of
    the gate gradients over time and batch (4H,), float64, summed block by block in order."""
    steps, width, n = acts.shape
    hidden = width // 4
    wt = np.ascontiguousarray(w_hh.T)
    spans = blocks(n, run.parts)
    records = np.empty((len(spans), _RECORD), np.int64)
    db = np.zeros((len(spans), width), np.float64)
    keep = []
    shared = [a.__array_interface__["data"][0] for a in (acts, tanh_c, cs, d_out, wt, dh, dc)]
    for k, (record, (n0, n1)) in enumerate(zip(records, spans)):
        rows = n1 - n0
        scratch = (np.empty((width, rows), np.float32), np.empty((rows, width), np.float32),
                   *(np.empty((hidden, rows), np.float32) for _ in range(4)))
        keep.append(scratch)
        record[:] = [n0, n1, reverse, batch_first, steps, n, hidden, db[k].ctypes.data, *shared,
                     *(a.__array_interface__["data"][0] for a in scratch)]
    run(backward_task, records)
    return db.sum(axis=0)
