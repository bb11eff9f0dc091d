"""check_function: a custom torch.autograd.Function against a reference expression, finite differences,
double backward and torch.func.vmap; each planted bug is named on its row (examples/function.py holds the
Functions)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from examples.function import Softplus, SoftplusOldStyle, SoftplusSavedIntermediate
from parity_tests.checker import check_function

X = {"x": (3, 4)}
ALL_ROWS = ["out", "dx", "dx (finite differences)", "dx (double backward)", "dout (double backward)", "out (vmap)",
            "dx (vmap)"]


def failed(report):
    return [d.name for d in report.failures]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_correct_function_passes_every_row(dtype, device):
    report = check_function(Softplus, F.softplus, inputs=X, dtype=dtype, device=device)
    assert report.passed, str(report)
    assert [d.name for d in report.diffs] == [r for r in ALL_ROWS if dtype == "float64" or "finite" not in r]
    assert report.dtype == dtype


class SoftplusOneElementWrong(Softplus):
    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        dx = dy * torch.sigmoid(x)
        dx[1, 2] += 0.5  # one element slipped
        return dx


def test_a_wrong_backward_element_is_named_by_autograd_and_by_finite_differences():
    report = check_function(SoftplusOneElementWrong, F.softplus, inputs=X, double_backward=False, vmap=False)
    assert failed(report) == ["dx", "dx (finite differences)"]
    for row in report.failures:
        assert row.worst_index == (1, 2) and row.failed == 1
    assert "FAIL at (1, 2)" in str(report)


class SoftplusIgnoresDy(Softplus):
    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return torch.sigmoid(x)  # right only when dy is all ones


def test_the_upstream_gradient_is_random_so_a_backward_ignoring_it_fails():
    assert "dx" in failed(check_function(SoftplusIgnoresDy, F.softplus, inputs=X, vmap=False))


def test_an_intermediate_saved_on_ctx_breaks_only_the_double_backward():
    report = check_function(SoftplusSavedIntermediate, F.softplus, inputs=X)
    assert failed(report) == ["dx (double backward)"]
    (row,) = report.failures
    assert row.actual_value == 0.0 and "saved on ctx" in row.hint


class SoftplusOnceDifferentiable(Softplus):
    @staticmethod
    @once_differentiable
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return dy * torch.sigmoid(x)


class SoftplusNumpyBackward(Softplus):
    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return torch.from_numpy(dy.detach().numpy() / (1 + np.exp(-x.detach().numpy())))


def test_a_once_differentiable_backward_fails_the_double_backward_rows():
    report = check_function(SoftplusOnceDifferentiable, F.softplus, inputs=X, vmap=False)
    assert failed(report) == ["dx (double backward)", "dout (double backward)"]
    assert all("once_differentiable" in d.hint for d in report.failures)
    assert check_function(SoftplusOnceDifferentiable, F.softplus, inputs=X, vmap=False,
                          double_backward=False).passed


def test_a_backward_outside_autograd_fails_the_double_backward_rows_with_the_error():
    report = check_function(SoftplusNumpyBackward, F.softplus, inputs=X, vmap=False)
    assert failed(report) == ["dx (double backward)", "dout (double backward)"]
    assert all("RuntimeError" in d.note and "not differentiable" in d.hint and d.worst_index is None
               for d in report.failures)
    with pytest.raises(AssertionError, match="dout"):
        report.assert_passed()


class SoftplusNoVmapRule(Softplus):
    generate_vmap_rule = False


@pytest.mark.parametrize("fn_class, words", [(SoftplusOldStyle, "setup_context"),
                                             (SoftplusNoVmapRule, "generate_vmap_rule")])
def test_a_function_torch_func_refuses_fails_the_vmap_rows_with_the_error(fn_class, words):
    report = check_function(fn_class, F.softplus, inputs=X)
    assert failed(report) == ["out (vmap)", "dx (vmap)"]
    assert all(words in d.note and d.worst_index is None for d in report.failures)
    assert check_function(fn_class, F.softplus, inputs=X, vmap=False).passed


class LeakyMatmul(torch.autograd.Function):
    """y = leaky_relu(W x, slope): two inputs and a fixed, non-differentiated argument."""

    generate_vmap_rule = True

    @staticmethod
    def forward(W, x, slope):
        return F.leaky_relu(W @ x, slope)

    @staticmethod
    def setup_context(ctx, inputs, output):
        W, x, slope = inputs
        ctx.save_for_backward(W, x)
        ctx.slope = slope

    @staticmethod
    def backward(ctx, dy):
        W, x = ctx.saved_tensors
        dz = torch.where(W @ x > 0, dy, ctx.slope * dy)
        return dz @ x.T, W.T @ dz, None


def test_several_inputs_and_a_fixed_argument():
    report = check_function(LeakyMatmul, lambda W, x, slope: F.leaky_relu(W @ x, slope),
                            inputs={"W": (3, 4), "x": (4, 5)}, fixed={"slope": 0.1})
    assert report.passed, str(report)
    assert {"dW", "dx", "dW (double backward)", "dx (double backward)", "dW (vmap)"} <= {d.name for d in report.diffs}


def test_without_a_reference_finite_differences_are_the_oracle():
    report = check_function(SoftplusOneElementWrong, inputs=X)
    assert [d.name for d in report.diffs] == ["dx (finite differences)"]
    assert report.failures[0].worst_index == (1, 2)
    assert check_function(Softplus, inputs=X).passed


@pytest.mark.parametrize("options, message", [
    (dict(dtype="float32", finite_differences=True), "float64"),
    (dict(dtype="float32", reference=None), "only oracle"),
    (dict(fixed={"x": 1.0}), "share names"),
])
def test_bad_arguments_are_refused(options, message):
    options = {"reference": F.softplus, "inputs": X, **options}
    with pytest.raises(ValueError, match=message):
        check_function(Softplus, **options)


class SoftplusScalingDyInPlace(Softplus):
    """Correct values, but the backward scales its grad_output in place (dy.mul_), then returns it."""

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return dy.mul_(torch.sigmoid(x))


def test_a_backward_writing_into_its_grad_output_passes_with_a_warning():
    """Before the copy, the reference and the finite differences reused the scaled dout: FAIL on dx."""
    report = check_function(SoftplusScalingDyInPlace, F.softplus, inputs={"x": (3, 4)}, double_backward=False,
                            vmap=False)
    assert report.passed, str(report)
    assert any("backward wrote into its grad_output" in w for w in report.warnings)
