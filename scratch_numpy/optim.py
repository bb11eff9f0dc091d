"""Optimisers with inspectable state, in the course's notation (course 2, week 2; cs231n).

Every optimiser updates a parameter dict {W1, b1, ...} in place from the
gradient dict {dW1, db1, ...}. Its state is kept in dicts keyed like the
gradients (``v["dW1"]``, ``s["db2"]``), initialised to zeros of the
parameter's shape and dtype, plus the step counter ``t`` (1 during the first
step). Each class states its algorithm line by line; the code follows it term
by term, in place: the state and the parameters are overwritten, every
intermediate goes through one scratch array per parameter (allocated once), and
the gradients are only read.

L2 regularisation on the weights only (the regularisation hook): with
``l2_lambda`` > 0 and the training-set size ``m``, every step first adds the
gradient of lambda/(2m) sum_l ||W_l||_F^2 (scratch_numpy.losses.l2_penalty):

    dW_l <- dW_l + (lambda / m) W_l        (the biases b_l are not regularised)

before the rule below; ``penalty(params)`` gives the cost term. torch does
the same with param groups: weight_decay = lambda/m on the weights, 0 on the
biases (reference_torch.optim.make_optimizer).
"""

from __future__ import annotations

import numpy as np

from .contract import check_beta, check_optimizer_state
from .losses import l2_penalty
from .validation import (check_choice, check_count, check_flag, check_float_array, check_positive, check_squarable,
                         unchecked)


class Optimizer:
    """Shared state handling: hyperparameter checks, zero state, the counter t, the L2 hook.

    ``params``: the parameter dict the optimiser will update (its keys, shapes and
    dtype size the state). ``state``: None (t = 0, zero v and s) or the state to start from, in the
    course's names and shapes ({"t": t, "v": {"dW1": ..., "db1": ...}, "s": {...}}: see
    check_optimizer_state), copied. Subclasses name their state dicts in ``state_names`` and
    implement ``update(W, dW, work, *state)``, in place, for one parameter or one block of
    it (``_blocks``): W, its gradient, its part of ``scratch[key]`` (an array of W's shape and
    dtype) for intermediates, and its state arrays in ``state_names`` order.
    """

    state_names: tuple[str, ...] = ()
    squares_gradients = False   # RMSprop and Adam: see check_squarable

    def __init__(self, params: dict, lr: float, *, l2_lambda: float = 0.0, m: int | None = None, state=None):
        if not isinstance(params, dict) or not params:
            raise ValueError(f"params must be a non-empty dict of arrays W1, b1, ..., got {type(params).__name__}")
        for key, value in params.items():
            check_float_array(f"params[{key!r}]", value, ndim=getattr(value, "ndim", 2))
        self.lr = check_positive("lr", lr)
        self.initial_lr = self.lr          # alpha0, the base of a learning-rate schedule
        self.l2_lambda = check_positive("l2_lambda", l2_lambda, allow_zero=True)
        self.m = None if m is None else check_count("m", m)
        if self.l2_lambda > 0 and self.m is None:
            raise ValueError("m (the number of training examples) is needed for lambda/m when l2_lambda > 0")
        self.shapes = {key: (value.shape, value.dtype) for key, value in params.items()}
        self.t = 0
        for name in self.state_names:
            setattr(self, name, {"d" + key: np.zeros_like(value) for key, value in params.items()})
        if state is not None:
            self._load_state(state)
        self.scratch = {key: np.empty_like(value) for key, value in params.items()}

    def __repr__(self):
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({hp})"

    def hyperparameters(self) -> dict:
        hp = {"lr": self.lr}
        hp.update({k: getattr(self, k) for k in self.extra_hyperparameters})
        if self.l2_lambda:
            hp.update(l2_lambda=self.l2_lambda, m=self.m)
        return hp

    extra_hyperparameters: tuple[str, ...] = ()

    @property
    def state(self) -> dict:
        """{"t": t, "v": {...}, "s": {...}} (whichever this optimiser keeps)."""
        return {"t": self.t, **{name: getattr(self, name) for name in self.state_names}}

    def _load_state(self, state) -> None:
        """Start from ``state`` (the constructor's ``state=``) instead of t = 0 and zeros: a copy of it,
        checked by check_optimizer_state (the caller's arrays are never updated)."""
        state = check_optimizer_state(state, self.state_names, self.shapes)
        self.t = state.pop("t", 0)
        for name, arrays in state.items():
            setattr(self, name, arrays)

    def penalty(self, params: dict) -> float:
        """lambda/(2m) sum_l ||W_l||_F^2, the L2 cost term (0.0 without L2)."""
        return l2_penalty(params, self.l2_lambda, self.m)[0] if self.l2_lambda else 0.0

    def step(self, params: dict, grads: dict) -> None:
        """t <- t + 1, the L2 hook, then ``update`` every parameter in place, block by block."""
        self._check(params, grads)
        if self.l2_lambda:
            _, decay = unchecked(l2_penalty)(params, self.l2_lambda, self.m)
            grads = {k: g + decay[k] if k in decay else g for k, g in grads.items()}
        if self.squares_gradients:   # |g| into the scratch block: no temporary array per step
            for key in self.shapes:
                largest = np.abs(grads["d" + key], out=self.scratch[key]).max()
                check_squarable(f"grads['d{key}']", largest, grads["d" + key].dtype)
        self.t += 1
        for key in self.shapes:
            arrays = (params[key], grads["d" + key], self.scratch[key],
                      *(getattr(self, name)["d" + key] for name in self.state_names))
            for block in _blocks(arrays):
                self.update(*block)

    def update(self, W: np.ndarray, dW: np.ndarray, work: np.ndarray, *state: np.ndarray) -> None:
        raise NotImplementedError

    def _check(self, params, grads):
        if not isinstance(params, dict) or set(params) != set(self.shapes):
            raise ValueError(f"params must hold exactly {sorted(self.shapes)}, "
                             f"got {sorted(params) if isinstance(params, dict) else type(params).__name__}")
        if not isinstance(grads, dict):
            raise ValueError(f"grads must be a dict dW1, db1, ..., got {type(grads).__name__}")
        for key, (shape, dtype) in self.shapes.items():
            if "d" + key not in grads:
                raise ValueError(f"grads is missing d{key}")
            check_float_array(f"params[{key!r}]", params[key], ndim=len(shape), shape=shape, dtype=dtype)
            check_float_array(f"grads['d{key}']", grads["d" + key], ndim=len(shape), shape=shape, dtype=dtype)


