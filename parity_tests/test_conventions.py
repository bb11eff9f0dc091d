"""Where PyTorch's formulas differ from the textbook's, and how Twinprop bridges them.

One group of tests per section of CONVENTIONS.md (the node ids are cited there).
Every number is checked against an independent fact: autograd, a closed form,
or a direct experiment on the torch operation in question. Everything is
float64 on the CPU; upstream gradients are random, never all ones.
"""

import inspect
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from reference_torch import activations as t_act
from reference_torch import bridge
from reference_torch import init as t_init
from reference_torch import logistic as t_logistic
from reference_torch import losses as t_losses
from reference_torch import models as t_models
from scratch_numpy import activations as n_act
from scratch_numpy import init as n_init
from scratch_numpy import layers as n_layers
from scratch_numpy import logistic as n_logistic
from scratch_numpy import losses as n_losses
from scratch_numpy import models as n_models

F64 = torch.float64
RTOL = 1e-12


def to_np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def assert_close(actual, expected, rtol=RTOL):
    """|actual - expected| <= rtol * max|expected| elementwise (scale-aware, so entries
    that cancel to ~0 are judged against the array's magnitude, not their own)."""
    actual, expected = to_np(actual), to_np(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def leaf(array_columns: np.ndarray) -> torch.Tensor:
    """The batch-first transpose of a column-layout array, as a leaf that records gradients."""
    return torch.tensor(np.ascontiguousarray(array_columns.T)).requires_grad_()


def column_data(seed=0, n_x=4, m=7, num_classes=3):
    rng = np.random.default_rng(seed)
    return rng, rng.standard_normal((n_x, m)), rng.integers(0, num_classes, size=(1, m))


# --- 1. layout -----------------------------------------------------------------------------


def test_layout_linear_weight_is_out_by_in():
    layer = nn.Linear(4, 3, dtype=F64)
    assert tuple(layer.weight.shape) == (3, 4)   # (n, n_prev), the NumPy side's W
    assert tuple(layer.bias.shape) == (3,)       # the NumPy side's b is (3, 1)
    W = n_init.initialize_parameters([4, 3], "he", 0)["W1"]
    assert W.shape == (3, 4)


def test_layout_bridge_data_is_the_transpose():
    _, X, Y = column_data(m=7)
    Xt, yt = bridge.data_to_torch(X, Y)
    assert tuple(Xt.shape) == (7, 4) and Xt.dtype == F64
    assert np.array_equal(to_np(Xt), X.T)
    assert tuple(yt.shape) == (7,) and yt.dtype == torch.int64
    assert np.array_equal(to_np(yt), Y[0])


def test_layout_bridge_params_round_trip_exact():
    params = n_init.initialize_parameters([4, 5, 3], "he", 1)
    params["b1"] = np.random.default_rng(2).standard_normal((5, 1))
    net = t_models.Network([4, 5, 3], "relu", "softmax")
    bridge.params_to_module(params, net)
    assert np.array_equal(to_np(net.linears[0].weight), params["W1"])   # no transpose
    assert np.array_equal(to_np(net.linears[0].bias), params["b1"][:, 0])
    back = bridge.params_from_module(net)
    assert back.keys() == params.keys()
    for key in params:
        assert back[key].shape == params[key].shape and np.array_equal(back[key], params[key])


def test_layout_linear_forward_agrees():
    rng, A_prev, _ = column_data(m=6)
    W, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 1))
    Z, _ = n_layers.linear_forward(A_prev, W, b)
    layer = nn.Linear(4, 3, dtype=F64)
    bridge.params_to_linears({"W1": W, "b1": b}, [layer])
    Zt = layer(torch.tensor(A_prev.T))                                  # (m, n)
    assert_close(Zt.T, Z)
    assert_close(Z, W @ A_prev + b)                                      # the textbook formula


# --- 2. gradient scale -------------------------------------------------------------------


def _numpy_and_torch_loss(name, scores, Y):
    if name == "sigmoid":
        return n_losses.binary_cross_entropy_with_logits(scores, Y), t_losses.binary_cross_entropy_with_logits
    if name == "softmax":
        return n_losses.softmax_cross_entropy(scores, Y), t_losses.softmax_cross_entropy
    return n_losses.svm_hinge(scores, Y), t_losses.svm_hinge


