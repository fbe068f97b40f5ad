"""``optim.AdamW``: Adam with decoupled weight decay."""

from __future__ import annotations

from nerve.optim.adam import Adam


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019), as PyTorch's ``torch.optim.AdamW``.

    Adam whose weight decay shrinks the weights directly instead of entering the gradient, so
    it is not rescaled by the adaptive denominator. Each step::

        theta <- theta * (1 - lr * weight_decay)
        m_t   =  beta1 * m_{t-1} + (1 - beta1) * g
        v_t   =  beta2 * v_{t-1} + (1 - beta2) * g * g        (vmax_t = max(vmax_{t-1}, v_t))
        theta <- theta - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    ``state[p]`` is as Adam's. The default ``weight_decay`` is 1e-2.

    Example::

        >>> opt = nerve.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
