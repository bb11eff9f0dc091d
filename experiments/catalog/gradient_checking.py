"""Gradient checking (course 2, week 1): the two-sided difference passes a correct backward pass
and catches a planted bug, and the per-tensor differences say where it is.

A [2, 20, 3, 1] network (ReLU hidden layers, sigmoid output) on the course's 300 moons points,
at He weights from --seed and small random biases (randn * 0.1, drawn after the weights: with
b = 0 a unit whose inputs are all 0 sits exactly on ReLU's kink, where the two-sided difference
sees half the slope and a correct gradient reads "careful"). No training: one check per variant,

    correct            backprop (NumPy) and autograd (torch) as they are
    missing_1_over_m   layer 2's weight gradient forgets the cost's 1/m: dW2 = dZ2 A1^T, m times
                       the right one. NumPy: planted in the gradients the network's backward
                       returns; torch: layer 2 is an nn.Linear whose weight goes through an
                       autograd Function that is the identity forward and multiplies its
                       gradient by the batch size m backward.

each with the course's check (scratch_numpy.gradcheck / reference_torch.gradcheck.gradient_check:
eps = 1e-7, difference = ||g - g_num|| / (||g|| + ||g_num||) over all N parameters, and per
tensor), read with the course's thresholds (< 1e-7 good, >= 1e-3 bug), and the directional
check (the slope along one random unit direction, drawn with NumPy and shared, and along its
restriction to each tensor: 2 (K + 1) evaluations for K tensors instead of 2N + 1).

Metrics: ``difference``; ``parameters`` N; ``flagged_tensors``, how many gradient tensors read
"bug" on their own; ``flagged_layer`` and ``flagged_weight``, the layer of the first flagged
tensor and 1 when it is a dW (0, 0 when none is flagged); ``directional_flagged_layer``, the
same from the directional check; on torch also ``autograd_gradcheck_passed`` (torch's own
torch.autograd.gradcheck on the same model). Gradient checking is float64 only (in float32 the
step eps is lost to rounding), so this experiment runs in float64 whatever --dtype says.
"""

import re

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from experiments import datasets, sides
from experiments.runner import Claim, Experiment, Outcome, Variant
from reference_torch import bridge
from reference_torch import gradcheck as t_gradcheck
from scratch_numpy import gradcheck as n_gradcheck
from scratch_numpy.records import CAREFUL, GOOD

SPEC = sides.NetSpec((2, 20, 3, 1), "relu", "sigmoid")
EPSILON = 1e-7   # the course's
DTYPE = "float64"
BUGS = {"correct": None, "missing_1_over_m": 2}   # variant: the layer whose dW forgets the 1/m


def variants(settings):
    base = {"layers": "[2, 20, 3, 1]", "init": "he", "bias_scale": 0.1, "seed": settings.seed,
            "epsilon": EPSILON, "dtype": DTYPE}
    return [Variant(name, {**base, "bug": "none" if layer is None else f"dW{layer} without 1/m"})
            for name, layer in BUGS.items()]


def initial_params(seed: int) -> dict:
    """He weights, then biases randn * 0.1, from one RandomState(seed) (W1, W2, W3, then b1, b2, b3)."""
    rng = np.random.RandomState(seed)
    params = SPEC.init_params("he", rng, DTYPE)
    for key in [k for k in params if k.startswith("b")]:
        params[key] = rng.randn(*params[key].shape) * 0.1
    return params


def numpy_loss_without_one_over_m(network, layer: int):
    """loss(params, X, Y) -> (J, grads) of ``network`` with dW_layer = dZ A_prev^T (the 1/m forgotten),
    which is m times backprop's (1/m) dZ A_prev^T."""
    def loss(params, X, Y):
        cost, grads = network.loss(params, X, Y)
        return cost, {**grads, f"dW{layer}": grads[f"dW{layer}"] * X.shape[1]}
    return loss


class _ForgetsOneOverM(torch.autograd.Function):
    """W -> W forward; backward multiplies the incoming gradient by the batch size m, which undoes
    the 1/m that the mean in the cost put there."""

    @staticmethod
    def forward(ctx, W, m):
        ctx.m = m
        return W.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.m, None