@pytest.mark.parametrize("name", ["sigmoid", "softmax", "svm"])
def test_scale_loss_gradient_is_m_times_autograd(name):
    rng = np.random.default_rng(3)
    m = 9
    C = 1 if name == "sigmoid" else 4
    scores = rng.standard_normal((C, m))
    Y = rng.integers(0, 2 if name == "sigmoid" else C, size=(1, m))
    (cost, dscores), torch_loss = _numpy_and_torch_loss(name, scores, Y)
    st = leaf(scores)
    ct = torch_loss(st, torch.tensor(Y[0]))
    ct.backward()
    assert_close(cost, ct)
    assert_close(dscores, m * st.grad.T)          # NumPy: gradient of the SUMMED loss
    if name != "svm":
        probs = n_act.sigmoid(scores) if name == "sigmoid" else n_act.softmax(scores)
        onehot = Y if name == "sigmoid" else np.eye(C)[:, Y[0]]
        assert_close(dscores, probs - onehot)    # the course's dZ = A - Y, no 1/m


def test_scale_linear_backward_dW_equal_dA_prev_m_times():
    rng, A_prev, _ = column_data(m=8)
    m = A_prev.shape[1]
    W, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 1))
    G = rng.standard_normal((3, m))               # dL/dZ of the summed loss L; J = L / m
    _, cache = n_layers.linear_forward(A_prev, W, b)
    dA_prev, dW, db = n_layers.linear_backward(G, cache)

    At, Wt = leaf(A_prev), torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b[:, 0], requires_grad=True)
    J = (F.linear(At, Wt, bt) * torch.tensor(G.T)).sum() / m
    J.backward()
    assert_close(dW, Wt.grad)                     # dW, db: dJ/dW directly
    assert_close(db, bt.grad[:, None])
    assert_close(dA_prev, m * At.grad.T)          # dA_prev: m x autograd
    assert_close(dW, G @ A_prev.T / m)            # closed forms
    assert_close(dA_prev, W.T @ G)


def test_scale_network_parameter_gradients_equal_autograd():
    rng, X, Y = column_data(seed=4, n_x=5, m=11, num_classes=3)
    params = n_init.initialize_parameters([5, 6, 4, 3], "he", 5)
    for l in (1, 2, 3):
        params[f"b{l}"] = 0.1 * rng.standard_normal(params[f"b{l}"].shape)
    n_net = n_models.Network([5, 6, 4, 3], "relu", "softmax")
    cost, grads = n_net.loss(params, X, Y)
    t_net = t_models.Network([5, 6, 4, 3], "relu", "softmax")
    bridge.params_to_module(params, t_net)
    Xt, yt = bridge.data_to_torch(X, Y)
    ct = t_net.cost(Xt, yt)
    ct.backward()
    assert_close(cost, ct)
    t_grads = bridge.grads_from_module(t_net)
    for key in grads:
        assert_close(grads[key], t_grads[key])


# --- 3. ReLU at exactly 0 ------------------------------------------------------------------

ZERO_GRAD_FACTOR = {
    "torch.relu": (torch.relu, 0.0),
    "nn.ReLU": (nn.ReLU(), 0.0),
    "F.relu": (F.relu, 0.0),
    "clamp_min0": (lambda t: t.clamp(min=0), 1.0),
    "maximum_zeros": (lambda t: torch.maximum(t, torch.zeros_like(t)), 0.5),
}


@pytest.mark.parametrize("name", list(ZERO_GRAD_FACTOR))
def test_relu_torch_variants_gradient_at_zero(name):
    fn, factor = ZERO_GRAD_FACTOR[name]
    x = torch.tensor([-1.5, 0.0, 2.0, 0.0, -0.0], dtype=F64, requires_grad=True)
    g = torch.tensor([0.3, 0.7, 1.1, -0.9, 0.4], dtype=F64)
    y = fn(x)
    assert torch.equal(y, torch.tensor([0.0, 0.0, 2.0, 0.0, 0.0], dtype=F64))  # same forward
    y.backward(g)
    expected = torch.tensor([0.0, factor * 0.7, 1.1, factor * -0.9, factor * 0.4], dtype=F64)
    assert torch.equal(x.grad, expected)


def _Z_with_zeros(seed=6, shape=(4, 9)):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal(shape)
    Z.flat[::3] = 0.0
    return Z, rng.standard_normal(shape)


