"""Course users' habits, accepted where unambiguous and giving exactly the int form's numbers.

* Labels as booleans (the course's test cases build them with ``np.random.randn(1, m) > 0``):
  accepted as 0/1 for binary outputs (num_classes 2) on both sides, a copy (the caller's array
  is never modified); refused for more classes with the exact fix.
* NumPy labels as a rank-1 (m,) vector of exactly m labels: accepted as the row (1, m); a column
  (m, 1) or a rank-1 vector of another length is refused with "pass Y as shape (1, m), e.g.
  Y.reshape(1, -1)". torch's (m, 1) and (1, m) are refused with "pass y as shape (m,), e.g.
  y.reshape(-1)". Splits and the bridge (any number of classes) keep the strict (1, m) int row.
* The optimisers start from a given state (t, v, s) in one call on both sides: the course's
  ``update_parameters_with_adam(..., t=2)`` test case.
"""

import re

import numpy as np
import pytest
import torch

from reference_torch import bridge
from reference_torch import logistic as t_logistic
from reference_torch import losses as t_losses
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from scratch_numpy import logistic as n_logistic
from scratch_numpy import losses as n_losses
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import splits as n_splits

ROW_FIX = "pass Y as shape (1, m), e.g. Y.reshape(1, -1)"


def _course_labels(m=3, seed=1):
    np.random.seed(seed)
    return np.random.randn(1, m) > 0


def _same(a, b):
    """Exactly equal: numbers, arrays or dicts of arrays."""
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, tuple):
        for x, y in zip(a, b):
            _same(x, y)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ------------------------------------------------------------------ NumPy: the course's own test-case style

def _numpy_entry_points():
    """name -> call(Y) for every binary NumPy entry point a course test case feeds labels to."""
    rng = np.random.default_rng(0)
    m = 3
    X = rng.standard_normal((2, m))
    AL = 1 / (1 + np.exp(-rng.standard_normal((1, m))))
    w, b = np.array([[1.0], [2.0]]), 1.5
    net = n_models.Network([2, 4, 1], hidden_activation="relu", output="sigmoid")
    params = net.init_params(rng=3)
    return {
        "losses.binary_cross_entropy": lambda Y: n_losses.binary_cross_entropy(AL, Y),
        "losses.binary_cross_entropy_with_logits": lambda Y: n_losses.binary_cross_entropy_with_logits(np.log(AL / (1 - AL)), Y),
        "logistic.propagate": lambda Y: n_logistic.propagate(w, b, X, Y),
        "logistic.optimize": lambda Y: n_logistic.optimize(w.copy(), b, X, Y, 3, 0.009),
        "Network.loss": lambda Y: net.loss(params, X, Y),
        "Network.cost": lambda Y: net.cost(params, X, Y),
        "Network.accuracy": lambda Y: net.accuracy(params, X, Y),
    }


@pytest.mark.parametrize("entry", list(_numpy_entry_points()))
def test_numpy_boolean_labels_give_the_int_labels_numbers(entry):
    """``Y = np.random.randn(1, 3) > 0`` (the course's habit) through losses, Network.loss and
    logistic.propagate: exactly the numbers of Y.astype(int); the caller's array is untouched."""
    call = _numpy_entry_points()[entry]
    Y = _course_labels()
    kept = Y.copy()
    _same(call(Y), call(Y.astype(np.int64)))
    _same(call(Y), call(Y.astype(np.float64)))
    assert Y.dtype == bool and np.array_equal(Y, kept)


@pytest.mark.parametrize("entry", list(_numpy_entry_points()))
def test_numpy_rank1_labels_give_the_row_labels_numbers(entry):
    call = _numpy_entry_points()[entry]
    Y = _course_labels().astype(np.int64)
    _same(call(Y[0]), call(Y))
    _same(call(Y[0] > 0), call(Y))            # a rank-1 boolean vector: both habits at once


@pytest.mark.parametrize("entry", list(_numpy_entry_points()))
@pytest.mark.parametrize("bad, expect", [
    (lambda Y: Y.T.copy(), ROW_FIX),                        # a column (m, 1)
    (lambda Y: Y[0, :2].copy(), ROW_FIX),                   # rank-1 of the wrong length
    (lambda Y: np.vstack([Y, Y]), ROW_FIX),                 # two rows
], ids=["column", "rank-1 m-1", "two rows"])
def test_numpy_ambiguous_label_shapes_are_refused_with_the_fix(entry, bad, expect):
    call = _numpy_entry_points()[entry]
    with pytest.raises(ValueError, match=re.escape(expect)):
        call(bad(_course_labels().astype(np.int64)))


