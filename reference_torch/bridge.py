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

from scratch_numpy.validation import check_choice, check_float_array

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
    return torch.tensor(array, device=device)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def data_to_torch(X: np.ndarray, Y: np.ndarray | None = None, device="cpu"):
    """(n_x, m) features and (1, m) labels -> batch-first (m, n_x) tensor and (m,) int64 labels."""
    check_float_array("X", X)
    Xt = to_tensor(np.ascontiguousarray(X.T), device)
    if Y is None:
        return Xt
    if not isinstance(Y, np.ndarray) or Y.shape != (1, X.shape[1]):
        raise ValueError(f"Y must have shape (1, {X.shape[1]}), got {getattr(Y, 'shape', type(Y).__name__)}")
    return Xt, to_tensor(Y[0].astype(np.int64), device)


def _copy_into(name: str, target: torch.Tensor, value: np.ndarray):
    if value.dtype != np.dtype(str(target.dtype).removeprefix("torch.")):
        raise ValueError(f"{name} has dtype {value.dtype} but the module holds {target.dtype}; "
                         "convert explicitly (float32 and float64 are never mixed)")
    if tuple(target.shape) != value.shape:
        raise ValueError(f"{name} must have shape {tuple(target.shape)}, got {value.shape}")
    with torch.no_grad():
        target.copy_(torch.from_numpy(np.ascontiguousarray(value)))


def params_to_module(params: dict, module) -> None:
    """Copy {W1, b1, ...} (b_l of shape (n_l, 1)) into ``module.linears``."""
    params_to_linears(params, module.linears)


def params_to_linears(params: dict, linears) -> None:
    """Copy W_l, b_l into the l-th nn.Linear of ``linears`` (l counts from 1)."""
    for l, layer in enumerate(linears, start=1):
        for key in (f"W{l}", f"b{l}"):
            if key not in params:
                raise ValueError(f"params is missing {key}")
        _copy_into(f"W{l}", layer.weight, params[f"W{l}"])
        _copy_into(f"b{l}", layer.bias, params[f"b{l}"][:, 0])


def params_from_module(module) -> dict:
    """{W1, b1, ...} as NumPy arrays in the course's shapes (b_l is (n_l, 1))."""
    params = {}
    for l, layer in enumerate(module.linears, start=1):
        params[f"W{l}"] = to_numpy(layer.weight).copy()
        params[f"b{l}"] = to_numpy(layer.bias)[:, None].copy()
    return params


def grads_from_module(module) -> dict:
    """{dW1, db1, ...} from the ``.grad`` of each layer, in the course's shapes."""
    grads = {}
    for l, layer in enumerate(module.linears, start=1):
        if layer.weight.grad is None:
            raise ValueError("the module has no gradients yet: call cost.backward() first")
        grads[f"dW{l}"] = to_numpy(layer.weight.grad).copy()
        grads[f"db{l}"] = to_numpy(layer.bias.grad)[:, None].copy()
    return grads


def logistic_to_module(w: np.ndarray, b: float, model) -> None:
    """The course's w (n_x, 1) and scalar b into LogisticRegression's nn.Linear."""
    _copy_into("w", model.linear.weight, np.ascontiguousarray(w.T))
    with torch.no_grad():
        model.linear.bias.fill_(float(b))


def logistic_from_module(model):
    """(w (n_x, 1), b float) from LogisticRegression."""
    return to_numpy(model.linear.weight).T.copy(), float(model.linear.bias.detach()[0])