def test_relu_course_mask_matches_torch_relu_at_zero():
    Z, dA = _Z_with_zeros()
    _, cache = n_act.relu_forward(Z)
    dZ = n_act.relu_backward(dA, cache)
    course = dA.copy()
    course[Z <= 0] = 0                            # the course's relu_backward
    Zt = leaf(Z)
    torch.relu(Zt).backward(torch.tensor(dA.T))
    assert np.array_equal(dZ, course)
    assert np.array_equal(dZ, to_np(Zt.grad).T)   # a mask multiply: exact


def test_relu_strict_less_than_mask_mismatches_at_zero():
    Z, dA = _Z_with_zeros()
    wrong = dA.copy()
    wrong[Z < 0] = 0                              # passes the gradient at Z == 0
    Zt = leaf(Z)
    torch.relu(Zt).backward(torch.tensor(dA.T))
    torch_dZ = to_np(Zt.grad).T
    at_zero = Z == 0
    assert at_zero.any()
    assert np.array_equal(wrong[~at_zero], torch_dZ[~at_zero])
    assert np.array_equal(wrong[at_zero], dA[at_zero]) and not np.any(torch_dZ[at_zero])


def test_relu_zero_init_gives_exact_zeros():
    rng, X, Y = column_data(seed=7, n_x=4, m=10, num_classes=3)
    params = n_init.initialize_parameters([4, 5, 3], "zeros", 0)
    assert all(not v.any() for v in params.values())
    params["W2"] = rng.standard_normal((3, 5))    # zero first layer, live second layer
    n_net = n_models.Network([4, 5, 3], "relu", "softmax")
    _, caches = n_net.forward(params, X)
    assert not caches[0][1].Z.any()               # Z1 is exactly 0 everywhere: the kink
    _, grads = n_net.loss(params, X, Y)

    t_net = t_models.Network([4, 5, 3], "relu", "softmax")
    bridge.params_to_module(params, t_net)
    Xt, yt = bridge.data_to_torch(X, Y)
    t_net.cost(Xt, yt).backward()
    t_grads = bridge.grads_from_module(t_net)
    assert not grads["dW1"].any() and not t_grads["dW1"].any()
    assert_close(grads["dW2"], t_grads["dW2"])

    # The same network with clamp(min=0) as its ReLU takes slope 1 at 0 and learns W1.
    W1 = torch.tensor(params["W1"], requires_grad=True)
    A1 = F.linear(Xt, W1, torch.zeros(5, dtype=F64)).clamp(min=0)
    F.cross_entropy(F.linear(A1, torch.tensor(params["W2"])), yt).backward()
    assert W1.grad.abs().max() > 1e-3


def test_leaky_relu_slope_at_zero_is_negative_slope():
    assert nn.LeakyReLU().negative_slope == 0.01
    assert inspect.signature(n_act.leaky_relu_forward).parameters["slope"].default == 0.01
    Z, dA = _Z_with_zeros(seed=8)
    for slope in (0.01, 0.2):
        A, cache = n_act.leaky_relu_forward(Z, slope)
        dZ = n_act.leaky_relu_backward(dA, cache)
        Zt = leaf(Z)
        At = nn.LeakyReLU(slope)(Zt)
        At.backward(torch.tensor(dA.T))
        assert np.array_equal(A, to_np(At).T)
        assert_close(dZ, Zt.grad.T)
        assert_close(dZ[Z == 0], slope * dA[Z == 0])     # the slope from the left, at 0
        assert_close(dZ[Z > 0], dA[Z > 0])


# --- 4. MultiMarginLoss divides by C -----------------------------------------------------


def _hinge_loop(scores, Y, delta=1.0):
    """cs231n's svm_loss_naive, (C, m) scores: mean over examples, no 1/C."""
    C, m = scores.shape
    total = 0.0
    for i in range(m):
        y = Y[0, i]
        total += sum(max(0.0, scores[j, i] - scores[y, i] + delta) for j in range(C) if j != y)
    return total / m


def _svm_case(seed=9, C=5, m=12):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((C, m)), rng.integers(0, C, size=(1, m)), C, m


