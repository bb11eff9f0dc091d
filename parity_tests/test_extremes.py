"""Numerical extremes (issue 7, item 2): logits of magnitude 1e4, probabilities exactly 0 and 1,
softmax over huge gaps, batch norm on a constant batch, very deep networks.

The contract: costs and gradients stay finite wherever the mathematics is finite, and the NumPy
and torch sides agree wherever both are defined (float64 to 1e-12 relative, float32 to 1e-5,
relative to the tensor's largest entry). Where PyTorch deliberately departs from the textbook
(BCELoss clamps each log at -100 and x(1 - x) at 1e-12 in its gradient), the difference is
measured and asserted here, not papered over; RELIABILITY.md lists the values.

pytest.ini turns every RuntimeWarning into an error, so an overflow or 0 * inf inside NumPy fails
these tests rather than passing as a silent NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from reference_torch import activations as th_act
from reference_torch import batchnorm as th_bn
from reference_torch import bridge
from reference_torch import logistic as th_log
from reference_torch import losses as th_losses
from reference_torch import models as th_models
from reference_torch import normalisation as th_norm
from reference_torch import optim as th_optim
from reference_torch import signals as th_sig
from scratch_numpy import activations as np_act
from scratch_numpy import batchnorm as np_bn
from scratch_numpy import logistic as np_log
from scratch_numpy import losses as np_losses
from scratch_numpy import models as np_models
from scratch_numpy import normalisation as np_norm
from scratch_numpy import optim as np_optim
from scratch_numpy import signals as np_sig
from scratch_numpy import validation as np_validation

DTYPES = ["float64", "float32"]
TH = {"float64": torch.float64, "float32": torch.float32}
RTOL = {"float64": 1e-12, "float32": 1e-5}
LOG2 = math.log(2.0)


def agree(actual, expected, dtype, what="", *, rtol=None):
    """Same shape, same finite pattern, |a - e| <= rtol * max|e| (the parity harness's verdict)."""
    a = np.asarray(actual.detach().cpu().numpy() if isinstance(actual, torch.Tensor) else actual, dtype=np.float64)
    e = np.asarray(expected.detach().cpu().numpy() if isinstance(expected, torch.Tensor) else expected,
                   dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} vs {e.shape}"
    assert np.isfinite(a).all() and np.isfinite(e).all(), f"{what}: not finite\n{a}\n{e}"
    scale = max(np.abs(e).max(), np.abs(a).max(), np.finfo(np.float64).tiny)
    bound = (rtol or RTOL[dtype]) * scale
    assert np.abs(a - e).max() <= bound, f"{what}: max |a - e| = {np.abs(a - e).max():.3g} > {bound:.3g}\n{a}\n{e}"


def leaf(a, dtype):
    return torch.tensor(np.array(a, dtype=dtype), requires_grad=True)


# =====================================================================================
# 1. Logits of magnitude 1e4
# =====================================================================================

LOGITS = [[1e4, -1e4, 1e4, -1e4, 0.0, 50.0]]
LABELS = [[1, 0, 0, 1, 1, 0]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_at_1e4_is_finite_exact_and_agrees(dtype):
    """Right at 1e4 costs 0, wrong costs exactly |z| = 1e4, z = 0 costs log 2; dZ = sigmoid(z) - y is
    0, 0, 1, -1, -0.5 and sigmoid(50) - 0. Both sides, both dtypes."""
    Z, Y = np.array(LOGITS, dtype=dtype), np.array(LABELS)
    m = Z.shape[1]
    expected_cost = (1e4 + 1e4 + LOG2 + 50.0 + math.log1p(math.exp(-50.0))) / m
    expected_dZ = [[0.0, 0.0, 1.0, -1.0, -0.5, 1 / (1 + math.exp(-50.0))]]

    cost, dZ = np_losses.binary_cross_entropy_with_logits(Z, Y)
    Zt = leaf(Z.T, dtype)
    ct = th_losses.binary_cross_entropy_with_logits(Zt, torch.tensor(Y[0]))
    ct.backward()
    assert dZ.dtype == np.dtype(dtype) and Zt.grad.dtype == TH[dtype]
    agree(cost, expected_cost, dtype, "numpy cost")
    agree(ct, expected_cost, dtype, "torch cost")
    agree(dZ, expected_dZ, dtype, "numpy dZ")
    agree(m * Zt.grad.T, expected_dZ, dtype, "torch dZ")


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_and_svm_at_1e4_agree(dtype):
    """Scores with gaps of 1e4 and 2e4: a label on the -1e4 class costs 2e4 (not inf), the
    gradient is onehot(argmax) - onehot(y) exactly; the SVM's margins are 2e4 + 1."""
    S = np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 0.0], [-1e4, 0.0, 0.0]], dtype=dtype)   # (C, m)
    Y = np.array([[2, 1, 0]])
    m = S.shape[1]
    cost, dS = np_losses.softmax_cross_entropy(S, Y)
    St = leaf(S.T, dtype)
    ct = th_losses.softmax_cross_entropy(St, torch.tensor(Y[0]))
    ct.backward()
    expected = (2e4 + 0.0 + math.log(3.0)) / m
    agree(cost, expected, dtype, "numpy CE")
    agree(ct, expected, dtype, "torch CE")
    expected_dS = np.array([[1.0, 0.0, 1 / 3 - 1], [0.0, 0.0, 1 / 3], [-1.0, 0.0, 1 / 3]])
    agree(dS, expected_dS, dtype, "numpy dscores")
    agree(m * St.grad.T, expected_dS, dtype, "torch dscores")

    cost, dS = np_losses.svm_hinge(S, Y)
    St = leaf(S.T, dtype)
    ct = th_losses.svm_hinge(St, torch.tensor(Y[0]))
    ct.backward()
    # column 0: y = 2 (score -1e4): margins 2e4 + 1 and 1e4 + 1; column 1: none; column 2: 1 + 1
    agree(cost, (2e4 + 1 + 1e4 + 1 + 2.0) / m, dtype, "numpy SVM")
    agree(ct, cost, dtype, "torch SVM")
    agree(m * St.grad.T, dS, dtype, "SVM dscores")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", np_act.NAMES)
