"""The NumPy and torch implementations behind one small interface, so that every trainer and
experiment is written once and runs either side.

The interface is two Protocols, each method's contract in its docstring: Side, what every model
offers (logistic regression: NumpyLogistic, TorchLogistic), and NetworkSide, a Side that is a
network and also trains in the shared mini-batch loop (NumpyNet, TorchNet). ``network(trial, ...)``
and ``logistic(trial, ...)`` build the one of the trial's implementation.

Both sides start from the same parameters (drawn once with NumPy, copied into
torch by reference_torch.bridge) and read the same data; the torch side holds
it batch-first on its device, in the run's dtype.

Randomness is shared, never matched: a dropout network's masks are drawn once
with NumPy and handed to both sides (``masks``: iteration -> {D_l: (n_l, m)},
e.g. ``fixed_masks(course_dropout_masks(...))``), so the two runs see the very
same masks at every full-batch iteration. ``grads`` leaves no trace: it uses
the masks of the next iteration and puts batch norm's running statistics back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from reference_torch import bridge
from reference_torch import ddp as t_ddp
from reference_torch import early_stopping as t_early_stopping
from reference_torch import logistic as t_logistic
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from reference_torch import signals as t_signals
from reference_torch import training as t_training
from scratch_numpy import early_stopping as n_early_stopping
from scratch_numpy import logistic as n_logistic
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import signals as n_signals
from scratch_numpy import training as n_training

from . import checkpoint


@dataclass(frozen=True)
class NetSpec:
    """A fully connected network: layer sizes, hidden activation, output and regularisation
    (L2 strength, keep probabilities of the hidden layers, batch norm), the same on both sides
    (see scratch_numpy.models.Network)."""

    layer_dims: tuple
    hidden: str = "relu"
    output: str = "sigmoid"
    l2_lambda: float = 0.0
    keep_probs: tuple | None = None
    batch_norm: bool = False

    @property
    def options(self) -> dict:
        return {"l2_lambda": self.l2_lambda, "keep_probs": self.keep_probs, "batch_norm": self.batch_norm}

    def numpy(self) -> n_models.Network:
        return n_models.Network(self.layer_dims, self.hidden, self.output, **self.options)

    def torch(self, dtype: str, device) -> t_models.Network:
        return t_models.Network(self.layer_dims, self.hidden, self.output, dtype=bridge.resolve_dtype(dtype),
                                device=device, **self.options)

    def init_params(self, method: str, rng, dtype: str) -> dict:
        """The course's draw: scratch_numpy.init with a seed or a RandomState (np.random.seed)."""
        return self.numpy().init_params(method, rng, dtype)


@runtime_checkable
class Side(Protocol):
    """One implementation ("numpy" or "torch") of a model on one data set: what the trainers, the
    checkpoints and the catalog call, the same on both sides. Unless a method says otherwise,
    arrays come and go in the NumPy layout (examples in columns, b as (n, 1)) and the run's dtype."""

    impl: str
    """The implementation: "numpy" or "torch"."""
    dtype: str
    """The run's dtype ("float32" or "float64"), of the data and of the parameters."""
    splits: dict
    """{"train": datasets.Split, and "test" when the data has one}, in the run's dtype."""
    resumable: bool
    """Whether a full-batch run restored from ``state()`` continues as the uninterrupted run would
    (False for a network that draws its own dropout masks: they would not be drawn again the same)."""

    @property
    def train(self):
        """splits["train"]."""

    def gd(self, k: int, lr: float) -> list:
        """k more full-batch gradient-descent iterations at rate ``lr``, continuing from where the
        side is (models.train_gd, logistic.optimize of that side); the k costs, costs[i] the cost
        before update i."""

    def params(self) -> dict:
        """Copies of the current parameters in the NumPy layout ({W1, b1, ...}; batch norm's
        gamma_l, beta_l; logistic regression {w (n_x, 1), b (1, 1)})."""

    def state(self) -> dict:
        """{name: array}: copies of what a full-batch checkpoint saves (experiments.checkpoint:
        /params), in the side's own layout."""

    def load_state(self, arrays: dict, iteration: int) -> None:
        """Put checked ``state()`` arrays back, ``iteration`` full-batch iterations done."""

    def grads(self) -> dict:
        """The gradients of the training cost on the whole training set, {"d" + each params() key},
        in the NumPy layout; a measurement: it changes nothing (no update, no running statistics)."""

    def accuracy(self, split: str) -> float:
        """The fraction of correct predictions on the split named ``split`` ("train" or "test")."""

    def predict(self, X) -> np.ndarray:
        """The labels (k,) the model gives points ``X`` (n_x, k), given in the NumPy layout."""


