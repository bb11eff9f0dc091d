"""The NumPy and torch implementations behind one small interface, so that every trainer and
experiment is written once and runs either side.

    side.gd(k, lr) -> costs         k more full-batch gradient-descent iterations
                                    (models.train_gd, logistic.optimize of that side)
    side.fit(...) -> History        the shared mini-batch loop (training.train of that side)
    side.params() -> {W1: ...}      current parameters in the NumPy layout (b as (n, 1))
    side.grads() -> {dW1: ...}      gradients on the whole training set, NumPy layout
    side.accuracy(split) -> float   split "train" or "test"
    side.scores() -> (n_L, m)       the last layer's Z_L on the training set (networks only)
    side.predict(X) -> (k,)         labels of points X (n_x, k) given in the NumPy layout

Both sides start from the same parameters (drawn once with NumPy, copied into
torch by reference_torch.bridge) and read the same data; the torch side holds
it batch-first on its device, in the run's dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from reference_torch import bridge
from reference_torch import logistic as t_logistic
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from reference_torch import training as t_training
from scratch_numpy import logistic as n_logistic
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import training as n_training


@dataclass(frozen=True)
class NetSpec:
    """A fully connected network: layer sizes, hidden activation, output and regularisation
    (L2 strength, keep probabilities of the hidden layers, batch norm), the same on both sides
    (see scratch_numpy.models.Network)."""

    layer_dims: tuple
    hidden: str = "relu"
    output: str = "sigmoid"
    l2: float = 0.0
    keep_probs: tuple | None = None
    batch_norm: bool = False

    @property
    def options(self) -> dict:
        return {"l2": self.l2, "keep_probs": self.keep_probs, "batch_norm": self.batch_norm}

    def numpy(self) -> n_models.Network:
        return n_models.Network(self.layer_dims, self.hidden, self.output, **self.options)

    def torch(self, dtype: str, device) -> t_models.Network:
        return t_models.Network(self.layer_dims, self.hidden, self.output, dtype=bridge.resolve_dtype(dtype),
                                device=device, **self.options)

    def init_params(self, method: str, rng, dtype: str) -> dict:
        """The course's draw: scratch_numpy.init with a seed or a RandomState (np.random.seed)."""
        return self.numpy().init_params(method, rng, dtype)


class _Side:
    """What every side holds: the data's splits ("train", and "test" when there is one) in the run's dtype."""

    def __init__(self, dataset, dtype: str):
        self.splits = {"train": dataset.train.astype(dtype)}
        if dataset.test is not None:
            self.splits["test"] = dataset.test.astype(dtype)
        self.dtype = dtype

    @property
    def train(self):
        return self.splits["train"]


class NumpyNet(_Side):
    """scratch_numpy.models.Network with its parameter dict, trained by train_gd or training.train."""

    def __init__(self, spec: NetSpec, params0: dict, dataset, dtype: str):
        super().__init__(dataset, dtype)
        self.net = spec.numpy()
        self.params_ = {k: v.astype(dtype) for k, v in params0.items()}

    def gd(self, k: int, lr: float) -> list:
        self.params_, costs = n_models.train_gd(self.net, self.params_, self.train.X, self.train.Y, lr, k)
        return costs

    def fit(self, optimizer: str, lr: float, hyperparameters: dict, callback, **loop):
        opt = n_optim.make_optimizer(optimizer, self.params_, lr=lr, **hyperparameters)
        test = self.splits.get("test")
        return n_training.train(self.net, self.params_, self.train.X, self.train.Y, opt,
                                X_dev=test and test.X, Y_dev=test and test.Y,
                                callback=lambda epoch, history, _: callback(epoch, history), **loop)

    def params(self) -> dict:
        return {k: v.copy() for k, v in self.params_.items()}

    def grads(self) -> dict:
        return self.net.loss(self.params_, self.train.X, self.train.Y)[1]

    def accuracy(self, split: str) -> float:
        return self.net.accuracy(self.params_, self.splits[split].X, self.splits[split].Y)

    def scores(self) -> np.ndarray:
        _, caches = self.net.forward(self.params_, self.train.X)
        return caches[-1].activation.Z

    def predict(self, X) -> np.ndarray:
        return self.net.predict(self.params_, X.astype(self.dtype, copy=False))[0]