class LinearWithoutOneOverM(nn.Linear):
    """nn.Linear, Z = A W^T + b (A (m, n_prev)), whose weight gradient is m times autograd's: the
    layer forgot the cost's 1/m."""

    def forward(self, A):
        return F.linear(A, _ForgetsOneOverM.apply(self.weight, A.shape[0]), self.bias)


def plant_torch_bug(model, layer: int) -> None:
    """Replace layer ``layer``'s nn.Linear of ``model`` by a LinearWithoutOneOverM of the same shape
    (its parameters are copied in afterwards, by the bridge)."""
    old = model.linears[layer - 1]
    model.linears[layer - 1] = LinearWithoutOneOverM(old.in_features, old.out_features, bias=old.bias is not None,
                                                     dtype=old.weight.dtype, device=old.weight.device)


def flagged(faulty: tuple) -> tuple:
    """(layer, is a weight) of the first flagged tensor name such as 'dW2'; (0, 0) when none is."""
    if not faulty:
        return 0, 0
    return int(re.search(r"\d+$", faulty[0]).group()), int(faulty[0].startswith("dW"))


def numpy_checks(trial, params, direction):
    network, X, Y = SPEC.numpy(), trial.data.train.X, trial.data.train.Y
    layer = BUGS[trial.variant.name]
    loss = network if layer is None else numpy_loss_without_one_over_m(network, layer)
    report = n_gradcheck.gradient_check(loss, params, X, Y, epsilon=EPSILON)
    return report, n_gradcheck.directional_check(loss, params, X, Y, direction=direction), {}


def torch_checks(trial, params, direction):
    model = SPEC.torch(DTYPE, trial.device)
    layer = BUGS[trial.variant.name]
    if layer is not None:
        plant_torch_bug(model, layer)
    bridge.params_to_module(params, model)
    X, y = bridge.data_to_torch(trial.data.train.X, trial.data.train.Y, trial.device)
    report = t_gradcheck.gradient_check(model, X, y, epsilon=EPSILON)
    directional = t_gradcheck.directional_check(model, X, y, direction)
    autograd = t_gradcheck.autograd_gradcheck(model, X, y)
    trial.logger.text("autograd_gradcheck", f"passed: {autograd.passed}; faulty: {autograd.faulty}")
    return report, directional, {"autograd_gradcheck_passed": int(autograd.passed)}


def run(trial):
    params = initial_params(trial.settings.seed)
    direction = n_gradcheck.random_direction({k: v.shape for k, v in params.items()}, trial.settings.seed)
    checks = numpy_checks if trial.impl == "numpy" else torch_checks
    report, directional, extra = checks(trial, params, direction)
    layer, weight = flagged(report.faulty)
    metrics = {"difference": report.difference, "parameters": sum(v.size for v in params.values()),
               "flagged_tensors": len(report.faulty), "flagged_layer": layer, "flagged_weight": weight,
               "directional_flagged_layer": flagged(directional.faulty)[0], **extra}
    metrics.update({f"difference_{name}": difference for name, difference in report.per_parameter.items()})
    trial.logger.text("gradcheck_report", f"```\n{report}\n\n{directional}\n```")
    return Outcome(metrics, params={k: v.copy() for k, v in report.analytic.items()})


EXPERIMENT = Experiment(
    name="gradient_checking",
    claim="the two-sided difference passes a correct backward (< 1e-7) and catches a planted bug (> 1e-3) in dW2",
    dataset="moons (course_toy_sets.h5)",
    variants=variants,
    run=run,
    load=lambda settings: datasets.toy_set("moons", settings.data_dir),
    claims=(
        Claim("the correct backward passes: difference below 1e-7, no tensor flagged", ("correct",),
              lambda m: m["correct"]["difference"] < GOOD and m["correct"]["flagged_tensors"] == 0),
        Claim("the planted bug is caught: difference at least 1e-3", ("missing_1_over_m",),
              lambda m: m["missing_1_over_m"]["difference"] >= CAREFUL),
        Claim("the check names the buggy tensor, dW2, and only it (both the full and the directional check)",
              ("missing_1_over_m",),
              lambda m: (m["missing_1_over_m"]["flagged_tensors"], m["missing_1_over_m"]["flagged_layer"],
                         m["missing_1_over_m"]["flagged_weight"],
                         m["missing_1_over_m"]["directional_flagged_layer"]) == (1, 2, 1, 2)),
    ),
)