@runtime_checkable
class NetworkSide(Side, Protocol):
    """A Side that is a network (NetSpec): it also trains in the shared mini-batch loop and gives
    its scores, signal norms and costs."""

    EarlyStopping: type
    """The side's early_stopping.EarlyStopping class (the library's policy: its ``callback`` takes
    ``live`` as its third argument, as fit's ``callback`` gets it)."""

    @property
    def live(self) -> Any:
        """What the training loop updates in place: the NumPy parameter dict or the torch module
        (the third argument of fit's ``callback``)."""

    def fit(self, optimizer: str, lr: float, hyperparameters: dict, callback, checkpoint=None, **loop):
        """The shared mini-batch loop (training.train of the side) with ``optimizer`` (a name of
        scratch_numpy.optim.OPTIMIZERS) at initial rate ``lr`` and its ``hyperparameters``, the
        "test" split (if any) as the dev set; ``loop``: the loop's own keywords (epochs, batch_size,
        seed or permutations, schedule, early_stopping). ``callback(epoch, history, live)`` runs
        after every epoch, as the loop calls it; ``checkpoint``: an experiments.checkpoint
        .Checkpointer (restores a resumed run, saves per epoch) or None. Returns the loop's History.
        A side given dropout masks refuses (the loop draws its own): ValueError."""

    def scores(self) -> np.ndarray:
        """The last layer's Z_L (n_L, m) on the training set."""

    def signal_norms(self):
        """Per-layer ||A_{l-1}||, ||dA_{l-1}||, ||dW_l|| on the training set (the side's
        signals.signal_norms)."""

    def cost_function(self, split="test") -> Callable:
        """live state -> J on ``split`` (a name or a datasets.Split): the side's
        early_stopping.dev_cost, no L2 term, a test-time pass."""

    def cost(self, split="test") -> float:
        """J of the network at its current parameters on ``split``: cost_function(split)(live)."""


class _Side:
    """What every side holds: the data's splits ("train", and "test" when there is one) in the run's dtype."""

    resumable = True

    def __init__(self, dataset, dtype: str):
        self.splits = {"train": dataset.train.astype(dtype)}
        if dataset.test is not None:
            self.splits["test"] = dataset.test.astype(dtype)
        self.dtype = dtype

    @property
    def train(self):
        return self.splits["train"]


class _MaskedSide(_Side):
    """A network side (NetworkSide) that may get its dropout masks from ``masks`` (iteration ->
    {D_l: (n_l, m)}, NumPy layout) and counts the full-batch iterations done."""

    def __init__(self, spec: NetSpec, dataset, dtype: str, masks):
        super().__init__(dataset, dtype)
        if masks is not None and not callable(masks):
            raise ValueError(f"masks must be None or a function iteration -> mask dict, got {masks!r}")
        self.masks, self.iteration = masks, 0
        self.resumable = masks is not None or spec.keep_probs is None

    def _next_masks(self, k: int):
        """The NumPy masks of the next k iterations (None: none given), and count them done."""
        start, self.iteration = self.iteration, self.iteration + k
        return None if self.masks is None else [self.masks(i) for i in range(start, start + k)]

    def _refuse_masks_in_fit(self):
        # the mini-batch loops draw their own masks: given ones would silently be ignored
        if self.masks is not None:
            raise ValueError("given dropout masks are for full-batch gd; the mini-batch loop draws its own")

    def cost(self, split="test") -> float:
        """NetworkSide.cost, through the side's own cost_function and live state."""
        return float(self.cost_function(split)(self.live))


