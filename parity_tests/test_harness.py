"""The harness itself: compare()'s pass rule and check_backward() on small layers, correct and with planted bugs.

The layers are written here (column layout, as in the course: A_prev is (n_prev, m), W is (n, n_prev),
b is (n, 1), Z = W A_prev + b) so that these tests depend on nothing but the harness.
"""

import numpy as np
import pytest
import torch

from .checker.harness import TOLERANCES, Tolerance, check_backward, compare, kink_free


def rng_array(shape, seed=0, dtype="float64"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# --- small NumPy layers and their torch oracles -------------------------------------------------

def linear_forward(A_prev, W, b):
    return W @ A_prev + b, (A_prev, W)


def linear_backward_vjp(dZ, cache):
    A_prev, W = cache
    return W.T @ dZ, dZ @ A_prev.T, dZ.sum(axis=1, keepdims=True)


def linear_backward_course(dZ, cache):
    A_prev, W = cache
    m = dZ.shape[1]
    return {"dA_prev": W.T @ dZ, "dW": dZ @ A_prev.T / m, "db": dZ.sum(axis=1, keepdims=True) / m}


def linear_oracle(A_prev, W, b):
    return W @ A_prev + b


def relu_forward(Z):
    return np.maximum(Z, 0), Z


def relu_backward(dA, Z):
    dZ = dA.copy()
    dZ[Z <= 0] = 0
    return (dZ,)


def relu_backward_strict(dA, Z):  # bug: lets the gradient through at exactly 0
    dZ = dA.copy()
    dZ[Z < 0] = 0
    return (dZ,)


def relu_oracle(Z):
    return torch.relu(Z)


def sigmoid_forward(Z):
    s = 1 / (1 + np.exp(-Z))
    return s, s


def sigmoid_backward(dA, s):
    return (dA * s * (1 - s),)


def sigmoid_backward_wrong(dA, s):  # bug: s instead of s(1 - s)
    return (dA * s,)


LINEAR = dict(inputs={"A_prev": (4, 6)}, params={"W": (3, 4), "b": (3, 1)})
SQUARE = dict(inputs={"A_prev": (4, 6)}, params={"W": (4, 4), "b": (4, 1)})


# --- compare -----------------------------------------------------------------------------------

def test_identical_arrays_pass():
    x = rng_array((3, 5))
    report = compare({"Z": x, "dW": x.T}, {"Z": x.copy(), "dW": x.T.copy()}, label="same")
    assert report.passed and not report.failures
    assert report.dtype == "float64"
    assert report.worst("outputs") == (0.0, 0.0) and report.worst("gradients") == (0.0, 0.0)
    report.assert_passed()


def test_one_element_perturbation_fails_and_is_located():
    expected = rng_array((4, 5))
    actual = expected.copy()
    actual[2, 3] *= 1 + 1e-6
    report = compare({"Z": expected.copy(), "dW": actual}, {"Z": expected, "dW": expected}, label="perturbed")
    assert [d.name for d in report.failures] == ["dW"]
    diff = report.failures[0]
    assert diff.worst_index == (2, 3)
    assert (diff.actual_value, diff.expected_value) == (actual[2, 3], expected[2, 3])
    assert diff.max_rel == pytest.approx(1e-6, rel=1e-3)
    table = str(report)
    assert "perturbed" in table and "(2, 3)" in table and repr(float(actual[2, 3])) in table
    assert report.worst("outputs") == (0.0, 0.0) and report.worst("gradients")[0] == diff.max_abs
    with pytest.raises(AssertionError) as error:
        report.assert_passed()
    message = str(error.value)
    assert "dW" in message and repr(float(expected[2, 3])) in message
    assert "Not equal to tolerance" in message  # numpy.testing's own diagnostics are appended


def test_float32_is_never_compared_with_float64():
    x = rng_array((2, 2))
    with pytest.raises(ValueError, match="float32 is never compared with float64"):
        compare({"A": x.astype(np.float32)}, {"A": x})
    with pytest.raises(ValueError, match="float32 is never compared with float64"):
        compare({"A": np.float32(0.5)}, {"A": 0.5})  # a Python float counts as float64


def test_float16_needs_an_explicit_tolerance():
    x = rng_array((2, 2), dtype="float16")
    with pytest.raises(ValueError, match="float16"):
        compare({"A": x}, {"A": x})
    assert compare({"A": x}, {"A": x}, tolerance=Tolerance(rtol=1e-3, atol_scale=1e-3)).passed


def test_key_sets_must_match():
    x = rng_array((2, 2))
    with pytest.raises(ValueError, match="'db'") as error:
        compare({"dW": x}, {"dW": x, "db": x})
    assert "missing" in str(error.value)
    with pytest.raises(ValueError, match="'dX'"):
        compare({"dW": x, "dX": x}, {"dW": x})


def test_shape_mismatch_is_a_failed_row_not_broadcast():
    db = rng_array((3, 1))
    report = compare({"db": db[:, 0]}, {"db": db})
    (diff,) = report.failures
    assert diff.name == "db" and diff.shape == (3,)
    assert diff.note.startswith("shape (3,) vs (3, 1)")
    assert "shape (3,) vs (3, 1)" in str(report)
    with pytest.raises(AssertionError, match="shape"):
        report.assert_passed()


def test_torch_tensors_are_accepted():
    x = rng_array((3, 4))
    leaf = torch.from_numpy(x.copy()).requires_grad_()
    assert compare({"A": x, "cost": 1.5}, {"A": leaf * 1.0, "cost": torch.tensor(1.5, dtype=torch.float64)}).passed


def test_nan_fails_even_in_both_but_identical_inf_passes():
    x = np.array([1.0, np.nan, 2.0])
    report = compare({"A": x}, {"A": x.copy()})
    (diff,) = report.failures
    assert diff.worst_index == (1,) and "NaN" in diff.note
    assert not compare({"A": np.array([1.0, np.inf])}, {"A": np.array([1.0, np.nan])}).passed
    assert not compare({"A": np.array([1.0, np.inf])}, {"A": np.array([1.0, -np.inf])}).passed
    assert compare({"A": np.array([1.0, np.inf])}, {"A": np.array([1.0, np.inf])}).passed


def test_tiny_component_next_to_large_ones_passes_thanks_to_scaled_atol():
    expected = np.array([1.0, -0.7, 1e-20])
    actual = expected + np.array([0.0, 0.0, 1e-17])  # relative error 1e3 on the tiny entry: cancellation
    assert compare({"dW": actual}, {"dW": expected}).passed
    assert not compare({"dW": actual[2:]}, {"dW": expected[2:]}).passed  # alone, it is no longer tiny


def test_default_tolerances():
    assert TOLERANCES["float64"] == Tolerance(rtol=1e-12, atol_scale=1e-12)
    assert TOLERANCES["float32"] == Tolerance(rtol=1e-5, atol_scale=1e-5)


# --- check_backward ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("convention, backward", [("vjp", linear_backward_vjp), ("course", linear_backward_course)])
def test_correct_linear_layer_passes(dtype, convention, backward):
    report = check_backward(linear_forward, backward, linear_oracle, **LINEAR, dtype=dtype,
                            grad_convention=convention, label=f"linear {convention}")
    report.assert_passed()
    assert [d.name for d in report.diffs] == ["out", "dA_prev", "dW", "db"]
    assert report.dtype == dtype and "linear" in str(report)


def test_correct_linear_layer_passes_finite_differences_too():
    report = check_backward(linear_forward, linear_backward_course, linear_oracle, **LINEAR,
                            grad_convention="course", finite_differences=True)
    report.assert_passed()
    assert "dW (finite differences)" in [d.name for d in report.diffs]
    assert len(report.diffs) == 7


def test_wrong_transpose_in_dW_fails_on_dW():
    def backward(dZ, cache):
        A_prev, W = cache
        return W.T @ dZ, A_prev @ dZ.T, dZ.sum(axis=1, keepdims=True)  # bug: dW transposed

    report = check_backward(linear_forward, backward, linear_oracle, **SQUARE)
    assert [d.name for d in report.failures] == ["dW"]
    assert "transposed" in report.failures[0].hint


def test_missing_one_over_m_fails_on_dW_in_course_convention():
    def backward(dZ, cache):
        grads = linear_backward_course(dZ, cache)
        return {**grads, "dW": grads["dW"] * dZ.shape[1]}  # bug: no 1/m on dW

    report = check_backward(linear_forward, backward, linear_oracle, **LINEAR, grad_convention="course")
    assert [d.name for d in report.failures] == ["dW"]
    assert "1/m" in report.failures[0].hint
    # The same backward is right under the vjp convention for dW (and now wrong for db).
    vjp = check_backward(linear_forward, backward, linear_oracle, **LINEAR, grad_convention="vjp")
    assert [d.name for d in vjp.failures] == ["db"]


def test_relu_mask_at_exact_zero():
    Z = kink_free(rng_array((4, 5)), (0.0,), 1e-3)
    Z.flat[::3] = 0.0  # the kink, on purpose: torch.relu's gradient there is 0
    common = dict(inputs={"Z": Z.shape}, values={"Z": Z}, kinks=())
    check_backward(relu_forward, relu_backward, relu_oracle, **common).assert_passed()
    report = check_backward(relu_forward, relu_backward_strict, relu_oracle, **common)
    (diff,) = report.failures
    assert diff.name == "dZ" and Z[diff.worst_index] == 0.0
    # Away from zero the buggy mask is indistinguishable, which is why values= exists.
    assert check_backward(relu_forward, relu_backward_strict, relu_oracle, inputs={"Z": (4, 5)}).passed


def test_upstream_gradient_is_random_not_ones():
    seen = []

    def backward(dZ, cache):
        seen.append(dZ)
        return linear_backward_vjp(dZ, cache)

    check_backward(linear_forward, backward, linear_oracle, **LINEAR).assert_passed()
    (dout,) = seen
    assert dout.shape == (3, 6) and dout.dtype == np.float64
    assert not np.allclose(dout, 1.0) and dout.std() > 0.3 and len(np.unique(dout)) == dout.size


def test_finite_differences_alone_judge_sigmoid():
    report = check_backward(sigmoid_forward, sigmoid_backward, inputs={"Z": (3, 4)})
    report.assert_passed()
    assert [d.name for d in report.diffs] == ["dZ (finite differences)"]
    wrong = check_backward(sigmoid_forward, sigmoid_backward_wrong, inputs={"Z": (3, 4)})
    assert [d.name for d in wrong.failures] == ["dZ (finite differences)"]


def test_finite_differences_refuse_float32():
    with pytest.raises(ValueError, match="float64"):
        check_backward(sigmoid_forward, sigmoid_backward, inputs={"Z": (3, 4)}, dtype="float32")


def test_fixed_arrays_are_passed_through_and_not_differentiated():
    mask = (rng_array((3, 4), seed=1) > 0).astype(np.float64)

    def forward(Z, mask):
        return Z * mask, mask

    def backward(dA, mask):
        return {"dZ": dA * mask}

    report = check_backward(forward, backward, lambda Z, mask: Z * mask, inputs={"Z": (3, 4)},
                            fixed={"mask": mask}, finite_differences=True)
    report.assert_passed()
    assert [d.name for d in report.diffs] == ["out", "dZ", "dZ (finite differences)"]


def test_kink_free_moves_values_off_kinks_keeping_their_side():
    x = np.array([-0.5, -2e-4, 0.0, 5e-4, 0.3, 1.0005])
    moved = kink_free(x, (0.0, 1.0), 1e-3)
    np.testing.assert_array_equal(moved, [-0.5, -1e-3, 1e-3, 1e-3, 0.3, 1.001])
    assert x[1] == -2e-4  # the input is not modified


def test_invalid_grad_convention():
    with pytest.raises(ValueError, match="grad_convention"):
        check_backward(linear_forward, linear_backward_vjp, linear_oracle, **LINEAR, grad_convention="mean")


def test_backward_returning_wrong_number_of_gradients():
    def backward(dZ, cache):
        return linear_backward_vjp(dZ, cache)[1:]

    with pytest.raises(ValueError, match="expected 3: dA_prev, dW, db"):
        check_backward(linear_forward, backward, linear_oracle, **LINEAR)


def test_scales_lift_the_absolute_tolerance_of_a_cancelling_tensor():
    """A bias's Adam moment (a sum over the batch whose terms cancel) is judged at the size of its
    family's entries when given as ``scales``; an error beyond that still fails."""
    expected = {"v_dW": np.array([[5e-3, -2e-3]], np.float32), "v_db": np.array([[-3.0e-5]], np.float32)}
    actual = {"v_dW": expected["v_dW"].copy(), "v_db": np.array([[-3.0011e-5]], np.float32)}   # 1.1e-8 apart
    tol = Tolerance(rtol=1e-4, atol_scale=1e-4)
    assert not compare(actual, expected, tolerance=tol).passed
    assert compare(actual, expected, tolerance=tol, scales={"v_db": 5e-3}).passed
    actual["v_db"] = np.array([[-2.9e-5]], np.float32)                                         # 1e-6 apart
    assert not compare(actual, expected, tolerance=tol, scales={"v_db": 5e-3}).passed
    assert compare(actual, expected, tolerance=tol, scales={"v_db": 1e-9}).diffs[1].failed == 1   # never tighter
