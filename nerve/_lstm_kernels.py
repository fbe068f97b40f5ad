"""An LSTM layer on blocks of batch rows, each block's whole sequence on one thread (Numba).

The rows of a batch never meet in an LSTM: row n's states depend on row n's inputs only. So the
whole sequence of a block of rows can run on one thread while another block runs on another,
with no synchronisation per step. Forward, a block does at each step t, for each hidden unit j,

    z[n, g H + j] = W[g H + j] . [x_t[n], h_{t-1}[n]]                  g = i, f, g, o
    i, f, o = sigma(z + b); g = tanh(z + b); c = f c_prev + i g; h = o tanh(c)

with W = [W_ih W_hh] packed once a call as (H, 4, I + H): the four gate rows of a unit side by
side, so that a 4 x 4 tile (four gates by four batch rows) reads four weight rows and four input
rows and keeps sixteen sums in registers: dot products over a contiguous axis, which LLVM
vectorizes as sixteen reductions. The input projections are inside the same products.
Backward, a block does at each step the gate gradients (in place over the activations) and
dh_{t-1} = dz W_hh with the same kind of tile, over W_hh^T.

Everything is laid out as rows, (T, N, features): the gate gradients are then the (T N, 4H)
operand of the weight gradients as they are (one product each, after the loop, on OpenBLAS).
Blocks start at multiples of 4 rows, so that a row takes the same path (a tile, or the one-row
tail after the last whole tile) however the batch is split.

Why OpenBLAS's threads run the blocks: see ``nerve.threads._BlasPool``.
"""

from __future__ import annotations

import numpy as np

from nerve._kernels import _F, _ONE, _jit, _sigmoid, _tanh

_RECORD = 17  # int64 fields in a block's record (see nerve/_lstm_tasks.py)


@_jit
def _row_products(w, x, out, by_unit):
    """out[r, col(m)] = w[m] . x[r] for weight rows w (M, K) and rows x (R, K), where col(m) is m,
    or with ``by_unit`` (the packed LSTM weights, ``pack_weights``) (m mod 4) M/4 + m div 4.

    In 4 x 4 tiles, four weight rows by four rows of x: sixteen dot products over the contiguous
    K, which LLVM vectorizes as sixteen reductions, with eight loads for every sixteen
    multiply-adds. Weight rows are the outer loop, so each is read once a call (the weights are
    about L2's size; a block's rows of x stay in L1). The edges (M or R not a multiple of 4) go one
    product at a time; a row's path depends on its index only, not on R."""
    m_all = w.shape[0]
    rows = x.shape[0]
    m_whole, r_whole = m_all - m_all % 4, rows - rows % 4
    for m in range(0, m_whole, 4):
        w0, w1, w2, w3 = w[m], w[m + 1], w[m + 2], w[m + 3]
        c0 = m // 4 if by_unit else m
        step = m_all // 4 if by_unit else 1
        c1, c2, c3 = c0 + step, c0 + 2 * step, c0 + 3 * step
        for r in range(0, r_whole, 4):
            x0, x1, x2, x3 = x[r], x[r + 1], x[r + 2], x[r + 3]
            a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = _F(0.0)
            a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = _F(0.0)
            for k in range(w.shape[1]):
                u0, u1, u2, u3 = x0[k], x1[k], x2[k], x3[k]
                v = w0[k]
                a00 += v * u0
                a01 += v * u1
                a02 += v * u2
                a03 += v * u3
                v = w1[k]
                a10 += v * u0
                a11 += v * u1
                a12 += v * u2
                a13 += v * u3
                v = w2[k]
                a20 += v * u0
                a21 += v * u1
                a22 += v * u2
                a23 += v * u3
                v = w3[k]
                a30 += v * u0
                a31 += v * u1
                a32 += v * u2
                a33 += v * u3
            out[r, c0], out[r + 1, c0], out[r + 2, c0], out[r + 3, c0] = a00, a01, a02, a03
            out[r, c1], out[r + 1, c1], out[r + 2, c1], out[r + 3, c1] = a10, a11, a12, a13
            out[r, c2], out[r + 1, c2], out[r + 2, c2], out[r + 3, c2] = a20, a21, a22, a23
            out[r, c3], out[r + 1, c3], out[r + 2, c3], out[r + 3, c3] = a30, a31, a32, a33
        if r_whole < rows:
            for q in range(4):
                _dots(w[m + q], x, out, c0 + q * step, r_whole)
    for m in range(m_whole, m_all):
        _dots(w[m], x, out, m, 0)  # (not by_unit: M = 4H is whole tiles)


@_jit
def _dots(w_row, x, out, col, r0):
    """out[r, col] = w_row . x[r] for r0 <= r < R, one at a time (the tiles' edges)."""
    for r in range(r0, x.shape[0]):
        u = x[r]
        total = _F(0.0)
        for k in range(w_row.shape[0]):
            total += w_row[k] * u[k]
        out[r, col] = total