class GradientDescent(Optimizer):
    """Plain (batch, mini-batch or stochastic) gradient descent.

        W <- W - alpha dW
    """

    def update(self, W, dW, work):
        W -= np.multiply(dW, self.lr, out=work)


class Momentum(Optimizer):
    """Gradient descent with momentum, the course's form (v_0 = 0).

        v_dW <- beta v_dW + (1 - beta) dW
        W    <- W - alpha v_dW

    v is an exponentially weighted average of the gradients (scratch_numpy.ewa),
    without bias correction. torch: SGD(momentum=beta, dampening=beta) with the
    momentum buffer set to zeros before the first step.
    """

    state_names = ("v",)
    extra_hyperparameters = ("beta",)

    def __init__(self, params, lr, beta: float = 0.9, **kw):
        super().__init__(params, lr, **kw)
        self.beta = check_beta("beta", beta)

    def update(self, W, dW, work, v):
        v *= self.beta
        v += np.multiply(dW, 1 - self.beta, out=work)
        W -= np.multiply(v, self.lr, out=work)


class CS231nMomentum(Optimizer):
    """Momentum in cs231n's form (optim.sgd_momentum), v_0 = 0; Nesterov as an option.

        v <- mu v - lr dW
        W <- W + v                                   (classical)
        W <- W - mu v_prev + (1 + mu) v              (nesterov: v_prev is v before this step)

    v is a velocity in parameter units (it carries the learning rate). torch:
    SGD(momentum=mu, nesterov=...) keeps buf = mu buf + dW with v = -lr buf, the
    same algebra while lr is constant; a changing lr rescales cs231n's past
    velocity but not torch's buffer (CONVENTIONS.md).
    """

    state_names = ("v",)
    extra_hyperparameters = ("mu", "nesterov")

    def __init__(self, params, lr, mu: float = 0.9, *, nesterov: bool = False, **kw):
        super().__init__(params, lr, **kw)
        self.mu = check_beta("mu", mu)
        check_flag("nesterov", nesterov)
        self.nesterov = nesterov

    def update(self, W, dW, work, v):
        if self.nesterov:
            step = np.multiply(v, -self.mu, out=work)        # -mu v_prev, before v changes
        v *= self.mu
        v -= self.lr * dW
        if self.nesterov:
            step += (1 + self.mu) * v
            W += step
        else:
            W += v


