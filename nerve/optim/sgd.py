"""``optim.SGD``: stochastic gradient descent, with momentum (heavy-ball or Nesterov)."""

from __future__ import annotations

from nerve import _kernels
from nerve.device import array_module
from nerve.optim.optimizer import _F, Optimizer, _check_non_negative, _effective_grad, _fused
from nerve.tensor import Tensor


class SGD(Optimizer):
    r"""Stochastic gradient descent, as PyTorch's ``torch.optim.SGD``.

    For each parameter theta with gradient g (negated when ``maximize``), at step t::

        g   <- g + weight_decay * theta                      (if weight_decay != 0)
        b_1 <- g;  b_t <- momentum * b_{t-1} + (1 - dampening) * g     (if momentum != 0)
        g   <- g + momentum * b_t   (nesterov)   or   g <- b_t   (plain momentum)
        theta <- theta - lr * g

    The momentum buffer ``b`` (Sutskever et al., 2013) is kept in
    ``state[p]["momentum_buffer"]``; with ``momentum=0`` there is no state.

    Args:
        params: parameters or parameter groups (see ``Optimizer``).
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty coefficient (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: ascend the objective instead of descending it.

    Example::

        >>> opt = nerve.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        _check_non_negative("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict) -> None:
        lr = group["lr"]
        momentum = group["momentum"]
        dampening = group["dampening"]
        weight_decay = group["weight_decay"]
        nesterov = group["nesterov"]
        maximize = group["maximize"]
        lr_as = {}  # dtype -> lr as a 0-d array (NumPy is slower with a Python float operand)
        for p in group["params"]:
            if p.grad is None:
                continue
            param = p._data
            lr_t = lr_as.get(param.dtype)
            if lr_t is None:
                lr_t = lr_as[param.dtype] = array_module(param).asarray(lr, param.dtype)
            # `owned`: `grad` is a fresh array this step may overwrite (not the user's .grad).
            if weight_decay == 0 and not maximize:
                grad, owned = p.grad._data, False
            else:
                grad, owned = _effective_grad(param, p.grad._data, weight_decay, maximize)
            if momentum != 0:
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = grad if owned else grad.copy()
                    state["momentum_buffer"] = Tensor._wrap(buf)
                    owned = False
                elif not nesterov and dampening == 0 and _fused(param, buf._data, grad):
                    _kernels.sgd_momentum_step_(param, buf._data, grad, _F(momentum), _F(lr))
                    p._version += 1
                    continue
                else:
                    buf = buf._data
                    buf *= momentum
                    if dampening == 0:
                        buf += grad
                    else:
                        buf += (1 - dampening) * grad
                if nesterov:
                    step = buf * momentum
                    step += grad
                    grad, owned = step, True
                else:
                    grad, owned = buf, False
            if _fused(param, grad):
                _kernels.sgd_step_(param, grad, _F(lr))
            elif owned:
                grad *= lr_t
                param -= grad
            else:
                param -= lr_t * grad
            p._version += 1

