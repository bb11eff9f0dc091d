"""Optimisers: single update steps from random parameters and random gradients.

Names: updated parameters and optimiser state contain "after" ("W1 after 3 steps",
"v_dW1 after 1 step"). Bridged conventions (CONVENTIONS.md): the course's momentum is torch's
SGD(momentum=beta, dampening=beta) with a zero momentum buffer preset; cs231n's velocity v is
-lr times torch's buffer; RMSprop's decay beta is torch's alpha; L2 is weight_decay = lambda/m
on the weight group only. Gradients fed to single steps are random normal, never all ones.
"""

from __future__ import annotations

import numpy as np

from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from scratch_numpy import optim as n_optim

from ..checker.harness import compare
from .common import case, steps_text
from .losses import kernel
from .models import BIASES_FROZEN, DECAY_NOT_PER_EXAMPLE
from .mutant import Mutant, returning

# variant -> (optimizer name, hyperparameters) shared by both make_optimizer functions
OPTIMIZERS = {
    "gd": ("gd", {"lr": 0.1}),
    "momentum": ("momentum", {"lr": 0.1, "beta": 0.9}),
    "cs231n_momentum": ("cs231n_momentum", {"lr": 0.1, "mu": 0.9}),
    "nesterov": ("cs231n_momentum", {"lr": 0.1, "mu": 0.9, "nesterov": True}),
    "rmsprop": ("rmsprop", {"lr": 0.01, "beta": 0.9, "eps": 1e-8}),
    "adam": ("adam", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
}
OPTIMIZER_LABELS = {
    "gd": "gradient descent", "momentum": "momentum (course, v0 = 0)",
    "cs231n_momentum": "momentum (cs231n, v = mu v - lr dw)", "nesterov": "Nesterov momentum (cs231n)",
    "rmsprop": "RMSprop", "adam": "Adam (bias-corrected)",
}


def hyperparameters(variant, l2_lambda, m) -> tuple[str, dict]:
    """(optimizer name, hyperparameters) of ``variant``, with L2's lambda and m when ``l2_lambda``."""
    name, hp = OPTIMIZERS[variant]
    return name, {**hp, **({"l2_lambda": l2_lambda, "m": m} if l2_lambda else {})}


def state_rows(state, suffix):
    """{"v_dW1 after ...": array, ..., "t after ...": float64} from a state dict."""
    rows = {}
    for name, value in state.items():
        if name == "t":
            rows[f"t after {suffix}"] = np.float64(value)
        else:
            rows.update({f"{name}_{key} after {suffix}": array for key, array in value.items()})
    return rows


def _random_params(rng, layer_dims, dtype):
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = rng.standard_normal((layer_dims[l], layer_dims[l - 1])).astype(dtype)
        params[f"b{l}"] = rng.standard_normal((layer_dims[l], 1)).astype(dtype)
    return params


def _module(layer_dims, dtype, device, params):
    output = "sigmoid" if layer_dims[-1] == 1 else "softmax"
    model = t_models.Network(layer_dims, "relu", output, dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    return model


def _set_grads(model, grads, device):
    for l, layer in enumerate(model.linears, start=1):
        layer.weight.grad = bridge.to_tensor(grads[f"dW{l}"], device)
        layer.bias.grad = bridge.to_tensor(np.ascontiguousarray(grads[f"db{l}"][:, 0]), device)


def optimizer_step_pair(variant: str, *, dtype="float64", device="cpu", layer_dims=(4, 5, 3), steps=1, seed=0,
                        l2_lambda=0.0, m=10, scale=1.0):
    """``steps`` updates from random parameters and random gradients on both sides.

    Returns (numpy rows, torch rows): every parameter and every piece of optimiser
    state after the last step (cs231n's v compared with -lr * torch's buffer; no t for SGD).
    ``scale`` multiplies the gradients (small gradients probe eps in RMSprop and Adam).
    """
    name, hp = hyperparameters(variant, l2_lambda, m)
    rng = np.random.default_rng(seed)
    params = _random_params(rng, layer_dims, dtype)
    grads = [{f"d{k}": (scale * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
             for _ in range(steps)]
    model = _module(layer_dims, dtype, device, params)

    numpy_params = {k: v.copy() for k, v in params.items()}
    optimizer = n_optim.make_optimizer(name, numpy_params, **hp)
    for g in grads:
        optimizer.step(numpy_params, g)

    optimizer_t = t_optim.make_optimizer(name, model, **hp)
    for g in grads:
        _set_grads(model, g, device)
        optimizer_t.step()

    suffix = steps_text(steps)
    state_t = t_optim.optimizer_state(optimizer_t, model)
    state = {k: v for k, v in optimizer.state.items() if k in state_t}
    numpy_rows = {**{f"{k} after {suffix}": v for k, v in numpy_params.items()}, **state_rows(state, suffix)}
    torch_rows = {**{f"{k} after {suffix}": v for k, v in bridge.params_from_module(model).items()},
                  **state_rows(state_t, suffix)}
    return numpy_rows, torch_rows


def optimizer_step(variant: str, dtype="float64", device="cpu", **kw):
    """Parity of ``optimizer_step_pair`` with the dtype's default tolerance."""
    l2_lambda = f" + L2 lambda={kw['l2_lambda']}" if kw.get("l2_lambda") else ""
    return compare(*optimizer_step_pair(variant, dtype=dtype, device=device, **kw),
                   label=f"{OPTIMIZER_LABELS[variant]}{l2_lambda}, {steps_text(kw.get('steps', 1))}")


CASES = [
    *[(f"{OPTIMIZER_LABELS[v]}: 3 single steps", case(optimizer_step, v, steps=3)) for v in OPTIMIZERS],
    ("momentum + L2 (weight_decay = lambda/m on W only): 3 steps",
     case(optimizer_step, "momentum", steps=3, l2_lambda=0.7)),
    ("Adam + L2 (weight_decay = lambda/m on W only): 3 steps", case(optimizer_step, "adam", steps=3, l2_lambda=0.7)),
]


# ------------------------------------------------------------------ planted bugs, shared with training

def _update(cls, description, update):
    """A mutant of scratch_numpy.optim's ``cls.update``, replaced by ``update``."""
    return Mutant("numpy", f"scratch_numpy.optim.{cls}.update", description, lambda original: update)


def _gd_ascent(self, W, dW, work):
    W += self.lr * dW


def _momentum_undamped(self, W, dW, work, v):
    v *= self.beta
    v += dW
    W -= self.lr * v


def _cs231n_velocity_sign(self, W, dW, work, v):
    v_prev = v.copy()
    v *= self.mu
    v += self.lr * dW
    W += -self.mu * v_prev + (1 + self.mu) * v if self.nesterov else v


def _nesterov_look_ahead_dropped(self, W, dW, work, v):
    v *= self.mu
    v -= self.lr * dW
    W += v


def _rmsprop_unsquared(self, W, dW, work, s):
    s *= self.beta
    s += (1 - self.beta) * np.abs(dW)
    W -= self.lr * dW / (np.sqrt(s) + self.eps)


def _adam_s_uncorrected(self, W, dW, work, v, s):
    v *= self.beta1
    v += (1 - self.beta1) * dW
    s *= self.beta2
    s += (1 - self.beta2) * dW * dW
    W -= self.lr * (v / (1 - self.beta1 ** self.t)) / (np.sqrt(s) + self.eps)


def _torch_groups(name, change):
    """A make_optimizer whose ``name`` optimiser has ``change(group, optimizer)`` applied to each group."""
    def factory(original):
        def make_optimizer(opt_name, model, **hp):
            optimizer = original(opt_name, model, **hp)
            if opt_name == name:
                for group in optimizer.param_groups:
                    change(group, optimizer)
            return optimizer
        return make_optimizer
    return factory


def _no_preset_buffer(group, optimizer):
    for p in group["params"]:
        optimizer.state.pop(p, None)


NUMPY_UPDATES = {
    "gd": _update("GradientDescent", "W += lr dW (sign)", _gd_ascent),
    "momentum": _update("Momentum", "v = beta v + dW (the 1 - beta dropped)", _momentum_undamped),
    "cs231n_momentum": _update("CS231nMomentum", "v = mu v + lr dW (sign)", _cs231n_velocity_sign),
    "nesterov": _update("CS231nMomentum", "Nesterov's look-ahead dropped (W += v)", _nesterov_look_ahead_dropped),
    "rmsprop": _update("RMSprop", "s averages |dW|, not dW^2", _rmsprop_unsquared),
    "adam": _update("Adam", "s_hat without bias correction", _adam_s_uncorrected),
}
TORCH_MAKERS = {
    "gd": BIASES_FROZEN,
    "momentum": Mutant("torch", "reference_torch.optim.make_optimizer", "zero momentum buffer not preset (v_1 = dW)",
                       _torch_groups("momentum", _no_preset_buffer)),
    "cs231n_momentum": Mutant("torch", "reference_torch.optim.make_optimizer", "momentum given beta = 1 - mu",
                              _torch_groups("cs231n_momentum", lambda g, o: g.update(momentum=1 - g["momentum"]))),
    "nesterov": Mutant("torch", "reference_torch.optim.make_optimizer", "nesterov flag not passed to SGD",
                       _torch_groups("cs231n_momentum", lambda g, o: g.update(nesterov=False))),
    "rmsprop": Mutant("torch", "reference_torch.optim.make_optimizer", "torch's alpha given 1 - beta",
                      _torch_groups("rmsprop", lambda g, o: g.update(alpha=1 - g["alpha"]))),
    "adam": Mutant("torch", "reference_torch.optim.make_optimizer", "betas passed swapped",
                   _torch_groups("adam", lambda g, o: g.update(betas=g["betas"][::-1]))),
}
NUMPY_DECAY_HALVED = Mutant(
    "numpy", kernel("numpy", "l2_penalty"), "the L2 decay gradient (lambda/(2m)) W (halved)",
    returning(lambda out: (out[0], {k: g / 2 for k, g in out[1].items()})))

MUTANTS = {
    **{f"{OPTIMIZER_LABELS[v]}: 3 single steps": [NUMPY_UPDATES[v], TORCH_MAKERS[v]] for v in OPTIMIZERS},
    "momentum + L2 (weight_decay = lambda/m on W only): 3 steps": [
        NUMPY_DECAY_HALVED, DECAY_NOT_PER_EXAMPLE],
    "Adam + L2 (weight_decay = lambda/m on W only): 3 steps": [NUMPY_DECAY_HALVED, DECAY_NOT_PER_EXAMPLE],
}