class NumpyNet(_MaskedSide):
    """scratch_numpy.models.Network with its parameter dict, trained by train_gd or training.train."""

    impl = "numpy"

    def __init__(self, spec: NetSpec, params0: dict, dataset, dtype: str, masks=None):
        super().__init__(spec, dataset, dtype, masks)
        self.net = spec.numpy()
        self.net.init_state(dtype)   # running statistics from the start: state() lists them, a resume fills them
        self.params_ = {k: v.astype(dtype) for k, v in params0.items()}

    def gd(self, k: int, lr: float) -> list:
        self.params_, costs = n_models.train_gd(self.net, self.params_, self.train.X, self.train.Y, lr, k,
                                                masks=self._next_masks(k))
        return costs

    def fit(self, optimizer: str, lr: float, hyperparameters: dict, callback, checkpoint=None, **loop):
        """NetworkSide.fit: scratch_numpy.training.train; ``live`` is the parameter dict."""
        self._refuse_masks_in_fit()
        opt = n_optim.make_optimizer(optimizer, self.params_, lr=lr, **hyperparameters)
        test = self.splits.get("test")
        hooks = checkpoint.attach_numpy(self.net, self.params_, opt) if checkpoint else {}
        return n_training.train(self.net, self.params_, self.train.X, self.train.Y, opt,
                                X_dev=test and test.X, Y_dev=test and test.Y, callback=callback, **hooks, **loop)

    def params(self) -> dict:
        return {k: v.copy() for k, v in self.params_.items()}

    def state(self) -> dict:
        """{W1, b1, ..., and batch norm's running statistics}."""
        return checkpoint.network_arrays(self.net, self.params_)

    def load_state(self, arrays: dict, iteration: int) -> None:
        checkpoint.load_network_arrays(self.net, self.params_, arrays)
        self.iteration = iteration

    def grads(self) -> dict:
        """dJ/d(each parameter) of the training pass, with the next iteration's masks; batch norm's
        running statistics are put back (a measurement, not a training step)."""
        state = {k: v.copy() for k, v in self.net.state.items()}
        masks = None if self.masks is None else self.masks(self.iteration)
        try:
            return self.net.loss(self.params_, self.train.X, self.train.Y, masks=masks)[1]
        finally:
            self.net.state = state

    def accuracy(self, split: str) -> float:
        return self.net.accuracy(self.params_, self.splits[split].X, self.splits[split].Y)

    def scores(self) -> np.ndarray:
        _, caches = self.net.forward(self.params_, self.train.X)
        return caches[-1].activation.Z

    def predict(self, X) -> np.ndarray:
        return self.net.predict(self.params_, X.astype(self.dtype, copy=False))[0]

    EarlyStopping = n_early_stopping.EarlyStopping

    @property
    def live(self) -> dict:
        return self.params_

    def signal_norms(self):
        return n_signals.signal_norms(self.net, self.params_, self.train.X, self.train.Y)

    def cost_function(self, split="test"):
        data = self.splits[split] if isinstance(split, str) else split.astype(self.dtype)
        return n_early_stopping.dev_cost(self.net, data.X, data.Y)