@_jit
def _gates(z, bias, c_prev, c_new, tanh_c, h):
    """z (R, 4H): the gate sums, made i, f, g, o in place (bias added); c_new = f c_prev + i g,
    tanh_c = tanh(c_new), h = o tanh(c_new): (R, H)."""
    rows, hidden = c_prev.shape
    b_i, b_f = bias[:hidden], bias[hidden : 2 * hidden]
    b_g, b_o = bias[2 * hidden : 3 * hidden], bias[3 * hidden :]
    for r in range(rows):
        # NOTE: a slice per gate: indexing one row at j, H + j, ... leaves LLVM unsure that a
        # store at H + j does not feed a later load at j', and it does not vectorize (10x slower)
        zi, zf = z[r, :hidden], z[r, hidden : 2 * hidden]
        zg, zo = z[r, 2 * hidden : 3 * hidden], z[r, 3 * hidden :]
        cp, cn, tc, hr = c_prev[r], c_new[r], tanh_c[r], h[r]
        for j in range(hidden):
            i = _sigmoid(zi[j] + b_i[j])
            f = _sigmoid(zf[j] + b_f[j])
            g = _tanh(zg[j] + b_g[j])
            o = _sigmoid(zo[j] + b_o[j])
            zi[j] = i
            zf[j] = f
            zg[j] = g
            zo[j] = o
            c = f * cp[j] + i * g
            cn[j] = c
            t = _tanh(c)
            tc[j] = t
            hr[j] = o * t


@_jit
def forward_block(x, wp, bias, acts, cs, hs, tanh_c, out, xh, n0, n1, reverse,
                  batch_first):
    """The whole sequence of batch rows n0 <= n < n1 (see the module's docstring).

    x (T, N, I); wp (4H, I + H): [W_ih W_hh]'s rows unit by unit, row 4 j + g holding gate g of
    unit j, whose sum goes to column g H + j (``pack_weights``); bias (4H,). Writes,
    as rows: acts (T, N, 4H), cs and hs (T+1, N, H) (reading the initial states from their first
    slot, or their last with ``reverse``), tanh_c (T, N, H), and out ((N, T, H) with
    ``batch_first``, else (T, N, H)).
    Scratch, the block's own: xh (2, R, I + H), the rows [x_t, h_{t-1}] of two steps."""
    steps = acts.shape[0]
    hidden = wp.shape[0] // 4
    in_size = wp.shape[1] - hidden
    rows = n1 - n0
    start = steps if reverse else 0
    for r in range(rows):
        for j in range(hidden):
            xh[0, r, in_size + j] = hs[start, n0 + r, j]
    s = 0
    for step in range(steps):
        t = steps - 1 - step if reverse else step
        prev, new = (t + 1, t) if reverse else (t, t + 1)
        cur, nxt = xh[s], xh[1 - s]
        for r in range(rows):
            src, dst = x[t, n0 + r], cur[r]
            for k in range(in_size):
                dst[k] = src[k]
        z = acts[t, n0:n1]
        _row_products(wp, cur, z, True)
        h = hs[new, n0:n1]
        _gates(z, bias, cs[prev, n0:n1], cs[new, n0:n1], tanh_c[t, n0:n1], h)
        for r in range(rows):
            row = out[n0 + r, t] if batch_first else out[t, n0 + r]
            hr, dst = h[r], nxt[r]
            for j in range(hidden):
                row[j] = hr[j]
                dst[in_size + j] = hr[j]
        s = 1 - s


@_jit
def _gate_grads(a, tanh_c, c_prev, dh, dc, db):
    """The block's step of the LSTM backward, on rows (R, 4H) and (R, H): with
    dc += dh o (1 - tanh(c)^2), a's activations i, f, g, o become their gradients
    (dc g, dc c_prev, dc i, dh tanh(c)) times each activation's slope, added into db (4H,)
    (float64); then dc = dc f."""
    rows, hidden = dc.shape
    for r in range(rows):
        ai, af = a[r, :hidden], a[r, hidden : 2 * hidden]  # NOTE: slices, as in _gates
        ag, ao = a[r, 2 * hidden : 3 * hidden], a[r, 3 * hidden :]
        tc, cp, hg, cg = tanh_c[r], c_prev[r], dh[r], dc[r]
        for j in range(hidden):
            i, f, g, o = ai[j], af[j], ag[j], ao[j]
            t = tc[j]
            h_grad = hg[j]
            c_grad = cg[j] + h_grad * o * (_ONE - t * t)
            ai[j] = c_grad * g * (i * (_ONE - i))
            af[j] = c_grad * cp[j] * (f * (_ONE - f))
            ag[j] = c_grad * i * (_ONE - g * g)
            ao[j] = h_grad * t * (o * (_ONE - o))
            cg[j] = c_grad * f
        ar = a[r]
        for i in range(4 * hidden):
            db[i] += ar[i]


