"""The project's own NumPy layers, checked by the same tool: every one must pass.

``scratch_numpy.activations`` (against ``reference_torch.activations``, transposed to batch-first) with
the kink probe; ``scratch_numpy.layers`` linear and ``scratch_numpy.batchnorm`` in the course's convention
(parameter gradients carry 1/m); ``scratch_numpy.dropout`` with a mask injected by the check, in training
and evaluation. The wrappers only adapt the calling conventions (mode=, state=) to each layer's own.
"""

import torch.nn.functional as F

from examples.cases import Case
from parity_tests.checker.harness import Mask
from reference_torch import activations as torch_activations
from reference_torch import dropout as torch_dropout_module
from scratch_numpy import activations, batchnorm, dropout, layers

KEEP_PROB = 0.7
EWA_BETA = 0.9  # scratch_numpy.batchnorm's default beta_momentum; torch's momentum is 1 - beta


def torch_activation(name):
    """g(Z) by the torch twin, for a column-layout Z."""
    return lambda Z: torch_activations.apply(name, Z.T).T


def torch_linear(A_prev, W, b):
    return W @ A_prev + b


def dropout_forward(A, D, keep_prob, mode):
    return dropout.dropout_forward(A, keep_prob, mask=D, train=mode == "train")


def torch_dropout(A, D, keep_prob, mode):
    return torch_dropout_module.dropout(A.T, keep_prob, mask=D.T, train=mode == "train").T


def batchnorm_forward(Z, gamma, beta, state, mode):
    """state is the layer's ``running`` dict, {"mean", "var"}, updated in training."""
    return batchnorm.batchnorm_forward(Z, gamma, beta, state, train=mode == "train")


def torch_batchnorm(Z, gamma, beta, state, mode):
    """F.batch_norm, as nn.BatchNorm1d calls it, on the batch-first Z^T; updates state in place."""
    return F.batch_norm(Z.T, state["mean"].view(-1), state["var"].view(-1), gamma.view(-1), beta.view(-1),
                        training=mode == "train", momentum=1 - EWA_BETA, eps=1e-5).T


DROPOUT = dict(oracle=torch_dropout, inputs={"A": (4, 6)}, random={"D": Mask((4, 6), KEEP_PROB)},
               fixed={"keep_prob": KEEP_PROB})
BATCHNORM = dict(oracle=torch_batchnorm, inputs={"Z": (4, 6)}, params={"gamma": (4, 1), "beta": (4, 1)},
                 state=batchnorm.init_running(4), grad_convention="course")

CASES = [
    *(Case(f"scratch_numpy.activations {name}", activations.FORWARD[name], activations.BACKWARD[name],
           dict(oracle=torch_activation(name), inputs={"Z": (4, 6)}, probe_kinks=True))
      for name in activations.NAMES),
    Case("scratch_numpy.layers linear", layers.linear_forward, layers.linear_backward,
         dict(oracle=torch_linear, inputs={"A_prev": (4, 6)}, params={"W": (3, 4), "b": (3, 1)},
              grad_convention="course", probe_kinks=True)),
    *(Case(f"scratch_numpy.dropout, {mode}", dropout_forward, dropout.dropout_backward, {**DROPOUT, "mode": mode})
      for mode in ("train", "eval")),
    *(Case(f"scratch_numpy.batchnorm, {mode}", batchnorm_forward, batchnorm.batchnorm_backward,
           {**BATCHNORM, "mode": mode}) for mode in ("train", "eval")),
]
