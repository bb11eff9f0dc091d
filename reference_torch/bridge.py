"""Moving data and parameters between the NumPy side and the torch side.

Layouts: NumPy X is (n_x, m) with labels Y (1, m); torch X is (m, n_x) with
labels y (m,) int64. Weights have the same (n, n_prev) layout on both sides;
NumPy's b (n, 1) is torch's bias (n,). Dtypes are never converted silently:
float64 arrays go to float64 tensors, and copying float32 NumPy parameters
into a float64 module is a ValueError.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import sys

from scratch_numpy.validation import (check_choice, check_finite_number, check_float_array, check_labels,
                                     check_plain_array)

from .logistic import LogisticRegression
from .validation import check_device

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' is CUDA when available, else the CPU; asking for 'cuda' without one is an error."""
    check_choice("device", device, ("auto", "cpu", "cuda"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch.cuda.is_available() is False")
    return torch.device(device)


def resolve_dtype(dtype: str) -> torch.dtype:
    return DTYPES[check_choice("dtype", dtype, DTYPES)]


def to_tensor(array: np.ndarray, device="cpu") -> torch.Tensor:
    """A copy of ``array`` as a tensor of the same dtype on ``device``."""
    return torch.tensor(array, device=check_device(device))


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    if not isinstance(tensor, torch.Tensor):
        raise ValueError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    return tensor.detach().cpu().numpy()


def data_to_torch(X: np.ndarray, Y: np.ndarray | None = None, device="cpu"):
    """(n_x, m) features and (1, m) labels -> batch-first (m, n_x) tensor and (m,) int64 labels."""
    check_float_array("X", X)
    device = check_device(device)
    Xt = to_tensor(np.ascontiguousarray(X.T), device)
    if Y is None:
        return Xt
    # whole, non-negative labels; their upper bound is the model's to check
    labels = check_labels("Y", Y, m=X.shape[1], num_classes=sys.maxsize)
    return Xt, to_tensor(labels[0], device)


def _copy_into(name: str, target: torch.Tensor, value: np.ndarray):
    check_plain_array(name, value)
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(value).__name__}")
    if value.dtype != np.dtype(str(target.dtype).removeprefix("torch.")):
        raise ValueError(f"{name} has dtype {value.dtype} but the module holds {target.dtype}; "
                         "convert explicitly (float32 and float64 are never mixed)")
    if tuple(target.shape) != value.shape:
        raise ValueError(f"{name} must have shape {tuple(target.shape)}, got {value.shape}")
    if not np.isfinite(value).all():
        raise ValueError(f"{name} contains NaN or inf values")
    with torch.no_grad():   # a fresh, writable copy: torch.from_numpy warns on a read-only array
        target.copy_(torch.from_numpy(np.array(value, order="C")))


def params_to_module(params: dict, module) -> None:
    """Copy {W1, b1, ...} (b_l of shape (n_l, 1)) into ``module.linears``, and gamma_l, beta_l
    (n_l, 1) into ``module.norms[l - 1]``'s weight and bias (n_l,) when it has batch norm."""
    _check_network(module)
    _check_params(params)
    unexpected = set(params) - {key for key, _ in course_parameters(module)}
    if unexpected:
        raise ValueError(f"params has keys {sorted(unexpected)} that the module has no parameter for")
    _copy_linears(params, module.linears)
    for l, norm in _norms(module):
        for key in (f"gamma{l}", f"beta{l}"):
            if key not in params:
                raise ValueError(f"params is missing {key}")
        _copy_into(f"gamma{l}", norm.weight, _column(f"gamma{l}", params[f"gamma{l}"]))
        _copy_into(f"beta{l}", norm.bias, _column(f"beta{l}", params[f"beta{l}"]))


def params_to_linears(params: dict, linears) -> None:
    """Copy W_l, b_l into the l-th nn.Linear of ``linears`` (l counts from 1); a layer built
    with bias=False (batch norm) takes W_l only."""
    _check_params(params)
    if not isinstance(linears, (list, tuple, nn.ModuleList)) or not all(isinstance(x, nn.Linear) for x in linears):
        raise ValueError(f"linears must be a list of nn.Linear layers, got {type(linears).__name__}")
    expected = {f"{p}{l}" for l, layer in enumerate(linears, start=1)
                for p in ("Wb" if layer.bias is not None else "W")}
    unexpected = set(params) - expected
    if unexpected:
        raise ValueError(f"params has keys {sorted(unexpected)} that linears has no parameter for "
                         f"({len(linears)} layers)")
    _copy_linears(params, linears)


def _copy_linears(params: dict, linears) -> None:
    for l, layer in enumerate(linears, start=1):
        keys = (f"W{l}", f"b{l}") if layer.bias is not None else (f"W{l}",)
        for key in keys:
            if key not in params:
                raise ValueError(f"params is missing {key}")
        _copy_into(f"W{l}", layer.weight, params[f"W{l}"])
        if layer.bias is not None:
            _copy_into(f"b{l}", layer.bias, _column(f"b{l}", params[f"b{l}"]))


def _check_params(params):
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict {{W1, b1, ...}}, got {type(params).__name__}")


def _check_logistic(model):
    # a ValueError like _check_network's (the bridge's contract, pinned by parity_tests/contract/test_bridge.py)
    if not isinstance(model, LogisticRegression):
        raise ValueError(f"model must be a reference_torch.logistic.LogisticRegression, got {type(model).__name__}")


def _check_network(module):
    if not isinstance(module, nn.Module) or not isinstance(getattr(module, "linears", None), nn.ModuleList):
        raise ValueError(f"module must be a reference_torch.models.Network (with .linears), got {type(module).__name__}")


def _norms(module):
    """(l, nn.BatchNorm1d of layer l) for every normalised layer of a models.Network."""
    return enumerate(getattr(module, "norms", ()), start=1)


def _column(name: str, value, *, minimum=None) -> np.ndarray:
    """The (n,) vector torch keeps for a NumPy (n, 1) column, after checking it is one (with entries
    >= ``minimum``, if given)."""
    return check_float_array(name, value, shape=(None, 1), minimum=minimum)[:, 0]


def course_parameters(module):
    """(course name, tensor) for every parameter of a models.Network, layer by layer:
    W_l, then b_l or gamma_l, beta_l."""
    norms = dict(_norms(module))
    for l, layer in enumerate(module.linears, start=1):
        yield f"W{l}", layer.weight
        if layer.bias is not None:
            yield f"b{l}", layer.bias
        if l in norms:
            yield f"gamma{l}", norms[l].weight
            yield f"beta{l}", norms[l].bias


def _course_shape(array: np.ndarray) -> np.ndarray:
    """A copy in the course's shape: torch's (n,) vectors become (n, 1) columns."""
    return (array[:, None] if array.ndim == 1 else array).copy()


def params_from_module(module) -> dict:
    """{W1, b1, ...} as NumPy arrays in the course's shapes (b_l is (n_l, 1)); gamma_l, beta_l
    (n_l, 1) instead of b_l for the layers with batch norm."""
    _check_network(module)
    return {key: _course_shape(to_numpy(tensor)) for key, tensor in course_parameters(module)}


def grads_from_module(module) -> dict:
    """{dW1, db1, ...} (dgamma_l, dbeta_l with batch norm) from each parameter's ``.grad``,
    in the course's shapes."""
    _check_network(module)
    grads = {}
    for key, tensor in course_parameters(module):
        if tensor.grad is None:
            raise ValueError("the module has no gradients yet: call cost.backward() first")
        grads["d" + key] = _course_shape(to_numpy(tensor.grad))
    return grads


def state_to_module(state: dict, module) -> None:
    """Copy the NumPy running statistics {running_mean1, running_var1, ...} (n_l, 1) into
    ``module.norms[l - 1]``'s running_mean and running_var buffers (n_l,). A key the module has no
    buffer for (another layer, or any statistic for a module without batch norm) is an error, not
    ignored: it means the state belongs to another network."""
    if not isinstance(state, dict):
        raise ValueError(f"state must be a dict {{running_mean1, running_var1, ...}}, got {type(state).__name__}")
    _check_network(module)
    expected = [f"{stat}{l}" for l, _ in _norms(module) for stat in ("running_mean", "running_var")]
    extra = [key for key in state if key not in expected]
    if extra:
        raise ValueError(f"state has {extra}, which the module has no running statistics for; expected the keys "
                         f"{expected}")
    for l, norm in _norms(module):
        for stat in ("running_mean", "running_var"):
            key = f"{stat}{l}"
            if key not in state:
                raise ValueError(f"state is missing {key}")
            _copy_into(key, getattr(norm, stat), _column(key, state[key], minimum=0 if stat == "running_var" else None))


def state_from_module(module) -> dict:
    """{running_mean1, running_var1, ...} as (n_l, 1) NumPy columns (empty without batch norm)."""
    _check_network(module)
    return {f"{stat}{l}": to_numpy(getattr(norm, stat))[:, None].copy()
            for l, norm in _norms(module) for stat in ("running_mean", "running_var")}


def masks_to_torch(masks: dict, device="cpu") -> dict:
    """Dropout masks {D_l: (n_l, m)} (examples in columns) -> batch-first tensors (m, n_l)."""
    if not isinstance(masks, dict):
        raise ValueError(f"masks must be a dict {{D1: (n_1, m), ...}}, got {type(masks).__name__}")
    device = check_device(device)
    for key, mask in masks.items():
        check_plain_array(f"masks[{key!r}]", mask)
        if not isinstance(mask, np.ndarray) or mask.ndim != 2:
            raise ValueError(f"masks[{key!r}] must be a 2-D numpy array (n, m), got {getattr(mask, 'shape', mask)!r}")
    return {key: to_tensor(np.ascontiguousarray(mask.T), device) for key, mask in masks.items()}


def masks_from_torch(masks: dict) -> dict:
    """Batch-first dropout masks {D_l: (m, n_l)} -> NumPy columns (n_l, m)."""
    if not isinstance(masks, dict):
        raise ValueError(f"masks must be a dict {{D1: (m, n_1), ...}}, got {type(masks).__name__}")
    for key, mask in masks.items():
        if not isinstance(mask, torch.Tensor) or mask.dim() != 2:
            got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ValueError(f"masks[{key!r}] must be a 2-D torch.Tensor (m, n), got {got}")
    return {key: np.ascontiguousarray(to_numpy(mask).T) for key, mask in masks.items()}


def logistic_to_module(w: np.ndarray, b: float, model) -> None:
    """The course's w (n_x, 1) and scalar b into LogisticRegression's nn.Linear."""
    _check_logistic(model)
    n_x = model.linear.in_features
    w = check_float_array("w", w, shape=(n_x, 1), dtype=str(model.linear.weight.dtype).removeprefix("torch."))
    b = check_finite_number("b", b)
    _copy_into("w", model.linear.weight, np.ascontiguousarray(w.T))
    with torch.no_grad():
        model.linear.bias.fill_(float(b))


def logistic_from_module(model):
    """(w (n_x, 1), b float) from LogisticRegression."""
    _check_logistic(model)
    return to_numpy(model.linear.weight).T.copy(), float(model.linear.bias.detach()[0])