class RMSprop(Optimizer):
    """RMSprop (course 2, week 2), s_0 = 0, no bias correction.

        s_dW <- beta s_dW + (1 - beta) dW^2          (dW^2 elementwise)
        W    <- W - alpha dW / (sqrt(s_dW) + eps)    (eps outside the square root)

    torch: RMSprop(lr=alpha, alpha=beta, eps=eps) (torch calls the decay "alpha").
    """

    state_names = ("s",)
    extra_hyperparameters = ("beta", "eps")
    squares_gradients = True

    def __init__(self, params, lr, beta: float = 0.99, eps: float = 1e-8, **kw):
        super().__init__(params, lr, **kw)
        self.beta = check_beta("beta", beta)
        self.eps = check_positive("eps", eps)

    def update(self, W, dW, work, s):
        s *= self.beta
        np.multiply(dW, 1 - self.beta, out=work)
        work *= dW
        s += work
        np.sqrt(s, out=work)
        work += self.eps
        np.divide(dW, work, out=work)
        work *= self.lr
        W -= work


class Adam(Optimizer):
    """Adam (course 2, week 2), v_0 = s_0 = 0, with bias correction.

        v_dW <- beta1 v_dW + (1 - beta1) dW
        s_dW <- beta2 s_dW + (1 - beta2) dW^2
        v_hat = v_dW / (1 - beta1^t)
        s_hat = s_dW / (1 - beta2^t)
        W    <- W - alpha v_hat / (sqrt(s_hat) + eps)

    torch: Adam(lr=alpha, betas=(beta1, beta2), eps=eps), the same algebra
    evaluated in another order (CONVENTIONS.md).
    """

    state_names = ("v", "s")
    extra_hyperparameters = ("beta1", "beta2", "eps")
    squares_gradients = True

    def __init__(self, params, lr, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, **kw):
        super().__init__(params, lr, **kw)
        self.beta1 = check_beta("beta1", beta1)
        self.beta2 = check_beta("beta2", beta2)
        self.eps = check_positive("eps", eps)

    def update(self, W, dW, work, v, s):
        v *= self.beta1
        v += np.multiply(dW, 1 - self.beta1, out=work)
        s *= self.beta2
        np.multiply(dW, 1 - self.beta2, out=work)
        work *= dW
        s += work
        np.multiply(s, 1 / (1 - self.beta2 ** self.t), out=work)   # s_hat
        np.sqrt(work, out=work)
        work += self.eps
        np.divide(v, work, out=work)                                 # v / (sqrt(s_hat) + eps)
        work *= self.lr / (1 - self.beta1 ** self.t)                 # alpha v_hat / (sqrt(s_hat) + eps)
        W -= work


# An update makes 2 (gradient descent) to 13 (Adam) elementwise passes over W, dW, the scratch and
# the state; taken a block of this many bytes per array at a time they run from the core's L2
# cache (1-2 MiB) instead of main memory: measured on W1 (784 x 256) of the benchmark's MLP,
# Adam's update is about 20 % faster in float64 and 5 % in float32.
BLOCK_BYTES = 1 << 18


def _blocks(arrays):
    """``arrays`` (one parameter's W, dW, scratch and state, all of one shape) cut into matching
    flat blocks of BLOCK_BYTES each; the arrays whole when they fit in one block or when one of
    them is not C-contiguous (its flat view would be a copy, and the update would be lost)."""
    size = BLOCK_BYTES // arrays[0].itemsize
    if arrays[0].size <= size or not all(a.flags.c_contiguous for a in arrays):
        return (arrays,)
    flat = [a.reshape(-1) for a in arrays]
    return ([a[i:i + size] for a in flat] for i in range(0, flat[0].size, size))


OPTIMIZERS = {
    "gd": GradientDescent,
    "momentum": Momentum,
    "cs231n_momentum": CS231nMomentum,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def make_optimizer(name: str, params: dict, **hyperparameters) -> Optimizer:
    """``OPTIMIZERS[name](params, **hyperparameters)``; the names and hyperparameters
    (lr, beta, mu, nesterov, beta1, beta2, eps, l2_lambda, m) are those of
    reference_torch.optim.make_optimizer, and so is ``state``, the initial state
    (check_optimizer_state: {"t": t, "v": {...}, "s": {...}}, default t = 0 and zeros)."""
    check_choice("name", name, OPTIMIZERS)
    try:
        return OPTIMIZERS[name](params, **hyperparameters)
    except TypeError as error:   # an unknown or missing hyperparameter
        raise ValueError(f"optimizer {name!r}: {error}") from None