def test_numpy_multiclass_labels():
    rng = np.random.default_rng(1)
    scores, Y = rng.standard_normal((3, 5)), np.array([[0, 2, 1, 2, 0]])
    for loss in (n_losses.softmax_cross_entropy, lambda s, y: n_losses.svm_hinge(s, y, 1.0)):
        _same(loss(scores, Y[0]), loss(scores, Y))       # rank-1 (m,): accepted
        with pytest.raises(ValueError, match=r"Y must hold integer class labels, got dtype bool.*binary outputs only"):
            loss(scores, Y > 0)                            # booleans for 3 classes: a mistake
    # two classes with a softmax output: booleans are the binary labels there too
    two = rng.standard_normal((2, 4))
    Yb = np.array([[True, False, False, True]])
    _same(n_losses.softmax_cross_entropy(two, Yb), n_losses.softmax_cross_entropy(two, Yb.astype(np.int64)))


def test_splits_keep_the_strict_row():
    """split returns the caller's Y sliced by columns: a rank-1 Y or a boolean one is refused with the fix."""
    X = np.zeros((2, 10))
    with pytest.raises(ValueError, match=re.escape(ROW_FIX)):
        n_splits.split(X, np.zeros(10, np.int64), (0.5, 0.5))
    with pytest.raises(ValueError, match=r"Y\.astype\(np\.int64\)"):
        n_splits.split(X, np.zeros((1, 10), bool), (0.5, 0.5))


# ------------------------------------------------------------------ torch

def _torch_entry_points():
    rng = np.random.default_rng(0)
    m = 3
    X = torch.from_numpy(rng.standard_normal((m, 2)))
    Z = torch.from_numpy(rng.standard_normal((m, 1)))
    net = t_models.Network([2, 4, 1], "relu", "sigmoid", dtype=torch.float64)
    soft = t_models.Network([2, 4, 2], "relu", "softmax", dtype=torch.float64)
    svm = t_models.Network([2, 4, 2], "relu", "linear", dtype=torch.float64)
    logreg = t_logistic.LogisticRegression(2)

    def propagate(y):
        grads, cost = t_logistic.propagate(logreg, X, y)
        return {k: v.numpy() for k, v in grads.items()}, cost.numpy()

    return {
        "losses.binary_cross_entropy": lambda y: t_losses.binary_cross_entropy(torch.sigmoid(Z), y),
        "losses.binary_cross_entropy_with_logits": lambda y: t_losses.binary_cross_entropy_with_logits(Z, y),
        "losses.softmax_cross_entropy (C=2)": lambda y: t_losses.softmax_cross_entropy(torch.cat([Z, -Z], 1), y),
        "losses.svm_hinge (C=2)": lambda y: t_losses.svm_hinge(torch.cat([Z, -Z], 1), y),
        "logistic.propagate": propagate,
        "Network[sigmoid].cost": lambda y: net.cost(X, y).detach(),
        "Network[softmax C=2].cost": lambda y: soft.cost(X, y).detach(),
        "Network[linear C=2].cost": lambda y: svm.cost(X, y).detach(),
        "Network.accuracy": lambda y: net.accuracy(X, y),
    }


@pytest.mark.parametrize("entry", list(_torch_entry_points()))
def test_torch_boolean_labels_give_the_int_labels_numbers(entry):
    call = _torch_entry_points()[entry]
    y = torch.from_numpy(_course_labels()[0].copy())
    kept = y.clone()
    _same(call(y), call(y.long()))
    assert y.dtype == torch.bool and torch.equal(y, kept)


@pytest.mark.parametrize("entry", list(_torch_entry_points()))
@pytest.mark.parametrize("shape", ["column", "row"])
def test_torch_column_or_row_labels_are_refused_with_the_fix(entry, shape):
    call = _torch_entry_points()[entry]
    y = torch.from_numpy(_course_labels()[0].astype(np.int64))
    bad = y[:, None] if shape == "column" else y[None]
    with pytest.raises(ValueError, match=re.escape("pass y as shape (m,), e.g. y.reshape(-1)")):
        call(bad)


def test_torch_multiclass_boolean_labels_are_refused():
    scores = torch.zeros(4, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"y must be an int64 tensor.*binary outputs only.*y\.long\(\)"):
        t_losses.softmax_cross_entropy(scores, torch.tensor([True, False, True, False]))


def test_both_sides_give_the_same_binary_cost_from_boolean_labels():
    """The course's test-case style on both sides: one cost, the int labels' cost."""
    Y = _course_labels(m=5, seed=2)
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((1, 5))
    numpy_cost = n_losses.binary_cross_entropy_with_logits(Z, Y)
    numpy_cost = numpy_cost[0] if isinstance(numpy_cost, tuple) else numpy_cost
    torch_cost = t_losses.binary_cross_entropy_with_logits(torch.from_numpy(Z.T.copy()), torch.from_numpy(Y[0].copy()))
    np.testing.assert_allclose(float(numpy_cost), float(torch_cost), rtol=1e-14)


# ------------------------------------------------------------------ Adam from a given state: the course's test case

