"""Bias/variance diagnosis of a trained network, measured by each side."""

from __future__ import annotations

import dataclasses

import numpy as np

from reference_torch import bridge
from reference_torch import diagnosis as t_diagnosis
from scratch_numpy import diagnosis as n_diagnosis
from scratch_numpy import models as n_models

from ..checker.harness import compare
from .common import EXACT, case
from .early_stopping import rising_pair
from .mutant import Mutant, returning


def diagnosis(*, dtype="float64", device="cpu", seed=1, epochs=40):
    """Train/dev error, avoidable bias and variance of the early-stopping set-up's network after
    ``epochs`` steps of NumPy gradient descent (lr 0.5), measured by each side (Bayes error 0)."""
    net, params, data, model, data_t = rising_pair(dtype, device, seed)
    params, _ = n_models.train_gd(net, params, *data[:2], 0.5, epochs)
    bridge.params_to_module(params, model)
    found = n_diagnosis.diagnose_network(net, params, *data)
    found_t = t_diagnosis.diagnose_model(model, *data_t)

    def rows(d):   # no name starts with "d" (that would file it under gradients)
        return {"error (train)": np.asarray(d.train_error), "error (dev)": np.asarray(d.dev_error),
                "avoidable bias": np.asarray(d.avoidable_bias), "variance": np.asarray(d.variance)}
    return compare(rows(found), rows(found_t), tolerance=EXACT, label=f"bias/variance diagnosis: {found.case}")


CASES = [("bias/variance diagnosis of a trained net", case(diagnosis))]

MUTANTS = {
    "bias/variance diagnosis of a trained net": [
        Mutant("numpy", "scratch_numpy.diagnosis.diagnose", "variance measured against Bayes (dev - Bayes)",
               returning(lambda d: dataclasses.replace(d, variance=d.dev_error - d.bayes_error))),
        Mutant("numpy", "scratch_numpy.diagnosis.diagnose_network", "train and dev sets swapped",
               lambda original: lambda net, params, X, Y, X_dev, Y_dev, *rest, **kw:
               original(net, params, X_dev, Y_dev, X, Y, *rest, **kw)),
        Mutant("torch", "reference_torch.diagnosis.diagnose_model", "dev error measured on the training set",
               lambda original: lambda model, X, y, X_dev, y_dev, *rest, **kw:
               original(model, X, y, X, y, *rest, **kw))],
}
