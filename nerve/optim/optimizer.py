"""``optim.Optimizer``: parameter groups, per-parameter state, and the state_dict format.

An optimizer holds ``param_groups``, a list of dicts, each with its ``"params"`` (a list of
tensors) and its hyper-parameters (``"lr"``, ...; missing ones come from ``defaults``), and
``state``, a dict from a parameter to a dict of what its update rule remembers (momentum buffers,
moment estimates, the step count). A subclass writes ``_update_group(group)``, which reads each
parameter's ``.grad`` and changes the parameter's array in place; the base ``step()`` runs it for
every group under ``no_grad``. (A PyTorch-style subclass that overrides ``step()`` works too.)

``state_dict()`` uses PyTorch's format, with parameters replaced by their position over all groups::

    {"state": {0: {"momentum_buffer": tensor(...)}, ...},
     "param_groups": [{"lr": 0.01, ..., "params": [0, 1, 2]}]}

NOTE: updates write the raw arrays (``p._data``) through the array module, so no graph is recorded
and the step makes as few temporary arrays as it can: it runs in every training step.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict

import numpy as np

from nerve import _kernels
from nerve.autograd import grad_mode
from nerve.tensor import Tensor


class _RequiredParameter:
    """Marks a hyper-parameter that has no default and must be given (as SGD's ``lr`` once was)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of the optimizers.

    Args:
        params: an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts (parameter groups,
            each with a ``"params"`` entry and optional per-group hyper-parameters).
        defaults: the hyper-parameters of a group that does not set them.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)  # as PyTorch's: opt.state[p] is {} at first
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or dicts, "
                f"but got {type(params).__name__}"
            )
        if isinstance(params, set):
            raise TypeError(_SET_MESSAGE)
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (a dict with ``"params"``), e.g. layers unfrozen later."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(_SET_MESSAGE)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):
                names.append(p[0])
                p = p[1]
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            tensors.append(p)
        param_group = dict(param_group)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError(
                    "all optimizer params should be with/without names; some names are missing"
                )
            param_group["param_names"] = names
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization parameter "
                    + name
                )
            param_group.setdefault(name, default)
        if len({id(p) for p in tensors}) != len(tensors):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters", stacklevel=3
            )
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ the step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``.grad = None`` (default), or fill them with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data.fill(0)

    def step(self, closure=None):
        """Update every parameter that has a ``.grad``. ``closure()``, if given, re-evaluates
        the model and returns the loss (it runs with grad mode on); step returns that loss."""
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        with grad_mode.no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _update_group(group)")

    # ------------------------------------------------------------------ saving
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``.

        A parameter's index is its position over all groups in order. The state's tensors are
        the optimizer's own (not copies), as in PyTorch; ``nerve.save`` copies them to disk.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index_of[id(p)]: s for p, s in self.state.items() if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load what ``state_dict()`` returned: groups are matched in order, parameters by index.

        State tensors are copied and cast to their parameter's dtype and device.
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: expected a dict with 'state' and "
                "'param_groups' (from Optimizer.state_dict())"
            )
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups: "
                f"{len(saved_groups)} != {len(self.param_groups)}"
            )
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of "
                    f"optimizer's group: {len(saved['params'])} != {len(group['params'])}"
                )
        param_of = {
            index: p
            for group, saved in zip(self.param_groups, saved_groups, strict=True)
            for index, p in zip(saved["params"], group["params"], strict=True)
        }
        self.state = defaultdict(dict)
        for index, saved_state in state_dict["state"].items():
            p = param_of.get(int(index))
            if p is None:
                continue
            self.state[p] = {key: _cast_like(value, p, key) for key, value in saved_state.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups, strict=True):
            new = copy.deepcopy({k: v for k, v in saved.items() if k != "params"})
            new["params"] = group["params"]
            new_groups.append(new)
        self.param_groups = new_groups


def _cast_like(value, param: Tensor, key: str):
    """A copy of a saved state value, as a tensor of ``param``'s dtype and device when it is one."""
    if not isinstance(value, Tensor):
        return copy.deepcopy(value)
    from nerve.device import move

    data = move(value._data, param.device.type)
    if key != "step" and data.dtype.kind == "f" and param._data.dtype.kind == "f":
        data = data.astype(param._data.dtype, copy=False)
    return Tensor._wrap(data.copy())


def _effective_grad(param, grad, weight_decay: float, maximize: bool):
    """``(g, owned)``: g = (-grad if maximize else grad) + weight_decay * param, on arrays.

    ``owned`` is True when g is a fresh array the caller may overwrite, False when it is the
    ``.grad`` array itself (which must stay as the user sees it).
    """
    if weight_decay != 0:
        decayed = param * weight_decay
        if maximize:
            decayed -= grad
        else:
            decayed += grad
        return decayed, True
    if maximize:
        return -grad, True
    return grad, False


def _lerp_(xp, start, end, weight: float) -> None:
    """start <- start + weight * (end - start), in place, rounded as PyTorch's ``lerp_``."""
    diff = end - start
    if weight < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1 - weight
        xp.subtract(end, diff, out=start)


def _step_count(state: dict) -> float:
    """Advance and return ``state["step"]`` (a float, as PyTorch's ``step`` tensor holds)."""
    step = float(state["step"]) + 1
    state["step"] = step
    return step


def _check_non_negative(optimizer: str, **values) -> None:
    """Raise PyTorch's ValueError for a negative hyper-parameter, naming the optimizer."""
    messages = {"lr": "learning rate", "eps": "epsilon value"}
    for name, value in values.items():
        if not value >= 0.0:
            what = messages.get(name, f"{name} value")
            raise ValueError(f"{optimizer}: Invalid {what}: {value} (expected >= 0)")


_SET_MESSAGE = (
    "optimizer parameters need to be organized in ordered collections, but the ordering of "
    "tensors in sets will change between runs. Please use a list instead."
)


_F = np.float32  # the scalars the compiled updates take


def _fused(param, *arrays) -> bool:
    """Whether one compiled pass (``nerve/_kernels.py``) can do an update: float32 NumPy arrays,
    contiguous, none sharing memory with another (the kernels read and write element by element)."""
    if not _kernels.usable(param, *arrays) or not param.flags.c_contiguous:
        return False
    seen = [param]
    for a in arrays:
        if not a.flags.c_contiguous or any(np.may_share_memory(a, b) for b in seen):
            return False
        seen.append(a)
    return True
