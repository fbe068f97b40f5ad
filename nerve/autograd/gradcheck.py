"""``gradcheck``: compare autograd's gradients with central finite differences (float64).

For f: R^n -> R^m the analytical Jacobian is built row by row with ``autograd.grad`` (one
one-hot output gradient per row) and the numerical one column by column,
J[:, j] ~= (f(x + eps e_j) - f(x - eps e_j)) / (2 eps).
"""

from __future__ import annotations

import numpy as np


class GradcheckError(AssertionError):
    pass


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, tuple) else (out,)


def _flat_outputs(fn, inputs, n_out):
    outs = [o._data.reshape(-1).astype(np.float64) for o in _outputs(fn, inputs)]
    return np.concatenate(outs) if outs else np.zeros(n_out)


def _jacobians(fn, inputs, eps):
    from nerve import autograd
    from nerve.autograd.grad_mode import no_grad
    from nerve.tensor import Tensor

    diff_inputs = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    for t in diff_inputs:
        if t._data.dtype != np.float64:
            raise GradcheckError(
                f"gradcheck: inputs must be float64 for a meaningful check, got {t.dtype}"
            )
    outputs = _outputs(fn, inputs)
    out_sizes = [o._data.size for o in outputs]
    n_out = sum(out_sizes)
    analytical = [np.zeros((n_out, t._data.size)) for t in diff_inputs]
    row = 0
    for k, out in enumerate(outputs):
        for j in range(out._data.size):
            seeds = []
            for m, o in enumerate(outputs):
                s = np.zeros(o._data.shape, dtype=o._data.dtype)
                if m == k:
                    s.reshape(-1)[j] = 1.0
                seeds.append(Tensor._wrap(s))
            diff_outputs = [(o, s) for o, s in zip(outputs, seeds) if o.requires_grad]
            if diff_outputs:
                grads = autograd.grad([o for o, _ in diff_outputs], diff_inputs,
                                      grad_outputs=[s for _, s in diff_outputs],
                                      retain_graph=True, allow_unused=True)
                for a, g in zip(analytical, grads):
                    if g is not None:
                        a[row] = g._data.reshape(-1)
            row += 1
    numerical = [np.zeros((n_out, t._data.size)) for t in diff_inputs]
    with no_grad():
        for a_num, t in zip(numerical, diff_inputs):
            data = t._data  # NOTE: perturbed in place by index; works for non-contiguous data too
            for j, idx in enumerate(np.ndindex(data.shape)):
                orig = data[idx]
                data[idx] = orig + eps
                plus = _flat_outputs(fn, inputs, n_out)
                data[idx] = orig - eps
                minus = _flat_outputs(fn, inputs, n_out)
                data[idx] = orig
                a_num[:, j] = (plus - minus) / (2 * eps)
    return analytical, numerical


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True) -> bool:
    """Check ``fn``'s gradients w.r.t. every input that requires grad; True or GradcheckError."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    analytical, numerical = _jacobians(fn, inputs, eps)
    for i, (a, n) in enumerate(zip(analytical, numerical)):
        if not np.allclose(a, n, atol=atol, rtol=rtol):
            if not raise_exception:
                return False
            worst = np.unravel_index(np.argmax(np.abs(a - n)), a.shape)
            raise GradcheckError(
                f"gradcheck: Jacobian mismatch for input {i} at (output {worst[0]}, input element "
                f"{worst[1]}): analytical {a[worst]:.8g}, numerical {n[worst]:.8g}\n"
                f"analytical:\n{a}\nnumerical:\n{n}"
            )
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3) -> bool:
    """Check second derivatives: gradcheck of the map inputs -> (sum of outputs)'s gradient."""
    from nerve import autograd

    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    diff = [t for t in inputs if getattr(t, "requires_grad", False)]

    def first_grad(*args):
        from nerve.autograd.grad_mode import enable_grad

        with enable_grad():  # the numerical pass runs under no_grad; this one needs a graph
            outs = _outputs(fn, args)
            total = outs[0].sum()
            for o in outs[1:]:
                total = total + o.sum()
            grads = autograd.grad(total, diff, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_grad, inputs, eps, atol, rtol)