class TorchNet(_MaskedSide):
    """reference_torch.models.Network on the device, trained by train_gd or training.train."""

    impl = "torch"

    def __init__(self, spec: NetSpec, params0: dict, dataset, dtype: str, device, masks=None):
        super().__init__(spec, dataset, dtype, masks)
        self.device = device
        self.model = spec.torch(dtype, device)
        bridge.params_to_module({k: v.astype(dtype) for k, v in params0.items()}, self.model)
        self.tensors = {name: bridge.data_to_torch(s.X, s.Y, device) for name, s in self.splits.items()}
        self._converted = (None, None)   # (NumPy masks, their batch-first tensors): fixed masks copy once

    def _torch_masks(self, masks: dict) -> dict:
        """{D_l: (m, n_l)} tensors on the device for NumPy masks {D_l: (n_l, m)}, converted once per dict."""
        if self._converted[0] is not masks:
            self._converted = (masks, bridge.masks_to_torch(masks, self.device))
        return self._converted[1]

    def gd(self, k: int, lr: float) -> list:
        if _data_parallel():
            raise ValueError("full-batch gradient descent does not run data-parallel; only the mini-batch loop does")
        masks = self._next_masks(k)
        return t_models.train_gd(self.model, *self.tensors["train"], lr, k,
                                 masks=None if masks is None else [self._torch_masks(d) for d in masks])

    def fit(self, optimizer: str, lr: float, hyperparameters: dict, callback, checkpoint=None, **loop):
        """NetworkSide.fit: reference_torch.training.train; ``live`` is the module. In a process of
        an initialised torch.distributed group (experiments.ddp under torchrun) reference_torch.ddp
        .train instead: this rank's shards of the same batches, the same parameters."""
        self._refuse_masks_in_fit()
        opt = t_optim.make_optimizer(optimizer, self.model, lr=lr, **hyperparameters)
        X_dev, y_dev = self.tensors.get("test", (None, None))
        hooks = checkpoint.attach_torch(self.model, opt) if checkpoint else {}
        train = t_ddp.train if _data_parallel() else t_training.train
        return train(self.model, *self.tensors["train"], opt, X_dev=X_dev, y_dev=y_dev, callback=callback, **hooks,
                     **loop)

    def params(self) -> dict:
        return bridge.params_from_module(self.model)

    def state(self) -> dict:
        """model.state_dict(): parameters and buffers (batch norm's running statistics)."""
        return checkpoint.module_arrays(self.model)

    def load_state(self, arrays: dict, iteration: int) -> None:
        checkpoint.load_module_arrays(self.model, arrays)
        self.iteration = iteration

    def grads(self) -> dict:
        """As NumpyNet.grads: {dW1, db1 (or dgamma_l, dbeta_l), ...} in the NumPy layout."""
        params = dict(bridge.course_parameters(self.model))
        buffers = {name: b.detach().clone() for name, b in self.model.named_buffers()}
        masks = None if self.masks is None else self._torch_masks(self.masks(self.iteration))
        try:
            grads = torch.autograd.grad(self.model.cost(*self.tensors["train"], masks), list(params.values()))
        finally:
            with torch.no_grad():   # batch norm's running statistics (and its batch counter) put back
                for name, b in self.model.named_buffers():
                    b.copy_(buffers[name])
        return {"d" + key: bridge.to_numpy(g)[:, None] if g.ndim == 1 else bridge.to_numpy(g)
                for key, g in zip(params, grads)}

    def accuracy(self, split: str) -> float:
        return self.model.accuracy(*self.tensors[split])

    def scores(self) -> np.ndarray:
        with torch.no_grad():
            return bridge.to_numpy(self.model.scores(self.tensors["train"][0])).T

    def predict(self, X) -> np.ndarray:
        points = bridge.data_to_torch(X.astype(self.dtype, copy=False), device=self.device)
        return bridge.to_numpy(self.model.predict(points))

    EarlyStopping = t_early_stopping.EarlyStopping

    @property
    def live(self):
        return self.model

    def signal_norms(self):
        return t_signals.signal_norms(self.model, *self.tensors["train"])

    def cost_function(self, split="test"):
        if isinstance(split, str):
            return t_early_stopping.dev_cost(*self.tensors[split])
        data = split.astype(self.dtype)
        return t_early_stopping.dev_cost(*bridge.data_to_torch(data.X, data.Y, self.device))


def _data_parallel() -> bool:
    """Whether this process is a rank of an initialised torch.distributed group (experiments.ddp)."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


class NumpyLogistic(_Side):
    """The course's logistic regression from w = 0, b = 0 (scratch_numpy.logistic)."""

    impl = "numpy"

    def __init__(self, dataset, dtype: str):
        super().__init__(dataset, dtype)
        self.w, self.b = n_logistic.initialize_with_zeros(self.train.X.shape[0], dtype)

    def gd(self, k: int, lr: float) -> list:
        params, _, costs = n_logistic.optimize(self.w, self.b, self.train.X, self.train.Y, k, lr)
        self.w, self.b = params["w"], params["b"]
        return costs

    def params(self) -> dict:
        return {"w": self.w.copy(), "b": np.array([[self.b]], dtype=self.dtype)}

    def state(self) -> dict:
        """{w (n_x, 1), b ()}: b, a Python float at w's precision, as a scalar of the run's dtype."""
        return {"w": self.w.copy(), "b": np.array(self.b, dtype=self.dtype)}

    def load_state(self, arrays: dict, iteration: int) -> None:
        self.w, self.b = arrays["w"].copy(), float(arrays["b"])

    def grads(self) -> dict:
        grads, _ = n_logistic.propagate(self.w, self.b, self.train.X, self.train.Y)
        return {"dw": grads["dw"], "db": np.array([[grads["db"]]], dtype=self.dtype)}

    def accuracy(self, split: str) -> float:
        return float((self.predict(self.splits[split].X) == self.splits[split].Y[0]).mean())

    def predict(self, X) -> np.ndarray:
        return n_logistic.predict(self.w, self.b, X.astype(self.dtype, copy=False))[0]


