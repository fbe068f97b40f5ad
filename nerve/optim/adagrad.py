"""``optim.Adagrad``: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from nerve.device import array_module
from nerve.optim.optimizer import Optimizer, _check_non_negative, _effective_grad, _step_count
from nerve.tensor import Tensor


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011), as PyTorch's ``torch.optim.Adagrad``.

    For each parameter theta with gradient g (negated when ``maximize``), at step t = 1, 2, ...::

        g     <- g + weight_decay * theta                  (if weight_decay != 0)
        lr_t  =  lr / (1 + (t - 1) * lr_decay)
        s_t   =  s_{t-1} + g * g                          (s_0 = initial_accumulator_value)
        theta <- theta - lr_t * g / (sqrt(s_t) + eps)

    ``state[p]`` holds ``"step"`` (t) and ``"sum"`` (s); like PyTorch it is made at construction.

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay (default 0).
        weight_decay: L2 penalty coefficient (default 0).
        initial_accumulator_value: the starting value of s (default 0).
        eps: added to the denominator for stability (default 1e-10).
        maximize: ascend the objective instead of descending it.

    Example::

        >>> opt = nerve.optim.Adagrad(model.parameters(), lr=0.01)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        _check_non_negative(
            "Adagrad",
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _init_state(self, p, group) -> None:
        xp = array_module(p._data)
        initial = group["initial_accumulator_value"]
        self.state[p] = {
            "step": 0.0,
            "sum": Tensor._wrap(xp.full(p._data.shape, initial, dtype=p._data.dtype)),
        }

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self._init_state(p, group)

    def _update_group(self, group: dict) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        for p in group["params"]:
            if p.grad is None:
                continue
            param = p._data
            xp = array_module(param)
            grad, _ = _effective_grad(param, p.grad._data, group["weight_decay"], group["maximize"])
            state = self.state[p]
            step = _step_count(state)
            clr = lr / (1 + (step - 1) * lr_decay)
            accumulated = state["sum"]._data
            accumulated += grad * grad
            std = xp.sqrt(accumulated)
            std += eps
            update = xp.divide(grad, std, out=std)
            update *= clr
            param -= update
            p._version += 1