def _adam_test_case():
    """The course's update_parameters_with_adam_test_case (course 2, week 2): np.random.seed(1),
    W1 (2, 3), b1 (2, 1), W2 (3, 3), b2 (3, 1), then their gradients, v = s = 0."""
    np.random.seed(1)
    params = {"W1": np.random.randn(2, 3), "b1": np.random.randn(2, 1),
              "W2": np.random.randn(3, 3), "b2": np.random.randn(3, 1)}
    grads = {"dW1": np.random.randn(2, 3), "db1": np.random.randn(2, 1),
             "dW2": np.random.randn(3, 3), "db2": np.random.randn(3, 1)}
    zeros = {k: np.zeros_like(g) for k, g in grads.items()}
    return params, grads, zeros


def _course_adam(params, grads, v, s, t, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8):
    """The course's update_parameters_with_adam, transcribed (t: this update's own t), as the oracle."""
    params, v, s = dict(params), dict(v), dict(s)
    for key in list(params):
        g = grads["d" + key]
        v["d" + key] = beta1 * v["d" + key] + (1 - beta1) * g
        s["d" + key] = beta2 * s["d" + key] + (1 - beta2) * g ** 2
        v_hat = v["d" + key] / (1 - beta1 ** t)
        s_hat = s["d" + key] / (1 - beta2 ** t)
        params[key] = params[key] - lr * v_hat / (np.sqrt(s_hat) + eps)
    return params, v, s


# The notebook's printed output for this test case (t = 2, learning_rate 0.01); every other entry is
# checked against the transcribed formula above.
PUBLISHED = {
    "W1": [[1.63178673, -0.61919778, -0.53561312], [-1.08040999, 0.85796626, -2.29409733]],
    "b1": [[1.75225313], [-0.75376553]],
    "v_dW1": [[-0.11006192, 0.11447237, 0.09015907], [0.05024943, 0.09008559, -0.06837279]],
    "s_dW1": [[0.00121136, 0.00131039, 0.00081287], [0.0002525, 0.00081154, 0.00046748]],
}


def _check_against_course(params, v, s, t):
    start, grads, zeros = _adam_test_case()
    expected = _course_adam(start, grads, zeros, zeros, t=2)
    for got, want in zip((params, v, s), expected):
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(params["W1"], PUBLISHED["W1"], atol=1e-8)
    np.testing.assert_allclose(params["b1"], PUBLISHED["b1"], atol=1e-8)
    np.testing.assert_allclose(v["dW1"], PUBLISHED["v_dW1"], atol=1e-8)
    np.testing.assert_allclose(s["dW1"], PUBLISHED["s_dW1"], atol=1e-8)
    assert t == 2


def test_numpy_adam_reproduces_the_course_test_case_at_t_2_in_one_call():
    """The course calls update_parameters_with_adam(..., t=2) on fresh v, s: one step taken before
    (state t = 1; the step makes it 2), zero v and s."""
    params, grads, zeros = _adam_test_case()
    optimizer = n_optim.make_optimizer("adam", params, lr=0.01, state={"t": 1, "v": zeros, "s": zeros})
    optimizer.step(params, grads)
    _check_against_course(params, optimizer.v, optimizer.s, optimizer.t)
    assert not any(z.any() for z in zeros.values())     # the given state was copied, not updated


def test_torch_adam_reproduces_the_course_test_case_at_t_2_in_one_call():
    """The same on torch. The test case's W2 (3, 3) does not follow W1 (2, 3) (its shapes are no
    network), so each layer is its own one-layer network; each is one make_optimizer call."""
    params, grads, zeros = _adam_test_case()
    got = {"params": {}, "v": {}, "s": {}}
    t = None
    for l, n_prev in ((1, 3), (2, 3)):
        n = params[f"W{l}"].shape[0]
        model = t_models.Network([n_prev, n], "relu", "softmax", dtype=torch.float64)
        bridge.params_to_module({"W1": params[f"W{l}"], "b1": params[f"b{l}"]}, model)
        state = {"t": 1, "v": {"dW1": zeros[f"dW{l}"], "db1": zeros[f"db{l}"]},
                 "s": {"dW1": zeros[f"dW{l}"], "db1": zeros[f"db{l}"]}}
        optimizer = t_optim.make_optimizer("adam", model, lr=0.01, state=state)
        model.linears[0].weight.grad = torch.from_numpy(grads[f"dW{l}"].copy())
        model.linears[0].bias.grad = torch.from_numpy(grads[f"db{l}"][:, 0].copy())
        optimizer.step()
        after, course_state = bridge.params_from_module(model), t_optim.optimizer_state(optimizer, model)
        got["params"].update({f"W{l}": after["W1"], f"b{l}": after["b1"]})
        for name in ("v", "s"):
            got[name].update({f"dW{l}": course_state[name]["dW1"], f"db{l}": course_state[name]["db1"]})
        t = course_state["t"]
    _check_against_course(got["params"], got["v"], got["s"], t)