def test_activations_at_1e4_are_finite_and_agree(name, dtype):
    """Every activation and its backward pass at +-1e4 (and 0): finite, and the sides agree;
    sigmoid is exactly 0 and 1 there and its derivative exactly 0."""
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [3.0, -3.0, -1e4]], dtype=dtype)
    dA = np.array([[1.0, -2.0, 0.5], [0.25, 1.0, -1.0], [2.0, 0.5, 1.5]], dtype=dtype)
    A, cache = np_act.FORWARD[name](Z)
    dZ = np_act.BACKWARD[name](dA, cache)
    Zt = leaf(Z.T, dtype)
    At = th_act.apply(name, Zt)
    agree(A, At.T, dtype, f"{name} forward")
    if name != "hardmax":      # one_hot has no gradient: NumPy's zeros are checked below
        At.backward(torch.tensor(dA.T))
        agree(dZ, Zt.grad.T, dtype, f"{name} backward")
    else:
        assert not dZ.any()
    if name == "sigmoid":
        assert A[0, 0] == 1.0 and A[0, 1] == 0.0 and dZ[0, 0] == 0.0 and dZ[0, 1] == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_network_and_logistic_regression_with_logits_of_1e4(dtype):
    """A [2, 3, 1] network and logistic regression whose logits reach +-1e4: the cost (up to 1e4 per
    wrong example) and every gradient are finite and agree between the sides."""
    X = np.array([[1.0, -1.0, 2.0, -2.0], [0.5, 0.5, -0.5, 1.0]], dtype=dtype)
    Y = np.array([[0, 1, 1, 0]])
    net = np_models.Network([2, 3, 1], "relu", "sigmoid")
    params = {"W1": np.array([[100.0, 0.0], [0.0, 100.0], [-100.0, 50.0]], dtype=dtype),
              "b1": np.zeros((3, 1), dtype=dtype),
              "W2": np.array([[50.0, -50.0, 50.0]], dtype=dtype), "b2": np.zeros((1, 1), dtype=dtype)}
    AL, caches = net.forward(params, X)
    ZL = caches[-1].activation.Z
    assert np.abs(ZL).max() >= 1e4
    cost, grads = net.loss(params, X, Y)
    model = th_models.Network([2, 3, 1], "relu", "sigmoid", dtype=TH[dtype])
    bridge.params_to_module(params, model)
    ct = model.cost(torch.tensor(X.T), torch.tensor(Y[0]))
    ct.backward()
    assert math.isfinite(cost) and cost > 1e3
    agree(cost, ct, dtype, "network cost")
    for k, g in bridge.grads_from_module(model).items():
        agree(grads[k], g, dtype, k)

    w = np.array([[5e3], [-5e3]], dtype=dtype)
    grads, cost = np_log.propagate(w, 0.0, X, Y)
    lr = th_log.LogisticRegression(2, dtype=TH[dtype])
    bridge.logistic_to_module(w, 0.0, lr)
    tgrads, tcost = th_log.propagate(lr, torch.tensor(X.T), torch.tensor(Y[0]))
    assert math.isfinite(cost) and cost > 1e3
    agree(cost, tcost, dtype, "logistic cost")
    agree(grads["dw"], tgrads["dw"].T, dtype, "dw")
    agree(grads["db"], tgrads["db"][0], dtype, "db")


