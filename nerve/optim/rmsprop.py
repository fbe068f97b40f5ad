"""``optim.RMSprop``: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from nerve.device import array_module
from nerve.optim.optimizer import (
    Optimizer,
    _check_non_negative,
    _effective_grad,
    _lerp_,
    _step_count,
)
from nerve.tensor import Tensor


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Coursera lecture 6e, 2012), as PyTorch's ``torch.optim.RMSprop``.

    For each parameter theta with gradient g (negated when ``maximize``)::

        g     <- g + weight_decay * theta                       (if weight_decay != 0)
        v_t   =  alpha * v_{t-1} + (1 - alpha) * g * g           (v_0 = 0)
        gbar_t = alpha * gbar_{t-1} + (1 - alpha) * g            (centered only; gbar_0 = 0)
        d     =  sqrt(v_t - gbar_t^2) + eps   (centered)   or   sqrt(v_t) + eps
        b_t   =  momentum * b_{t-1} + g / d;  theta <- theta - lr * b_t     (momentum > 0)
        theta <- theta - lr * g / d                                           (momentum = 0)

    The centered form (Graves, 2013) normalizes by an estimate of the gradient's variance.
    ``state[p]`` holds ``"step"``, ``"square_avg"`` (v), ``"grad_avg"`` (gbar, centered) and
    ``"momentum_buffer"`` (b, momentum > 0).

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-2).
        alpha: smoothing constant (default 0.99).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty coefficient (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by the estimated variance instead of the second moment.
        maximize: ascend the objective instead of descending it.

    Example::

        >>> opt = nerve.optim.RMSprop(model.parameters(), lr=1e-3, centered=True)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        _check_non_negative(
            "RMSprop", lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha
        )
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        momentum, centered = group["momentum"], group["centered"]
        for p in group["params"]:
            if p.grad is None:
                continue
            param = p._data
            xp = array_module(param)
            grad, _ = _effective_grad(param, p.grad._data, group["weight_decay"], group["maximize"])
            state = self.state[p]
            if not state:  # the first step (or a state that was read, not yet filled)
                state.update(self._new_state(param, momentum, centered))
            _step_count(state)
            square_avg = state["square_avg"]._data
            square_avg *= alpha
            squared = grad * grad
            squared *= 1 - alpha
            square_avg += squared
            if centered:
                grad_avg = state["grad_avg"]._data
                _lerp_(xp, grad_avg, grad, 1 - alpha)
                avg = square_avg - grad_avg * grad_avg
                xp.sqrt(avg, out=avg)
            else:
                avg = xp.sqrt(square_avg)
            avg += eps
            update = xp.divide(grad, avg, out=avg)
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                buf += update
                update = buf * lr
            else:
                update *= lr
            param -= update
            p._version += 1

    @staticmethod
    def _new_state(param, momentum: float, centered: bool) -> dict:
        xp = array_module(param)
        state = {"step": 0.0, "square_avg": Tensor._wrap(xp.zeros_like(param))}
        if momentum > 0:
            state["momentum_buffer"] = Tensor._wrap(xp.zeros_like(param))
        if centered:
            state["grad_avg"] = Tensor._wrap(xp.zeros_like(param))
        return state
