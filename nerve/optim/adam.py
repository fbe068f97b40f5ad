"""``optim.Adam``: adaptive moment estimation (with optional AMSGrad and decoupled decay)."""

from __future__ import annotations

from nerve import _kernels
from nerve.device import array_module
from nerve.optim.optimizer import (
    _F,
    Optimizer,
    _check_non_negative,
    _effective_grad,
    _fused,
    _lerp_,
    _step_count,
)
from nerve.tensor import Tensor


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), as PyTorch's ``torch.optim.Adam``.

    For each parameter theta with gradient g (negated when ``maximize``), at step t = 1, 2, ...::

        theta <- theta * (1 - lr * weight_decay)      (decoupled_weight_decay, i.e. AdamW)
        g     <- g + weight_decay * theta             (otherwise, if weight_decay != 0)
        m_t   =  beta1 * m_{t-1} + (1 - beta1) * g          (m_0 = 0)
        v_t   =  beta2 * v_{t-1} + (1 - beta2) * g * g      (v_0 = 0)
        vmax_t = max(vmax_{t-1}, v_t)  and use vmax_t for v_t   (amsgrad; Reddi et al., 2018)
        theta <- theta - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    ``state[p]`` holds ``"step"`` (t), ``"exp_avg"`` (m), ``"exp_avg_sq"`` (v) and, with amsgrad,
    ``"max_exp_avg_sq"`` (vmax).

    Args:
        params: parameters or parameter groups.
        lr: learning rate (default 1e-3).
        betas: (beta1, beta2), decay rates of the moment estimates (default (0.9, 0.999)).
        eps: added to the denominator for stability (default 1e-8).
        weight_decay: L2 penalty (default 0), added to the gradient unless decoupled.
        amsgrad: use the running maximum of v (AMSGrad).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: shrink the weights directly, as AdamW does.

    Example::

        >>> opt = nerve.optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        name = type(self).__name__
        _check_non_negative(name, lr=lr, eps=eps)
        beta1, beta2 = betas
        for index, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(
                    f"{name}: Invalid beta parameter at index {index}: {beta} "
                    "(expected 0 <= beta < 1)"
                )
        _check_non_negative(name, weight_decay=weight_decay)
        defaults = dict(
            lr=lr,
            betas=(beta1, beta2),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
        decoupled = group["decoupled_weight_decay"]
        for p in group["params"]:
            if p.grad is None:
                continue
            param = p._data
            xp = array_module(param)
            state = self.state[p]
            if not state:  # the first step (or a state that was read, not yet filled)
                state.update(self._new_state(param, amsgrad))
            step = _step_count(state)
            coupled_decay = 0.0 if decoupled else weight_decay
            grad, owned = _effective_grad(param, p.grad._data, coupled_decay, group["maximize"])
            decay = 1 - lr * weight_decay if decoupled and weight_decay != 0 else None
            exp_avg = state["exp_avg"]._data
            exp_avg_sq = state["exp_avg_sq"]._data
            bias_correction1 = 1 - beta1**step
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            step_size = lr / bias_correction1
            if not amsgrad and _fused(param, grad, exp_avg, exp_avg_sq):
                # the passes below in one compiled loop, rounded as they are
                weight = 1 - beta1
                _kernels.adam_step_(
                    param, grad, exp_avg, exp_avg_sq, _F(1.0 if decay is None else decay),
                    weight < 0.5, _F(weight), _F(1 - weight), _F(1 - beta2), _F(beta2),
                    _F(bias_correction2_sqrt), _F(eps), _F(step_size),
                )
                p._version += 1
                continue
            if decay is not None:
                param *= decay
            _lerp_(xp, exp_avg, grad, 1 - beta1)
            squared = xp.multiply(grad, grad, out=grad) if owned else grad * grad
            squared *= 1 - beta2
            exp_avg_sq *= beta2
            exp_avg_sq += squared

            if amsgrad:
                max_exp_avg_sq = state["max_exp_avg_sq"]._data
                xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                denom = xp.sqrt(max_exp_avg_sq, out=squared)
            else:
                denom = xp.sqrt(exp_avg_sq, out=squared)
            denom /= bias_correction2_sqrt
            denom += eps
            update = xp.divide(exp_avg, denom, out=denom)
            update *= step_size
            param -= update
            p._version += 1

    @staticmethod
    def _new_state(param, amsgrad: bool) -> dict:
        xp = array_module(param)
        state = {
            "step": 0.0,
            "exp_avg": Tensor._wrap(xp.zeros_like(param)),
            "exp_avg_sq": Tensor._wrap(xp.zeros_like(param)),
        }
        if amsgrad:
            state["max_exp_avg_sq"] = Tensor._wrap(xp.zeros_like(param))
        return state