# =====================================================================================
# 2. Probabilities exactly 0 and 1: the textbook on the NumPy side, BCELoss's clamps on torch's
# =====================================================================================

SATURATED_AL = [[0.0, 1.0, 0.0, 1.0]]
SATURATED_Y = [[0, 1, 1, 0]]            # right, right, wrong, wrong


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_textbook_at_exact_0_and_1_never_nan(dtype):
    """NumPy keeps the textbook: a right saturated prediction costs exactly 0 with dAL = +-1 (the
    derivative of -log(1 - a) at a = 0 is 1), a wrong one costs +inf with dAL = -+inf. No NaN, no
    RuntimeWarning (0 * log 0 is never formed)."""
    AL, Y = np.array(SATURATED_AL, dtype=dtype), np.array(SATURATED_Y)
    cost, dAL = np_losses.binary_cross_entropy(AL[:, :2], Y[:, :2])
    assert cost == 0.0
    np.testing.assert_array_equal(dAL, [[1.0, -1.0]])
    cost, dAL = np_losses.binary_cross_entropy(AL, Y)
    assert cost == math.inf
    np.testing.assert_array_equal(dAL, [[1.0, -1.0, -np.inf, np.inf]])
    assert dAL.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_torch_clamps_where_the_textbook_is_infinite(dtype):
    """The documented difference (CONVENTIONS.md section 5), measured: torch's BCELoss clamps each
    log at -100, so a wrong saturated example costs exactly 100 (the batch: (0 + 0 + 100 + 100) / 4
    = 50); its gradient divides by max(a(1 - a), 1e-12), so the wrong examples' per-example
    gradient is -+1e12 where the textbook's is -+inf, and the RIGHT saturated examples get 0
    where the textbook's derivative is +-1."""
    AL, Y = np.array(SATURATED_AL, dtype=dtype), np.array(SATURATED_Y)
    m = AL.shape[1]
    At = leaf(AL.T, dtype)
    ct = th_losses.binary_cross_entropy(At, torch.tensor(Y[0]))
    ct.backward()
    assert ct.item() == 50.0
    grad = (m * At.grad.T)[0].tolist()
    assert grad[:2] == [0.0, 0.0] and grad[2:] == pytest.approx([-1e12, 1e12], rel=1e-8)
    _, dAL = np_losses.binary_cross_entropy(AL, Y)
    assert dAL.tolist() == [[1.0, -1.0, -math.inf, math.inf]]


def test_bce_torch_clamp_changes_finite_costs_below_e_to_the_minus_100():
    """The clamp is not only at 0: any a < e^-100 = 3.7e-44 with y = 1 costs 100 in torch, while
    -log(1e-50) = 115.129... is finite and is what NumPy returns. Above the clamp they agree:
    a = 1e-13 costs 29.93 on both sides (the gradient there still differs, -1e12 vs -1e13, because
    a(1 - a) = 1e-13 < 1e-12 is clamped)."""
    cost, dAL = np_losses.binary_cross_entropy(np.array([[1e-50]]), np.array([[1]]))
    assert cost == pytest.approx(50 * math.log(10), rel=1e-15) and dAL[0, 0] == -1e50
    assert float(th_losses.binary_cross_entropy(torch.tensor([[1e-50]], dtype=torch.float64),
                                                torch.tensor([1]))) == 100.0
    At = leaf([[1e-13]], "float64")
    ct = th_losses.binary_cross_entropy(At, torch.tensor([1]))
    ct.backward()
    cost, dAL = np_losses.binary_cross_entropy(np.array([[1e-13]]), np.array([[1]]))
    assert ct.item() == pytest.approx(cost, rel=1e-15) == pytest.approx(13 * math.log(10), rel=1e-12)
    assert At.grad.item() == pytest.approx(-1e12, rel=1e-8) and dAL[0, 0] == pytest.approx(-1e13, rel=1e-12)


