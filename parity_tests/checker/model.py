"""Check a whole L-layer network written in the course's layout against the project's torch model.

``check_model(forward, backward, layer_dims)`` takes the course's two functions,

    AL, caches = forward(X, parameters)      # L_model_forward: X (n_x, m), parameters {W1, b1, ..., WL, bL}
    grads = backward(AL, Y, caches)          # L_model_backward: {dW_l, db_l and, optionally, dA_(l-1)}

draws the parameters, X and the labels Y, copies the parameters into ``reference_torch.models.Network``
(``reference_torch.bridge.params_to_module``) and compares A_L and every gradient with autograd on the
torch model's cost. Its rows run from the output down, layer by layer, and ``ModelReport.first_wrong_layer``
names the first layer, counting from the output, whose backward returns a wrong gradient: the course's
advice, "find which component differs", done for you.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from reference_torch import bridge
from reference_torch import models as torch_models
from scratch_numpy import models as numpy_models

from .comparison import ParityReport, Tolerance, compare
from .harness import kink_free
from .hints import Evidence

__all__ = ["ModelReport", "check_model"]

BIAS_STD = 0.1  # biases drawn off zero (He init zeroes them), so that a forward that drops b shows


@dataclass
class ModelReport(ParityReport):
    """A ``ParityReport`` whose rows are A_L, then layer L's dW_L, db_L, dA_(L-1), then layer L-1's, ...
    ``first_wrong_layer`` is the largest l with a failed dW_l, db_l or dA_(l-1), the gradients layer l's
    backward returns (None when every gradient agrees): the layers above it agree, so the bug is in layer
    l's backward (or, when only dA_(l-1) fails, in how it forms W_l^T dZ_l)."""

    first_wrong_layer: int | None = None


def check_model(forward: Callable, backward: Callable, layer_dims, hidden: str = "relu", output: str = "sigmoid",
                *, m: int = 8, seed: int = 0, dtype: str = "float64", tolerance: Tolerance | None = None,
                device: str | torch.device = "cpu", label: str = "") -> ModelReport:
    """Check the course's ``forward(X, parameters) -> (AL, caches)`` and ``backward(AL, Y, caches) -> grads``.

    Draws, from ``default_rng(seed)``, He-initialised W_l (n_l, n_(l-1)) with b_l (n_l, 1) ~ N(0, BIAS_STD^2)
    (``scratch_numpy.models.Network.init_params``), X (n_x, m) standard normal kept 1e-3 off ReLU's kink,
    and labels Y (1, m) in [0, C), whole numbers in ``dtype`` (C = 2 for a sigmoid output; one-hot them
    yourself for a softmax backward that wants (C, m)). The torch side is ``reference_torch.models.Network(layer_dims, hidden, output)``
    holding the same parameters; its gradients are those of its mean cost (binary cross-entropy for
    "sigmoid", softmax cross-entropy for "softmax", the SVM hinge for "linear").

    Conventions (the course's): dW_l = (1/m) dZ_l A_(l-1)^T and db_l = (1/m) sum_cols(dZ_l) are gradients of
    the mean cost, dA_(l-1) = W_l^T dZ_l of the summed loss, so dA_(l-1) is m x autograd's. ``grads`` must
    hold every dW_l and db_l; each dA_(l-1) it holds (the course returns dA0 ... dA_(L-1)) is compared too.
    Rows: "A_L", then per layer from L down to 1: "dW<l>", "db<l>", "dA<l-1>". Tolerance: ``tolerance`` or
    ``TOLERANCES[dtype]``; a gradient in another dtype is a failed row.
    """
    numpy_net = numpy_models.Network(layer_dims, hidden, output)
    layers = range(numpy_net.L, 0, -1)
    rng = np.random.default_rng(seed)
    params = numpy_net.init_params("he", rng, dtype)
    for l in range(1, numpy_net.L + 1):
        params[f"b{l}"] = (BIAS_STD * rng.standard_normal(params[f"b{l}"].shape)).astype(dtype)
    X = kink_free(rng.standard_normal((numpy_net.layer_dims[0], m))).astype(dtype)
    # whole numbers in dtype, as the course stores them: int labels would promote a float32 backward
    Y = rng.integers(0, numpy_net.num_classes, size=(1, m)).astype(dtype)

    # the user's code gets copies, and A_L is kept as forward returned it: a forward that writes into its
    # input or a parameter, or a backward that clips AL in place, cannot change the reference or the A_L row
    given = {"X": X.copy(), "Y": Y.copy(), **{k: v.copy() for k, v in params.items()}}
    AL, caches = forward(given["X"], {k: given[k] for k in params})
    AL_returned = np.array(AL, copy=True)
    grads = backward(AL, given["Y"], caches)
    wrote = [name for name, value in given.items() if not np.array_equal(value, {"X": X, "Y": Y, **params}[name])]
    missing = [f"d{p}{l}" for l in layers for p in ("W", "b") if f"d{p}{l}" not in grads]
    if missing:
        raise ValueError(f"backward's grads lack {missing}; it must return every dW_l and db_l")

    grads_t = _torch_side(params, X, Y, layer_dims, hidden, output, dtype, device)
    rows = ["A_L", *(name for l in layers for name in (f"dW{l}", f"db{l}", f"dA{l - 1}")
                     if name in grads)]
    dims = numpy_net.layer_dims
    evidence = {f"{kind}{l - shift}": Evidence(out_shape=(dims[l], m), batch_axis=1)
                for l in layers for kind, shift in (("dW", 0), ("db", 0), ("dA", 1))}
    compared = compare({name: AL_returned if name == "A_L" else grads[name] for name in rows},
                       {name: grads_t[name] for name in rows}, tolerance=tolerance, evidence=evidence,
                       strict_dtypes=False, label=label or f"network {list(dims)} {hidden}/{output}")

    failed = {d.name for d in compared.failures}
    first = next((l for l in layers if failed & {f"dW{l}", f"db{l}", f"dA{l - 1}"}), None)
    report = ModelReport(diffs=[], label=compared.label, dtype=compared.dtype, first_wrong_layer=first)
    report.extend(compared)
    report.warnings += [f"your code wrote into {name}: it was given a copy, so the check is unaffected; a "
                        f"caller that reuses {name} would see the change" for name in wrote]
    report.notes.append(_verdict(first, failed, numpy_net.L, "A_L" in failed))
    return report


