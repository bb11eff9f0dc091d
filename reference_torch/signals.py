"""Vanishing and exploding signals measured with hooks on a torch model, batch-first.

The same quantities as scratch_numpy.signals, for layer l = 1..L: the input A_{l-1} of
``model.linears[l - 1]`` and the gradient that flows back into it, and dW_l. A forward pre-hook
on each nn.Linear records ||A_{l-1}||_F and registers a tensor hook on A_{l-1}, which records
||dJ/dA_{l-1}||_F during cost.backward(); X is made a leaf that requires grad so that layer 1's
input has a gradient too. autograd differentiates the mean cost, so its dA is the NumPy side's
per-example dA divided by m: ``gradients`` is multiplied back by m (CONVENTIONS.md, section 2).
"""

from __future__ import annotations

import numpy as np
import torch

from scratch_numpy.records import Signals

from .models import Network, OUTPUTS
from .validation import check_model, check_tensor


def signal_norms(model, X, y) -> Signals:
    """Norms of A_{l-1}, m dJ/dA_{l-1} and dW_l for l = 1..L (NumPy arrays of X's dtype), from one
    pass in eval mode (no dropout) and its backward; the parameters' .grad are left as they were."""
    check_model("model", model, Network)
    if model.batch_norm:
        raise ValueError("signal_norms measures plain networks: build the network with batch_norm=False")
    model.check_data(X, y)
    L, m = len(model.linears), X.shape[0]
    activations, gradients = [None] * L, [None] * L

    def record(l):
        def pre_hook(module, inputs):
            A = inputs[0]
            activations[l] = frobenius_norm(A)
            A.register_hook(lambda dA: gradients.__setitem__(l, m * frobenius_norm(dA)))
        return pre_hook

    handles = [layer.register_forward_pre_hook(record(l)) for l, layer in enumerate(model.linears)]
    was_training = model.training
    weights = [layer.weight for layer in model.linears]
    try:
        model.eval()
        X = X.detach().clone().requires_grad_()
        cost = OUTPUTS[model.output][1](model.scores(X), y)   # the data loss, as the NumPy side (no penalty)
        dWs = torch.autograd.grad(cost, [X, *weights])[1:]     # asking for dX runs every tensor hook
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    dtype = str(X.dtype).removeprefix("torch.")
    return Signals(np.array(activations, dtype=dtype), np.array(gradients, dtype=dtype),
                   np.array([frobenius_norm(dW) for dW in dWs], dtype=dtype))


def frobenius_norm(x: torch.Tensor) -> float:
    """||x||_F as s ||x / s||_F with s = max |x| (in x's dtype), as scratch_numpy.signals.frobenius_norm:
    torch.linalg.norm squares first, so it overflows and underflows where the norm is finite.
    ``x``: a non-empty float tensor of any rank."""
    x = check_tensor("x", x, ndim=None, finite=False).detach()
    s = x.abs().max()
    return float(s if s == 0 else s * torch.linalg.norm(x / s))