def test_bce_agrees_off_the_clamps():
    """Between the clamps (a(1 - a) >= 1e-12, log a >= -100) the two sides agree to the last bits,
    including a = 1e-6 and 1 - 1e-6."""
    AL = np.array([[1e-6, 1 - 1e-6, 1e-6, 1 - 1e-6, 0.5]])
    Y = np.array([[1, 0, 0, 1, 1]])
    cost, dAL = np_losses.binary_cross_entropy(AL, Y)
    At = leaf(AL.T, "float64")
    ct = th_losses.binary_cross_entropy(At, torch.tensor(Y[0]))
    ct.backward()
    agree(cost, ct, "float64", "cost")
    agree(dAL, AL.shape[1] * At.grad.T, "float64", "dAL", rtol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
def test_saturated_activations_backward_are_exact_zeros(dtype):
    """sigmoid'(s) = s(1 - s) at s = 0 and 1 is exactly 0, softmax's backward on an exactly one-hot
    output is exactly 0 (every Jacobian entry vanishes), on both sides."""
    Z = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=dtype)
    dA = np.array([[3.0, -1.0], [2.0, 5.0]], dtype=dtype)
    for name in ("sigmoid", "softmax"):
        A, cache = np_act.FORWARD[name](Z)
        assert set(np.unique(A)) == {0.0, 1.0}
        dZ = np_act.BACKWARD[name](dA, cache)
        Zt = leaf(Z.T, dtype)
        th_act.apply(name, Zt).backward(torch.tensor(dA.T))
        assert not dZ.any() and not Zt.grad.any(), name


# =====================================================================================
# 3. Softmax over huge gaps
# =====================================================================================

@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_with_huge_gaps_is_exact_and_agrees(dtype):
    """Columns (one example each; torch's rows) with gaps of 1e4, 800 (e^-800 underflows even in
    float64), ties at 1e4, all -1e4 (every exponent would underflow without the shift): the output
    is exactly one-hot, exactly uniform over the ties, sums to 1, and the backward pass is finite;
    torch's Softmax(dim=1) on the rows gives the same."""
    Z = np.array([[1e4, 800.0, 1e4, -1e4],
                  [0.0, 0.0, 1e4, -1e4],
                  [-1e4, -800.0, 0.0, -1e4]], dtype=dtype)
    A, cache = np_act.softmax_forward(Z)
    expected = np.array([[1, 1, 0.5, 1 / 3], [0, 0, 0.5, 1 / 3], [0, 0, 0, 1 / 3]])
    agree(A, expected, dtype, "softmax", rtol=4 * np.finfo(dtype).eps)
    np.testing.assert_array_equal(A[:, :2], expected[:, :2])
    agree(A.sum(axis=0), np.ones(4), dtype, "column sums", rtol=4 * np.finfo(dtype).eps)
    dA = np.arange(12, dtype=dtype).reshape(3, 4) - 5
    dZ = np_act.softmax_backward(dA, cache)
    Zt = leaf(Z.T, dtype)
    At = torch.nn.Softmax(dim=1)(Zt)
    At.backward(torch.tensor(dA.T))
    agree(A, At.T, dtype, "forward parity")
    agree(dZ, Zt.grad.T, dtype, "backward parity", rtol=4 * RTOL[dtype])
    assert np.isfinite(dZ).all()
    # the loss over the same columns: a label on a -1e4 class costs its gap, never inf
    cost, dS = np_losses.softmax_cross_entropy(Z, np.array([[2, 2, 2, 0]]))
    ct = F.cross_entropy(torch.tensor(Z.T), torch.tensor([2, 2, 2, 0]))
    agree(cost, ct, dtype, "cross-entropy")
    agree(cost, (2e4 + 1600 + (1e4 + LOG2) + math.log(3)) / 4, dtype, "cross-entropy value")