class TorchNet(_Side):
    """reference_torch.models.Network on the device, trained by train_gd or training.train."""

    def __init__(self, spec: NetSpec, params0: dict, dataset, dtype: str, device):
        super().__init__(dataset, dtype)
        self.device = device
        self.model = spec.torch(dtype, device)
        bridge.params_to_module({k: v.astype(dtype) for k, v in params0.items()}, self.model)
        self.tensors = {name: bridge.data_to_torch(s.X, s.Y, device) for name, s in self.splits.items()}

    def gd(self, k: int, lr: float) -> list:
        return t_models.train_gd(self.model, *self.tensors["train"], lr, k)

    def fit(self, optimizer: str, lr: float, hyperparameters: dict, callback, **loop):
        opt = t_optim.make_optimizer(optimizer, self.model, lr=lr, **hyperparameters)
        X_dev, y_dev = self.tensors.get("test", (None, None))
        return t_training.train(self.model, *self.tensors["train"], opt, X_dev=X_dev, y_dev=y_dev,
                                callback=lambda epoch, history, _: callback(epoch, history), **loop)

    def params(self) -> dict:
        return bridge.params_from_module(self.model)

    def grads(self) -> dict:
        layers = [(l, layer) for l, layer in enumerate(self.model.linears, start=1)]
        tensors = [p for _, layer in layers for p in (layer.weight, layer.bias)]
        grads = torch.autograd.grad(self.model.cost(*self.tensors["train"]), tensors)
        out = {}
        for (l, _), dW, db in zip(layers, grads[0::2], grads[1::2]):
            out[f"dW{l}"], out[f"db{l}"] = bridge.to_numpy(dW), bridge.to_numpy(db)[:, None]
        return out

    def accuracy(self, split: str) -> float:
        return self.model.accuracy(*self.tensors[split])

    def scores(self) -> np.ndarray:
        with torch.no_grad():
            return bridge.to_numpy(self.model.scores(self.tensors["train"][0])).T

    def predict(self, X) -> np.ndarray:
        points = bridge.data_to_torch(X.astype(self.dtype, copy=False), device=self.device)
        return bridge.to_numpy(self.model.predict(points))


class NumpyLogistic(_Side):
    """The course's logistic regression from w = 0, b = 0 (scratch_numpy.logistic)."""

    def __init__(self, dataset, dtype: str):
        super().__init__(dataset, dtype)
        self.w, self.b = n_logistic.initialize_with_zeros(self.train.X.shape[0], dtype)

    def gd(self, k: int, lr: float) -> list:
        params, _, costs = n_logistic.optimize(self.w, self.b, self.train.X, self.train.Y, k, lr)
        self.w, self.b = params["w"], params["b"]
        return costs

    def params(self) -> dict:
        return {"w": self.w.copy(), "b": np.array([[self.b]], dtype=self.dtype)}

    def grads(self) -> dict:
        grads, _ = n_logistic.propagate(self.w, self.b, self.train.X, self.train.Y)
        return {"dw": grads["dw"], "db": np.array([[grads["db"]]], dtype=self.dtype)}

    def accuracy(self, split: str) -> float:
        return float((self.predict(self.splits[split].X) == self.splits[split].Y[0]).mean())

    def predict(self, X) -> np.ndarray:
        return n_logistic.predict(self.w, self.b, X.astype(self.dtype, copy=False))[0]


class TorchLogistic(_Side):
    """nn.Linear(n_x, 1) from zeros with torch.optim.SGD (reference_torch.logistic)."""

    def __init__(self, dataset, dtype: str, device):
        super().__init__(dataset, dtype)
        self.device = device
        self.model = t_logistic.LogisticRegression(self.train.X.shape[0], dtype=bridge.resolve_dtype(dtype),
                                                   device=device)
        self.tensors = {name: bridge.data_to_torch(s.X, s.Y, device) for name, s in self.splits.items()}

    def gd(self, k: int, lr: float) -> list:
        return t_logistic.optimize(self.model, *self.tensors["train"], k, lr)

    def params(self) -> dict:
        w, b = bridge.logistic_from_module(self.model)
        return {"w": w, "b": np.array([[b]], dtype=self.dtype)}

    def grads(self) -> dict:
        grads, _ = t_logistic.propagate(self.model, *self.tensors["train"])
        return {"dw": bridge.to_numpy(grads["dw"]).T, "db": bridge.to_numpy(grads["db"]).reshape(1, 1)}

    def accuracy(self, split: str) -> float:
        X, y = self.tensors[split]
        return float((t_logistic.predict(self.model, X) == y).double().mean())

    def predict(self, X) -> np.ndarray:
        return bridge.to_numpy(t_logistic.predict(self.model, bridge.data_to_torch(X.astype(self.dtype, copy=False),
                                                                                   device=self.device)))


def network(trial, spec: NetSpec, params0: dict, dataset):
    """The network of ``spec`` from ``params0`` on the trial's side, dtype and device."""
    if trial.impl == "numpy":
        return NumpyNet(spec, params0, dataset, trial.settings.dtype)
    return TorchNet(spec, params0, dataset, trial.settings.dtype, trial.device)


def logistic(trial, dataset):
    """Logistic regression from zeros on the trial's side, dtype and device."""
    if trial.impl == "numpy":
        return NumpyLogistic(dataset, trial.settings.dtype)
    return TorchLogistic(dataset, trial.settings.dtype, trial.device)