def test_multimargin_raw_is_hinge_over_C():
    scores, Y, C, m = _svm_case()
    cost, dscores = n_losses.svm_hinge(scores, Y)
    assert_close(cost, _hinge_loop(scores, Y))
    st = leaf(scores)
    raw = nn.MultiMarginLoss()(st, torch.tensor(Y[0]))
    raw.backward()
    assert_close(raw, cost / C)
    assert_close(m * st.grad.T, dscores / C)


def test_multimargin_times_C_equals_numpy():
    scores, Y, C, m = _svm_case(seed=10)
    cost, dscores = n_losses.svm_hinge(scores, Y)
    st = leaf(scores)
    ct = t_losses.svm_hinge(st, torch.tensor(Y[0]))
    ct.backward()
    assert_close(ct, cost)
    assert_close(m * st.grad.T, dscores)


# --- 5. BCELoss clamps its logs at -100 --------------------------------------------------


def test_bce_saturated_torch_gives_100_numpy_inf():
    AL = np.array([[0.0, 0.3, 1.0, 0.8]])
    Y = np.array([[1, 0, 0, 1]])
    cost, _ = n_losses.binary_cross_entropy(AL, Y)
    assert cost == math.inf
    yt = torch.tensor(Y[0], dtype=F64)
    ordinary = -math.log(0.7) - math.log(0.8)
    expected = (100.0 + ordinary + 100.0) / 4       # each clamped log is -100, then the mean
    for torch_cost in (F.binary_cross_entropy(torch.tensor(AL[0]), yt),
                       nn.BCELoss()(torch.tensor(AL[0]), yt),
                       t_losses.binary_cross_entropy(torch.tensor(AL.T), torch.tensor(Y[0]))):
        assert_close(torch_cost, expected)
    assert float(F.binary_cross_entropy(torch.tensor([0.0], dtype=F64), torch.tensor([1.0], dtype=F64))) == 100.0
    # A confident RIGHT answer costs 0 on both sides (NumPy: no 0 * log 0 = NaN).
    right_AL, right_Y = np.array([[0.0, 1.0]]), np.array([[0, 1]])
    assert n_losses.binary_cross_entropy(right_AL, right_Y)[0] == 0.0
    assert float(F.binary_cross_entropy(torch.tensor(right_AL[0]), torch.tensor(right_Y[0], dtype=F64))) == 0.0


def test_bce_ordinary_inputs_agree():
    rng = np.random.default_rng(11)
    m = 50
    AL = rng.uniform(0.01, 0.99, size=(1, m))
    Y = rng.integers(0, 2, size=(1, m))
    cost, dAL = n_losses.binary_cross_entropy(AL, Y)
    At = leaf(AL)
    ct = t_losses.binary_cross_entropy(At, torch.tensor(Y[0]))
    ct.backward()
    assert abs(cost - float(ct.detach())) <= 1e-15 * abs(cost)
    textbook = -np.mean(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))
    assert_close(cost, textbook)
    assert_close(dAL, m * At.grad.T)
    assert_close(dAL, -(Y / AL - (1 - Y) / (1 - AL)))


LOGITS = np.array([[1e4, -1e4, 50.0, -50.0, 0.0, 1e4, -1e4, 50.0, -50.0, 0.0]])
LOGIT_LABELS = np.array([[0, 1, 0, 1, 0, 1, 0, 1, 0, 1]])