# =====================================================================================
# 4. Batch norm on a constant batch
# =====================================================================================

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [0.0, 0.1, 3.0, -1e4])
def test_batchnorm_on_a_constant_batch(value, dtype):
    """Every unit constant over the batch: sigma^2 = 0, so Z_norm = 0 (up to the mean's rounding:
    0.1 * 3 / 3 != 0.1 in float64 leaves Z_norm = -4.4e-15), the output is beta, dgamma = 0,
    dbeta = mean(dout) and dZ = gamma / sqrt(eps) * (dout - mean(dout)): finite, about 316 gamma
    per unit of dout with eps = 1e-5. The running variance becomes beta_momentum * 1 = 0.9. Torch's
    BatchNorm1d gives the same numbers (the same rounding too)."""
    n, m = 2, 3
    Z = np.full((n, m), value, dtype=dtype)
    gamma, beta = np.array([[2.0], [0.5]], dtype=dtype), np.array([[0.3], [-1.0]], dtype=dtype)
    dout = np.array([[1.0, -2.0, 0.5], [0.3, 0.3, 0.3]], dtype=dtype)
    running = np_bn.init_running(n, dtype)
    out, cache = np_bn.batchnorm_forward(Z, gamma, beta, running, train=True)
    dZ, dgamma, dbeta = np_bn.batchnorm_backward(dout, cache)

    tol = 10 * np.finfo(dtype).eps
    assert np.abs(cache.Z_norm).max() <= tol * max(1.0, abs(value)) / math.sqrt(1e-5)
    agree(out, np.broadcast_to(beta, (n, m)), dtype, "out = beta", rtol=1e-9 if dtype == "float64" else 1e-4)
    expected_dZ = gamma / np.sqrt(dtype_of(dtype)(1e-5)) * (dout - dout.mean(axis=1, keepdims=True))
    assert np.isfinite(dZ).all() and np.abs(dZ).max() > 100
    agree(dZ, expected_dZ, dtype, "dZ", rtol=1e-6 if dtype == "float64" else 1e-3)
    assert np.abs(dgamma).max() <= 1e-6
    agree(dbeta, dout.mean(axis=1, keepdims=True), dtype, "dbeta")
    agree(running["var"], np.full((n, 1), 0.9), dtype, "running var")

    module = th_bn.batch_norm(n, dtype=TH[dtype])
    with torch.no_grad():
        module.weight.copy_(torch.tensor(gamma[:, 0])), module.bias.copy_(torch.tensor(beta[:, 0]))
    Zt = leaf(Z.T, dtype)
    outt = th_bn.apply(module, Zt)
    outt.backward(torch.tensor(dout.T))
    agree(out, outt.T, dtype, "out parity")
    agree(dZ, Zt.grad.T, dtype, "dZ parity", rtol=1e-9 if dtype == "float64" else 1e-4)
    agree(running["var"][:, 0], module.running_var, dtype, "running var parity")
    agree(running["mean"][:, 0], module.running_mean, dtype, "running mean parity")


def dtype_of(dtype):
    return np.dtype(dtype).type


