"""Optimisers with inspectable state, in the course's notation (course 2, week 2; cs231n).

Every optimiser updates a parameter dict {W1, b1, ...} in place from the
gradient dict {dW1, db1, ...}. Its state is kept in dicts keyed like the
gradients (``v["dW1"]``, ``s["db2"]``), initialised to zeros of the
parameter's shape and dtype, plus the step counter ``t`` (1 during the first
step). Each class states its algorithm line by line; the code follows it term
by term, in place: the state and the parameters are overwritten, every
intermediate goes through one scratch array (allocated once), and the
gradients are only read.

One flat buffer per optimiser (the NumPy twin of torch's foreach and fused
paths): the parameters, the scratch and every state dict of all layers are views
into flat arrays of one layout (``FlatLayout``), so a rule runs as one chain of
in-place ufuncs over all parameters at once (in cache-sized blocks) instead of
one chain per tensor. The constructor copies the parameters into its buffer and
rebinds the caller's ``params[key]`` to the views (``params["W1"]`` is a view of
its block); ``v["dW1"]``, ``s["db1"]`` are views as well. Each gradient is read
where it lies when it is large, or gathered into a gradient buffer of the same
layout (``Optimizer.step`` says which and why). Elementwise arithmetic does not
depend on where an element lies, so the results are bit for bit those of the
rule applied tensor by tensor (parity_tests/test_optim_flat.py).

L2 regularisation on the weights only (the regularisation hook): with
``l2_lambda`` > 0 and the training-set size ``m``, every step first adds the
gradient of lambda/(2m) sum_l ||W_l||_F^2 (scratch_numpy.losses.l2_penalty):

    dW_l <- dW_l + (lambda / m) W_l        (the biases b_l are not regularised)

before the rule below (formed in the gradient buffer; the caller's gradients
are untouched); ``penalty(params)`` gives the cost term. torch does the same
with param groups: weight_decay = lambda/m on the weights, 0 on the biases
(reference_torch.optim.make_optimizer).
"""

from __future__ import annotations

import numpy as np

from .contract import check_beta, check_optimizer_state
from .losses import l2_penalty
from .validation import (check_choice, check_count, check_flag, check_float_array, check_positive, check_squarable,
                         squarable_limit, sum_of_squares, unchecked)


class FlatLayout:
    """Where each parameter of a dict lies in one flat array, in C order: the largest first (ties in
    the dict's order), so the small ones, whose gradients the step gathers, lie together and make
    one run (Optimizer.step).

    ``shapes``: {key: shape}. ``bounds``: {key: (start, stop, shape)} in the layout's order.
    ``views(flat, prefix)``: {prefix + key: the block of the 1-D array ``flat`` (``size`` elements)
    reshaped to the key's shape, a C-contiguous view}, in the order of ``shapes``.
    """

    def __init__(self, shapes: dict):
        sizes = {key: int(np.prod(shape, dtype=np.int64)) for key, shape in shapes.items()}
        self.bounds, start = {}, 0
        for key in sorted(shapes, key=lambda k: -sizes[k]):
            self.bounds[key] = (start, start + sizes[key], tuple(shapes[key]))
            start += sizes[key]
        self.size = start
        self.order = tuple(shapes)

    def views(self, flat: np.ndarray, prefix: str = "") -> dict:
        return {prefix + key: flat[self.bounds[key][0]:self.bounds[key][1]].reshape(self.bounds[key][2])
                for key in self.order}