class TorchLogistic(_Side):
    """nn.Linear(n_x, 1) from zeros with torch.optim.SGD (reference_torch.logistic)."""

    impl = "torch"

    def __init__(self, dataset, dtype: str, device):
        super().__init__(dataset, dtype)
        self.device = device
        self.model = t_logistic.LogisticRegression(self.train.X.shape[0], dtype=bridge.resolve_dtype(dtype),
                                                   device=device)
        self.tensors = {name: bridge.data_to_torch(s.X, s.Y, device) for name, s in self.splits.items()}

    def gd(self, k: int, lr: float) -> list:
        if _data_parallel():
            raise ValueError("full-batch gradient descent does not run data-parallel; only the mini-batch loop does")
        return t_logistic.optimize(self.model, *self.tensors["train"], k, lr)

    def params(self) -> dict:
        w, b = bridge.logistic_from_module(self.model)
        return {"w": w, "b": np.array([[b]], dtype=self.dtype)}

    def state(self) -> dict:
        """model.state_dict()."""
        return checkpoint.module_arrays(self.model)

    def load_state(self, arrays: dict, iteration: int) -> None:
        checkpoint.load_module_arrays(self.model, arrays)

    def grads(self) -> dict:
        grads, _ = t_logistic.propagate(self.model, *self.tensors["train"])
        return {"dw": bridge.to_numpy(grads["dw"]).T, "db": bridge.to_numpy(grads["db"]).reshape(1, 1)}

    def accuracy(self, split: str) -> float:
        X, y = self.tensors[split]
        return float((t_logistic.predict(self.model, X) == y).double().mean())

    def predict(self, X) -> np.ndarray:
        return bridge.to_numpy(t_logistic.predict(self.model, bridge.data_to_torch(X.astype(self.dtype, copy=False),
                                                                                   device=self.device)))


def network(trial, spec: NetSpec, params0: dict, dataset, masks=None):
    """The network of ``spec`` from ``params0`` on the trial's side, dtype and device; ``masks``:
    None, or iteration -> the dropout masks {D_l: (n_l, m)} both sides apply (see fixed_masks)."""
    if trial.impl == "numpy":
        return NumpyNet(spec, params0, dataset, trial.settings.dtype, masks)
    return TorchNet(spec, params0, dataset, trial.settings.dtype, trial.device, masks)


def course_dropout_masks(spec: NetSpec, m: int, seed: int, dtype: str) -> dict:
    """The course's draw: np.random.seed(seed), then D1 = np.random.rand(n_1, m) < keep_prob,
    D2 = np.random.rand(n_2, m) < keep_prob, ... (layer order), as 0./1. of ``dtype``;
    {D_l: (n_l, m)} for the layers with keep_prob < 1."""
    return spec.numpy().draw_masks(m, np.random.RandomState(seed), dtype)


def fixed_masks(masks: dict):
    """iteration -> ``masks`` at every iteration: the course's forward_propagation_with_dropout
    calls np.random.seed(1) at the start of every pass, so its D1, D2 never change."""
    return lambda iteration: masks


def logistic(trial, dataset):
    """Logistic regression from zeros on the trial's side, dtype and device."""
    if trial.impl == "numpy":
        return NumpyLogistic(dataset, trial.settings.dtype)
    return TorchLogistic(dataset, trial.settings.dtype, trial.device)