@pytest.mark.parametrize("dtype", DTYPES)
def test_batchnorm_network_on_identical_examples(dtype):
    """A [3, 4, 4, 2] tanh/softmax network with batch norm trained on four copies of one example:
    every hidden unit is constant over the batch. The cost (0.86078...) and all gradients are finite
    and the sides agree on everything the mathematics makes non-zero (dW3, db3, dbeta2). Below a
    batch-norm layer the gradients (dW1, dW2, dbeta1) are mathematically exactly 0 here -- a
    batch-constant shift is normalised away -- and both sides return rounding noise instead, which
    1/sqrt(eps) = 316 amplifies: measured <= 1.6e-12 in float64 and <= 8.2e-4 in float32, against
    live gradients of 0.42. They are held to that, not to each other."""
    X = np.repeat(np.array([[0.3], [-1.2], [2.0]], dtype=dtype), 4, axis=1)
    Y = np.array([[0, 1, 0, 1]])
    net = np_models.Network([3, 4, 4, 2], "tanh", "softmax", batch_norm=True)
    params = net.init_params("he", rng=4, dtype=dtype)
    params["beta1"] = np.array([[0.5], [-0.3], [0.2], [1.0]], dtype=dtype)
    params["beta2"] = np.array([[0.1], [0.7], [-0.4], [0.3]], dtype=dtype)
    model = th_models.Network([3, 4, 4, 2], "tanh", "softmax", batch_norm=True, dtype=TH[dtype])
    bridge.params_to_module(params, model)
    cost, grads = net.loss(params, X, Y)
    ct = model.cost(torch.tensor(X.T), torch.tensor(Y[0]))
    ct.backward()
    tgrads = bridge.grads_from_module(model)
    agree(cost, 0.8607830418353353, dtype, "cost", rtol=1e-12 if dtype == "float64" else 1e-5)
    agree(cost, ct, dtype, "cost parity", rtol=1e-12 if dtype == "float64" else 1e-5)
    live = ("dW3", "db3", "dbeta2")
    scale = max(np.abs(grads[k]).max() for k in live)
    for k in live:
        agree(grads[k], tgrads[k], dtype, k, rtol=1e-12 if dtype == "float64" else 1e-4)
    noise = 1e-11 if dtype == "float64" else 1e-2
    for k in ("dW1", "dW2", "dbeta1", "dgamma1", "dgamma2"):
        for side, g in (("numpy", grads[k]), ("torch", tgrads[k])):
            assert np.isfinite(g).all() and np.abs(g).max() <= noise * scale, (k, side, np.abs(g).max())


# =====================================================================================
# 5. Very deep networks
# =====================================================================================

