"""The LSTM blocks of nerve/_lstm_kernels.py as C-callable tasks (Numba ``cfunc``s), for
``nerve.threads.blas_pool`` to run on OpenBLAS's threads.

A task takes one pointer, to its block's record: int64s holding sizes and the addresses of the
arrays (see each task). NOTE: a module of its own, imported on the first block: a ``cfunc`` is
compiled when it is defined (about 5 s the first time, before Numba's cache has it), and a
program that never runs an LSTM should not wait for it.
"""

from __future__ import annotations

import numpy as np
from numba import types as _t
from numba.extending import intrinsic

from nerve._kernels import _FASTMATH, _jit, numba
from nerve._lstm_kernels import _RECORD, backward_block, forward_block


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
    batch_first, T, N, I, H, then the addresses of x, wp, bias, acts, cs, hs, tanh_c,
    out and of the block's xh (see ``forward_block`` for their shapes)."""
    f = numba.carray(record, (_RECORD,), np.int64)
    n0, n1, reverse, batch_first = f[0], f[1], f[2] != 0, f[3] != 0
    steps, n, in_size, hidden = f[4], f[5], f[6], f[7]
    forward_block(
        _f32(f[8], (steps, n, in_size)),
        _f32(f[9], (4 * hidden, in_size + hidden)),
        _f32(f[10], (4 * hidden,)),
        _f32(f[11], (steps, n, 4 * hidden)),
        _f32(f[12], (steps + 1, n, hidden)),
        _f32(f[13], (steps + 1, n, hidden)),
        _f32(f[14], (steps, n, hidden)),
        _f32(f[15], (n, steps, hidden) if batch_first else (steps, n, hidden)),
        _f32(f[16], (2, n1 - n0, in_size + hidden)),
        n0, n1, reverse, batch_first,
    )


@numba.cfunc(_t.void(_t.voidptr), cache=True, error_model="numpy", fastmath=_FASTMATH)
def backward_task(record):
    """``backward_block`` on one block, from its record of int64s: n0, n1, reverse,
    batch_first, T, N, H, the address of db (float64, (4H,)), then those of acts, tanh_c,
    cs, d_out, wt, dh_all, dc_all and of the block's dh, dc."""
    f = numba.carray(record, (_RECORD,), np.int64)
    n0, n1, reverse, batch_first = f[0], f[1], f[2] != 0, f[3] != 0
    steps, n, hidden = f[4], f[5], f[6]
    rows = n1 - n0
    backward_block(
        _f32(f[8], (steps, n, 4 * hidden)),
        _f32(f[9], (steps, n, hidden)),
        _f32(f[10], (steps + 1, n, hidden)),
        _f32(f[11], (n, steps, hidden) if batch_first else (steps, n, hidden)),
        _f32(f[12], (hidden, 4 * hidden)),
        _f32(f[13], (n, hidden)),
        _f32(f[14], (n, hidden)),
        numba.carray(_address(f[7]), (4 * hidden,), np.float64),
        _f32(f[15], (rows, hidden)),
        _f32(f[16], (rows, hidden)),
        n0, n1, reverse, batch_first,
    )