class Optimizer:
    """Shared state handling: hyperparameter checks, the flat buffers, zero state, the counter t, the L2 hook.

    ``params``: the non-empty parameter dict the optimiser will update, arrays of one float dtype (its
    keys, shapes and dtype size the buffers); its entries are copied into the flat parameter buffer and
    rebound to views of it. ``state``: None (t = 0, zero v and s) or the state to start from, in the
    course's names and shapes ({"t": t, "v": {"dW1": ..., "db1": ...}, "s": {...}}: see
    check_optimizer_state), copied. Subclasses name their state dicts in ``state_names`` and
    implement ``update(W, dW, work, *state)``, in place, on matching arrays of any one shape: the
    parameters, their gradients, scratch for intermediates, and the state arrays in ``state_names``
    order. ``step`` calls it on 1-D stretches of the flat buffers, block by block (``_blocks``);
    parity_tests/test_optim_flat.py calls it tensor by tensor, as the oracle.
    """

    state_names: tuple[str, ...] = ()
    squares_gradients = False   # RMSprop and Adam: see check_squarable

    def __init__(self, params: dict, lr: float, *, l2_lambda: float = 0.0, m: int | None = None, state=None):
        if not isinstance(params, dict) or not params:
            raise ValueError(f"params must be a non-empty dict of arrays W1, b1, ..., got {type(params).__name__}")
        dtype = None
        for key, value in params.items():   # one dtype: one flat buffer
            dtype = check_float_array(f"params[{key!r}]", value, ndim=getattr(value, "ndim", 2), dtype=dtype).dtype
        self.lr = check_positive("lr", lr)
        self.initial_lr = self.lr          # alpha0, the base of a learning-rate schedule
        self.l2_lambda = check_positive("l2_lambda", l2_lambda, allow_zero=True)
        self.m = None if m is None else check_count("m", m)
        if self.l2_lambda > 0 and self.m is None:
            raise ValueError("m (the number of training examples) is needed for lambda/m when l2_lambda > 0")
        self.shapes = {key: (value.shape, value.dtype) for key, value in params.items()}
        self.layout = FlatLayout({key: value.shape for key, value in params.items()})
        # "params", "grads" (the gradients gathered for the rule: see step), "work" (the scratch)
        # and one per state dict, each of layout.size elements
        self.flat = {name: np.zeros(self.layout.size, dtype) for name in ("params", "grads", "work", *self.state_names)}
        self._params = self.layout.views(self.flat["params"])
        self._grads = self.layout.views(self.flat["grads"], "d")
        # _scan's bounds on a sum of squares: any finite one (every entry finite) for the parameters;
        # for the gradients of RMSprop and Adam one whose root is within half the squarable limit
        # (every entry squarable; the factor 2 leaves room for the sum's rounding)
        self._param_bound = float(np.finfo(dtype).max)
        self._grad_bound = (squarable_limit(dtype) / 2) ** 2 if self.squares_gradients else self._param_bound
        for name in self.state_names:
            setattr(self, name, self.layout.views(self.flat[name], "d"))
        self.t = 0
        if state is not None:
            self._load_state(state)
        for key, view in self._params.items():   # only now, every argument checked, is the caller's dict changed
            np.copyto(view, params[key])
            params[key] = view

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
        """{"t": t, "v": {...}, "s": {...}} (whichever this optimiser keeps): the live views, in the
        course's names and shapes."""
        return {"t": self.t, **{name: getattr(self, name) for name in self.state_names}}

    def _load_state(self, state) -> None:
        """Start from ``state`` (the constructor's ``state=``) instead of t = 0 and zeros: copied into
        the state buffers after check_optimizer_state (the caller's arrays are never updated)."""
        state = check_optimizer_state(state, self.state_names, self.shapes)
        self.t = state.pop("t", 0)
        for name, arrays in state.items():
            for key, view in getattr(self, name).items():
                np.copyto(view, arrays[key])

    def penalty(self, params: dict) -> float:
        """lambda/(2m) sum_l ||W_l||_F^2, the L2 cost term (0.0 without L2)."""
        return l2_penalty(params, self.l2_lambda, self.m)[0] if self.l2_lambda else 0.0

    def step(self, params: dict, grads: dict) -> None:
        """t <- t + 1, the L2 hook, then ``update`` over the flat buffers in place, block by block.

        ``params`` holds the views the constructor bound (a ``params[key]`` rebound since to another
        array of the shape and dtype is copied in before the update and the result copied back into
        that array). ``grads``: {dW1: (shape of W1), db1: ...}, arrays of any layout, only read.

        Where the rule reads the gradients (``_gradients``): a C-contiguous one of a block
        (BLOCK_BYTES) or more where it lies, as a run of its own; the others copied into the
        gradient buffer, where consecutive ones form one run. A large gradient is a long run
        (few calls for its size) and a copy would cost a pass over it; a small one costs little
        to copy and would be a short run of its own. Measured on the benchmark's MLP
        (784-256-128-10, batch 64 and 256, SGD and Adam, float32 and float64; one thread, the
        optimiser's step alone, interleaved, on a busy 2-core machine): copying every gradient in
        (dW1's copy a pass over 200,704 numbers) was 2-23 % slower than this, and the former
        path (the rule and the checks tensor by tensor on the caller's arrays) 5-29 % slower.
        On that MLP the copies are dW3, db1, db2, db3 (and dW2 in float32): 0.7 % of the numbers
        in float64, 15 % in float32. With L2 every weight gradient goes to the buffer anyway, as
        dW_l + (lambda / m) W_l, and the rule runs once over all of it.

        Checks, before anything changes: the parameters finite, the gradients as the rule reads
        them (L2 term included) finite and, for RMSprop and Adam, squarable (check_squarable);
        each is one BLAS pass over the buffers (``_scan``), and a failure names the tensor at fault.
        """
        rebound = self._check(params, grads)
        P, work = self.flat["params"], self.flat["work"]
        for key in rebound:
            np.copyto(self._params[key], params[key])
        self._scan([P], {f"params[{key!r}]": view for key, view in self._params.items()}, self._param_bound,
                   _check_finite)
        runs, read = self._gradients(grads)
        checks = (_check_finite, self._check_squarable) if self.squares_gradients else (_check_finite,)
        self._scan([dW for _, dW in runs], {f"grads['d{key}']": dW for key, dW in read.items()},
                   self._grad_bound, *checks)
        self.t += 1
        for where, dW in runs:
            for block in _blocks((P[where], dW, work[where], *(self.flat[name][where] for name in self.state_names))):
                self.update(*block)
        for key in rebound:
            np.copyto(params[key], self._params[key])

    def update(self, W: np.ndarray, dW: np.ndarray, work: np.ndarray, *state: np.ndarray) -> None:
        raise NotImplementedError

    def _gradients(self, grads: dict) -> tuple[list, dict]:
        """The gradients as the rule reads them: (runs, read). ``runs``: [(slice of the layout,
        its gradient as a 1-D array)] covering the layout in order, each a caller's array read in
        place or a stretch of the gradient buffer; ``read``: {key: the gradient read for it, in its
        shape}. With L2 each weight's gradient is dW_l + (lambda / m) W_l (the decay from
        losses.l2_penalty's kernel), formed in the buffer."""
        G, block = self.flat["grads"], BLOCK_BYTES // self.flat["grads"].itemsize
        decay = unchecked(l2_penalty)(self._params, self.l2_lambda, self.m)[1] if self.l2_lambda else {}
        runs, read = [], {}   # runs: (start, stop, the caller's array read in place, or None: the buffer)
        for key, (start, stop, _) in self.layout.bounds.items():
            dW, view = grads["d" + key], self._grads["d" + key]
            if "d" + key in decay:
                np.add(dW, decay["d" + key], out=view)
            elif stop - start < block or not dW.flags.c_contiguous:
                np.copyto(view, dW)
            else:
                runs.append((start, stop, dW.reshape(-1)))
                read[key] = dW
                continue
            read[key] = view
            if runs and runs[-1][2] is None:      # consecutive gathered gradients: one run
                runs[-1] = (runs[-1][0], stop, None)
            else:
                runs.append((start, stop, None))
        return [(slice(start, stop), G[start:stop] if dW is None else dW) for start, stop, dW in runs], read

    def _check_squarable(self, name: str, largest: float) -> None:
        check_squarable(name, largest, self.flat["grads"].dtype)

    @staticmethod
    def _scan(arrays: list, named: dict, bound: float, *checks) -> None:
        """Run ``checks`` (each ``check(name, largest)`` raises ValueError on a bad largest magnitude)
        over the 1-D ``arrays``. The fast path is one BLAS pass that writes nothing, the sum of
        squares s of all entries: s <= ``bound`` proves every entry finite and of magnitude at most
        sqrt(bound), which the caller's bound makes acceptable to every check. Otherwise (a
        non-finite or a large entry, or s overflowing) each check runs exactly, on the largest
        magnitude of each tensor ({name: array} ``named``), so an error names the tensor at fault."""
        if sum_of_squares(arrays) <= bound:
            return
        largest = {name: float(np.abs(array).max()) for name, array in named.items()}
        for check in checks:
            for name, value in largest.items():
                check(name, value)

    def _check(self, params, grads) -> list:
        """Check the keys, types, shapes and dtypes of ``params`` and ``grads`` (their values: ``step``);
        returns the keys whose ``params`` entry is not the optimiser's view, checked in full."""
        if not isinstance(params, dict) or set(params) != set(self.shapes):
            raise ValueError(f"params must hold exactly {sorted(self.shapes)}, "
                             f"got {sorted(params) if isinstance(params, dict) else type(params).__name__}")
        if not isinstance(grads, dict):
            raise ValueError(f"grads must be a dict dW1, db1, ..., got {type(grads).__name__}")
        rebound = []
        for key, (shape, dtype) in self.shapes.items():
            if "d" + key not in grads:
                raise ValueError(f"grads is missing d{key}")
            if params[key] is not self._params[key]:
                rebound.append(key)
                check_float_array(f"params[{key!r}]", params[key], ndim=len(shape), shape=shape, dtype=dtype)
            check_float_array(f"grads['d{key}']", grads["d" + key], ndim=len(shape), shape=shape, dtype=dtype,
                              finite=False)
        return rebound


def _check_finite(name: str, largest: float) -> None:
    """Optimizer._scan's finiteness check: the largest magnitude of an array is finite only if
    every entry is (NaN propagates through the max)."""
    if not np.isfinite(largest):
        raise ValueError(f"{name} contains NaN or inf values")


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


# An update makes 2 (gradient descent) to 13 (Adam) elementwise passes over the parameters, the
# gradients, the scratch and the state; taken a block of this many bytes per array at a time they run
# from the core's L2 cache (1-2 MiB) instead of main memory: measured on W1 (784 x 256) of the
# benchmark's MLP, Adam's update is about 20 % faster in float64 and 5 % in float32.
BLOCK_BYTES = 1 << 18


def _blocks(arrays):
    """The 1-D ``arrays`` of one run (stretches of the flat buffers, or a caller's gradient; one size
    and dtype) cut into matching blocks of BLOCK_BYTES each."""
    size = BLOCK_BYTES // arrays[0].itemsize
    return ([a[i:i + size] for a in arrays] for i in range(0, arrays[0].size, size))


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