DEEP = [("tanh", "xavier", 60), ("relu", "he", 60), ("leaky_relu", "he", 60), ("sigmoid", "xavier", 30),
        ("linear", "xavier", 60)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden, init, depth", DEEP, ids=[f"{h}-{d}" for h, _, d in DEEP])
def test_deep_networks_stay_finite_and_agree(hidden, init, depth, dtype):
    """Width-5 networks of 30-60 layers with the matching initialisation: the cost and every
    gradient (dW1 through 60 layers of backprop) are finite and agree between the sides."""
    dims = [4] + [5] * (depth - 1) + [3]
    net = np_models.Network(dims, hidden, "softmax")
    params = net.init_params(init, rng=depth, dtype=dtype)
    X = np.random.default_rng(1).standard_normal((4, 6)).astype(dtype)
    Y = np.array([[0, 1, 2, 0, 1, 2]])
    cost, grads = net.loss(params, X, Y)
    model = th_models.Network(dims, hidden, "softmax", dtype=TH[dtype])
    bridge.params_to_module(params, model)
    ct = model.cost(torch.tensor(X.T), torch.tensor(Y[0]))
    ct.backward()
    agree(cost, ct, dtype, "cost", rtol=1e-10 if dtype == "float64" else 1e-4)
    tgrads = bridge.grads_from_module(model)
    for k in ("dW1", f"dW{depth // 2}", f"dW{depth}"):
        assert np.isfinite(grads[k]).all(), k
        agree(grads[k], tgrads[k], dtype, k, rtol=1e-8 if dtype == "float64" else 1e-3)


def _identity_chain(c, depth, dtype, labels=(0, 1)):
    """The course's exploding/vanishing example: W_l = c I, linear units, a sigmoid output, and
    labels that make both examples wrong, so the cost is ~ c^depth and nothing saturates to 0."""
    dims = [3] * depth + [1]
    net = np_models.Network(dims, "linear", "sigmoid")
    params = np_sig.identity_params(dims, c, dtype)
    X = np.array([[1.0, -0.5], [0.2, 0.3], [0.1, 0.9]], dtype=dtype)
    Y = np.array([labels])
    model = th_models.Network(dims, "linear", "sigmoid", dtype=TH[dtype])
    bridge.params_to_module(params, model)
    return net, params, X, Y, model


CHAINS = [(1.5, 200, "float64"), (1.5, 1000, "float64"), (1.5, 200, "float32"), (0.5, 200, "float64"),
          (0.5, 120, "float32")]


@pytest.mark.parametrize("c, depth, dtype", CHAINS, ids=[f"{c}^{d}-{t}" for c, d, t in CHAINS])
def test_exploding_and_vanishing_chains_stay_finite(c, depth, dtype):
    """c^L X through L identity layers (the last picks the first coordinate): Z_L = c^L x_1, so with
    both examples wrong the cost is 0.75 c^L when c > 1 -- 9.25e175 for 1.5^1000 in float64,
    1.24e35 for 1.5^200 in float32 -- and dW1 is 6.2e175 and 8.3e34; for c = 0.5 the cost is log 2
    and the gradients 4.7e-61 (float64, 200 layers) and 5.6e-37 (float32, 120 layers): tiny, not
    flushed to 0. Both sides give the same numbers."""
    net, params, X, Y, model = _identity_chain(c, depth, dtype)
    cost, grads = net.loss(params, X, Y)
    ct = model.cost(torch.tensor(X.T), torch.tensor(Y[0]))
    ct.backward()
    tgrads = bridge.grads_from_module(model)
    assert math.isfinite(cost)
    agree(cost, ct, dtype, "cost")
    expected = 0.75 * c ** depth if c > 1 else LOG2
    agree(cost, expected, dtype, "closed form", rtol=1e-9 if dtype == "float64" else 1e-4)
    for k in ("dW1", f"dW{depth}"):
        assert np.isfinite(grads[k]).all() and np.abs(grads[k]).max() > 0, k
        agree(grads[k], tgrads[k], dtype, k, rtol=1e-10 if dtype == "float64" else 1e-4)


# The signal norms are scaled, s * ||x / s|| with s = max|x| (signals.frobenius_norm, both sides):
# an unscaled norm (np.linalg.norm, torch.linalg.norm) squares first, so it overflowed to inf once an
# entry passed sqrt(max float) -- 1.3e154 in float64, 1.8e19 in float32 -- and underflowed to 0 below
# sqrt(tiny), although every activation and gradient it summarises is finite and non-zero (the test
# above): depth 1000 in float64 and depth 120 in float32 (both ways) failed before the scaling.
NORM_CASES = [(1.5, 800, "float64"), (1.5, 100, "float32"), (1.5, 1000, "float64"), (1.5, 120, "float32"),
              (0.5, 120, "float32")]


@pytest.mark.parametrize("side", ["numpy", "torch"])
@pytest.mark.parametrize("c, depth, dtype", NORM_CASES,
                         ids=["1.5^800-f64", "1.5^100-f32", "1.5^1000-f64", "1.5^120-f32", "0.5^120-f32"])
def test_signal_norms_are_finite_where_the_norms_are(c, depth, dtype, side):
    """||A_{l-1}||, ||dA_{l-1}||, ||dW_l|| for every layer: finite and non-zero (they are: the largest
    activation norm is ~1.5^999 * 1.04 = 1.3e176 at depth 1000, the smallest ~0.5^119 = 1.5e-36),
    and the same on both sides."""
    net, params, X, Y, model = _identity_chain(c, depth, dtype)
    if side == "numpy":
        signals = np_sig.signal_norms(net, params, X, Y)
    else:
        signals = th_sig.signal_norms(model, torch.tensor(X.T), torch.tensor(Y[0]))
    for name, values in zip(signals._fields, signals):
        assert np.isfinite(values).all() and (values > 0).all(), f"{name}: {values[:3]} ... {values[-3:]}"
    other = th_sig.signal_norms(model, torch.tensor(X.T), torch.tensor(Y[0])) if side == "numpy" else \
        np_sig.signal_norms(net, params, X, Y)
    for name, a, b in zip(signals._fields, signals, other):
        agree(a, b, dtype, name, rtol=1e-9 if dtype == "float64" else 1e-4)


# Extremes where the mathematics is finite but a square is not (CONVENTIONS.md, "Extreme scales"):
# RMSprop and Adam square the gradient and feature normalisation squares the deviations. Both sides
# compute wherever the squared quantity they keep is a float -- gradients up to sqrt(max float) / 2,
# variances up to max float (normalisation works on each feature divided by a power of two) -- and
# refuse beyond, with the same ValueError. Before: Adam with gradients of 1e200 raised NumPy's
# overflow warning and left torch's weights where they were (exp_avg_sq = inf); normalising +-1e200
# overflowed on the NumPy side, and +-1.2e154 (variance 1.44e308, finite) overflowed the sum of squares.

def _adam_steps(side, name, dtype, scale):
    """One step of ``name`` on both a (2, 3, 1) network's parameters, every gradient entry = scale
    (alternating signs): the parameters' moves."""
    net = np_models.Network([2, 3, 1], "relu", "sigmoid")
    params = net.init_params(rng=0, dtype=dtype)
    grads = {"d" + k: np.where(np.indices(v.shape).sum(0) % 2 == 0, scale, -scale).astype(dtype)
             for k, v in params.items()}
    if side == "numpy":
        before = {k: v.copy() for k, v in params.items()}
        np_optim.make_optimizer(name, params, lr=0.01).step(params, grads)
        return {k: params[k] - before[k] for k in params}
    model = th_models.Network([2, 3, 1], "relu", "sigmoid", dtype=getattr(torch, dtype))
    bridge.params_to_module(params, model)
    optimizer = th_optim.make_optimizer(name, model, lr=0.01)
    for key, p in bridge.course_parameters(model):
        p.grad = torch.from_numpy(grads["d" + key]).reshape(p.shape)
    optimizer.step()
    return {k: v - params[k] for k, v in bridge.params_from_module(model).items()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_squaring_optimisers_move_by_the_rate_up_to_the_limit_and_refuse_beyond(name, dtype):
    limit = np_validation.squarable_limit(dtype)
    moves = {side: _adam_steps(side, name, dtype, limit / 2) for side in ("numpy", "torch")}
    for key, move in moves["numpy"].items():
        # Adam's first step is lr sign(g); RMSprop's is lr g / sqrt(0.01 g^2) = 10 lr sign(g)
        expected = 0.01 * (1 if name == "adam" else 10)
        assert np.allclose(np.abs(move), expected, rtol=1e-3), (key, move)
        agree(move, moves["torch"][key], dtype, key)
    for side in ("numpy", "torch"):
        with pytest.raises(ValueError, match="RMSprop and Adam square the gradient"):
            _adam_steps(side, name, dtype, 4 * limit)


@pytest.mark.parametrize("side", ["numpy", "torch"])
def test_normalisation_computes_every_finite_variance_and_refuses_beyond(side):
    def fit(X):   # X (n_x, m), the NumPy layout
        return np_norm.fit(X) if side == "numpy" else [t.numpy()[:, None] for t in th_norm.fit(torch.tensor(X.T))]
    mu, sigma2 = fit(np.array([[1.2e154, -1.2e154], [1e308, 1e308]]))
    agree(mu, [[0.0], [1e308]], "float64", "mu")
    agree(sigma2, [[1.44e308], [0.0]], "float64", "sigma2", rtol=1e-15)
    with pytest.raises(ValueError, match="X_train has a feature whose variance exceeds the largest float64"):
        fit(np.array([[1e200, -1e200]]))


@pytest.mark.parametrize("side", ["numpy", "torch"])
def test_the_l2_term_counts_in_what_the_squaring_optimisers_square(side):
    """Adam squares dW + (lambda/m) W: one weight past the limit (1e154 > 6.7e153; its square, the L2
    cost, is still finite) with lambda/m = 1 is refused on both sides although dW is 1 (torch adds
    weight_decay * p inside its step, after its pre-hook sees p.grad)."""
    net = np_models.Network([2, 3, 1], "relu", "sigmoid")
    params = {k: np.zeros(v.shape) for k, v in net.init_params(rng=0).items()}
    params["W1"][0, 0] = 1e154
    grads = {"d" + k: np.ones_like(v) for k, v in params.items()}
    with pytest.raises(ValueError, match="RMSprop and Adam square the gradient"):
        if side == "numpy":
            np_optim.make_optimizer("adam", params, lr=0.01, l2_lambda=1.0, m=1).step(params, grads)
        else:
            model = th_models.Network([2, 3, 1], "relu", "sigmoid", dtype=torch.float64)
            bridge.params_to_module(params, model)
            optimizer = th_optim.make_optimizer("adam", model, lr=0.01, l2_lambda=1.0, m=1)
            for key, p in bridge.course_parameters(model):
                p.grad = torch.from_numpy(grads["d" + key]).reshape(p.shape)
            optimizer.step()