@_jit
def backward_block(acts, tanh_c, cs, d_out, wt, dh_all, dc_all, db, dh, dc, n0, n1,
                   reverse, batch_first):
    """The backward through time of batch rows n0 <= n < n1 (see ``forward_block``), on rows.

    acts (T, N, 4H): the activations, overwritten (the block's rows) with the gate gradients;
    tanh_c (T, N, H); cs (T+1, N, H); d_out: the output's gradient, laid out as the output;
    wt = W_hh^T (H, 4H); dh_all and dc_all (N, H): the gradients of the last states, in, and of
    the initial ones, out; db (4H,) float64: the block's sum of the gate gradients. Scratch:
    dh, dc (R, H)."""
    steps = acts.shape[0]
    hidden = wt.shape[0]
    rows = n1 - n0
    for r in range(rows):
        for j in range(hidden):
            dh[r, j] = dh_all[n0 + r, j]
            dc[r, j] = dc_all[n0 + r, j]
    for step in range(steps):
        t = step if reverse else steps - 1 - step
        prev = t + 1 if reverse else t
        for r in range(rows):
            row, hg = (d_out[n0 + r, t] if batch_first else d_out[t, n0 + r]), dh[r]
            for j in range(hidden):
                hg[j] += row[j]
        dz = acts[t, n0:n1]
        _gate_grads(dz, tanh_c[t, n0:n1], cs[prev, n0:n1], dh, dc, db)
        _row_products(wt, dz, dh, False)  # dh_{t-1} = dz W_hh
    for r in range(rows):
        for j in range(hidden):
            dh_all[n0 + r, j] = dh[r, j]
            dc_all[n0 + r, j] = dc[r, j]


def pack_weights(w_ih, w_hh):
    """[W_ih W_hh] (4H, I + H) with its rows unit by unit: row 4 j + g is gate g of unit j (so
    a tile's four weight rows are one unit's four gates, whose sums go to columns g H + j)."""
    four_h, in_size = w_ih.shape
    hidden = four_h // 4
    wp = np.empty((hidden, 4, in_size + hidden), np.float32)
    wp[:, :, :in_size] = w_ih.reshape(4, hidden, in_size).transpose(1, 0, 2)
    wp[:, :, in_size:] = w_hh.reshape(4, hidden, hidden).transpose(1, 0, 2)
    return wp.reshape(four_h, in_size + hidden)


def blocks(n, parts):
    """(n0, n1) of ``parts`` blocks of the batch (fewer if it is small), at multiples of 4 rows."""
    quads = -(-n // 4)
    edges = [min(n, 4 * (quads * p // parts)) for p in range(parts + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def _address_of(a):
    return a.__array_interface__["data"][0]


def forward(x_tn, w_ih, w_hh, bias, acts, cs, hs, tanh_c, out, reverse, batch_first, spans,
            run):
    """The layer's forward on the blocks ``spans``: ``run(task, records)`` runs ``forward_task``
    on each block's record (at once on several threads, or in turn: the same bits)."""
    steps, n, in_size = x_tn.shape
    hidden = w_hh.shape[1]
    wp = pack_weights(w_ih, w_hh)
    records = np.zeros((len(spans), _RECORD), np.int64)
    scratch = [np.zeros((2, b - a, in_size + hidden), np.float32) for a, b in spans]
    shared = [_address_of(a) for a in (x_tn, wp, bias, acts, cs, hs, tanh_c, out)]
    for record, (n0, n1), xh in zip(records, spans, scratch):
        record[:] = [n0, n1, reverse, batch_first, steps, n, in_size, hidden, *shared,
                     _address_of(xh)]
    from nerve._lstm_tasks import forward_task  # compiled on first use: see there

    run(forward_task, records)


def backward(acts, tanh_c, cs, d_out, w_hh, dh, dc, reverse, batch_first, spans, run):
    """The layer's backward through time on the blocks of its forward (``run`` as there): acts
    (T, N, 4H) becomes the gate gradients, dh and dc (N, H) those of the initial states; returns
    the sum of the gate gradients over time and batch (4H,), float64, added block by block."""
    steps, n, width = acts.shape
    hidden = width // 4
    wt = np.ascontiguousarray(w_hh.T)
    records = np.zeros((len(spans), _RECORD), np.int64)
    db = np.zeros((len(spans), width), np.float64)
    scratch = [(np.empty((b - a, hidden), np.float32), np.empty((b - a, hidden), np.float32))
               for a, b in spans]
    shared = [_address_of(a) for a in (acts, tanh_c, cs, d_out, wt, dh, dc)]
    for k, (record, (n0, n1)) in enumerate(zip(records, spans)):
        record[:] = [n0, n1, reverse, batch_first, steps, n, hidden, _address_of(db[k]), *shared,
                     *(_address_of(a) for a in scratch[k])]
    from nerve._lstm_tasks import backward_task

    run(backward_task, records)
    return db.sum(axis=0)