def _softplus(x: float) -> float:
    """log(1 + e^x) without overflow, for one float."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def test_bce_with_logits_is_stable_and_matches_numpy():
    m = LOGITS.shape[1]
    z, y = LOGITS[0].tolist(), LOGIT_LABELS[0].tolist()
    per_example = [_softplus(-zi) if yi == 1 else _softplus(zi) for zi, yi in zip(z, y)]
    assert per_example[:4] == [1e4, 1e4, 50.0, 50.0]   # a confident wrong answer costs |z|
    expected_cost = sum(per_example) / m
    expected_dZ = np.array([[_sigmoid(zi) - yi for zi, yi in zip(z, y)]])

    cost, dZ = n_losses.binary_cross_entropy_with_logits(LOGITS, LOGIT_LABELS)
    Zt = leaf(LOGITS)
    ct = t_losses.binary_cross_entropy_with_logits(Zt, torch.tensor(LOGIT_LABELS[0]))
    ct.backward()
    assert math.isfinite(cost) and math.isfinite(float(ct.detach()))
    assert_close(cost, expected_cost)
    assert_close(ct, expected_cost)
    assert_close(dZ, expected_dZ)
    assert_close(m * Zt.grad.T, expected_dZ)

    # BCELoss on sigmoid(z) saturates instead: sigmoid(-1e4) == 0 exactly, so the
    # wrong-label cost of 1e4 becomes the clamp's 100.
    p = torch.sigmoid(torch.tensor([-1e4], dtype=F64))
    assert float(p) == 0.0
    assert float(F.binary_cross_entropy(p, torch.tensor([1.0], dtype=F64))) == 100.0


# --- 6. initialisation gains and the Xavier naming trap ---------------------------------


def test_init_calculate_gain_values():
    gain = nn.init.calculate_gain
    assert gain("relu") == math.sqrt(2.0)
    assert gain("tanh") == 5.0 / 3
    assert gain("linear") == 1.0
    assert gain("sigmoid") == 1.0
    assert_close(gain("leaky_relu"), math.sqrt(2.0 / (1 + 0.01 ** 2)))


BIG_SHAPE = (2000, 500)     # (n, n_prev): fan_in = 500, fan_out = 2000
COURSE_STD = {
    "small": 0.01,
    "large": 10.0,
    "xavier": math.sqrt(1.0 / 500),
    "he": math.sqrt(2.0 / 500),
    "glorot": math.sqrt(2.0 / (500 + 2000)),
}


@pytest.mark.parametrize("method", list(COURSE_STD))
def test_init_torch_initializer_std_matches_course(method):
    W = torch.empty(BIG_SHAPE, dtype=F64)
    t_init.INITIALIZERS[method](W, torch.Generator().manual_seed(12))
    sigma = COURSE_STD[method]
    assert abs(float(W.std()) / sigma - 1) < 0.02
    assert abs(float(W.mean())) < 0.02 * sigma


def test_init_torch_zeros_is_exact():
    W = torch.randn(BIG_SHAPE, dtype=F64)
    t_init.INITIALIZERS["zeros"](W, None)
    assert not W.any()


def test_init_xavier_normal_is_not_the_course_xavier():
    g = torch.Generator().manual_seed(13)
    W = nn.init.xavier_normal_(torch.empty(BIG_SHAPE, dtype=F64), generator=g)
    std = float(W.std())
    assert abs(std / COURSE_STD["glorot"] - 1) < 0.02           # it is the Glorot variant
    assert abs(std / COURSE_STD["xavier"] - 1) > 0.3            # far from sqrt(1 / n_prev)
    V = nn.init.kaiming_normal_(torch.empty(BIG_SHAPE, dtype=F64), nonlinearity="linear", generator=g)
    assert abs(float(V.std()) / COURSE_STD["xavier"] - 1) < 0.02


def test_init_linear_default_is_uniform_one_over_sqrt_fan_in():
    torch.manual_seed(14)
    layer = nn.Linear(500, 2000, dtype=F64)
    bound = 1 / math.sqrt(500)
    w = to_np(layer.weight)
    assert np.abs(w).max() <= bound and np.abs(to_np(layer.bias)).max() <= bound
    assert np.abs(w).max() > 0.999 * bound                      # it fills the interval
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.02      # U(-a, a) has std a / sqrt(3)


# --- 7. random number generators -----------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_rng_same_seed_different_numbers(seed):
    t = to_np(torch.randn(5, dtype=F64, generator=torch.Generator().manual_seed(seed)))
    modern = np.random.default_rng(seed).standard_normal(5)
    legacy = np.random.RandomState(seed).randn(5)
    assert not np.isclose(t, modern).any() and not np.isclose(t, legacy).any()
    # Nor does the same method name draw the same weights.
    Wn = n_init.initialize_parameters([4, 3], "he", seed)["W1"]
    Wt = t_init.initialize_parameters([4, 3], "he", torch.Generator().manual_seed(seed))["W1"]
    assert not np.isclose(Wn, to_np(Wt)).any()


def test_rng_bridge_copy_makes_both_sides_identical():
    _, X, Y = column_data(seed=15, n_x=4, m=9, num_classes=2)
    params = n_init.initialize_parameters([4, 6, 1], "he", 16)
    t_net = t_models.Network([4, 6, 1], "relu", "sigmoid")
    before = to_np(t_net.linears[0].weight).copy()              # torch's own default draw
    bridge.params_to_module(params, t_net)
    assert not np.array_equal(before, params["W1"])
    for key, value in bridge.params_from_module(t_net).items():
        assert np.array_equal(value, params[key])                # bit for bit
    Xt, yt = bridge.data_to_torch(X, Y)
    assert_close(t_net.cost(Xt, yt), n_models.Network([4, 6, 1], "relu", "sigmoid").cost(params, X, Y))


# --- 8. softmax axis and hardmax ties --------------------------------------------------------


def test_softmax_columns_equal_dim1_of_batch_first():
    rng = np.random.default_rng(17)
    Z, dA = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    A, cache = n_act.softmax_forward(Z)
    dZ = n_act.softmax_backward(dA, cache)
    Zt = leaf(Z)
    At = torch.softmax(Zt, dim=1)
    At.backward(torch.tensor(dA.T))
    assert_close(A.sum(axis=0), np.ones(6))
    assert_close(A, At.T)
    assert_close(dZ, Zt.grad.T)
    assert_close(A, np.exp(Z) / np.exp(Z).sum(axis=0))                   # closed form
    wrong = to_np(torch.softmax(torch.tensor(Z.T), dim=0)).T              # over the batch
    assert not np.allclose(wrong, A)


TIED = np.array([[2.0, 0.0, 7.0, 1.0],
                 [2.0, 5.0, 7.0, 3.0],
                 [1.0, 5.0, 7.0, 2.0]])     # columns tie at rows {0,1}, {1,2}, {0,1,2}, none
FIRST_MAX = [0, 1, 0, 1]


def test_hardmax_ties_take_the_first_index():
    A, _ = n_act.hardmax_forward(TIED)
    At = t_act.Hardmax()(torch.tensor(TIED.T))
    expected = np.eye(3)[:, FIRST_MAX]
    assert np.array_equal(A, expected)
    assert np.array_equal(to_np(At).T, expected)
    assert TIED.argmax(axis=0).tolist() == FIRST_MAX
    assert torch.tensor(TIED.T).argmax(dim=1).tolist() == FIRST_MAX


def test_predict_ties_take_the_first_class():
    _, X, _ = column_data(seed=18, n_x=4, m=5, num_classes=3)
    params = {"W1": np.zeros((3, 4)), "b1": np.array([[0.0], [1.5], [1.5]])}   # classes 1, 2 tie
    n_pred = n_models.Network([4, 3], "relu", "softmax").predict(params, X)
    t_net = t_models.Network([4, 3], "relu", "softmax")
    bridge.params_to_module(params, t_net)
    t_pred = t_net.predict(bridge.data_to_torch(X))
    assert n_pred.tolist() == [[1] * 5] and t_pred.tolist() == [1] * 5


# --- 9. prediction threshold -------------------------------------------------------------------


def test_predict_threshold_on_z_not_on_sigmoid():
    z = 1e-17
    assert n_act.sigmoid(np.array([[z]]))[0, 0] == 0.5          # rounds to exactly 0.5
    assert float(torch.sigmoid(torch.tensor(z, dtype=F64))) == 0.5
    assert 1 / (1 + math.exp(-z)) == 0.5
    X = np.random.default_rng(19).standard_normal((3, 4))
    w = np.zeros((3, 1))
    t_model = t_logistic.LogisticRegression(3)
    for b, label in ((z, 1), (-z, 0), (0.0, 0)):
        assert n_logistic.predict(w, b, X).tolist() == [[label] * 4]
        bridge.logistic_to_module(w, b, t_model)
        assert t_logistic.predict(t_model, bridge.data_to_torch(X)).tolist() == [label] * 4

    params = {"W1": np.zeros((1, 3)), "b1": np.array([[z]])}
    assert n_models.Network([3, 1], "relu", "sigmoid").predict(params, X).tolist() == [[1] * 4]
    t_net = t_models.Network([3, 1], "relu", "sigmoid")
    bridge.params_to_module(params, t_net)
    assert t_net.predict(bridge.data_to_torch(X)).tolist() == [1] * 4
    # sigmoid(z) > 0.5 would have said 0.
    assert not (t_net(bridge.data_to_torch(X)) > 0.5).any()