def _torch_side(params, X, Y, layer_dims, hidden, output, dtype, device):
    """{"A_L" (n_L, m), dW_l, db_l, dA_(l-1)} from reference_torch.models.Network with ``params``:
    the parameters' gradients by ``bridge.grads_from_module``, each dA_(l-1) (layer l's input) kept by a
    forward pre-hook on layer l's nn.Linear and scaled by m to the course's convention."""
    model = torch_models.Network(layer_dims, hidden, output, dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    Xt, yt = bridge.data_to_torch(X, Y, device)
    Xt.requires_grad_()
    inputs = {}

    def keep_input(l):
        def hook(_, args):
            args[0].retain_grad()  # A_(l-1) is an intermediate (X for l = 1): keep its .grad
            inputs[l] = args[0]
        return hook

    handles = [linear.register_forward_pre_hook(keep_input(l)) for l, linear in enumerate(model.linears, start=1)]
    try:
        cost = model.cost(Xt, yt)
    finally:
        for handle in handles:
            handle.remove()
    cost.backward()
    with torch.no_grad():
        AL = model(Xt).T
    m = X.shape[1]
    dAs = {f"dA{l - 1}": bridge.to_numpy(A.grad).T * m for l, A in inputs.items()}
    return {"A_L": AL, **bridge.grads_from_module(model), **dAs}


def _verdict(first: int | None, failed: set[str], L: int, forward_failed: bool) -> str:
    """The sentence under the table: where to look."""
    forward = ("A_L differs: the forward pass is wrong, and gradients computed from it say little until it "
               "is fixed. " if forward_failed else "")
    if first is None:
        return forward + "every layer's gradients agree with autograd"
    rows = ", ".join(name for name in (f"dW{first}", f"db{first}", f"dA{first - 1}") if name in failed)
    above = {L: "", L - 1: f"layer {L} agrees, so "}.get(first, f"layers {first + 1} to {L} agree, so ")
    return (f"{forward}first wrong layer, counting from the output: layer {first} ({rows}); {above}"
            f"look in layer {first}'s backward")
